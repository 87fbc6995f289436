"""Test doubles shared by the unit tests.

``FakeExecutor`` stands in for the one executor seam (DESIGN.md section 2):
it records every argv and answers from a short list of scripted rules, so
tests assert the exact commands issued instead of string-matching them in a
giant fake_execute.
"""

from typing import Callable, Iterable, Optional, Tuple, Union

from oslo_concurrency import processutils

LVM_COMMANDS = frozenset((
    'lvcreate', 'lvremove', 'lvextend', 'lvrename', 'lvchange', 'lvconvert',
    'lvs', 'vgs', 'pvs', 'vgchange', 'vgcreate', 'pvcreate', 'lvreduce',
    'vgck', 'pvscan', 'vgscan', 'lvm'))

Matcher = Union[Callable[[tuple], bool], tuple]
Result = Union[Tuple[str, str], processutils.ProcessExecutionError,
               Callable[[tuple], Tuple[str, str]]]


def strip_config(argv: Iterable[str]) -> tuple:
    """argv without the ``env LC_ALL=C`` prefix and the ``--config X`` pair.

    What remains is what a test wants to read: ``('lvs', '--noheadings',
    ...)``. Non-LVM commands come back unchanged.
    """
    argv = tuple(str(a) for a in argv)
    if argv[:2] == ('env', 'LC_ALL=C'):
        argv = argv[2:]
    out = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == '--config':
            skip = True
            continue
        out.append(arg)
    return tuple(out)


def config_of(argv: Iterable[str]) -> Optional[str]:
    """The value of ``--config`` in *argv*, or None."""
    argv = list(argv)
    if '--config' in argv:
        return argv[argv.index('--config') + 1]
    return None


def _matches(matcher: Matcher, argv: tuple) -> bool:
    if callable(matcher):
        return bool(matcher(argv))
    prefix = tuple(matcher)
    return argv[:len(prefix)] == prefix


class FakeExecutor(object):
    """A recording executor with ``processutils.execute``'s signature.

    :param rules: ``(matcher, result)`` pairs, first match wins; a matcher
                  is a tuple prefix of the stripped argv or a callable on
                  it; a result is ``(stdout, stderr)``, an exception to
                  raise, or a callable on the stripped argv returning
                  ``(stdout, stderr)``. Unmatched calls return ``('', '')``.
    """

    def __init__(self, rules: Optional[list] = None):
        self.rules = list(rules or [])
        self.calls = []          # [(argv tuple, kwargs dict)]

    def add(self, matcher: Matcher, result: Result) -> 'FakeExecutor':
        """Add a rule ahead of the existing ones (newest wins)."""
        self.rules.insert(0, (matcher, result))
        return self

    def __call__(self, *argv, **kwargs):
        argv = tuple(str(a) for a in argv)
        self.calls.append((argv, kwargs))
        stripped = strip_config(argv)
        for matcher, result in self.rules:
            if not _matches(matcher, stripped):
                continue
            if isinstance(result, BaseException):
                raise result
            if callable(result):
                return result(stripped)
            return result
        return '', ''

    @property
    def commands(self) -> list:
        """Every argv so far, with the LVM ``--config`` pair stripped."""
        return [strip_config(argv) for argv, _kw in self.calls]

    @property
    def lvm_commands(self) -> list:
        return [c for c in self.commands if c and c[0] in LVM_COMMANDS]

    def names(self) -> list:
        """Just the command names, e.g. ``['vgs', 'lvs', 'lvcreate']``."""
        return [c[0] for c in self.commands if c]

    def reset(self) -> None:
        self.calls = []


def pe_error(exit_code: int = 5, stderr: str = 'failed',
             stdout: str = '', cmd: str = 'fake'):
    """A ProcessExecutionError to use as a rule's result."""
    return processutils.ProcessExecutionError(
        exit_code=exit_code, stdout=stdout, stderr=stderr, cmd=cmd)
