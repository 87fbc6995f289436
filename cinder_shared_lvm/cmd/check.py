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

"""``check``: is this host set up to share the VG safely?

One line per fact, PASS / WARN / FAIL; any FAIL makes the exit code 1.
The host's own LVM configuration is read with ``lvmconfig`` *without* the
project's ``--config``: that config protects the project's commands, but
an operator's hand-run ``lvs``, boot-time autoactivation and udev events
see only lvm.conf (doc/source/design.rst, rules 1-3).
"""

import re
from typing import Optional

from oslo_concurrency import processutils

from cinder_shared_lvm.cmd import check_lockd
from cinder_shared_lvm.cmd import common
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

PASS, WARN, FAIL = 'PASS', 'WARN', 'FAIL'

LVMCONFIG_KEYS = (
    'devices/global_filter', 'devices/filter', 'devices/hints',
    'devices/obtain_device_list_from_udev', 'global/use_lvmetad',
    'global/use_lvmlockd', 'global/metadata_read_only',
    'activation/auto_activation_volume_list', 'local/host_id')

# Paths a reject-all pattern must reject: a filter that lets any of them
# through would let LVM scan local disks next to the shared LUN.
_PROBE_PATHS = ('/dev/sda', '/dev/vdb1', '/dev/nvme0n1', '/dev/loop7',
                '/dev/mapper/other', '/dev/disk/by-id/wwn-0xother',
                '/dev/md0', '/dev/dm-3')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        'check', parents=parents,
        help='check this host\'s LVM setup for the shared VG',
        description='Print PASS/WARN/FAIL lines about the shared VG and '
                    'this host\'s LVM configuration; exit 1 on any FAIL. '
                    'Use --role writer on the cinder-volume host and '
                    '--role reader on compute hosts.')
    parser.add_argument('--lvmlockd', action='store_true',
                        help='this deployment uses lvmlockd (sanlock): '
                             'global/use_lvmlockd must be 1, and sanlock, '
                             'lvmlockd, local/host_id, the VG\'s lockspace '
                             'and the watchdog are checked too')
    parser.add_argument('--local-vgs', action='store_true',
                        help='this reader also manages local VGs, so its '
                             'lvm.conf cannot set metadata_read_only=1; '
                             'report that as WARN instead of FAIL')
    parser.set_defaults(func=run, default_role=None)
    return parser


def run(ctx: common.Context, args) -> common.Outcome:
    if ctx.role is None:
        raise common.CLIError('check needs --role writer (cinder-volume '
                              'host) or --role reader (compute host)',
                              exit_code=2)
    conf = read_lvmconfig(ctx)
    vg_row, vg_error = _vg_row(ctx)
    results = [_device_check(ctx, dev) for dev in ctx.devices]
    results += [_vg_visible(ctx, vg_row, vg_error),
                _metadata_space(ctx, vg_row),
                _scan_confined(ctx, conf),
                _autoactivation(ctx, vg_row, conf),
                _caching_daemon(conf),
                _lvmlockd(conf, args.lvmlockd),
                _value_is(conf, 'devices/hints', 'none', 'hints',
                          'LVM\'s device hints are a cache of what the '
                          'disks held earlier'),
                _value_is(conf, 'devices/obtain_device_list_from_udev', 0,
                          'udev-device-list', 'udev\'s list can be stale '
                          'or empty for a shared LUN'),
                _read_only(ctx, conf, args.local_vgs)]
    if args.lvmlockd:
        results += check_lockd.checks(ctx, conf)
    failed = any(r['status'] == FAIL for r in results)
    data = {'vg': ctx.vg, 'role': ctx.role, 'ok': not failed,
            'checks': results}
    lines = ['%-4s  %-19s %s' % (r['status'], r['check'], r['detail'])
             for r in results]
    return common.Outcome(1 if failed else 0, data, lines)


def _result(status: str, check: str, detail: str) -> dict:
    return {'status': status, 'check': check, 'detail': detail}


# -- lvmconfig ---------------------------------------------------------------

def read_lvmconfig(ctx: common.Context) -> dict:
    """The host's effective values of LVMCONFIG_KEYS; None when unset."""
    argv = common.ENV_PREFIX + ['lvmconfig', '--type', 'full']
    if ctx.extra_config:
        # Test-only: lets a test stand in for the host's lvm.conf.
        argv += ['--config', ctx.extra_config]
    # NOTE: lvmconfig exits 5 when one key is unknown to this LVM version
    # (use_lvmetad may go away) but still prints the others.
    out, _err = ctx.run(*(argv + list(LVMCONFIG_KEYS)),
                        check_exit_code=[0, 5])
    values = dict.fromkeys(LVMCONFIG_KEYS)
    sections = {key.split('/')[1]: key for key in LVMCONFIG_KEYS}
    for line in (out or '').splitlines():
        name, sep, raw = line.strip().partition('=')
        if sep and name in sections:
            values[sections[name]] = parse_value(raw.strip())
    return values


