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

"""``check --lvmlockd``: what each host of the lvmlockd mode needs.

sanlock and lvmlockd running, a unique ``local/host_id``, the VG's
lockspace joined, and a watchdog (doc/source/admin/lvmlockd.rst). Each
check is one PASS/WARN/FAIL line, read-only: nothing here starts or stops
a daemon or a lockspace.
"""

import re

from oslo_concurrency import processutils

from cinder_shared_lvm import lockd

PASS, WARN, FAIL = 'PASS', 'WARN', 'FAIL'
MAX_HOST_ID = 2000          # sanlock's limit (lvmlockd(8))
_USE_WATCHDOG = re.compile(r'use_watchdog=(\d+)')


def checks(ctx, conf: dict) -> list:
    """The lvmlockd lines of ``check``, in the order an operator fixes
    them: daemons first, then host_id, then the lockspace."""
    sanlock_up, daemon_info = _sanlock_daemon(ctx)
    lvmlockd_up, info = _lvmlockd_info(ctx)
    return [_daemon_line('sanlock', sanlock_up,
                         'start sanlock first (systemctl start sanlock)'),
            _daemon_line('lvmlockd', lvmlockd_up,
                         'start lvmlockd once sanlock runs (systemctl '
                         'start lvmlockd)'),
            _host_id(conf.get('local/host_id')),
            _lockspace(ctx.vg, info, lvmlockd_up),
            _watchdog(sanlock_up, daemon_info)]


def _result(status: str, check: str, detail: str) -> dict:
    return {'status': status, 'check': check, 'detail': detail}


def _output(ctx, *argv) -> tuple:
    """(ran, stdout) of a read-only query; a missing daemon is no error."""
    try:
        out, _err = ctx.run(*argv)
        return True, out or ''
    except (processutils.ProcessExecutionError, OSError):
        return False, ''


def _sanlock_daemon(ctx) -> tuple:
    return _output(ctx, 'sanlock', 'client', 'status', '-D')


def _lvmlockd_info(ctx) -> tuple:
    return _output(ctx, 'lvmlockctl', '--info')


def _daemon_line(name: str, running: bool, action: str) -> dict:
    if running:
        return _result(PASS, name + '-daemon', '%s answers on this host'
                       % name)
    return _result(FAIL, name + '-daemon', '%s does not answer: %s'
                   % (name, action))


def _host_id(value) -> dict:
    if isinstance(value, int) and 1 <= value <= MAX_HOST_ID:
        return _result(PASS, 'host-id', 'local/host_id=%d (must differ on '
                       'every host that sees the LUN)' % value)
    return _result(FAIL, 'host-id', 'local/host_id is %s; set a number '
                   'from 1 to %d, unique per host, in /etc/lvm/lvmlocal.conf'
                   % ('unset' if value is None else repr(value), MAX_HOST_ID))


def _lockspace(vg: str, info: str, lvmlockd_up: bool) -> dict:
    started = lockd.started_lockspaces(info)
    if started.get(vg) == 'sanlock':
        return _result(PASS, 'lockspace', 'the lockspace of VG %s is '
                       'started here' % vg)
    if vg in started:
        return _result(FAIL, 'lockspace', 'VG %s has lock type %s; the '
                       'lvmlockd mode needs sanlock' % (vg, started[vg]))
    return _result(FAIL, 'lockspace', 'the lockspace of VG %s is not '
                   'started here%s: run "vgchange --lockstart %s"' % (
                       vg, '' if lvmlockd_up else ' (lvmlockd is down)', vg))


def _watchdog(sanlock_up: bool, daemon_info: str) -> dict:
    found = _USE_WATCHDOG.search(daemon_info)
    if not sanlock_up or not found:
        return _result(FAIL, 'watchdog', 'cannot tell whether sanlock uses '
                       'a watchdog (sanlock client status -D)')
    if found.group(1) != '0':
        return _result(PASS, 'watchdog', 'sanlock uses the watchdog (wdmd): '
                       'a host that cannot release its leases is reset')
    return _result(WARN, 'watchdog', 'sanlock runs with -w 0 (no '
                   'watchdog): a host whose lease expires while it still '
                   'writes is not reset. For test rigs only; run wdmd '
                   'in production')
