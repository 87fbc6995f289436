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

"""SharedLVMDriver: setup, stats, volumes, exports and connections.

Each test asserts the exact commands issued through the executor (with the
LVM ``--config`` stripped); each refusal asserts that nothing that writes
metadata was issued.
"""

import contextlib
import threading

from cinder import coordination
from cinder import exception as cinder_exception
from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver
from cinder_shared_lvm import driver_exception as exc
from tests.unit import fakes
from tests.unit import test_dm
from tests.unit.fakes import deactivate, lvs, refresh, vgs


def activate(ref, exclusive=False):
    """What the data path issues to activate an LV: activate, refresh."""
    return [fakes.activate(ref, exclusive), refresh(ref)]


VG = 'cinder-shared'
# The owner tag of a copy's new LV: the unit tests' service, cinder@backend1.
OWNER = 'cslvm-owner=cinder:backend1'
GiB = fakes.GiB
VOL = 'volume-%s' % fake.VOLUME_ID
SRC = 'volume-%s' % fake.VOLUME2_ID
CONNECTOR = {'host': 'cmp1', 'shared_lvm_vgs': ['VG-UUID-1']}


def lvcreate(name, size, *extra):
    return (('lvcreate', '-n', name, '-L', size) + extra +
            ('-an', '-Zn', '--setautoactivation', 'n', '--yes', VG))


def dd(src, dst, count, bs='1M'):
    """A clear: zeros from /dev/zero, O_DIRECT writes (datapath._dd)."""
    return ('dd', 'if=%s' % src, 'of=%s' % dst, 'count=%d' % count,
            'bs=%s' % bs, 'iflag=count_bytes', 'oflag=direct')


def copy_dd(src, dst, count, bs='1M'):
    """A copy between LVs: O_DIRECT on both sides (datapath.copy)."""
    return ('dd', 'if=%s' % src, 'of=%s' % dst, 'count=%d' % count,
            'bs=%s' % bs, 'iflag=count_bytes,direct', 'oflag=direct')


def path(lv):
    return '/dev/%s/%s' % (VG, lv)


def writes(executor):
    return [c for c in executor.commands if fakes.is_metadata_write(c)]


# -- setup --------------------------------------------------------------------

def test_setup_reads_vg_through_the_executor(make_driver, executor):
    drv = make_driver(setup=False)
    drv.do_setup(None)
    drv.check_for_setup_error()
    # NOTE: the VG's tags say which service writes it (claimed here, as
    # none did); the second lvs looks for LVs a crash left incomplete or
    # active
    assert executor.commands == [
        vgs(VG), lvs(VG), ('vgs', '--noheadings', '-o', 'vg_tags',
                           '--readonly', VG),
        ('vgchange', '--addtag', 'cslvm-writer=cinder:backend1', VG),
        lvs(VG), test_dm.DMINFO]
    assert drv.vg.vg_uuid == 'VG-UUID-1'
    # every LVM command carries the config confined to the shared PV
    for argv, kwargs in executor.calls:
        if argv[0] != 'dmsetup':
            assert '/dev/sdb' in fakes.config_of(argv)
        assert kwargs['run_as_root'] is True


def test_setup_refuses_no_devices(make_driver, executor):
    drv = make_driver(setup=False, shared_lvm_devices=[])
    with pytest.raises(exc.InvalidRequest, match='shared_lvm_devices'):
        drv.check_for_setup_error()
    with pytest.raises(exc.SharedLVMDriverError, match='shared_lvm_devices'):
        drv.do_setup(None)
    assert executor.commands == []


@pytest.mark.parametrize('overrides,match', [
    ({'lvm_type': 'thin'}, 'thin'),
    ({'lvm_mirrors': 1}, 'lvm_mirrors'),
])
def test_setup_refuses_thin_and_mirrors(make_driver, executor, overrides,
                                        match):
    drv = make_driver(setup=False, **overrides)
    drv.do_setup(None)
    with pytest.raises(exc.InvalidRequest, match=match):
        drv.check_for_setup_error()
    assert executor.commands == []


def test_setup_refuses_missing_vg(make_driver, fake_vg):
    fake_vg.name = 'other-vg'
    drv = make_driver(setup=False)
    drv.do_setup(None)
    with pytest.raises(exc.SharedLVMDriverError, match='not visible'):
        drv.check_for_setup_error()


