"""``cinder-shared-lvm``: prepare, check, status and cleanup of a shared VG.

Exit codes: 0 success; 1 a check failed or an operation failed; 2 bad
input (nothing was changed).
"""

import argparse
import json
import logging
import sys
from typing import Callable, List, Optional

from oslo_concurrency import processutils

from cinder_shared_lvm.cmd import check
from cinder_shared_lvm.cmd import cleanup
from cinder_shared_lvm.cmd import common
from cinder_shared_lvm.cmd import filters
from cinder_shared_lvm.cmd import prepare
from cinder_shared_lvm.cmd import status
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

PROG = 'cinder-shared-lvm'
SUBCOMMANDS = (prepare, check, status, cleanup, filters)


def common_options() -> argparse.ArgumentParser:
    """Options every subcommand takes (after its name)."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group('shared VG')
    group.add_argument('--vg', metavar='NAME',
                       help='name of the shared VG')
    group.add_argument('--devices', metavar='PATH[,PATH]',
                       help='the shared PV(s); LVM sees nothing else')
    group.add_argument('--config-file', metavar='PATH',
                       help='read shared_lvm_volume_group and '
                            'shared_lvm_devices from this cinder.conf '
                            '(--vg and --devices override it)')
    group.add_argument('--backend', metavar='SECTION',
                       help='backend section of --config-file')
    group.add_argument('--role', choices=(lvm.WRITER, lvm.READER),
                       help='writer: the cinder-volume host; reader: a '
                            'compute host (read-only LVM metadata)')
    out = parser.add_argument_group('output and execution')
    out.add_argument('--json', action='store_true',
                     help='print one JSON document instead of text')
    out.add_argument('--root-helper', metavar='CMD',
                     help='prefix for commands when not run as root, e.g. '
                          '"sudo"')
    out.add_argument('--debug', action='store_true',
                     help='log every command and its output to stderr')
    out.add_argument('--lvm-extra-config', metavar='TEXT', default='',
                     help='TESTING ONLY: LVM config text added to every '
                          'LVM command, e.g. "global { activation=0 }"')
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description='Prepare, check and inspect an LVM volume '
        'group on a shared SAN LUN used by cinder-shared-lvm.')
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    parents = [common_options()]
    for module in SUBCOMMANDS:
        module.add_parser(subparsers, parents)
    return parser


def make_context(args, execute: Callable) -> common.Context:
    """Resolve VG, devices and role from options and --config-file."""
    conf = {}
    if bool(args.config_file) != bool(args.backend):
        raise common.CLIError('--config-file and --backend go together',
                              exit_code=2)
    if args.config_file:
        conf = common.read_backend_config(args.config_file, args.backend)
    vg = args.vg or conf.get('vg')
    devices = common.split_devices(args.devices or conf.get('devices', ''))
    if not vg or not devices:
        raise common.CLIError('give --vg and --devices, or --config-file '
                              'and --backend with shared_lvm_volume_group '
                              'and shared_lvm_devices set', exit_code=2)
    lvm.validate_name(vg, 'VG')
    return common.Context(
        vg=vg, devices=devices, role=args.role or args.default_role,
        execute=execute, root_helper=args.root_helper,
        extra_config=args.lvm_extra_config,
        min_free_metadata_percent=conf.get(
            'min_free_metadata_percent',
            common.DEFAULT_MIN_FREE_METADATA_PERCENT))


def emit(outcome: common.Outcome, as_json: bool, stream) -> None:
    if as_json:
        json.dump(outcome.data, stream, indent=2, sort_keys=True)
        stream.write('\n')
    else:
        stream.write(''.join(line + '\n' for line in outcome.lines))


def _setup_logging(debug: bool) -> None:
    # NOTE: without a handler, Python prints the LVM layer's LOG.error to
    # stderr a second time next to our own one-line error.
    logger = logging.getLogger('cinder_shared_lvm')
    if debug:
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
    elif not logger.handlers:
        logger.addHandler(logging.NullHandler())


def main(argv: Optional[List[str]] = None,
         execute: Optional[Callable] = None, stdout=None,
         stderr=None) -> int:
    """Run one subcommand; return its exit code.

    :param execute: the executor (``processutils.execute`` by default)
    """
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    args = build_parser().parse_args(argv)
    _setup_logging(args.debug)
    try:
        ctx = make_context(args, execute or processutils.execute)
        outcome = args.func(ctx, args)
    except processutils.NoRootWrapSpecified:
        return _fail(common.CLIError('LVM and blkid need root: run as root '
                                     'or give --root-helper'),
                     args.json, stdout, stderr)
    except (common.CLIError, exception.SharedLVMError,
            processutils.ProcessExecutionError, OSError) as err:
        return _fail(err, args.json, stdout, stderr)
    emit(outcome, args.json, stdout)
    return outcome.exit_code


def _fail(err: Exception, as_json: bool, stdout, stderr) -> int:
    code = getattr(err, 'exit_code', 1)
    if isinstance(err, exception.InvalidName):
        code = 2
    elif not isinstance(err, common.CLIError):
        code = 1        # a command's exit code is not ours
    message = str(err).strip()
    if as_json:
        emit(common.Outcome(code, {'error': message}, []), True, stdout)
    stderr.write('%s: error: %s\n' % (PROG, message))
    return code


if __name__ == '__main__':
    sys.exit(main())
