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

"""LibvirtSharedLVMVolumeDriver against Nova 34's real libvirt code.

Only the os-brick connector is mocked; libvirt itself is not needed because
nothing here talks to a hypervisor.
"""

from unittest import mock

import pytest
from nova import exception as nova_exception
from nova.virt.libvirt import driver as libvirt_driver

from cinder_shared_lvm.nova import registration
from cinder_shared_lvm.nova import volume

VOLUME_ID = '6d1b8b1e-5b7e-4c2a-9d7e-0a1b2c3d4e5f'
DEVICE = '/dev/cinder-shared/volume-%s' % VOLUME_ID
DISK_INFO = {'type': 'disk', 'dev': 'vdb', 'bus': 'virtio'}


def _connection_info(**data):
    multiattach = data.pop('multiattach', False)
    base = {'volume_id': VOLUME_ID,
            'vg_name': 'cinder-shared',
            'vg_uuid': 'Xv3Xqz-vg-uuid',
            'lv_name': 'volume-%s' % VOLUME_ID,
            'lv_uuid': 'Xv3Xqz-lv-uuid',
            'device_path': DEVICE,
            'devices': ['/dev/disk/by-id/wwn-0x600a'],
            'activation': 'shared',
            'access_mode': 'rw',
            'discard': False,
            'multiattach': multiattach}
    base.update(data)
    return {'driver_volume_type': 'shared_lvm', 'serial': VOLUME_ID,
            'multiattach': multiattach, 'data': base}


def _xml(*inner):
    return '\n'.join(['<disk type="block" device="disk">'] +
                     ['  ' + line for line in inner] + ['</disk>', ''])


DRIVER_RAW = '<driver name="qemu" type="raw" cache="none" io="native"/>'
DRIVER_DISCARD = ('<driver name="qemu" type="raw" cache="none" '
                  'discard="unmap" io="native"/>')
BODY = ['<alias name="ua-%s"/>' % VOLUME_ID,
        '<source dev="%s"/>' % DEVICE,
        '<target dev="vdb" bus="virtio"/>',
        '<serial>%s</serial>' % VOLUME_ID]


@pytest.fixture
def host():
    host = mock.Mock(name='host')
    host.find_secret.return_value = None
    return host


@pytest.fixture
def brick(nova_conf):
    """Mock os-brick's factory; yield the connector it returns."""
    with mock.patch.object(volume.brick_registration, 'register') as reg, \
            mock.patch.object(volume.brick_connector.InitiatorConnector,
                              'factory') as factory:
        conn = factory.return_value
        conn.connect_volume.return_value = {'type': 'block', 'path': DEVICE}
        conn.extend_volume.return_value = 2 << 30
        conn.registered = reg
        conn.factory = factory
        yield conn


@pytest.fixture
def driver(brick, host):
    return volume.LibvirtSharedLVMVolumeDriver(host)


def test_builds_connector_like_nova_brick_drivers(brick, host, nova_conf):
    nova_conf.set_override('num_volume_scan_tries', 7, group='libvirt')
    drv = volume.LibvirtSharedLVMVolumeDriver(host)
    brick.registered.assert_called_with()
    brick.factory.assert_called_with(
        'SHARED_LVM', 'sudo nova-rootwrap /etc/nova/rootwrap.conf',
        device_scan_attempts=7, shared_lvm_devices=None)
    assert drv.connector is brick
    assert drv.is_block_dev is True


def test_compute_host_device_override(brick, host, nova_conf):
    nova_conf.set_override('devices', ['/dev/mapper/mpatha'],
                           group='shared_lvm')
    volume.LibvirtSharedLVMVolumeDriver(host)
    assert brick.factory.call_args.kwargs['shared_lvm_devices'] == [
        '/dev/mapper/mpatha']


