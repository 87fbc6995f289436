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

"""SharedLVMDriver: manage/unmanage, retype, migration, images, interface."""

import inspect
import threading
import time
from unittest import mock

from cinder import exception as cinder_exception
from cinder.image import image_utils
from cinder.interface import volume_driver as if_volume
from cinder.interface import volume_manageable_driver as if_manage
from cinder.interface import volume_snapshot_revert as if_revert
from cinder.interface import volume_snapshotmanagement_driver as if_snapman
from cinder.tests.unit import fake_constants as fake
from cinder.volume import driver as cinder_driver
import pytest

from cinder_shared_lvm import driver
from cinder_shared_lvm import driver_exception as exc
from tests.unit import fakes
from tests.unit.fakes import deactivate, lvs, vgs
from tests.unit.test_driver import activate, path, writes

VG = 'cinder-shared'
GiB = fakes.GiB
VOL = 'volume-%s' % fake.VOLUME_ID
SNAP = '_snapshot-%s' % fake.SNAPSHOT_ID


def ref(lv):
    return VG + '/' + lv


# -- manage_existing ----------------------------------------------------------

@pytest.mark.parametrize('source', ['data1', VG + '/data1',
                                    '/dev/%s/data1' % VG])
def test_manage_existing_renames_and_disables_autoactivation(
        drv, executor, fake_vg, make_volume, source):
    fake_vg.add_lv('data1', 2 * GiB)
    vol = make_volume(size=2)
    assert drv.manage_existing_get_size(vol, {'source-name': source}) == 2
    executor.reset()
    drv.manage_existing(vol, {'source-name': source})
    assert executor.commands == [
        lvs(ref('data1')), ('lvrename', VG, 'data1', VOL),
        ('lvchange', '--setautoactivation', 'n', ref(VOL))]