def test_setup_refuses_a_vg_another_service_writes(make_driver, fake_vg,
                                                   executor):
    """Hole 14: one writing service per VG until active-active lands."""
    fake_vg.tags = ['cslvm-writer=other-host:backend1']
    drv = make_driver(setup=False)
    drv.do_setup(None)
    with pytest.raises(exc.InvalidRequest) as err:
        drv.check_for_setup_error()
    assert 'other-host:backend1' in str(err.value)
    assert 'vgchange --deltag cslvm-writer=other-host:backend1' in str(
        err.value)
    assert not [c for c in executor.commands if fakes.is_metadata_write(c)]


def test_setup_accepts_its_own_claim(make_driver, fake_vg, executor):
    fake_vg.tags = ['cslvm-writer=cinder:backend1']
    make_driver()
    assert fake_vg.tags == ['cslvm-writer=cinder:backend1']


def test_setup_warns_on_vg_autoactivation(make_driver, fake_vg, caplog):
    fake_vg.autoactivation = 'enabled'
    make_driver()
    assert 'setautoactivation n' in caplog.text


def test_driver_options_include_own_and_reused():
    names = {o.name for o in driver.SharedLVMDriver.get_driver_options()}
    assert {'shared_lvm_volume_group', 'shared_lvm_devices',
            'shared_lvm_snapshot_mode', 'volume_clear',
            'volume_dd_blocksize', 'reserved_percentage'} <= names


def test_local_path(drv, make_volume):
    assert drv.local_path(make_volume()) == path(VOL)


# -- stats --------------------------------------------------------------------

def _stats(drv):
    return drv.get_volume_stats(refresh=True)


def test_stats_report_pool_and_metadata(drv, executor, fake_vg):
    fake_vg.free = 60 * GiB
    fake_vg.add_lv(VOL, 10 * GiB)
    fake_vg.add_lv('_snapshot-x', 2 * GiB, attr='swi-a-s---', origin=VOL)
    stats = _stats(drv)
    assert executor.commands == [vgs(VG), lvs(VG)]
    assert stats['storage_protocol'] == 'shared_lvm'
    assert stats['volume_backend_name'] == 'shared1'
    assert stats['driver_version'] == driver.SharedLVMDriver.VERSION
    pool = stats['pools'][0]
    assert pool['total_capacity_gb'] == 100
    assert pool['free_capacity_gb'] == 60
    assert pool['provisioned_capacity_gb'] == 10
    assert pool['thick_provisioning_support'] is True
    assert pool['thin_provisioning_support'] is False
    assert pool['multiattach'] is True
    # the host part of the service's host ('cinder@backend1')
    assert pool['location_info'] == 'SharedLVMDriver:cinder:%s:VG-UUID-1' % (
        VG)
    assert pool['metadata_size_bytes'] == 1 << 20
    assert pool['metadata_free_bytes'] == 1 << 19
    # half of the raw area is usable (lvm.metadata_free_percent)
    assert pool['metadata_free_percent'] == 100.0
    assert pool['backend_state'] == 'up'


def test_stats_cost_is_constant(drv, executor, fake_vg):
    for i in range(300):
        fake_vg.add_lv('lv%d' % i)
    _stats(drv)
    assert executor.commands == [vgs(VG), lvs(VG)]


def test_stats_warn_when_metadata_runs_low(drv, fake_vg, caplog):
    fake_vg.mda_free = int(0.045 * fake_vg.mda_size)  # 9% of usable half
    _stats(drv)
    assert 'metadata area' in caplog.text


def test_stats_report_down_without_vg(drv, fake_vg):
    fake_vg.name = 'gone'
    pool = _stats(drv)['pools'][0]
    assert pool['backend_state'] == 'down'
    assert pool['total_capacity_gb'] == 0


# -- create / delete ----------------------------------------------------------

def test_create_volume(drv, executor, make_volume):
    drv.create_volume(make_volume(size=3))
    assert executor.commands == [vgs(VG), lvcreate(VOL, '3g')]


def test_create_volume_runs_under_the_vg_lock(drv, executor, make_volume):
    seen = []

    def lvcreate_rule(argv):
        # Another thread must not get the lock while lvcreate runs.
        def probe():
            lock = coordination.COORDINATOR.get_lock('shared-lvm-' + VG)
            got = lock.acquire(blocking=False)
            seen.append(got)
            if got:
                lock.release()
        t = threading.Thread(target=probe)
        t.start()
        t.join()
        return '', ''
    executor.add(('lvcreate',), lvcreate_rule)
    drv.create_volume(make_volume())
    assert seen == [False]


