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

"""The lvmlockd mode on the rig: the storage refuses what the driver might
miss (issue 10).

Its own three VMs run sanlock and lvmlockd (lockd_world.py). The subset
of the lifecycle and policy table here is the part where lvmlockd changes
a command or adds a refusal: plain attach (-asy), family attach (-aey),
copies on cinder-node (-aey), delete, and online extend (refused under
lvmlockd). The rest of the table runs the same driver code in either mode
(test_policy.py). Each crash test waits for sanlock's lease expiry, which
it measures and prints.
"""

import concurrent.futures
import contextlib
import json
import os
import time
from unittest import mock

import pytest

from cinder_shared_lvm.cmd import main as cli
from cinder_shared_lvm import driver as drvmod
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exception
from cinder_shared_lvm import lvm
from tests.functional import lockd_world as lw_mod
from tests.functional import test_faults as faults
from tests.functional import world as worldmod

pytestmark = [pytest.mark.functional, pytest.mark.lvmlockd]

NODE, C1, C2 = lw_mod.LOCKD_HOSTS
VG = lw_mod.LOCKD_VG
MIB = worldmod.MIB
EXPIRY_LIMIT = 420      # s; sanlock's default is about 140 s


@pytest.fixture(scope='module')
def lw(tmp_path_factory):
    """A World on a rig with lvmlockd, its VG made by prepare."""
    worldmod.start_coordinator(str(tmp_path_factory.mktemp('lklocks')))
    import cinder.privsep
    cinder.privsep.sys_admin_pctxt.set_client_mode(False)
    rig = lw_mod.boot()
    try:
        w = worldmod.World(rig, vg_name=VG, backend='lockd1',
                           overrides=lw_mod.LOCKD_OVERRIDES)
        started = time.monotonic()
        w.prepare_vg(expected_volumes=200)
        print('\nlvmlockd: prepare (vgcreate --shared, lock LV) took %.1f s'
              % (time.monotonic() - started))
        print('lvmlockd: lockstart took %s' % {
            h: round(s, 1) for h, s in lw_mod.lockstart_all(
                rig, (C1, C2)).items()})
        w.setup_driver()
        yield w
    finally:
        rig.close()


def dm_of(w, host, lv_name):
    return faults.dm_of(w, host, lv_name)


def refused_by_lvmlockd(err) -> bool:
    return 'locked by other host' in str(err)


def wait_until(connect):
    """Call *connect* until lvmlockd stops refusing.

    :returns: (its result, seconds waited, how many times it was refused)
    """
    started = time.monotonic()
    refusals = 0
    while True:
        try:
            return connect(), time.monotonic() - started, refusals
        except lvm_exception.LockedByOtherHost:
            refusals += 1
            if time.monotonic() - started > EXPIRY_LIMIT:
                raise
            time.sleep(5)


# -- lifecycle --------------------------------------------------------------

def test_lifecycle_in_the_lvmlockd_mode(lw):
    w = lw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    # A plain LV: -asy, on two hosts at once (multi-attach)
    with w.attached(vol, C1) as path:
        digest = w.write(C1, path, worldmod.pattern(vol.id, 4 * MIB))
        with w.attached(vol, C2) as path2:
            assert w.checksum(C2, path2, 4) == digest
    with pytest.raises(exc.OperationRefused, match='lvmlockd mode'):
        with w.attached(vol, C1):
            w.driver.extend_volume(vol, 2)
    w.driver.extend_volume(vol, 2)
    vol.size = 2
    snap = w.snapshot(vol)
    w.driver.create_snapshot(snap)
    # A family: -aey on one host; a hand-typed activation elsewhere is
    # refused by LVM itself, underneath the driver's policy.
    with w.attached(vol, C2) as path:
        assert w.checksum(C2, path, 4) == digest
        rc, _out, err = w.node(C1).run('lvchange', '-ay', VG + '/' + vol.name)
        assert rc != 0 and b'locked by other host' in err, err
        assert not dm_of(w, C1, vol.name)
        with pytest.raises(exc.OperationRefused):
            w.attach(vol, C1)
    clone = w.volume(2)
    w.driver.create_volume_from_snapshot(clone, snap)   # copy: -aey here
    with w.attached(clone, C1) as path:
        assert w.checksum(C1, path, 4) == digest
    for deletion in (lambda: w.driver.delete_volume(clone),
                     lambda: w.driver.delete_snapshot(snap),
                     lambda: w.driver.delete_volume(vol)):
        deletion()
    assert w.lvs() == {}
    faults.vgck_clean(w)
    assert w.stale_dm_devices() == {}


