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

"""Faults on the rig: crashed hosts, a vanished LUN, a full VG, a full
metadata area, and an LV resized under a compute host.

Each test names the fault in doc/source/faults.rst. Hosts are powered off
with SIGKILL (``host.power_off()``), the way a host crashes; every test
boots them again and re-attaches the LUN, so the session's rig is whole
for the next test.
"""

import logging
import threading
import time

import pytest

from cinder_shared_lvm.cmd import main as cli
from cinder_shared_lvm import connector as connmod
from cinder_shared_lvm import driver as drvmod
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exc
from cinder_shared_lvm import family
from tests.functional import world as worldmod

pytestmark = pytest.mark.functional

NODE = worldmod.CINDER_NODE
C1, C2 = 'compute-1', 'compute-2'
MIB = worldmod.MIB
GIB = 1 << 30
VG = 'fltvg'


def ensure_up(host):
    """Boot *host* if it is off or its agent no longer answers."""
    if host.is_up():
        try:
            host.execute('true', timeout=20)
            return
        except Exception:
            host.power_off()
    host.boot()


def restore_rig(w):
    """Every host up, with its LUN, and nothing of VG active anywhere."""
    for name in w.rig.host_names:
        host = w.rig.host(name)
        ensure_up(host)
        if not host.lun_attached:
            host.attach_lun()
            host.device_for_serial()
        host.execute('lvchange', '-an', w.vg_name, check_exit_code=False)


@pytest.fixture
def fw(world_factory):
    w = world_factory(vg_name=VG, backend='faults', overrides={
        'shared_lvm_cleanup_incomplete_on_startup': False,
        'shared_lvm_snapshot_mode': 'cow'})
    w.prepare_vg()
    w.setup_driver()
    yield w
    restore_rig(w)
    w.remove_vg()


def run_cli(w, host, *args):
    """Run the operator CLI on *host*; (exit code, stdout, stderr)."""
    out, err = [], []
    rc = cli.main(list(args), execute=w.node(host).execute,
                  stdout=worldmod._Lines(out), stderr=worldmod._Lines(err))
    return rc, ''.join(out), ''.join(err)


def vgck_clean(w, host=NODE):
    rc, out, err = w.node(host).run('vgck', w.vg_name)
    assert rc == 0, (out + err).decode(errors='replace')


def dm_of(w, host, lv_name):
    return w.node(host).dm_tables().get(connmod.dm_name(w.vg_name, lv_name))


def sectors(table: str) -> int:
    """Length of a dm device in sectors (an extended LV may have several
    segments, one table line each)."""
    return sum(int(line.split()[1]) for line in table.splitlines())


def forget_all_attachments(w, volume):
    """Cinder's force-detach: terminate_connection(connector=None)."""
    w.driver.terminate_connection(volume, None)
    for att in list(volume.volume_attachment.objects):
        w.forget_attachment(volume, att.attached_host)


# -- a compute host crashes with LVs active -----------------------------------

def test_compute_crash_force_detach_reattach_elsewhere(fw):
    w = fw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    path = w.attach(vol, C1)
    data = worldmod.pattern(vol.id, 4 * MIB)
    digest = w.write(C1, path, data)
    assert dm_of(w, C1, vol.name)

    w.node(C1).power_off()
    forget_all_attachments(w, vol)
    assert vol.attach_status == 'detached'

    with w.attached(vol, C2) as path2:
        assert w.checksum(C2, path2, 4) == digest

    w.node(C1).boot()
    # LVs are never autoactivated: the crashed host comes back with none.
    rc, out, err = run_cli(w, C1, 'cleanup', '--role', 'reader', '--vg',
                           VG, '--devices', worldmod.LUN, '--json')
    assert rc == 0, err
    assert '"deactivated": []' in out and '"skipped_open": []' in out
    assert not w.stale_dm_devices()
    vgck_clean(w)


def test_compute_crash_then_cleanup_deactivates_leftovers(fw):
    """Without a reboot (host hung, service restarted) LVs stay active:
    cleanup on that host deactivates what no local user holds open."""
    w = fw
    vols = [w.volume(1), w.volume(1)]
    for v in vols:
        w.driver.create_volume(v)
        w.attach(v, C1)
    forget_all_attachments(w, vols[0])
    forget_all_attachments(w, vols[1])
    rc, out, err = run_cli(w, C1, 'cleanup', '--vg', VG, '--devices',
                           worldmod.LUN, '--json')
    assert rc == 0, err
    for v in vols:
        assert v.name in out
    assert not w.stale_dm_devices()


# -- cinder-node crashes mid-operation ----------------------------------------