def test_create_volume_refuses_low_metadata_area(drv, executor, fake_vg,
                                                 make_volume):
    fake_vg.mda_free = int(0.02 * fake_vg.mda_size)  # 4% of usable half
    with pytest.raises(exc.OperationRefused, match='metadata area'):
        drv.create_volume(make_volume())
    assert executor.commands == [vgs(VG)]


def test_create_volume_refuses_without_space(drv, executor, fake_vg,
                                             make_volume):
    fake_vg.free = GiB
    with pytest.raises(exc.OperationRefused, match='free'):
        drv.create_volume(make_volume(size=2))
    assert executor.commands == [vgs(VG)]


@pytest.mark.parametrize('size', [0, -1, 101, 10 ** 9])
def test_create_volume_refuses_bad_sizes(drv, executor, make_volume, size):
    vol = make_volume()
    vol.size = size
    with pytest.raises(exc.InvalidRequest):
        drv.create_volume(vol)
    assert writes(executor) == []


def test_create_volume_reports_lvm_failure(drv, executor, make_volume):
    executor.add(('lvcreate',), fakes.pe_error(5, '  Insufficient free '
                                                  'space'))
    with pytest.raises(exc.SharedLVMDriverError, match='Insufficient'):
        drv.create_volume(make_volume())


def test_delete_volume(drv, executor, fake_vg, make_volume):
    """The common case: one command, no read (the selection refuses an
    origin itself)."""
    fake_vg.add_lv(VOL)
    drv.delete_volume(make_volume())
    assert executor.commands == [fakes.remove_unless_origin(VG, VOL)]
    assert VOL not in fake_vg.lvs


def test_delete_missing_volume_succeeds(drv, executor, make_volume):
    drv.delete_volume(make_volume())
    assert executor.commands == [fakes.remove_unless_origin(VG, VOL),
                                 lvs(VG + '/' + VOL)]


def test_delete_volume_refuses_origin_with_snapshots(drv, executor, fake_vg,
                                                     make_volume):
    fake_vg.add_lv(VOL, attr='owi-------')
    with pytest.raises(exc.VolumeBusyRefused, match='snapshots') as err:
        drv.delete_volume(make_volume())
    assert isinstance(err.value, cinder_exception.VolumeIsBusy)
    assert executor.commands == [fakes.remove_unless_origin(VG, VOL),
                                 lvs(VG + '/' + VOL)]
    assert VOL in fake_vg.lvs


def test_delete_volume_that_lvm_did_not_remove_is_an_error(
        drv, executor, fake_vg, make_volume):
    """A plain LV that the selection did not remove: say so, never report
    it deleted (the LV is still there for the operator to look at)."""
    fake_vg.add_lv(VOL)
    executor.add(('lvremove', '-f', '--select'), ('', ''))
    with pytest.raises(exc.SharedLVMDriverError, match='removed nothing'):
        drv.delete_volume(make_volume())
    assert VOL in fake_vg.lvs


@pytest.mark.parametrize('why', ['attached', 'copying'])
def test_delete_volume_reads_the_lv_first_when_it_may_be_busy(
        drv, executor, fake_vg, make_volume, why):
    """Attached, or used by a copy here: the old read-then-decide path
    (which refuses) runs, and nothing is removed."""
    fake_vg.add_lv(VOL)
    with contextlib.ExitStack() as stack:
        if why == 'attached':
            volume = make_volume(attached_to=['cmp1'])
        else:
            volume = make_volume()
            stack.enter_context(drv.datapath.lease(
                VOL, drv.vg.get_lv(VOL), 'test copy', reads=(VOL,)))
        executor.reset()
        with pytest.raises(exc.VolumeBusyRefused):
            drv.delete_volume(volume)
    assert executor.commands[0] == lvs(VG + '/' + VOL)
    assert VOL in fake_vg.lvs
    assert not [c for c in writes(executor) if c[0] == 'lvremove']


def test_delete_volume_zeroes_through_executor(make_driver, executor,
                                               fake_vg, make_volume):
    drv = make_driver(volume_clear='zero', volume_clear_ionice='-c3')
    fake_vg.add_lv(VOL, 2 * GiB)
    drv.delete_volume(make_volume(size=2))
    ref = VG + '/' + VOL
    assert executor.commands == [
        lvs(ref), *activate(ref),
        ('ionice', '-c3') + dd('/dev/zero', path(VOL), 2 * GiB),
        deactivate(ref), ('lvremove', '-f', ref)]