def test_a_delete_of_a_volume_active_elsewhere_is_refused_by_lvm(lw):
    """The driver's policy bypassed (the attachment is not recorded):
    lvremove is refused, the volume stays, and Cinder sees VolumeIsBusy."""
    w = lw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    w.node(C1).execute('lvchange', '-asy', '--yes', VG + '/' + vol.name)
    try:
        with pytest.raises(exc.StorageRefused,
                           match='another host holds its lock'):
            w.driver.delete_volume(vol)
        assert vol.name in w.lvs()
    finally:
        w.node(C1).execute('lvchange', '-an', VG + '/' + vol.name)
    w.driver.delete_volume(vol)
    assert w.lvs() == {}


def _cli(w, host, *argv):
    """Run the operator CLI on *host* with --json; (exit code, data)."""
    out = []
    code = cli.main(list(argv) + ['--vg', VG, '--devices', ','.join(
        w.devices), '--json'], execute=w.node(host).execute,
        stdout=worldmod._Lines(out), stderr=worldmod._Lines(out))
    return code, json.loads(''.join(out))


@pytest.mark.skipif(not os.environ.get('CSLVM_LOCKD_FACTS'),
                    reason='heavier tier with the facts module: set '
                           'CSLVM_LOCKD_FACTS=1 (README.rst); the CLI is '
                           'unit-tested in tests/unit/test_cmd.py')
def test_cli_check_and_status_locks_on_each_host(lw):
    """check --lvmlockd on a compute host, and status --locks read on
    another host than the holder's, against the real daemons."""
    w = lw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    snap = w.snapshot(vol)
    w.driver.create_snapshot(snap)
    with w.attached(vol, C1):
        _code, data = _cli(w, C2, 'status', '--locks')
        held = {e['name']: e['lock'] for e in data['lvs']}
        assert held[vol.name] == 'compute-1 (host_id %d)' % (
            lw_mod.host_id(w.rig, C1))
        assert set(held.values()) == {held[vol.name], "origin's"}
    _code, data = _cli(w, C2, 'status', '--locks')
    assert {e['lock'] for e in data['lvs']} == {'free', "origin's"}
    _code, data = _cli(w, C1, 'check', '--role', 'reader', '--lvmlockd',
                       '--local-vgs')
    status = {c['check']: c['status'] for c in data['checks']}
    assert {k: status[k] for k in (
        'lvmlockd', 'sanlock-daemon', 'lvmlockd-daemon', 'host-id',
        'lockspace', 'watchdog')} == {
            'lvmlockd': 'PASS', 'sanlock-daemon': 'PASS',
            'lvmlockd-daemon': 'PASS', 'host-id': 'PASS',
            'lockspace': 'PASS', 'watchdog': 'WARN'}    # the rig's -w 0
    w.driver.delete_snapshot(snap)
    w.driver.delete_volume(vol)


# -- defence in depth -------------------------------------------------------

def test_storage_refuses_a_second_host_when_the_policy_is_bypassed(lw):
    """A family attached on C1. C2's connector is handed the connection
    data that the driver gave C1 (no initialize_connection for C2, so no
    policy check): LVM refuses it. The connector itself refuses data that
    asks a family for a shared activation, so that case runs the
    connector's exact command by hand: LVM refuses it too."""
    w = lw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    snap = w.snapshot(vol)
    w.driver.create_snapshot(snap)
    with w.attached(vol, C1) as path:
        digest = w.write(C1, path, worldmod.pattern(vol.id, 2 * MIB))
        data = w._attachment(vol, C1).connection_info['data']
        with pytest.raises(lvm_exception.LockedByOtherHost) as err:
            w.connector(C2).connect_volume(data)
        assert 'sanlock' in str(err.value)
        with pytest.raises(lvm_exception.InvalidConnectionInfo):
            w.connector(C2).connect_volume(dict(data, activation='shared'))
        reader = lvm.SharedLVM(VG, w.devices, role=lvm.READER,
                               executor=w.node(C2).execute, check_vg=False,
                               lock_manager='lvmlockd')
        for mode in ('-asy', '-aey', '-ay'):
            rc, _out, err = w.node(C2).run(*reader.lvm_argv(
                'lvchange', mode, '--yes', VG + '/' + vol.name))
            assert rc != 0 and b'locked by other host' in err, (mode, err)
        assert not dm_of(w, C2, vol.name)
        assert w.checksum(C1, path, 2) == digest
    w.driver.delete_snapshot(snap)
    w.driver.delete_volume(vol)
    assert w.stale_dm_devices() == {}


