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

"""SharedLVMDriver: snapshots (COW and copy mode), revert and refusals."""

from cinder import exception as cinder_exception
from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver_exception as exc
from tests.unit import fakes
from tests.unit.fakes import deactivate, lvs, vgs
from tests.unit.test_driver import activate, copy_dd, dd, lvcreate, path
from tests.unit.test_driver import writes

VG = 'cinder-shared'
# The owner tag of a copy's new LV: the unit tests' service, cinder@backend1.
OWNER = 'cslvm-owner=cinder:backend1'
GiB = fakes.GiB
VOL = 'volume-%s' % fake.VOLUME_ID
NEW = 'volume-%s' % fake.VOLUME2_ID
SNAP = '_snapshot-%s' % fake.SNAPSHOT_ID
COW_ATTR = 'swi-------'


def ref(lv):
    return VG + '/' + lv


def cow_lvcreate(size):
    # NOTE: no --setautoactivation: LVM refuses it with -s; a snapshot is
    # activated with its origin, which has autoactivation off.
    return ('lvcreate', '-s', '-n', SNAP, '-L', size, '-c', '64k', '--yes',
            ref(VOL))


@pytest.fixture
def volume(make_volume, fake_vg):
    fake_vg.add_lv(VOL, GiB)
    return make_volume()


@pytest.fixture
def cow_family(fake_vg):
    """VOL is an origin with one COW snapshot SNAP."""
    fake_vg.add_lv(VOL, GiB, attr='owi-------')
    fake_vg.add_lv(SNAP, GiB, attr=COW_ATTR, origin=VOL)


@pytest.fixture
def copy_snapshot(fake_vg):
    fake_vg.add_lv(VOL, GiB)
    fake_vg.add_lv(SNAP, GiB, tags='shared_lvm_snapshot_copy')


def test_snapshot_lv_name_is_mangled(make_snapshot, volume):
    from cinder_shared_lvm import driver
    assert driver.snapshot_lv_name(make_snapshot(volume)) == SNAP


# -- create -------------------------------------------------------------------

def test_create_cow_snapshot(drv, executor, volume, make_snapshot):
    drv.create_snapshot(make_snapshot(volume))
    # 1 GiB origin at 100%: a little more than 1024 MiB, which lvcreate
    # trims to the most the COW store can use.
    assert executor.commands == [vgs(VG), cow_lvcreate('1035m')]


def test_create_cow_snapshot_smaller_store(make_driver, executor, volume,
                                           make_snapshot):
    drv = make_driver(shared_lvm_snapshot_size_percent=50)
    drv.create_snapshot(make_snapshot(volume))
    assert executor.commands[-1] == cow_lvcreate('513m')


def test_create_cow_snapshot_refuses_without_space(drv, executor, fake_vg,
                                                   volume, make_snapshot):
    fake_vg.free = GiB
    with pytest.raises(exc.OperationRefused, match='free'):
        drv.create_snapshot(make_snapshot(volume))
    assert writes(executor) == []


def test_create_copy_snapshot(make_driver, executor, volume, make_snapshot):
    drv = make_driver(shared_lvm_snapshot_mode='copy')
    drv.create_snapshot(make_snapshot(volume))
    assert executor.commands == [
        lvs(ref(VOL)), vgs(VG),
        lvcreate(SNAP, '1g', '--addtag', 'shared_lvm_snapshot_copy',
                 '--addtag', 'cslvm-incomplete',
                 '--addtag', OWNER),
        *activate(ref(VOL)), *activate(ref(SNAP)),
        copy_dd(path(VOL), path(SNAP), GiB),
        deactivate(ref(SNAP)), deactivate(ref(VOL)),
        ('lvchange', '--deltag', 'cslvm-incomplete', ref(SNAP))]


def test_create_copy_snapshot_failure_removes_it(make_driver, executor,
                                                 fake_vg, volume,
                                                 make_snapshot):
    drv = make_driver(shared_lvm_snapshot_mode='copy')
    fake_vg.add_lv(SNAP, GiB)       # as the driver's lvcreate leaves it
    executor.add(('dd',), fakes.pe_error(1, 'I/O error'))
    with pytest.raises(Exception):
        drv.create_snapshot(make_snapshot(volume))
    # the undo re-reads the half-copied LV, clears it if configured, and
    # removes it
    assert executor.commands[-2:] == [lvs(ref(SNAP)),
                                      ('lvremove', '-f', ref(SNAP))]