def test_delete_volume_clear_size(make_driver, executor, fake_vg,
                                  make_volume):
    drv = make_driver(volume_clear='zero', volume_clear_size=100)
    fake_vg.add_lv(VOL, 2 * GiB)
    drv.delete_volume(make_volume(size=2))
    assert dd('/dev/zero', path(VOL), 100 << 20) in executor.commands


def test_delete_volume_failed_clear_deactivates_and_keeps_lv(
        make_driver, executor, fake_vg, make_volume):
    drv = make_driver(volume_clear='zero')
    fake_vg.add_lv(VOL)
    executor.add(('dd',), fakes.pe_error(1, 'I/O error'))
    with pytest.raises(Exception):
        drv.delete_volume(make_volume())
    ref = VG + '/' + VOL
    assert executor.commands[-1] == deactivate(ref)
    assert writes(executor) == []


# -- extend -------------------------------------------------------------------

def test_extend_plain_attached_volume(drv, executor, fake_vg, make_volume):
    fake_vg.add_lv(VOL, GiB, attr='-wi-ao----')
    drv.extend_volume(make_volume(attached_to=['cmp1']), 2)
    assert executor.commands == [lvs(VG + '/' + VOL), vgs(VG),
                                 ('lvextend', '-L', '2g', VG + '/' + VOL)]


def test_extend_detached_origin_with_snapshots(drv, executor, fake_vg,
                                               make_volume):
    fake_vg.add_lv(VOL, GiB, attr='owi-------')
    drv.extend_volume(make_volume(), 2)
    assert executor.commands[-1] == ('lvextend', '-L', '2g', VG + '/' + VOL)


def test_extend_refuses_attached_origin_with_snapshots(drv, executor,
                                                       fake_vg, make_volume):
    fake_vg.add_lv(VOL, GiB, attr='owi-------')
    with pytest.raises(exc.OperationRefused, match='cmp1'):
        drv.extend_volume(make_volume(attached_to=['cmp1']), 2)
    assert executor.commands == [lvs(VG + '/' + VOL)]


def test_extend_to_current_size_is_a_no_op(drv, executor, fake_vg,
                                           make_volume):
    fake_vg.add_lv(VOL, 2 * GiB)
    drv.extend_volume(make_volume(size=2), 2)
    assert writes(executor) == []


def test_extend_refuses_shrink_and_bad_size(drv, executor, fake_vg,
                                            make_volume):
    fake_vg.add_lv(VOL, 3 * GiB)
    with pytest.raises(exc.InvalidRequest, match='shrinking'):
        drv.extend_volume(make_volume(size=3), 2)
    with pytest.raises(exc.InvalidRequest):
        drv.extend_volume(make_volume(size=3), 0)
    assert writes(executor) == []


def test_extend_missing_volume(drv, make_volume):
    with pytest.raises(exc.SharedLVMDriverError, match='does not exist'):
        drv.extend_volume(make_volume(), 2)


# -- clone --------------------------------------------------------------------

def _clone_pair(make_volume, src_size=1, dst_size=2, **src_kw):
    src = make_volume(id=fake.VOLUME2_ID, size=src_size, **src_kw)
    dst = make_volume(size=dst_size)
    return src, dst


def test_clone_copies_source_size_into_larger_target(drv, executor, fake_vg,
                                                     make_volume):
    fake_vg.add_lv(SRC, GiB)
    src, dst = _clone_pair(make_volume)
    drv.create_cloned_volume(dst, src)
    assert executor.commands == [
        lvs(VG + '/' + SRC), vgs(VG),
        lvcreate(VOL, '2g', '--addtag', 'cslvm-incomplete',
                 '--addtag', OWNER),
        *activate(VG + '/' + SRC), *activate(VG + '/' + VOL),
        copy_dd(path(SRC), path(VOL), GiB),
        deactivate(VG + '/' + VOL), deactivate(VG + '/' + SRC),
        ('lvchange', '--deltag', 'cslvm-incomplete', VG + '/' + VOL)]


def test_clone_of_snapshot_family_activates_exclusively(drv, executor,
                                                        fake_vg, make_volume):
    fake_vg.add_lv(SRC, GiB, attr='owi-------')
    src, dst = _clone_pair(make_volume)
    drv.create_cloned_volume(dst, src)
    assert fakes.activate(VG + '/' + SRC, exclusive=True) in \
        executor.commands