@pytest.mark.parametrize('data, extra, driver_line', [
    ({}, [], DRIVER_RAW),
    ({'access_mode': 'ro'}, ['<readonly/>'], DRIVER_RAW),
    ({'multiattach': True}, ['<shareable/>'], DRIVER_RAW),
    ({'discard': True}, [], DRIVER_DISCARD),
    ({'access_mode': 'ro', 'multiattach': True, 'discard': True},
     ['<readonly/>', '<shareable/>'], DRIVER_DISCARD),
], ids=['rw', 'ro', 'multiattach', 'discard', 'ro-multiattach-discard'])
def test_get_config_xml(driver, data, extra, driver_line):
    conf = driver.get_config(_connection_info(**data), DISK_INFO)
    assert conf.to_xml() == _xml(driver_line, *BODY, *extra)


def test_get_config_honours_default_aio_mode(driver, nova_conf):
    nova_conf.set_override('use_default_aio_mode_for_volumes', True,
                           group='libvirt')
    conf = driver.get_config(_connection_info(), DISK_INFO)
    assert conf.to_xml() == _xml(
        '<driver name="qemu" type="raw" cache="none"/>', *BODY)


def test_get_config_rejects_unknown_access_mode(driver):
    with pytest.raises(nova_exception.InvalidVolumeAccessMode):
        driver.get_config(_connection_info(access_mode='rwx'), DISK_INFO)


def test_connect_volume_records_device_path(driver, brick):
    info = _connection_info(device_path=None)
    brick.connect_volume.return_value = {'type': 'block',
                                         'path': '/dev/dm-7'}
    driver.connect_volume(info, mock.sentinel.instance)
    brick.connect_volume.assert_called_once_with(info['data'])
    assert info['data']['device_path'] == '/dev/dm-7'


def test_connect_volume_failure_propagates(driver, brick):
    info = _connection_info()
    brick.connect_volume.side_effect = RuntimeError('lvchange failed')
    with pytest.raises(RuntimeError):
        driver.connect_volume(info, mock.sentinel.instance)
    assert info['data']['device_path'] == DEVICE


@pytest.mark.parametrize('force', [False, True])
def test_disconnect_volume_delegates(driver, brick, force):
    info = _connection_info()
    driver.disconnect_volume(info, mock.sentinel.instance, force=force)
    brick.disconnect_volume.assert_called_once_with(
        info['data'], {'type': 'block', 'path': DEVICE}, force=force)


def test_disconnect_volume_without_device_path(driver, brick):
    info = _connection_info()
    del info['data']['device_path']
    driver.disconnect_volume(info, mock.sentinel.instance)
    brick.disconnect_volume.assert_called_once_with(
        info['data'], None, force=False)


def test_extend_volume_returns_connector_size(driver, brick):
    info = _connection_info()
    brick.extend_volume.return_value = (2 << 30) + (4 << 20)
    assert driver.extend_volume(info, mock.sentinel.instance,
                                2 << 30) == (2 << 30) + (4 << 20)
    brick.extend_volume.assert_called_once_with(info['data'])


def test_extend_volume_refuses_stale_smaller_size(driver, brick):
    brick.extend_volume.return_value = 1 << 30
    with pytest.raises(nova_exception.VolumeExtendFailed, match='stale'):
        driver.extend_volume(_connection_info(), mock.sentinel.instance,
                             2 << 30)


def test_extend_volume_passes_none_through(driver, brick):
    # Nova itself turns None into VolumeExtendFailed.
    brick.extend_volume.return_value = None
    assert driver.extend_volume(_connection_info(), mock.sentinel.instance,
                                2 << 30) is None


def test_warns_when_block_cache_mode_is_not_direct(brick, host, nova_conf):
    nova_conf.set_override('disk_cachemodes', ['block=writeback'],
                           group='libvirt')
    with mock.patch.object(volume.LOG, 'warning') as warning:
        volume.LibvirtSharedLVMVolumeDriver(host)
    warning.assert_called_once()
    assert 'block=%s' in warning.call_args[0][0]


def test_no_warning_for_direct_cache_modes(brick, host, nova_conf):
    nova_conf.set_override('disk_cachemodes',
                           ['block=directsync', 'file=writeback'],
                           group='libvirt')
    with mock.patch.object(volume.LOG, 'warning') as warning:
        volume.LibvirtSharedLVMVolumeDriver(host)
    warning.assert_not_called()