def parse_value(raw: str):
    """An lvmconfig value: int, string, or list of strings."""
    if raw.startswith('['):
        return [_unescape(s) for s in _QUOTED.findall(raw)]
    if raw.startswith('"'):
        match = _QUOTED.match(raw)
        return _unescape(match.group(1)) if match else raw
    try:
        return int(raw)
    except ValueError:
        return raw


def _unescape(text: str) -> str:
    return re.sub(r'\\(.)', r'\1', text)


# -- filters -----------------------------------------------------------------

def filter_verdict(patterns, path: str) -> bool:
    """True if an LVM filter accepts *path*: first matching pattern wins.

    LVM matches each alias of a device; this sees only *path*, so a
    rejection here is a warning, not proof.
    """
    for pattern in _as_list(patterns):
        action, regex = _split_pattern(pattern)
        if action and _search(regex, path):
            return action == 'a'
    return True


def ends_with_reject_all(patterns) -> bool:
    patterns = _as_list(patterns)
    if not patterns:
        return False
    action, regex = _split_pattern(patterns[-1])
    return action == 'r' and all(_search(regex, p) for p in _PROBE_PATHS)


def _as_list(patterns) -> list:
    if patterns is None:
        return []
    return [patterns] if isinstance(patterns, str) else list(patterns)


def _split_pattern(pattern: str) -> tuple:
    """('a'|'r', regex) from 'a|regex|'; any delimiter, as in LVM."""
    if len(pattern) < 3 or pattern[0] not in 'ar':
        return None, None
    delim = pattern[1]
    end = pattern.rfind(delim)
    return (pattern[0], pattern[2:end]) if end > 1 else (None, None)


def _search(regex: str, path: str) -> bool:
    try:
        return re.search(regex, path) is not None
    except re.error:
        return False


# -- the checks --------------------------------------------------------------

def _device_check(ctx: common.Context, device: str) -> dict:
    try:
        out, _err = ctx.run('blockdev', '--getsize64', device)
        size = common.human_size(int(out.strip()))
        return _result(PASS, 'device', '%s is a block device (%s)'
                       % (device, size))
    except (processutils.ProcessExecutionError, ValueError) as err:
        return _result(FAIL, 'device', '%s is not a block device on this '
                       'host: %s' % (device, common.last_line(err)))


def _vg_row(ctx: common.Context) -> tuple:
    """(vgs row or None, why it is None or '')."""
    try:
        return ctx.shared_lvm().vg_report(), ''
    except exception.LVMCommandFailed as err:
        return None, ': %s' % err


def _vg_visible(ctx: common.Context, row: Optional[dict],
                error: str) -> dict:
    if row is None:
        return _result(FAIL, 'vg-visible', 'VG %s is not visible through %s'
                       '%s' % (ctx.vg, ', '.join(ctx.devices), error))
    return _result(PASS, 'vg-visible', 'VG %s (%s) visible through %s, %s '
                   'LVs' % (ctx.vg, row['vg_uuid'], ', '.join(ctx.devices),
                            row['lv_count']))