def _power_off_when(w, predicate, delay=0.0, timeout=120):
    """Start a thread that powers cinder-node off once predicate() holds."""
    node = w.node(NODE)
    state = {'fired': False}

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    break
            except Exception:
                return
            time.sleep(0.05)
        time.sleep(delay)
        state['fired'] = True
        node.power_off()
    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t, state


def _crash_during(w, operation):
    """Run *operation*, which must fail because cinder-node dies."""
    err = {}

    def run():
        try:
            operation()
        except Exception as e:      # the host went down under it
            err['e'] = e
    t = threading.Thread(target=run)
    t.start()
    t.join(300)
    assert not t.is_alive()
    return err.get('e')


def _restart_cinder_volume(w, caplog, **overrides):
    """Boot cinder-node; a new driver's startup runs its recovery.

    cinder-volume runs on cinder-node, so the crash ended its process too:
    what that process counted as active there (family.ACTIVE, which keeps
    a lease whose deactivation failed) goes with it.
    """
    ensure_up(w.node(NODE))
    family.ACTIVE.forget_all()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='cinder_shared_lvm'):
        w.driver = w.make_driver(**overrides)
    return caplog.text


def _kill_on_command(w, drv, words, delay):
    """Power cinder-node off *delay* s after a command with *words* starts.

    Wraps the driver's LVM executor; the kill races the command itself,
    as a crash does.
    """
    node = w.node(NODE)
    real = drv.vg._execute
    fired = []

    def execute(*cmd, **kwargs):
        if not fired and all(word in cmd for word in words):
            timer = threading.Timer(delay, node.power_off)
            fired.append(timer)
            timer.start()
        return real(*cmd, **kwargs)
    drv.vg._execute = execute
    return fired


@pytest.mark.parametrize('delay', [0.0, 0.4], ids=['at-send', 'mid-command'])
def test_cinder_node_crash_during_create(fw, caplog, delay):
    w = fw
    keep = w.volume(1)
    w.driver.create_volume(keep)
    vol = w.volume(1)
    fired = _kill_on_command(w, w.driver, ('lvcreate',), delay)
    err = _crash_during(w, lambda: w.driver.create_volume(vol))
    fired[0].join()
    log = _restart_cinder_volume(w, caplog)
    vgck_clean(w)
    lvs = w.lvs()
    assert keep.name in lvs
    assert 'never finished' not in log
    # The lvcreate either committed or never happened: one metadata
    # write is atomic. Cinder sets the volume to error and deletes it.
    # What reported success before the crash exists after it.
    if err is None:
        assert vol.name in lvs
    if vol.name in lvs:
        assert lvs[vol.name]['size_bytes'] == GIB
        assert not lvs[vol.name]['tags']
    w.driver.delete_volume(vol)
    assert set(w.lvs()) == {keep.name}
    print('create crash (%s): %s, LV %s' % (
        delay, 'failed' if err else 'returned first',
        'committed' if vol.name in lvs else 'never written'))


@pytest.mark.parametrize('delay', [0.0, 0.4], ids=['at-send', 'mid-command'])
def test_cinder_node_crash_during_snapshot(fw, caplog, delay):
    w = fw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    snap = w.snapshot(vol)
    fired = _kill_on_command(w, w.driver, ('lvcreate', '-s'), delay)
    err = _crash_during(w, lambda: w.driver.create_snapshot(snap))
    fired[0].join()
    log = _restart_cinder_volume(w, caplog)
    vgck_clean(w)
    lvs = w.lvs()
    assert vol.name in lvs and lvs[vol.name]['size_bytes'] == GIB
    assert 'never finished' not in log
    snap_lv = drvmod.snapshot_lv_name(snap)
    if err is None:
        assert snap_lv in lvs
    if snap_lv in lvs:
        assert lvs[snap_lv]['origin'] == vol.name
    w.driver.delete_snapshot(snap)
    assert set(w.lvs()) == {vol.name}
    print('snapshot crash (%s): %s, LV %s' % (
        delay, 'failed' if err else 'returned first',
        'committed' if snap_lv in lvs else 'never written'))