# -- through LibvirtDriver's own volume methods ------------------------------

@pytest.fixture
def libvirt(brick, host, restore_registries):
    """A LibvirtDriver whose __init__ (which needs libvirt) never ran.

    Its volume methods are Nova's real code; they need only these
    attributes.
    """
    with mock.patch.object(registration.brick_registration, 'register'):
        registration.register()
    drv = object.__new__(libvirt_driver.LibvirtDriver)
    drv.volume_drivers = {}
    drv._host = host
    drv.disk_cachemodes = {}
    return drv


def test_libvirt_driver_picks_our_driver(libvirt):
    vol_driver = libvirt._get_volume_driver(_connection_info())
    assert type(vol_driver) is volume.LibvirtSharedLVMVolumeDriver
    assert libvirt._get_volume_driver(_connection_info()) is vol_driver


def test_unregistered_type_is_not_found(brick, host, restore_registries):
    libvirt_driver.VOLUME_DRIVERS.pop('shared_lvm', None)
    drv = object.__new__(libvirt_driver.LibvirtDriver)
    drv.volume_drivers = {}
    with pytest.raises(nova_exception.VolumeDriverNotFound):
        drv._get_volume_driver(_connection_info())


def test_libvirt_driver_volume_config(libvirt):
    conf = libvirt._get_volume_config(
        _connection_info(discard=True, multiattach=True), DISK_INFO)
    assert conf.to_xml() == _xml(DRIVER_DISCARD, *BODY, '<shareable/>')


def test_libvirt_disk_cachemodes_overrides_cache(libvirt):
    # Why the driver warns about [libvirt]disk_cachemodes block=...
    libvirt.disk_cachemodes = {'block': 'writeback'}
    conf = libvirt._get_volume_config(_connection_info(), DISK_INFO)
    assert (conf.driver_cache, conf.driver_io) == ('writeback', 'threads')


def test_libvirt_driver_connect_extend_disconnect(libvirt, brick):
    info = _connection_info(device_path=None)
    brick.connect_volume.return_value = {'type': 'block', 'path': DEVICE}
    libvirt._connect_volume(mock.sentinel.ctx, info, mock.sentinel.inst,
                            encryption={})
    assert info['data']['device_path'] == DEVICE

    brick.extend_volume.return_value = 3 << 30
    assert libvirt._extend_volume(info, mock.sentinel.inst,
                                  3 << 30) == 3 << 30

    libvirt._disconnect_volume(mock.sentinel.ctx, info, mock.sentinel.inst,
                               encryption={}, force=True)
    brick.disconnect_volume.assert_called_once_with(
        info['data'], {'type': 'block', 'path': DEVICE}, force=True)


def test_nova_conf_devices_confine_get_connector_properties(
        nova_conf, restore_registries):
    """Issue 9 #11: os-brick's get_connector_properties passes the
    connector no device list; [shared_lvm] devices from nova.conf must
    confine the VG scan all the same."""
    from oslo_utils import importutils

    from cinder_shared_lvm import brick_registration
    calls = []

    def execute(*argv, **kwargs):
        calls.append(argv)
        return '  cinder-shared|teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z\n', ''
    nova_conf.set_override('devices', ['/dev/mapper/mpatha'],
                           group='shared_lvm')
    brick_registration.register()
    # The class os-brick's get_connector_properties() calls, as it calls it.
    conn_class = importutils.import_class(brick_registration.CONNECTOR_PATH)
    props = conn_class.get_connector_properties(
        'sudo', execute=execute, host='compute-1', multipath=False,
        enforce_multipath=False)
    assert props == {
        'shared_lvm_vgs': ['teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z']}
    (argv,) = calls
    config = argv[argv.index('--config') + 1]
    assert 'global_filter=["a|^/dev/mapper/mpatha$|","r|.*|"]' in config