@pytest.mark.parametrize('mode', ['cow', 'copy'])
def test_create_snapshot_refuses_attached_volume(make_driver, executor,
                                                 fake_vg, make_volume,
                                                 make_snapshot, mode):
    drv = make_driver(shared_lvm_snapshot_mode=mode)
    fake_vg.add_lv(VOL, GiB)
    vol = make_volume(attached_to=['cmp1'])
    with pytest.raises(exc.OperationRefused, match='attached to cmp1'):
        drv.create_snapshot(make_snapshot(vol))
    assert executor.commands == []


# -- delete -------------------------------------------------------------------

def test_delete_cow_snapshot(drv, executor, cow_family, make_volume,
                             make_snapshot, fake_vg):
    """Origin detached, volume_clear none: one command, no read."""
    drv.delete_snapshot(make_snapshot(make_volume()))
    assert executor.commands == [fakes.remove_unless_origin(VG, SNAP)]
    assert SNAP not in fake_vg.lvs


def test_delete_missing_snapshot_succeeds(drv, executor, volume,
                                          make_snapshot):
    drv.delete_snapshot(make_snapshot(volume))
    assert executor.commands == [fakes.remove_unless_origin(VG, SNAP),
                                 lvs(ref(SNAP))]


def test_delete_cow_snapshot_refused_while_origin_attached(
        drv, executor, cow_family, make_volume, make_snapshot):
    vol = make_volume(attached_to=['cmp1'])
    with pytest.raises(exc.SnapshotBusyRefused, match='cmp1') as err:
        drv.delete_snapshot(make_snapshot(vol))
    # the volume manager puts a busy snapshot back to 'available'
    assert isinstance(err.value, cinder_exception.SnapshotIsBusy)
    assert executor.commands == [lvs(ref(SNAP))]


def test_delete_copy_snapshot_allowed_while_origin_attached(
        drv, executor, copy_snapshot, make_volume, make_snapshot):
    drv.delete_snapshot(make_snapshot(make_volume(attached_to=['cmp1'])))
    assert executor.commands[-1] == ('lvremove', '-f', ref(SNAP))


def test_delete_cow_snapshot_zeroes_its_cow_store(make_driver, executor,
                                                  cow_family, make_volume,
                                                  make_snapshot):
    drv = make_driver(volume_clear='zero')
    drv.delete_snapshot(make_snapshot(make_volume()))
    cow = '/dev/mapper/cinder--shared-_snapshot--%s-cow' % (
        fake.SNAPSHOT_ID.replace('-', '--'))
    assert executor.commands == [
        # NOTE: the clear brings the whole family up here: exclusively
        # (rule 5), and the origin takes it down again.
        lvs(ref(SNAP)), *activate(ref(SNAP), exclusive=True),
        dd('/dev/zero', cow, GiB), deactivate(ref(VOL)),
        ('lvremove', '-f', ref(SNAP))]


# -- create volume from snapshot ----------------------------------------------

def _new_volume(make_volume, size=2):
    return make_volume(id=fake.VOLUME2_ID, size=size)


def test_volume_from_cow_snapshot(drv, executor, cow_family, make_volume,
                                  make_snapshot):
    snap = make_snapshot(make_volume())
    drv.create_volume_from_snapshot(_new_volume(make_volume), snap)
    assert executor.commands == [
        lvs(ref(SNAP)), vgs(VG),
        lvcreate(NEW, '2g', '--addtag', 'cslvm-incomplete',
                 '--addtag', OWNER),
        *activate(ref(SNAP), exclusive=True), *activate(ref(NEW)),
        copy_dd(path(SNAP), path(NEW), GiB),
        # the family goes down with its origin
        deactivate(ref(NEW)), deactivate(ref(VOL)),
        ('lvchange', '--deltag', 'cslvm-incomplete', ref(NEW))]


def test_volume_from_cow_snapshot_refused_while_origin_attached(
        drv, executor, cow_family, make_volume, make_snapshot):
    snap = make_snapshot(make_volume(attached_to=['cmp1']))
    with pytest.raises(exc.OperationRefused, match='cmp1'):
        drv.create_volume_from_snapshot(_new_volume(make_volume), snap)
    assert executor.commands == [lvs(ref(SNAP))]


