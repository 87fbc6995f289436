# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Test doubles shared by the unit tests.

``FakeExecutor`` stands in for the one executor seam (design.rst, "One
executor"):
it records every argv and answers from a short list of scripted rules, so
tests assert the exact commands issued instead of string-matching them in a
giant fake_execute.
"""

import re
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


def in_turn(*answers) -> Callable:
    """A rule result that gives *answers* one per call, in order.

    Each answer is a ``(stdout, stderr)`` pair or an exception to raise;
    a call past the last answer fails the test with IndexError.
    """
    queue = list(answers)

    def answer(_argv):
        result = queue.pop(0)
        if isinstance(result, BaseException):
            raise result
        return result
    return answer


GiB = 1 << 30


class FakeVG(object):
    """Answers ``vgs`` and ``lvs`` for one VG from a small in-memory model.

    Only the reports are modelled; writes (lvcreate, lvremove...) are just
    recorded by the executor. Install with ``executor.rules +=
    fake_vg.rules()``.
    """

    def __init__(self, name: str = 'cinder-shared', uuid: str = 'VG-UUID-1',
                 size: int = 100 * GiB, free: Optional[int] = None,
                 mda_size: int = 1 << 20, mda_free: int = 1 << 19,
                 autoactivation: str = ''):
        self.name = name
        self.uuid = uuid
        self.size = size
        self.free = size if free is None else free
        self.mda_size = mda_size
        self.mda_free = mda_free
        self.autoactivation = autoactivation
        self.tags = []
        self.lvs = {}
        self.lock_type = ''       # 'sanlock' for a shared VG (lvmlockd)

    def add_lv(self, name: str, size: int = GiB, attr: str = '-wi-------',
               origin: str = '', tags: str = '', uuid: str = '') -> dict:
        row = {'lv_name': name, 'lv_uuid': uuid or 'uuid-' + name,
               'lv_size': str(size), 'lv_attr': attr, 'origin': origin,
               'lv_tags': tags}
        self.lvs[name] = row
        return row

    def vgs_output(self) -> str:
        return '  %s\n' % '|'.join(str(v) for v in (
            self.name, self.uuid, self.size, self.free, len(self.lvs),
            4 << 20, self.mda_size, self.mda_free, self.autoactivation))

    def lvs_output(self, names) -> str:
        fields = ('lv_name', 'lv_uuid', 'lv_size', 'lv_attr', 'origin',
                  'lv_tags')
        return ''.join('  %s\n' % '|'.join(self.lvs[n][f] for f in fields)
                       for n in names)

    def _vgs(self, argv: tuple) -> tuple:
        if argv[-1] != self.name:
            raise pe_error(5, '  Volume group "%s" not found' % argv[-1])
        if argv[argv.index('-o') + 1] == 'vg_tags':
            return '  %s\n' % ','.join(self.tags), ''
        if argv[argv.index('-o') + 1] == 'vg_lock_type':
            return '  %s\n' % self.lock_type, ''
        return self.vgs_output(), ''

    def _vgchange(self, argv: tuple) -> tuple:
        if '--addtag' in argv:
            self.tags.append(argv[argv.index('--addtag') + 1])
        return '', ''

    def _lvs(self, argv: tuple) -> tuple:
        target = argv[-1]
        if target == self.name:
            return self.lvs_output(sorted(self.lvs)), ''
        vg, _sep, lv = target.partition('/')
        if vg != self.name or lv not in self.lvs:
            raise pe_error(5, '  Failed to find logical volume "%s"'
                           % target)
        return self.lvs_output([lv]), ''

    def _lvremove(self, argv: tuple) -> tuple:
        """``lvremove -f --select 'lv_name="X" && lv_role!={origin}' VG``
        as LVM answers it: removes X unless it is an origin (attr 'o'),
        and exits 0 when nothing matched."""
        select = argv[argv.index('--select') + 1]
        match = re.fullmatch(r'lv_name="([^"]+)" && lv_role!=\{origin\}',
                             select)
        assert match and argv[-1] == self.name, argv
        row = self.lvs.get(match.group(1))
        if row is None or row['lv_attr'].startswith('o'):
            return '', ''
        del self.lvs[match.group(1)]
        return ('  Logical volume "%s" successfully removed.\n'
                % match.group(1)), ''

    def rules(self) -> list:
        return [(('vgs',), self._vgs), (('lvs',), self._lvs),
                (('lvremove', '-f', '--select'), self._lvremove),
                (('vgchange', '--addtag'), self._vgchange)]


# -- expected argv of the LVM layer (``--config`` stripped) ----------------

LVS_FIELDS = 'lv_name,lv_uuid,lv_size,lv_attr,origin,lv_tags'
VGS_FIELDS = ('vg_name,vg_uuid,vg_size,vg_free,lv_count,vg_extent_size,'
              'vg_mda_size,vg_mda_free,vg_autoactivation')
_REPORT = ('--noheadings', '--nosuffix', '--units', 'b', '--separator', '|')

# Commands that change VG metadata.
WRITE_COMMANDS = frozenset(('lvcreate', 'lvremove', 'lvextend', 'lvrename',
                            'lvconvert', 'lvreduce', 'vgchange', 'vgcreate',
                            'pvcreate'))


def lvs(target: str) -> tuple:
    # NOTE: no --readonly: with it lvs never shows an LV active or open.
    return ('lvs',) + _REPORT + ('-o', LVS_FIELDS, target)


def vgs(vg: str) -> tuple:
    return ('vgs',) + _REPORT + ('-o', VGS_FIELDS, '--readonly', vg)


def activate(ref: str, exclusive: bool = False) -> tuple:
    return ('lvchange', '-aey' if exclusive else '-ay', '--yes', ref)


def refresh(ref: str) -> tuple:
    return ('lvchange', '--refresh', ref)


def deactivate(ref: str) -> tuple:
    return ('lvchange', '-an', '--yes', ref)


def remove_unless_origin(vg: str, lv: str) -> tuple:
    return ('lvremove', '-f', '--select',
            'lv_name="%s" && lv_role!={origin}' % lv, vg)


def is_metadata_write(argv: tuple) -> bool:
    """True for argv (stripped) that would change LVM metadata."""
    if not argv:
        return False
    if argv[0] in WRITE_COMMANDS:
        return True
    return argv[0] == 'lvchange' and any(
        a in ('--addtag', '--deltag', '--setautoactivation') for a in argv)
