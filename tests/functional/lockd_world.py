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

"""A rig whose hosts run sanlock and lvmlockd: the lvmlockd mode's world.

Each host gets ``global/use_lvmlockd=1`` and its own ``local/host_id``
(its place in the host list, from 1), then sanlock and lvmlockd in that
order (doc/source/lvmlockd-facts.rst). The VG is made by the operator CLI
(``prepare --lock-manager lvmlockd``) on cinder-node, which starts its
lockspace there; the computes start theirs with ``vgchange --lockstart``.
"""

import concurrent.futures
import os
import time

from rig import fixtures
from rig import image

LOCKD_HOSTS = ('cinder-node', 'compute-1', 'compute-2')
LOCKD_VG = 'lkvg'
LOCKD_OVERRIDES = {'shared_lvm_lock_manager': 'lvmlockd'}
# Measured under TCG: a join takes about 25 s; allow for a loaded machine.
LOCKSTART_TIMEOUT = 240
# lvmlockd --sanlock-timeout: sanlock's I/O timeout. A crashed host's
# leases free 8 x this + 60 s after its last renewal: 140 s for sanlock's
# default 10, about 80 s for 2, which the rig keeps safely (renewals took
# 1-14 ms: test_lockd_facts.py). CSLVM_SANLOCK_IO_TIMEOUT=10 measures the
# default (doc/source/lvmlockd-facts.rst quotes both).
SANLOCK_IO_TIMEOUT = int(os.environ.get('CSLVM_SANLOCK_IO_TIMEOUT', '2'))


def boot(hosts=LOCKD_HOSTS, lun_size='12G', **kw):
    """A private rig with the locking daemons running on every host."""
    rig = fixtures.boot_rig(hosts=hosts, lun_size=lun_size,
                            extra_binaries=image.LOCKING_BINARIES, **kw)
    try:
        for host in rig.host_names:
            start_daemons(rig, host)
    except Exception:
        rig.close()
        raise
    return rig


def host_id(rig, host: str) -> int:
    return rig.host_names.index(host) + 1


def start_daemons(rig, host: str) -> None:
    """Configure LVM for lvmlockd, then start sanlock and lvmlockd.

    Also after a reboot: the guest's /etc and /run start afresh.
    NOTE: lvmlockd started before sanlock's socket exists reports "did not
    find one running" until restarted, so it waits for the socket.
    """
    script = (
        "grep -q use_lvmlockd /etc/lvm/lvm.conf || sed -i "
        "'s/^global {/global {\\n    use_lvmlockd = 1/' /etc/lvm/lvm.conf; "
        "printf 'local {\\n    host_id = %d\\n}\\n' > /etc/lvm/lvmlocal.conf; "
        "sanlock daemon -U root -G root -w 0 || exit 1; "
        "for i in $(seq 200); do [ -S /run/sanlock/sanlock.sock ] && break; "
        "sleep 0.1; done; "
        "lvmlockd --sanlock-timeout %d || exit 2; "
        "for i in $(seq 200); do lvmlockctl --info >/dev/null 2>&1 && "
        "exit 0; sleep 0.1; done; exit 3" % (host_id(rig, host),
                                             SANLOCK_IO_TIMEOUT))
    rig.host(host).shell(script)


def lockstart(rig, host: str, vg: str = LOCKD_VG) -> float:
    """``vgchange --lockstart`` on *host*; returns the seconds it took.

    NOTE: the rig has no udev. lvmlockd asks sanlock to open
    /dev/mapper/<vg>-lvmlock before LVM creates that node (at the end of
    the command), so the first start on a host fails with "invalid
    parameters for sanlock" and a second one works (measured). Hosts with
    udev create the node at once.
    """
    started = time.monotonic()
    for attempt in (1, 2):
        rc, out, err = rig.host(host).run(
            'vgchange', '--lockstart', vg, timeout=LOCKSTART_TIMEOUT)
        if rc == 0:
            return time.monotonic() - started
    raise AssertionError('lockstart of %s on %s failed: %s' % (
        vg, host, (out + err).decode(errors='replace')))


def lockstart_all(rig, hosts, vg: str = LOCKD_VG) -> dict:
    """Start the lockspace on *hosts* at once: each mostly waits on
    sanlock's lease delays, not on the CPU."""
    with concurrent.futures.ThreadPoolExecutor(len(hosts)) as pool:
        futures = {h: pool.submit(lockstart, rig, h, vg) for h in hosts}
        return {h: f.result() for h, f in futures.items()}


def recover_host(rig, host: str, vg: str = LOCKD_VG) -> float:
    """Boot a powered-off host again, as an operator would: daemons,
    then its lockspace. Returns the lockstart's seconds."""
    if not rig.host(host).is_up():
        rig.host(host).boot()
    start_daemons(rig, host)
    return lockstart(rig, host, vg)


def lock_holders(rig, host: str) -> str:
    """``sanlock client status`` of *host*: its lockspaces ('s' lines)
    and the leases it holds ('r lvm_<vg>:<LV UUID>:...')."""
    out, _err = rig.host(host).execute('sanlock', 'client', 'status')
    return out