def test_volume_from_copy_snapshot_while_origin_attached(
        drv, executor, copy_snapshot, make_volume, make_snapshot):
    snap = make_snapshot(make_volume(attached_to=['cmp1']))
    drv.create_volume_from_snapshot(_new_volume(make_volume), snap)
    assert fakes.activate(ref(SNAP)) in executor.commands


def test_volume_from_snapshot_refuses_smaller_target(
        drv, executor, cow_family, make_volume, make_snapshot):
    snap = make_snapshot(make_volume(size=2), volume_size=2)
    with pytest.raises(exc.InvalidRequest, match='smaller'):
        drv.create_volume_from_snapshot(_new_volume(make_volume, 1), snap)
    assert writes(executor) == []


def test_volume_from_missing_snapshot(drv, volume, make_volume,
                                      make_snapshot):
    with pytest.raises(exc.SharedLVMDriverError, match='does not exist'):
        drv.create_volume_from_snapshot(_new_volume(make_volume),
                                        make_snapshot(volume))


# -- revert -------------------------------------------------------------------

def test_revert_cow_snapshot_merges_and_recreates(drv, executor, ctx,
                                                  cow_family, make_volume,
                                                  make_snapshot):
    vol = make_volume()
    drv.revert_to_snapshot(ctx, vol, make_snapshot(vol))
    assert executor.commands == [
        lvs(ref(SNAP)), lvs(ref(VOL)), *activate(ref(VOL), exclusive=True),
        ('lvconvert', '--merge', '--interval', '1', ref(SNAP)),
        # recreated before the deactivation, which then cannot lose it
        cow_lvcreate('1035m'), deactivate(ref(VOL))]


def test_revert_recreates_snapshot_even_with_metadata_low(
        drv, executor, ctx, fake_vg, cow_family, make_volume,
        make_snapshot):
    # the merge has just freed what the new snapshot takes
    fake_vg.mda_free = 0
    vol = make_volume()
    drv.revert_to_snapshot(ctx, vol, make_snapshot(vol))
    assert executor.commands[-2] == cow_lvcreate('1035m')


def test_revert_failed_merge_deactivates_and_stops(drv, executor, ctx,
                                                   cow_family, make_volume,
                                                   make_snapshot):
    executor.add(('lvconvert',), fakes.pe_error(5, 'merge failed'))
    vol = make_volume()
    with pytest.raises(exc.SharedLVMDriverError, match='merge failed'):
        drv.revert_to_snapshot(ctx, vol, make_snapshot(vol))
    assert executor.commands[-1] == deactivate(ref(VOL))


def test_revert_copy_snapshot_copies_back(drv, executor, ctx, copy_snapshot,
                                          make_volume, make_snapshot):
    vol = make_volume()
    drv.revert_to_snapshot(ctx, vol, make_snapshot(vol))
    assert executor.commands == [
        lvs(ref(SNAP)), lvs(ref(VOL)), *activate(ref(SNAP)),
        *activate(ref(VOL)), copy_dd(path(SNAP), path(VOL), GiB),
        deactivate(ref(VOL)), deactivate(ref(SNAP))]
    assert writes(executor) == []


@pytest.mark.parametrize('family', ['cow_family', 'copy_snapshot'])
def test_revert_refused_while_attached(drv, executor, ctx, make_volume,
                                       make_snapshot, request, family):
    request.getfixturevalue(family)
    vol = make_volume(attached_to=['cmp1'])
    with pytest.raises(exc.OperationRefused, match='Detach'):
        drv.revert_to_snapshot(ctx, vol, make_snapshot(vol))
    assert executor.commands == []


def test_cow_snapshot_takes_the_configured_chunk_size(make_driver, executor,
                                                      fake_vg, make_volume,
                                                      make_snapshot):
    drv = make_driver(shared_lvm_snapshot_chunk_size='512k')
    fake_vg.add_lv(VOL, GiB)
    drv.create_snapshot(make_snapshot(make_volume()))
    create, = [c for c in executor.commands if c[:2] == ('lvcreate', '-s')]
    assert create[create.index('-c') + 1] == '512k'