def test_clone_refuses_attached_source(drv, executor, fake_vg, make_volume):
    fake_vg.add_lv(SRC, GiB)
    src, dst = _clone_pair(make_volume, attached_to=['cmp1'])
    with pytest.raises(exc.OperationRefused, match='Detach'):
        drv.create_cloned_volume(dst, src)
    assert executor.commands == []


def test_clone_refuses_smaller_target(drv, executor, fake_vg, make_volume):
    fake_vg.add_lv(SRC, 2 * GiB)
    src, dst = _clone_pair(make_volume, src_size=2, dst_size=1)
    with pytest.raises(exc.InvalidRequest, match='smaller'):
        drv.create_cloned_volume(dst, src)
    assert writes(executor) == []


def test_clone_failed_cleanup_keeps_the_copy_error(drv, executor, fake_vg,
                                                   make_volume):
    fake_vg.add_lv(SRC, GiB)
    executor.add(('dd',), fakes.pe_error(1, 'I/O error'))
    executor.add(('lvremove',), fakes.pe_error(5, 'cannot remove'))
    src, dst = _clone_pair(make_volume)
    with pytest.raises(Exception, match='I/O error'):
        drv.create_cloned_volume(dst, src)


def test_clone_failed_copy_removes_target(drv, executor, fake_vg,
                                          make_volume):
    fake_vg.add_lv(SRC, GiB)
    fake_vg.add_lv(VOL, GiB)        # as the driver's lvcreate leaves it
    executor.add(('dd',), fakes.pe_error(1, 'I/O error'))
    src, dst = _clone_pair(make_volume)
    with pytest.raises(Exception):
        drv.create_cloned_volume(dst, src)
    assert executor.commands[-4:] == [
        deactivate(VG + '/' + VOL), deactivate(VG + '/' + SRC),
        fakes.lvs(VG + '/' + VOL), ('lvremove', '-f', VG + '/' + VOL)]


# -- exports and connections --------------------------------------------------

def test_exports_are_no_ops(drv, executor, ctx, make_volume):
    vol = make_volume()
    assert drv.create_export(ctx, vol, CONNECTOR) is None
    assert drv.ensure_export(ctx, vol) is None
    assert drv.remove_export(ctx, vol) is None
    assert executor.commands == []


def test_initialize_connection_plain_volume(drv, executor, fake_vg,
                                            make_volume):
    fake_vg.add_lv(VOL, GiB, uuid='LV-UUID')
    info = drv.initialize_connection(make_volume(), dict(CONNECTOR))
    assert info == {
        'driver_volume_type': 'shared_lvm',
        'data': {'volume_id': fake.VOLUME_ID, 'vg_name': VG,
                 'vg_uuid': 'VG-UUID-1', 'lv_name': VOL,
                 'lv_uuid': 'LV-UUID', 'device_path': path(VOL),
                 'devices': ['/dev/sdb'], 'activation': 'shared',
                 'access_mode': 'rw', 'discard': True,
                 'multiattach': False}}
    assert executor.commands == [lvs(VG + '/' + VOL)]


def test_initialize_connection_plain_volume_on_second_host(
        drv, executor, fake_vg, make_volume):
    fake_vg.add_lv(VOL)
    vol = make_volume(attached_to=['cmp2'], multiattach=True)
    info = drv.initialize_connection(vol, dict(CONNECTOR, mode='ro'))
    assert info['data']['activation'] == 'shared'
    assert info['data']['access_mode'] == 'ro'
    assert info['data']['multiattach'] is True


@pytest.mark.parametrize('attached_to', [[], ['cmp1']])
def test_initialize_connection_family_is_exclusive(drv, fake_vg, make_volume,
                                                   attached_to):
    fake_vg.add_lv(VOL, attr='owi-------')
    info = drv.initialize_connection(make_volume(attached_to=attached_to),
                                     dict(CONNECTOR))
    assert info['data']['activation'] == 'exclusive'


def test_initialize_connection_refuses_family_on_second_host(
        drv, executor, fake_vg, make_volume):
    fake_vg.add_lv(VOL, attr='owi-------')
    with pytest.raises(exc.OperationRefused, match='cmp2'):
        drv.initialize_connection(make_volume(attached_to=['cmp2']),
                                  dict(CONNECTOR))
    assert writes(executor) == []