def _metadata_space(ctx: common.Context, row: Optional[dict]) -> dict:
    if row is None:
        return _result(FAIL, 'metadata-space', 'unknown: VG not visible')
    percent = common.metadata_free_percent(row)
    floor = ctx.min_free_metadata_percent
    status = FAIL if percent < floor else WARN if percent < 2 * floor \
        else PASS
    return _result(status, 'metadata-space', '%.1f%% of the metadata area '
                   'free (%s of %s usable; minimum %d%%)' % (
                       percent, common.human_size(int(row['vg_mda_free'])),
                       common.human_size(int(row['vg_mda_size']) // 2),
                       floor))


def _scan_confined(ctx: common.Context, conf: dict) -> dict:
    gfilter, lfilter = conf['devices/global_filter'], conf['devices/filter']
    rejected = [d for d in ctx.devices if not (
        filter_verdict(gfilter, d) and filter_verdict(lfilter, d))]
    if rejected:
        return _result(WARN, 'scan-confined', 'lvm.conf filters reject %s: '
                       'hand-run LVM commands will not see the VG'
                       % ', '.join(rejected))
    if ends_with_reject_all(gfilter):
        return _result(PASS, 'scan-confined', 'devices/global_filter ends '
                       'with a reject-all: %s' % _show(gfilter))
    if ends_with_reject_all(lfilter):
        return _result(WARN, 'scan-confined', 'only devices/filter ends '
                       'with a reject-all; set devices/global_filter, which '
                       'event-driven scans honour too')
    return _result(FAIL, 'scan-confined', 'devices/global_filter %s does '
                   'not end with a reject-all such as "r|.*|": LVM scans '
                   'every disk on this host' % _show(gfilter))


def _show(value) -> str:
    return '[%s]' % ', '.join('"%s"' % p for p in _as_list(value))


def _autoactivation(ctx: common.Context, row: Optional[dict],
                    conf: dict) -> dict:
    auto_list = conf['activation/auto_activation_volume_list']
    list_blocks = auto_list is not None and not _list_names(auto_list,
                                                            ctx.vg)
    vg_flag = None if row is None else row.get('vg_autoactivation')
    if vg_flag is not None and vg_flag != 'enabled':
        return _result(PASS, 'autoactivation', 'VG %s has autoactivation '
                       'off%s' % (ctx.vg, ' and auto_activation_volume_list '
                                  'excludes it' if list_blocks else ''))
    if list_blocks:
        return _result(PASS, 'autoactivation', 'activation/auto_activation_'
                       'volume_list %s excludes VG %s' % (_show(auto_list),
                                                          ctx.vg))
    state = 'unknown (VG not visible)' if vg_flag is None else 'on'
    return _result(FAIL, 'autoactivation', 'VG autoactivation is %s and '
                   'activation/auto_activation_volume_list does not '
                   'exclude it: run "vgchange --setautoactivation n %s" or '
                   'set auto_activation_volume_list = []' % (state, ctx.vg))


def _list_names(auto_list, vg: str) -> bool:
    """True if auto_activation_volume_list may name an LV of *vg*."""
    for item in _as_list(auto_list):
        # '@tag' entries match LV or VG tags we cannot rule out here.
        if item.startswith('@') or item == vg or item.startswith(vg + '/'):
            return True
    return False


def _caching_daemon(conf: dict) -> dict:
    if conf['global/use_lvmetad'] == 1:
        return _result(FAIL, 'caching-daemon', 'global/use_lvmetad=1: a '
                       'metadata cache goes stale when another host writes '
                       'the shared VG')
    return _result(PASS, 'caching-daemon', 'no LVM metadata caching daemon '
                   '(global/use_lvmetad is %s)'
                   % _shown(conf['global/use_lvmetad']))


def _lvmlockd(conf: dict, expected: bool) -> dict:
    enabled = conf['global/use_lvmlockd'] == 1
    if expected and not enabled:
        return _result(FAIL, 'lvmlockd', '--lvmlockd given but '
                       'global/use_lvmlockd is not 1')
    if enabled and not expected:
        return _result(WARN, 'lvmlockd', 'global/use_lvmlockd=1 but this '
                       'deployment does not use lvmlockd (pass --lvmlockd '
                       'if it does)')
    return _result(PASS, 'lvmlockd', 'use_lvmlockd=%s, as configured'
                   % _shown(conf['global/use_lvmlockd']))


def _value_is(conf: dict, key: str, wanted, check: str, why: str) -> dict:
    value = conf[key]
    if value == wanted:
        return _result(PASS, check, '%s=%s' % (key, _shown(value)))
    return _result(FAIL, check, '%s=%s, want %s: %s' % (
        key, _shown(value), _shown(wanted), why))


def _read_only(ctx: common.Context, conf: dict, local_vgs: bool) -> dict:
    value = conf['global/metadata_read_only']
    if ctx.role == lvm.READER:
        result = _value_is(conf, 'global/metadata_read_only', 1,
                           'metadata-read-only', 'a compute host must never '
                           'write the shared VG\'s metadata')
        if local_vgs and result['status'] == FAIL:
            # The project's own commands still carry metadata_read_only=1;
            # only LVM commands typed by hand could write the shared VG.
            result['status'] = WARN
        return result
    if value == 1:
        return _result(FAIL, 'metadata-read-only', 'global/metadata_read_'
                       'only=1 on the writer: cinder-volume cannot change '
                       'the VG')
    return _result(PASS, 'metadata-read-only', 'writer may change metadata '
                   '(global/metadata_read_only=%s)' % _shown(value))


def _shown(value) -> str:
    if value is None:
        return 'unset'
    return '"%s"' % value if isinstance(value, str) else str(value)
