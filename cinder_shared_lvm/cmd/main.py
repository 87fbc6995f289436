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

"""``cinder-shared-lvm``: prepare, check, status and cleanup of a shared VG.

Exit codes: 0 success; 1 a check failed or an operation failed; 2 bad
input (nothing was changed).
"""

import argparse
import json
import logging
import os
import sys
from typing import Callable, List, Optional

from oslo_concurrency import processutils

from cinder_shared_lvm.cmd import check
from cinder_shared_lvm.cmd import cleanup
from cinder_shared_lvm.cmd import common
from cinder_shared_lvm.cmd import drop
from cinder_shared_lvm.cmd import filters
from cinder_shared_lvm.cmd import prepare
from cinder_shared_lvm.cmd import status
from cinder_shared_lvm import contract
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

PROG = 'cinder-shared-lvm'
SUBCOMMANDS = (prepare, check, status, cleanup, filters, drop)
ROLE_HELP = ('writer: the cinder-volume host; reader: a compute host '
             '(read-only LVM metadata)')


def common_options(role_help: str) -> argparse.ArgumentParser:
    """Options every subcommand takes (after its name)."""
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group('shared VG')
    group.add_argument('--vg', metavar='NAME',
                       help='name of the shared VG')
    group.add_argument('--devices', metavar='PATH[,PATH]',
                       help='the shared PV(s); LVM sees nothing else')
    group.add_argument('--config-file', metavar='PATH', action='append',
                       default=[],
                       help='read shared_lvm_volume_group and '
                            'shared_lvm_devices from this cinder.conf, as '
                            'Cinder does: [backend_defaults] fills what '
                            'the backend section leaves out; repeatable, '
                            'later files win (--vg and --devices override '
                            'them)')
    group.add_argument('--config-dir', metavar='DIR',
                       help='also read DIR/*.conf after --config-file, '
                            'in name order (as oslo.config does)')
    group.add_argument('--backend', metavar='SECTION',
                       help='backend section of the config files')
    group.add_argument('--role', choices=(lvm.WRITER, lvm.READER),
                       help=role_help)
    out = parser.add_argument_group('output and execution')
    out.add_argument('--json', action='store_true',
                     help='print one JSON document instead of text')
    out.add_argument('--root-helper', metavar='CMD',
                     help='prefix for commands when not run as root, e.g. '
                          '"sudo"')
    out.add_argument('--debug', action='store_true',
                     help='log every command and its output to stderr')
    # NOTE: test-only (LVM config text added to every LVM command, e.g.
    # "global { activation=0 }" on a host without device-mapper), so it is
    # left out of the help that operators read.
    out.add_argument('--lvm-extra-config', metavar='TEXT', default='',
                     help=argparse.SUPPRESS)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description='Prepare, check and inspect an LVM volume '
        'group on a shared SAN LUN used by cinder-shared-lvm.')
    parser.add_argument('--version', action='version',
                        version='%(prog)s ' + contract.VERSION)
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND')
    subparsers.required = True
    for module in SUBCOMMANDS:
        role_help = getattr(module, 'ROLE_HELP', ROLE_HELP)
        module.add_parser(subparsers, [common_options(role_help)])
    return parser


def make_context(args, execute: Callable) -> common.Context:
    """Resolve VG, devices and role from options and --config-file."""
    conf = {}
    has_config = bool(args.config_file or args.config_dir)
    if has_config != bool(args.backend):
        raise common.CLIError('--config-file (or --config-dir) and '
                              '--backend go together', exit_code=2)
    if has_config:
        conf = common.read_backend_config(
            common.config_paths(args.config_file, args.config_dir),
            args.backend)
    pools = conf.get('pools') or []
    vg = args.vg or (pools[0] if pools else conf.get('vg'))
    _check_pool_choice(args, pools)
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
            common.DEFAULT_MIN_FREE_METADATA_PERCENT),
        pools=pools)


def _check_pool_choice(args, pools: list) -> None:
    """A backend with several VGs: every command but rootwrap-filters
    acts on one, named with --vg; prepare also needs that VG's own
    --devices (the section lists the devices of every VG)."""
    if not pools or args.command == 'rootwrap-filters':
        return
    if not args.vg or args.vg not in pools:
        raise common.CLIError(
            'backend [%s] has several VGs (%s): give --vg with one of them'
            % (args.backend, ', '.join(pools)), exit_code=2)
    if args.command == 'prepare' and not args.devices:
        raise common.CLIError(
            'backend [%s] has several VGs: give prepare --devices with the '
            'shared LUN(s) of VG %s only' % (args.backend, args.vg),
            exit_code=2)


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
    _emit_to_pipe(outcome, args.json, stdout)
    return outcome.exit_code


def _emit_to_pipe(outcome: common.Outcome, as_json: bool, stream) -> None:
    """Emit; a reader that stops early (``| head``) is not an error."""
    try:
        emit(outcome, as_json, stream)
        stream.flush()
    except BrokenPipeError:
        # NOTE: Python flushes stdout again at exit and prints a traceback
        # when that fails too; pointing the descriptor at /dev/null stops
        # it (what the Python docs advise for SIGPIPE).
        if stream is sys.stdout:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())


def _fail(err: Exception, as_json: bool, stdout, stderr) -> int:
    code = getattr(err, 'exit_code', 1)
    if isinstance(err, exception.InvalidName):
        code = 2
    elif not isinstance(err, common.CLIError):
        code = 1        # a command's exit code is not ours
    message = str(err).strip()
    if as_json:
        _emit_to_pipe(common.Outcome(code, {"error": message}, []), True,
                      stdout)
    stderr.write('%s: error: %s\n' % (PROG, message))
    return code


if __name__ == '__main__':
    sys.exit(main())