def test_metadata_writes_from_two_hosts_without_the_driver_lock(lw):
    """Two drivers, on cinder-node and compute-2, with Cinder's VG lock
    taken out: lvmlockd's VG lock serialises their writes."""
    w = lw
    other = w.make_driver(host=C2, service_host=w.driver.host)
    drivers = [w.driver, other] * 4
    volumes = [w.volume(1) for _ in drivers]
    with mock.patch.object(drvmod.SharedLVMDriver, '_metadata_lock',
                           lambda self: contextlib.nullcontext()), \
            concurrent.futures.ThreadPoolExecutor(len(drivers)) as pool:
        list(pool.map(lambda pair: pair[0].create_volume(pair[1]),
                      zip(drivers, volumes)))
        assert set(w.lvs()) == {v.name for v in volumes}
        faults.vgck_clean(w)
        list(pool.map(lambda pair: pair[0].delete_volume(pair[1]),
                      zip(drivers, volumes)))
    assert w.lvs() == {}
    faults.vgck_clean(w)
    faults.vgck_clean(w, C1)


# -- crashes: sanlock's lease expiry ------------------------------------------

def test_compute_crash_holds_the_family_until_its_lease_expires(lw):
    w = lw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    snap = w.snapshot(vol)
    w.driver.create_snapshot(snap)
    path = w.attach(vol, C1)
    digest = w.write(C1, path, worldmod.pattern(vol.id, 4 * MIB))
    w.node(C1).power_off()
    crashed = time.monotonic()
    faults.forget_all_attachments(w, vol)       # Cinder's force-detach
    with pytest.raises(lvm_exception.LockedByOtherHost,
                       match='lease expires'):
        w.attach(vol, C2)
    assert not dm_of(w, C2, vol.name)
    path, waited, _refusals = wait_until(lambda: w.attach(vol, C2))
    expiry = time.monotonic() - crashed
    print('\nlvmlockd: compute-1 crashed holding -aey; compute-2 attached '
          '%.0f s after the crash (%.0f s of retries)' % (expiry, waited))
    assert w.checksum(C2, path, 4) == digest
    print('lvmlockd: compute-1 rebooted, lockstart took %.1f s'
          % lw_mod.recover_host(w.rig, C1))
    assert not dm_of(w, C1, vol.name)
    w.detach(vol, C2)
    w.driver.delete_snapshot(snap)
    w.driver.delete_volume(vol)
    assert w.stale_dm_devices() == {}


def test_cinder_node_killed_mid_copy_recovers_after_lease_expiry(
        lw, caplog):
    w = lw
    src = w.volume(1)
    w.driver.create_volume(src)
    with w.attached(src, C1) as path:
        digest = w.write(C1, path, worldmod.pattern(src.id, 4 * MIB))
        data = w._attachment(src, C1).connection_info['data']
    new = w.volume(1)
    watcher, state = faults._power_off_when(
        w, lambda: dm_of(w, NODE, new.name), delay=0.5)
    err = faults._crash_during(w, lambda: w.driver.create_cloned_volume(
        new, src))
    crashed = time.monotonic()
    watcher.join(150)
    assert state['fired'] and err is not None, err
    # cinder-node held the source -aey for the copy, and Cinder is down
    # with it: compute-1's connector, with the data it had, is refused
    # until that lease expires.
    device, _waited, refusals = wait_until(
        lambda: w.connector(C1).connect_volume(data))
    print('\nlvmlockd: cinder-node crashed mid-copy; compute-1 activated '
          'the source %.0f s later' % (time.monotonic() - crashed))
    assert refusals > 0
    assert w.checksum(C1, device['path'], 4) == digest
    w.connector(C1).disconnect_volume(data, device)
    print('lvmlockd: cinder-node rebooted, lockstart took %.1f s'
          % lw_mod.recover_host(w.rig, NODE))
    log = faults._restart_cinder_volume(
        w, caplog, shared_lvm_cleanup_incomplete_on_startup=True)
    assert new.name in log and 'never finished' in log
    assert set(w.lvs()) == {src.name}
    w.driver.delete_volume(src)
    faults.vgck_clean(w)
    assert w.stale_dm_devices() == {}