@pytest.mark.parametrize('kind', ['clone', 'copy-snapshot'])
def test_cinder_node_crash_during_copy(fw, caplog, kind):
    """Killed during the dd: startup names the half-made LV; with the
    cleanup option it removes it; the source and its data are intact."""
    w = fw
    src = w.volume(1)
    w.driver.create_volume(src)
    with w.attached(src, C1) as path:
        digest = w.write(C1, path, worldmod.pattern(src.id, 4 * MIB))
    if kind == 'clone':
        new = w.volume(1)
        new_lv = new.name
        operation = lambda: w.driver.create_cloned_volume(new, src)  # noqa
    else:
        w.driver = w.make_driver(shared_lvm_snapshot_mode='copy')
        snap = w.snapshot(src)
        new_lv = drvmod.snapshot_lv_name(snap)
        operation = lambda: w.driver.create_snapshot(snap)  # noqa
    dm = connmod.dm_name(VG, new_lv)
    watcher, state = _power_off_when(
        w, lambda: dm in w.node(NODE).dm_tables(), delay=0.5)
    err = _crash_during(w, operation)
    watcher.join(150)
    assert state['fired'] and err is not None, err

    log = _restart_cinder_volume(w, caplog)
    vgck_clean(w)
    lvs = w.lvs()
    assert new_lv in log and 'never finished' in log
    assert drvmod.INCOMPLETE_TAG in lvs[new_lv]['tags']
    assert not [n for n, lv in lvs.items() if lv['active']]
    # Report only by default; the option removes it.
    log = _restart_cinder_volume(
        w, caplog, shared_lvm_cleanup_incomplete_on_startup=True)
    assert set(w.lvs()) == {src.name}
    w.driver = w.make_driver()
    with w.attached(src, C2) as path:
        assert w.checksum(C2, path, 4) == digest
    vgck_clean(w)


def test_restart_without_reboot_deactivates_leftover_lvs(fw, caplog):
    """cinder-volume restarts (no reboot) while a copy had LVs active."""
    w = fw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    w.node(NODE).execute('lvchange', '-ay', '%s/%s' % (VG, vol.name))
    assert dm_of(w, NODE, vol.name)
    log = _restart_cinder_volume(w, caplog)
    assert 'left active' in log
    assert not dm_of(w, NODE, vol.name)


# -- the shared LU vanishes from a compute host -------------------------------

def test_lun_gone_before_attach_is_refused_cleanly(fw):
    w = fw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    w.node(C1).detach_lun()
    try:
        with pytest.raises(Exception) as err:
            w.attach(vol, C1)
        assert VG in str(err.value)
        assert not dm_of(w, C1, vol.name)
    finally:
        w.node(C1).attach_lun()
        assert w.node(C1).device_for_serial() == worldmod.LUN
    assert vol.attach_status == 'detached'


def test_lun_gone_during_attach_leaves_nothing_active(fw):
    """connect_volume after initialize_connection; the LUN vanishes
    between the connector's lvs and its lvchange -ay."""
    w = fw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    info = w.driver.initialize_connection(vol, w.connector_properties(C1))
    host = w.node(C1)
    conn = w.connector(C1)
    conn.device_scan_attempts = 1

    def execute(*cmd, **kwargs):
        if 'lvchange' in cmd and '-ay' in cmd:
            host.detach_lun()
        return host.execute(*cmd, **kwargs)
    conn.set_execute(execute)
    try:
        t0 = time.monotonic()
        with pytest.raises(lvm_exc.SharedLVMError) as err:
            conn.connect_volume(info['data'])
        elapsed = time.monotonic() - t0
        assert VG in str(err.value)
        print('attach with vanished LUN failed in %.1fs: %s' % (
            elapsed, err.value))
        assert not dm_of(w, C1, vol.name)
    finally:
        if not host.lun_attached:
            host.attach_lun()
        assert host.device_for_serial() == worldmod.LUN
    # And with the LUN back, the same connection data attaches.
    assert w.connector(C1).connect_volume(info['data'])['path']
    w.connector(C1).disconnect_volume(info['data'], None)
    assert not w.stale_dm_devices()


# -- the VG is full -----------------------------------------------------------

def test_vg_full_create_fails_cleanly(fw):
    w = fw
    w.driver.create_volume(w.volume(1))
    before, seqno = set(w.lvs()), w.vg_seqno()
    free_gb = int(w.driver.get_volume_stats(True)['pools'][0][
        'free_capacity_gb'])
    for size in (free_gb + 1, 10 * free_gb):
        vol = w.volume(size)
        with pytest.raises(exc.SharedLVMDriverError) as err:
            w.driver.create_volume(vol)
        assert 'free' in str(err.value) or 'larger' in str(err.value), \
            err.value
    assert set(w.lvs()) == before and w.vg_seqno() == seqno
    # A clone that does not fit is refused before its LV is made.
    src = w.volume(1)
    w.driver.create_volume(src)
    before, seqno = set(w.lvs()), w.vg_seqno()
    with pytest.raises(exc.SharedLVMDriverError):
        w.driver.create_cloned_volume(w.volume(free_gb + 1), src)
    assert set(w.lvs()) == before
    assert w.vg_seqno() == seqno
    vgck_clean(w)


# -- the metadata area is nearly full -----------------------------------------