def test_manage_existing_rounds_lv_up_to_whole_gib(drv, executor, fake_vg,
                                                   make_volume):
    fake_vg.add_lv('data1', GiB + GiB // 2)
    vol = make_volume(size=2)
    assert drv.manage_existing_get_size(vol, {'source-name': 'data1'}) == 2
    executor.reset()
    drv.manage_existing(vol, {'source-name': 'data1'})
    assert executor.commands == [
        lvs(ref('data1')), vgs(VG), ('lvextend', '-L', '2g', ref('data1')),
        ('lvrename', VG, 'data1', VOL),
        ('lvchange', '--setautoactivation', 'n', ref(VOL))]


@pytest.mark.parametrize('existing_ref', [
    {}, {'source-id': 'x'}, {'source-name': 5}, None,
    {'source-name': 'othervg/data1'}, {'source-name': '/dev/othervg/data1'},
    {'source-name': 'a/b/c'}, {'source-name': '-rf'},
    {'source-name': '../data1'}, {'source-name': 'a;reboot'},
    {'source-name': '$(reboot)'}, {'source-name': 'snapshot1'},
    {'source-name': ''}, {'source-name': 'x' * 200},
])
def test_manage_existing_refuses_bad_references(drv, executor, fake_vg,
                                                make_volume, existing_ref):
    fake_vg.add_lv('data1')
    vol = make_volume()
    with pytest.raises(cinder_exception.ManageExistingInvalidReference):
        drv.manage_existing_get_size(vol, existing_ref)
    with pytest.raises(cinder_exception.ManageExistingInvalidReference):
        drv.manage_existing(vol, existing_ref)
    assert executor.commands == []


@pytest.mark.parametrize('attr,match', [
    ('swi-------', 'is a COW snapshot'),
    ('-wi-ao----', 'open'),
])
def test_manage_existing_refuses_snapshot_or_open_lv(drv, executor, fake_vg,
                                                     make_volume, attr,
                                                     match):
    fake_vg.add_lv('data1', attr=attr, origin='x' if attr[0] == 's' else '')
    with pytest.raises(cinder_exception.ManageExistingInvalidReference,
                       match=match):
        drv.manage_existing(make_volume(), {'source-name': 'data1'})
    assert writes(executor) == []


def test_manage_existing_refuses_missing_lv(drv, executor, make_volume):
    with pytest.raises(cinder_exception.ManageExistingInvalidReference,
                       match='does not exist'):
        drv.manage_existing(make_volume(), {'source-name': 'data1'})
    assert writes(executor) == []


def test_manage_existing_refuses_already_managed(drv, executor, fake_vg,
                                                 make_volume):
    fake_vg.add_lv('volume-%s' % fake.VOLUME2_ID)
    with pytest.raises(cinder_exception.ManageExistingAlreadyManaged):
        drv.manage_existing(make_volume(),
                            {'source-name': 'volume-%s' % fake.VOLUME2_ID})
    assert writes(executor) == []


def test_manage_existing_snapshot(drv, executor, fake_vg, make_volume,
                                  make_snapshot):
    fake_vg.add_lv(VOL, attr='owi-------')
    fake_vg.add_lv('snap1', attr='swi-------', origin=VOL)
    snap = make_snapshot(make_volume())
    assert drv.manage_existing_snapshot_get_size(
        snap, {'source-name': 'snap1'}) == 1
    executor.reset()
    drv.manage_existing_snapshot(snap, {'source-name': 'snap1'})
    assert executor.commands == [lvs(ref('snap1')),
                                 ('lvrename', VG, 'snap1', SNAP)]


def test_an_unmanaged_volume_can_be_managed_again(drv, executor, fake_vg,
                                                  make_volume):
    """Unmanage keeps the LV's volume-<id> name; tempest's
    test_unmanage_manage_volume then manages it again."""
    old = 'volume-%s' % fake.VOLUME2_ID
    fake_vg.add_lv(old)
    drv._record_exists = lambda kind, record_id: False
    drv.manage_existing(make_volume(), {'source-name': old})
    assert ('lvrename', VG, old, VOL) in executor.commands


def test_managed_snapshot_size_is_its_origins_not_its_cow_store(
        drv, executor, fake_vg, make_volume, make_snapshot):
    """Hole 6: lvs gives a COW snapshot's store size (512 MiB here); a
    volume made from it, or a revert's new store, would be 1 GiB."""
    fake_vg.add_lv(VOL, 10 * GiB, attr='owi-------')
    fake_vg.add_lv('snap1', 512 << 20, attr='swi-------', origin=VOL)
    snap = make_snapshot(make_volume(size=10))
    assert drv.manage_existing_snapshot_get_size(
        snap, {'source-name': 'snap1'}) == 10


@pytest.mark.parametrize('attr,kind', [
    ('Vwi-a-tz--', 'a thin LV'), ('twi-a-tz--', 'a thin pool'),
    ('rwi-a-r---', 'a RAID LV'), ('mwi-a-m---', 'a mirror'),
    ('Cwi-a-C---', 'a cached LV'), ('-wi-a-v---', "target type 'v'")])
def test_manage_refuses_what_is_not_a_thick_lv(drv, executor, fake_vg,
                                               make_volume, attr, kind):
    """Hole 7: attaching one would activate pool or RAID metadata on a
    compute host."""
    fake_vg.add_lv('odd', GiB, attr=attr)
    for call in (drv.manage_existing_get_size, drv.manage_existing):
        with pytest.raises(cinder_exception.ManageExistingInvalidReference,
                           match=kind):
            call(make_volume(), {'source-name': 'odd'})
    assert writes(executor) == []
    entry, = [e for e in drv.get_manageable_volumes(
        [], None, 1000, 0, ['size'], ['asc'])
        if e['reference']['source-name'] == 'odd']
    assert entry['safe_to_manage'] is False
    assert kind in entry['reason_not_safe']


def test_manage_existing_snapshot_refuses_other_origin(
        drv, executor, fake_vg, make_volume, make_snapshot):
    fake_vg.add_lv('snap1', attr='swi-------', origin='other')
    with pytest.raises(cinder_exception.ManageExistingInvalidReference,
                       match='not of'):
        drv.manage_existing_snapshot(make_snapshot(make_volume()),
                                     {'source-name': 'snap1'})
    assert writes(executor) == []


def test_manage_existing_snapshot_refuses_plain_lv(drv, executor, fake_vg,
                                                   make_volume,
                                                   make_snapshot):
    fake_vg.add_lv('data1')
    with pytest.raises(cinder_exception.ManageExistingInvalidReference,
                       match='not a COW snapshot'):
        drv.manage_existing_snapshot(make_snapshot(make_volume()),
                                     {'source-name': 'data1'})


def test_manage_existing_snapshot_refused_while_origin_attached(
        drv, executor, fake_vg, make_volume, make_snapshot):
    fake_vg.add_lv('snap1', attr='swi-------', origin=VOL)
    snap = make_snapshot(make_volume(attached_to=['cmp1']))
    with pytest.raises(exc.OperationRefused, match='cmp1'):
        drv.manage_existing_snapshot(snap, {'source-name': 'snap1'})
    assert writes(executor) == []


def test_unmanage_leaves_the_lv(drv, executor, make_volume, make_snapshot):
    vol = make_volume()
    drv.unmanage(vol)
    drv.unmanage_snapshot(make_snapshot(vol))
    assert executor.commands == []


# -- manageable listings ------------------------------------------------------

@pytest.fixture
def mixed_vg(fake_vg):
    fake_vg.add_lv(VOL, GiB, attr='owi-------')
    fake_vg.add_lv('data1', GiB + 1)
    fake_vg.add_lv('busy', GiB, attr='-wi-ao----')
    fake_vg.add_lv('snap1', GiB, attr='swi-------', origin=VOL)
    fake_vg.add_lv(SNAP, GiB, tags='shared_lvm_snapshot_copy')
    return fake_vg


def test_get_manageable_volumes(drv, executor, mixed_vg):
    entries = drv.get_manageable_volumes(
        [{'id': fake.VOLUME_ID}], None, 1000, 0, ['size'], ['asc'])
    assert executor.commands == [lvs(VG)]
    by_name = {e['reference']['source-name']: e for e in entries}
    assert set(by_name) == {VOL, 'data1', 'busy'}
    assert by_name['data1']['safe_to_manage'] is True
    assert by_name['data1']['size'] == 2
    assert by_name[VOL]['cinder_id'] == fake.VOLUME_ID
    assert by_name[VOL]['reason_not_safe'] == 'already managed'
    assert by_name['busy']['reason_not_safe'] == 'in use'


def test_get_manageable_snapshots(drv, executor, mixed_vg):
    entries = drv.get_manageable_snapshots(
        [{'id': fake.SNAPSHOT_ID}], None, 1000, 0, ['size'], ['asc'])
    assert executor.commands == [lvs(VG)]
    by_name = {e['reference']['source-name']: e for e in entries}
    assert set(by_name) == {'snap1', SNAP}
    assert by_name['snap1']['safe_to_manage'] is True
    assert by_name['snap1']['source_reference'] == {'source-name': VOL}
    assert by_name[SNAP]['cinder_id'] == fake.SNAPSHOT_ID


# -- retype and migration -----------------------------------------------------

def test_retype_needs_nothing(drv, executor, ctx, make_volume):
    diff = {'extra_specs': {'foo': ('a', 'b')}, 'qos_specs': {},
            'encryption': {}}
    assert drv.retype(ctx, make_volume(), None, diff, {'host': 'x'}) is True
    assert executor.commands == []


def test_retype_refuses_encryption_change(drv, ctx, make_volume):
    diff = {'encryption': {'cipher': (None, 'aes-xts-plain64')}}
    assert drv.retype(ctx, make_volume(), None, diff, {'host': 'x'}) is False


def _host(location):
    return {'host': 'cinder2@shared', 'capabilities': {
        'location_info': location}}


def test_migrate_within_the_same_vg_moves_nothing(drv, executor, ctx,
                                                  make_volume):
    host = _host('SharedLVMDriver:other-node:%s:VG-UUID-1' % VG)
    assert drv.migrate_volume(ctx, make_volume(), host) == (True, None)
    assert writes(executor) == []


@pytest.mark.parametrize('location', [
    'SharedLVMDriver:other-node:%s:OTHER-UUID' % VG,
    'SharedLVMDriver:other-node:othervg:VG-UUID-1',
    'LVMVolumeDriver:node:cinder-volumes:default:0',
    'garbage', None,
])
def test_migrate_elsewhere_is_generic(drv, executor, ctx, make_volume,
                                      location):
    assert drv.migrate_volume(ctx, make_volume(), _host(location)) == (
        False, None)
    assert writes(executor) == []


def test_update_migrated_volume_renames_back(drv, executor, ctx,
                                             make_volume):
    vol = make_volume()
    new = make_volume(id=fake.VOLUME2_ID)
    assert drv.update_migrated_volume(ctx, vol, new, 'available') == {
        '_name_id': None, 'provider_location': None}
    assert executor.commands == [
        ('lvrename', VG, 'volume-%s' % fake.VOLUME2_ID, VOL)]


def test_update_migrated_volume_keeps_name_when_in_use(drv, executor, ctx,
                                                       make_volume):
    new = make_volume(id=fake.VOLUME2_ID)
    assert drv.update_migrated_volume(ctx, make_volume(), new, 'in-use') == {
        '_name_id': fake.VOLUME2_ID, 'provider_location': None}
    assert executor.commands == []


def test_update_migrated_volume_keeps_name_when_rename_fails(
        drv, executor, ctx, make_volume):
    executor.add(('lvrename',), fakes.pe_error(5, 'already exists'))
    new = make_volume(id=fake.VOLUME2_ID)
    result = drv.update_migrated_volume(ctx, make_volume(), new, 'available')
    assert result['_name_id'] == fake.VOLUME2_ID


# -- images -------------------------------------------------------------------

@pytest.fixture
def image_tmp(tmp_path):
    """image_utils' temporary file, at a known path in a temp dir."""
    tmp = tmp_path / 'image.tmp'
    tmp.write_bytes(b'')

    class _Tmp(object):
        def __enter__(self):
            return str(tmp)

        def __exit__(self, *args):
            return False
    with mock.patch.object(image_utils, 'temporary_file',
                           return_value=_Tmp()):
        yield str(tmp)


def _qemu_info(fmt='qcow2', virtual_size=GiB, backing_file=None):
    return mock.Mock(file_format=fmt, virtual_size=virtual_size,
                     backing_file=backing_file, format_specific=None)


@pytest.fixture
def image_service():
    service = mock.Mock()
    service.show.return_value = {'disk_format': 'qcow2', 'id': fake.IMAGE_ID}
    return service


def test_copy_image_to_volume_converts_through_executor(
        drv, executor, ctx, fake_vg, image_service, image_tmp, make_volume):
    fake_vg.add_lv(VOL)
    with mock.patch.object(image_utils, 'fetch') as fetch, \
            mock.patch.object(image_utils, 'qemu_img_info',
                              return_value=_qemu_info()) as info, \
            mock.patch.object(image_utils, 'check_qcow2_image'):
        drv.copy_image_to_volume(ctx, make_volume(), image_service,
                                 fake.IMAGE_ID)
    fetch.assert_called_once_with(ctx, image_service, fake.IMAGE_ID,
                                  image_tmp, None, None)
    info.assert_called_once_with(image_tmp, run_as_root=False)
    assert executor.commands == [
        fakes.lvs(ref(VOL)), *activate(ref(VOL)),
        ('qemu-img', 'convert', '-O', 'raw', '-t', 'none', '-f', 'qcow2',
         image_tmp, path(VOL)),
        deactivate(ref(VOL))]


@pytest.mark.parametrize('info,disk_format', [
    (_qemu_info(backing_file='/etc/shadow'), 'qcow2'),
    (_qemu_info(fmt='qcow2'), 'raw'),
    (_qemu_info(virtual_size=2 * GiB), 'qcow2'),
    (_qemu_info(fmt=None), 'qcow2'),
])
def test_copy_image_to_volume_refuses_unsafe_images(
        drv, executor, ctx, image_service, image_tmp, make_volume, info,
        disk_format):
    image_service.show.return_value = {'disk_format': disk_format}
    with mock.patch.object(image_utils, 'fetch'), \
            mock.patch.object(image_utils, 'qemu_img_info',
                              return_value=info), \
            mock.patch.object(image_utils, 'check_qcow2_image'):
        with pytest.raises(cinder_exception.ImageUnacceptable):
            drv.copy_image_to_volume(ctx, make_volume(), image_service,
                                     fake.IMAGE_ID)
    assert executor.commands == []


def test_copy_image_to_volume_deactivates_on_failure(
        drv, executor, ctx, fake_vg, image_service, image_tmp, make_volume):
    fake_vg.add_lv(VOL)
    executor.add(('qemu-img',), fakes.pe_error(1, 'convert failed'))
    with mock.patch.object(image_utils, 'fetch'), \
            mock.patch.object(image_utils, 'qemu_img_info',
                              return_value=_qemu_info()), \
            mock.patch.object(image_utils, 'check_qcow2_image'):
        with pytest.raises(Exception):
            drv.copy_image_to_volume(ctx, make_volume(), image_service,
                                     fake.IMAGE_ID)
    assert executor.commands[-1] == deactivate(ref(VOL))


@pytest.mark.parametrize('attached_to', [[], ['cmp1']])
def test_copy_volume_to_image(drv, executor, ctx, fake_vg, image_service,
                              image_tmp, make_volume, attached_to):
    fake_vg.add_lv(VOL)
    meta = {'id': fake.IMAGE_ID, 'disk_format': 'qcow2'}
    with mock.patch.object(image_utils, 'upload_volume') as upload:
        drv.copy_volume_to_image(ctx, make_volume(attached_to=attached_to),
                                 image_service, meta)
    assert executor.commands == [
        lvs(ref(VOL)), *activate(ref(VOL)),
        ('qemu-img', 'convert', '-O', 'raw', path(VOL), image_tmp),
        deactivate(ref(VOL))]
    upload.assert_called_once_with(ctx, image_service, meta, image_tmp,
                                   run_as_root=False, store_id=None,
                                   base_image_ref=None)


def test_copy_volume_to_image_of_family_is_exclusive(
        drv, executor, ctx, fake_vg, image_service, image_tmp, make_volume):
    fake_vg.add_lv(VOL, attr='owi-------')
    with mock.patch.object(image_utils, 'upload_volume'):
        drv.copy_volume_to_image(ctx, make_volume(), image_service,
                                 {'id': fake.IMAGE_ID})
    assert fakes.activate(ref(VOL), exclusive=True) in executor.commands


def test_copy_volume_to_image_refused_for_attached_family(
        drv, executor, ctx, fake_vg, image_service, make_volume):
    fake_vg.add_lv(VOL, attr='owi-------')
    with pytest.raises(exc.OperationRefused, match='cmp1'):
        drv.copy_volume_to_image(ctx, make_volume(attached_to=['cmp1']),
                                 image_service, {'id': fake.IMAGE_ID})
    assert executor.commands == [lvs(ref(VOL))]


def test_clone_image_always_copies(drv, ctx, make_volume):
    assert drv.clone_image(ctx, make_volume(), None, {}, None) == (
        None, False)


# -- the lock across drivers --------------------------------------------------

def test_two_drivers_in_one_process_never_write_at_once(
        make_driver, executor, make_volume):
    """Two services managing one VG in one process: writes serialise."""
    drivers = [make_driver(), make_driver()]
    inside = []
    overlaps = []

    def slow_write(argv):
        inside.append(argv)
        if len(inside) > 1:
            overlaps.append(argv)
        time.sleep(0.05)
        inside.pop()
        return '', ''
    executor.add(('lvcreate',), slow_write)
    threads = [threading.Thread(target=d.create_volume,
                                args=(make_volume(id=vid),))
               for d, vid in zip(drivers * 2, (fake.VOLUME_ID,
                                               fake.VOLUME2_ID,
                                               fake.VOLUME3_ID,
                                               fake.VOLUME4_ID))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    assert [c[0] for c in executor.commands].count('lvcreate') == 4


def test_lock_timeout_refuses_cleanly(make_driver, executor, make_volume):
    from cinder import coordination
    drv = make_driver(shared_lvm_lock_timeout=1)
    lock = coordination.COORDINATOR.get_lock('shared-lvm-' + VG)
    holder_ready, release = threading.Event(), threading.Event()

    def hold():
        with lock:
            holder_ready.set()
            release.wait(5)
    t = threading.Thread(target=hold)
    t.start()
    holder_ready.wait(5)
    try:
        with pytest.raises(exc.MetadataLockTimeout, match='shared-lvm-'):
            drv.create_volume(make_volume())
    finally:
        release.set()
        t.join()
    assert writes(executor) == []


# -- the Cinder driver interface ----------------------------------------------

# Lifecycle hooks that BaseVD implements generically for every driver;
# nothing about them is specific to a backend.
GENERIC = {'set_initialized', 'initialized', 'supported', 'set_throttle',
           'init_capabilities', 'update_provider_info', 'before_volume_copy',
           'after_volume_copy'}
INTERFACES = (if_volume.VolumeDriverCore, if_manage.VolumeListManageableDriver,
              if_snapman.VolumeSnapshotManagementDriver,
              if_revert.VolumeSnapshotRevertDriver)
CINDER_BASES = (cinder_driver.VolumeDriver, cinder_driver.BaseVD)


def _own_methods(cls):
    own = set()
    for klass in cls.__mro__:
        if klass in CINDER_BASES or klass.__module__.startswith('cinder.'):
            continue
        own.update(n for n, v in vars(klass).items() if callable(v) or
                   isinstance(v, (classmethod, staticmethod)))
    return own


def test_driver_defines_every_interface_method_itself():
    required = set()
    for iface in INTERFACES:
        required.update(n for n, _v in inspect.getmembers(
            iface, inspect.isfunction) if not n.startswith('_'))
    required -= GENERIC
    required |= {'create_cloned_volume', 'create_export', 'ensure_export',
                 'remove_export', 'validate_connector', 'local_path',
                 'unmanage_snapshot', 'get_driver_options'}
    missing = required - _own_methods(driver.SharedLVMDriver)
    assert missing == set()


def test_driver_signatures_match_the_interface():
    for iface in INTERFACES:
        for name, func in inspect.getmembers(iface, inspect.isfunction):
            if name.startswith('_') or name in GENERIC:
                continue
            ours = getattr(driver.SharedLVMDriver, name)
            want = [p for p in inspect.signature(func).parameters
                    if p != 'self']
            have = list(inspect.signature(ours).parameters)
            for param in want:
                assert param in have or 'kwargs' in have, (name, param)