def test_initialize_connection_sees_host_in_attachment_connector(
        drv, fake_vg, make_volume):
    fake_vg.add_lv(VOL, attr='owi-------')
    vol = make_volume(attached_to=[None])
    vol.volume_attachment[0].connector = {'host': 'cmp2'}
    with pytest.raises(exc.OperationRefused, match='cmp2'):
        drv.initialize_connection(vol, dict(CONNECTOR))


@pytest.mark.parametrize('connector,match', [
    (None, 'no host'),
    ({}, 'no host'),
    ({'host': 'cmp1'}, 'does not see VG'),
    ({'host': 'cmp1', 'shared_lvm_vgs': ['OTHER']}, 'does not see VG'),
])
def test_connection_refuses_bad_connector(drv, executor, fake_vg,
                                          make_volume, connector, match):
    fake_vg.add_lv(VOL)
    with pytest.raises(exc.ConnectorRefused, match=match) as err:
        drv.initialize_connection(make_volume(), connector)
    assert isinstance(err.value, cinder_exception.InvalidConnectorException)
    with pytest.raises(exc.ConnectorRefused, match=match):
        drv.validate_connector(connector)
    assert executor.commands == []


def test_validate_connector_accepts_host_that_sees_vg(drv, executor):
    assert drv.validate_connector(dict(CONNECTOR)) is None
    assert executor.commands == []


def test_initialize_connection_missing_lv(drv, make_volume):
    with pytest.raises(exc.SharedLVMDriverError, match='does not exist'):
        drv.initialize_connection(make_volume(), dict(CONNECTOR))


@pytest.mark.parametrize('connector', [None, CONNECTOR])
def test_terminate_connection_does_nothing(drv, executor, make_volume,
                                           connector):
    assert drv.terminate_connection(make_volume(), connector,
                                    force=True) is None
    assert executor.commands == []


# -- startup recovery ---------------------------------------------------------

def test_setup_reports_incomplete_copy_and_keeps_it(make_driver, executor,
                                                    fake_vg, caplog):
    fake_vg.add_lv(VOL, GiB, tags='cslvm-incomplete')
    drv = make_driver(setup=False)
    drv.do_setup(None)
    drv.check_for_setup_error()
    assert VOL in caplog.text and 'never finished' in caplog.text
    assert not [c for c in executor.commands if fakes.is_metadata_write(c)
                and c[0] != 'vgchange']         # the writer's claim


def test_setup_removes_incomplete_copy_when_asked(make_driver, executor,
                                                  fake_vg):
    fake_vg.add_lv(VOL, GiB, tags='cslvm-incomplete')
    drv = make_driver(setup=False,
                      shared_lvm_cleanup_incomplete_on_startup=True)
    drv.do_setup(None)
    drv.check_for_setup_error()
    assert executor.commands[-1] == ('lvremove', '-f', VG + '/' + VOL)


def test_setup_removes_dm_leftovers_lvs_does_not_show(make_driver, fake_vg,
                                                      executor):
    """Hole 8: a suspended or table-less device is not 'active' to lvs,
    yet maps extents; startup asks device-mapper and removes it."""
    fake_vg.uuid = test_dm.VG_UUID
    fake_vg.add_lv('volume-x', GiB, uuid=test_dm.PLAIN)
    executor.add(test_dm.DMINFO, (test_dm.line(
        test_dm.PL, test_dm.uuid(test_dm.PLAIN), '253:4', attr='L-sw'), ''))
    drv = make_driver(setup=False)
    drv.do_setup(None)
    drv.check_for_setup_error()
    assert test_dm.rm(test_dm.uuid(test_dm.PLAIN)) in executor.commands
    assert drv._recover_after_restart()['removed_dm'] == [test_dm.PL]


def test_setup_deactivates_lvs_left_active_here(make_driver, executor,
                                                fake_vg):
    fake_vg.add_lv(VOL, GiB, attr='-wi-a-----')
    fake_vg.add_lv(SRC, GiB, attr='-wi-ao----')
    drv = make_driver(setup=False)
    drv.do_setup(None)
    drv.check_for_setup_error()
    assert deactivate(VG + '/' + VOL) in executor.commands
    assert deactivate(VG + '/' + SRC) not in executor.commands


def test_one_vg_is_one_pool_named_after_the_backend(drv):
    """Existing volumes' host#pool stays valid: with one VG (no
    shared_lvm_volume_groups) the pool keeps volume_backend_name."""
    stats = drv.get_volume_stats(refresh=True)
    assert [p['pool_name'] for p in stats['pools']] == ['shared1']
    assert drv.pool_drivers == {} and drv.pool_driver(None) is drv