@pytest.fixture
def small_md_world(world_factory):
    """A VG whose metadata area holds only ~100 LVs."""
    w = world_factory(vg_name='mdvg', backend='mdfull')
    node = w.node()
    node.execute('pvcreate', '-ff', '-y', '--metadatasize', '64k',
                 worldmod.LUN)
    node.execute('vgcreate', '--setautoactivation', 'n', w.vg_name,
                 worldmod.LUN)
    w.setup_driver()
    yield w
    w.remove_vg()
    node.shell('rm -f /etc/lvm/archive/mdvg_* /etc/lvm/backup/mdvg')


def _md_free_pct(w):
    return w.driver.get_volume_stats(True)['pools'][0][
        'metadata_free_percent']


def test_metadata_area_nearly_full_warns_then_refuses(small_md_world,
                                                      caplog):
    w = small_md_world
    # LVM rounds the tiny --metadatasize up; to keep the LV count modest
    # the threshold is set ~40 LVs below the level after a first batch.
    minimum = 0
    made = 0
    pct0 = _md_free_pct(w)
    # Fill with plain metadata-only LVs, ten per round trip.
    while _md_free_pct(w) >= minimum:
        assert made < 200, 'metadata area never filled'
        if made == 20:
            pct = _md_free_pct(w)
            minimum = min(90, max(1, int(pct - 40 * (pct0 - pct) / 20.0)))
            worldmod.CONF.set_override(
                'shared_lvm_min_free_metadata_percent', minimum,
                group=w.backend)
        # NOTE: no archive or backup: each copy holds the whole metadata,
        # and hundreds of them fill the VM's small root file system.
        # Two 200-character tags make each LV cost ~0.7 KiB of metadata.
        tags = ' '.join('--addtag %s' % (c * 200) for c in 'ab')
        script = '; '.join(
            'lvcreate --config "backup { backup=0 archive=0 }" -an -Zn '
            '-L4m --setautoactivation n %s -n f%d %s >/dev/null 2>&1' % (
                tags, made + i, w.vg_name) for i in range(10))
        w.node().shell(script)
        made += 10
    with caplog.at_level(logging.WARNING, logger='cinder_shared_lvm'):
        caplog.clear()
        pct = _md_free_pct(w)
        assert 'metadata area' in caplog.text
    before, seqno = set(w.lvs()), w.vg_seqno()
    vol = w.volume(1)
    with pytest.raises(exc.OperationRefused, match='metadata area'):
        w.driver.create_volume(vol)
    assert set(w.lvs()) == before and w.vg_seqno() == seqno
    # LVM itself would still have accepted it: the refusal came first.
    w.node().execute('lvcreate', '-an', '-Zn', '-L4m', '-n', 'probe',
                     w.vg_name)
    print('metadata area: %d bytes, %.1f%% free at start; %d LVs made, '
          '%.1f%% free, refused below %d%%; LVM still accepted one more' % (
              w.driver.vg.vg_mda_size, pct0, made, pct, minimum))
    vgck_clean(w)


# -- an LV extended while active on a compute host ----------------------------

def test_extend_while_active_on_compute_refreshes(fw):
    w = fw
    vol = w.volume(1)
    w.driver.create_volume(vol)
    path = w.attach(vol, C1)
    digest = w.write(C1, path, worldmod.pattern(vol.id, 4 * MIB))
    data = w._attachment(vol, C1).connection_info['data']
    assert sectors(dm_of(w, C1, vol.name)) == GIB // 512

    vol.size = 2
    w.driver.extend_volume(vol, 2)
    assert w.lvs()[vol.name]['size_bytes'] == 2 * GIB
    # Until the connector refreshes, the compute keeps its old table:
    assert sectors(dm_of(w, C1, vol.name)) == GIB // 512
    assert w.device_size(C1, path) == GIB
    assert w.connector(C1).extend_volume(data) == 2 * GIB
    assert sectors(dm_of(w, C1, vol.name)) == 2 * GIB // 512
    assert w.checksum(C1, path, 4) == digest
    tail = w.write(C1, path, worldmod.pattern('tail', MIB), 1536)
    assert w.checksum(C1, path, 1, 1536) == tail

    # A repeated attach of an LV already active here refreshes it too.
    vol.size = 3
    w.driver.extend_volume(vol, 3)
    assert sectors(dm_of(w, C1, vol.name)) == 2 * GIB // 512
    w.connector(C1).connect_volume(data)
    assert sectors(dm_of(w, C1, vol.name)) == 3 * GIB // 512
    assert w.device_size(C1, path) == 3 * GIB
    assert w.checksum(C1, path, 4) == digest
    w.detach(vol, C1)
    assert not w.stale_dm_devices()
