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

"""Rig helpers for the lvmlockd + sanlock mode, at the level of LVM commands.

Every function takes a ``RigHost`` and does one step the way an operator
would on a real host, in the order that was measured to work
(doc/source/lvmlockd-facts.rst): LVM configured for lvmlockd with a host_id
of its own, sanlock started before lvmlockd, the shared VG created once,
its lockspace started on every other host. test_lockd_facts.py measures
with these; tests that need the whole driver use lockd_world.py.
"""

import concurrent.futures
import time

from rig import fixtures
from rig import image

LOCKD_HOSTS = ('cinder-node', 'compute-1', 'compute-2')
# lvmlockd --sanlock-timeout: the I/O timeout sanlock writes in each
# host's lease. Another host counts a silent one dead after 8 x this + 60 s
# (sanlock's fixed watchdog fire timeout): 76 s for 2 against 140 s for the
# default 10, and a lockspace start waits 2 x this instead of 20 s.
# Measured safe under TCG: no renewal came near 2 s (test_lockd_facts.py
# checks `sanlock client renewal` on every run).
SANLOCK_IO_TIMEOUT = 2
# A lockspace start waits on sanlock's delays, not the CPU; a rebooted host
# may wait for its own previous lease to expire too.
LOCKSTART_TIMEOUT = 300
# sanlock failed to open /dev/mapper/<vg>-lvmlock (the rig has no udev:
# LVM makes that node only at the end of the command that activated it).
_NO_LOCK_LV_NODE = b'invalid parameters for sanlock'


def boot_lockd_rig(hosts=LOCKD_HOSTS, lun_size='8G',
                   io_timeout=SANLOCK_IO_TIMEOUT, extra_binaries=(), **kw):
    """A private rig whose hosts run sanlock and lvmlockd (no VG yet).

    The initramfs needs the daemons and their libraries, so this rig has
    an image of its own (cached like the others).
    """
    rig = fixtures.boot_rig(
        hosts=hosts, lun_size=lun_size,
        extra_binaries=tuple(image.LOCKING_BINARIES) + tuple(extra_binaries),
        **kw)
    try:
        with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
            list(pool.map(lambda h: start_daemons(h, io_timeout), rig))
    except Exception:
        rig.close()
        raise
    return rig


def host_id(host) -> int:
    """sanlock's host_id of *host*: its place in the rig, from 1. Two
    hosts with one host_id would take each other's leases."""
    return host.rig.host_names.index(host.name) + 1


def lvm_local_config(host) -> str:
    """/etc/lvm/lvmlocal.conf of *host*: lvmlockd on, its own host_id.

    LVM reads this file on top of lvm.conf, and a command's ``--config``
    on top of both, setting by setting: the project's ``global {
    metadata_read_only=1 }`` keeps ``use_lvmlockd`` (measured).
    """
    return ('global {\n    use_lvmlockd = 1\n}\n'
            'local {\n    host_id = %d\n}\n' % host_id(host))


def start_daemons(host, io_timeout=SANLOCK_IO_TIMEOUT) -> float:
    """Configure LVM for lvmlockd, start sanlock, then lvmlockd.

    Also after a reboot: the guest's /etc and /run start afresh. ``-w 0``:
    the VMs have no watchdog device. lvmlockd started before sanlock's
    socket exists stays unconnected, so it waits for the socket.

    :returns: seconds until lvmlockd answers
    """
    started = time.monotonic()
    host.execute('tee', '/etc/lvm/lvmlocal.conf',
                 process_input=lvm_local_config(host))
    host.shell(
        'sanlock daemon -U root -G root -w 0 || exit 1; '
        'for i in $(seq 300); do [ -S /run/sanlock/sanlock.sock ] && break;'
        ' sleep 0.1; done; '
        'lvmlockd --sanlock-timeout %d || exit 2; '
        'for i in $(seq 300); do lvmlockctl --info >/dev/null 2>&1 && '
        'exit 0; sleep 0.1; done; exit 3' % int(io_timeout))
    return time.monotonic() - started


def create_shared_vg(host, vg, devices, metadatasize='16m') -> float:
    """``vgcreate --shared`` on *devices*, which must not be PVs yet.

    pvcreate under lvmlockd needs the global lock, which exists only once
    the first sanlock VG does; vgcreate makes the PVs itself. The VG's
    lockspace is started on *host* when it returns.

    :returns: seconds it took
    """
    started = time.monotonic()
    host.execute('vgcreate', '--shared', '--locktype', 'sanlock',
                 '--metadatasize', metadatasize, '--setautoactivation', 'n',
                 '--yes', vg, *devices, timeout=LOCKSTART_TIMEOUT)
    return time.monotonic() - started


def lockstart(host, vg) -> float:
    """``vgchange --lockstart`` on *host*; returns the seconds it took.

    On the rig the first start on a host can fail with "invalid parameters
    for sanlock" (no udev: the lock LV's /dev/mapper node is made after
    lvmlockd looked for it); the node exists then, and a second start
    works. Hosts with udev do not need the retry.
    """
    started = time.monotonic()
    for _attempt in (1, 2):
        rc, out, err = host.run('vgchange', '--lockstart', vg,
                                timeout=LOCKSTART_TIMEOUT)
        if rc == 0 or _NO_LOCK_LV_NODE not in err:
            break
    if rc != 0:
        raise AssertionError('lockstart of %s on %s: rc %d: %s' % (
            vg, host.name, rc, (out + err).decode(errors='replace')))
    return time.monotonic() - started


def lockstart_all(hosts, vg) -> dict:
    """Start *vg*'s lockspace on *hosts* at once (each mostly waits on
    sanlock's delays); {host name: seconds}."""
    with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
        return dict(zip([h.name for h in hosts],
                        pool.map(lambda h: lockstart(h, vg), hosts)))


def restart_host(host, vg) -> dict:
    """Boot a powered-off *host* as an operator would: daemons, then the
    VG's lockspace. {'boot': s, 'daemons': s, 'lockstart': s}."""
    started = time.monotonic()
    if not host.is_up():
        host.boot()
    timings = {'boot': time.monotonic() - started,
               'daemons': start_daemons(host)}
    timings['lockstart'] = lockstart(host, vg)
    return timings


def lockd_info(host) -> str:
    """``lvmlockctl --info``: lvmlockd's lockspaces and locks."""
    return host.execute('lvmlockctl', '--info')[0]


def sanlock_status(host) -> str:
    """``sanlock client status``: joined lockspaces (``s`` lines) and the
    leases held (``r lvm_<vg>:<LV UUID>:...``)."""
    return host.execute('sanlock', 'client', 'status')[0]


def renewal_history(host, vg) -> list:
    """(read_ms, write_ms, next_timeouts, next_errors) of each lease
    renewal sanlock remembers for *vg*'s lockspace on *host*."""
    out, _err = host.execute('sanlock', 'client', 'renewal', '-s',
                             'lvm_' + vg)
    rows = []
    for line in out.splitlines():
        fields = dict(f.split('=', 1) for f in line.split() if '=' in f)
        if 'read_ms' in fields:
            rows.append(tuple(int(fields[k]) for k in (
                'read_ms', 'write_ms', 'next_timeouts', 'next_errors')))
    return rows
