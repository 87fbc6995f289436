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

"""Nova's volume calls -> our driver -> the real SharedLVMConnector.

Nothing is mocked between Nova's LibvirtDriver volume methods and the
host commands; a recording executor stands in for the host.
"""

from unittest import mock

import pytest
from nova.virt.libvirt import driver as libvirt_driver

from cinder_shared_lvm.nova import registration
from cinder_shared_lvm.nova import volume
from tests.unit import fakes

VOLUME_ID = '0f1e2d3c-4b5a-4697-8877-665544332211'
VG = 'cinder-shared'
LV = 'volume-%s' % VOLUME_ID
PATH = '/dev/%s/%s' % (VG, LV)
LV_UUID = '2872O1-EmVw-mbMU-GO1U-o1nd-BGC1-rg5rZq'
SIZE = 1 << 30


class Host(object):
    """One LV's state on a compute host, answering through an executor."""

    def __init__(self):
        self.active = False
        self.size = SIZE
        self.executor = fakes.FakeExecutor([
            (('lvs',), self._lvs),
            (('lvchange', '-ay'), self._activate),
            (('lvchange', '-an'), self._deactivate),
            (('blockdev', '--getsize64'),
             lambda argv: ('%d\n' % self.size, '')),
        ])

    def _lvs(self, argv):
        attr = '-wi-a-----' if self.active else '-wi-------'
        return '  %s|%s|%d|%s||\n' % (LV, LV_UUID, self.size, attr), ''

    def _activate(self, argv):
        self.active = True
        return '', ''

    def _deactivate(self, argv):
        self.active = False
        return '', ''


@pytest.fixture
def host():
    return Host()


@pytest.fixture
def libvirt(host, nova_conf, restore_registries, connector_importable):
    registration.register()
    drv = object.__new__(libvirt_driver.LibvirtDriver)
    drv.volume_drivers = {}
    drv._host = mock.Mock(**{'find_secret.return_value': None})
    drv.disk_cachemodes = {}
    vol_driver = drv._get_volume_driver({'driver_volume_type': 'shared_lvm'})
    assert type(vol_driver.connector) is connector_importable
    vol_driver.connector.set_execute(host.executor)
    vol_driver.connector.activation_timeout = 0
    return drv


def _connection_info():
    return {'driver_volume_type': 'shared_lvm', 'serial': VOLUME_ID,
            'multiattach': False,
            'data': {'volume_id': VOLUME_ID, 'vg_name': VG,
                     'vg_uuid': 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z',
                     'lv_name': LV, 'lv_uuid': LV_UUID, 'device_path': PATH,
                     'devices': ['/dev/disk/by-id/wwn-0x600a0b80001'],
                     'activation': 'shared', 'access_mode': 'rw',
                     'discard': True, 'multiattach': False}}


def test_attach_extend_detach_through_nova(libvirt, host):
    info = _connection_info()
    ctx, inst = mock.sentinel.ctx, mock.sentinel.instance

    libvirt._connect_volume(ctx, info, inst, encryption={})
    assert host.active
    assert info['data']['device_path'] == PATH
    xml = libvirt._get_volume_config(
        info, {'type': 'disk', 'dev': 'vdb', 'bus': 'virtio'}).to_xml()
    assert '<source dev="%s"/>' % PATH in xml
    assert 'cache="none"' in xml and 'io="native"' in xml

    host.size = 2 * SIZE
    assert libvirt._extend_volume(info, inst, 2 * SIZE) == 2 * SIZE

    libvirt._disconnect_volume(ctx, info, inst, encryption={})
    assert not host.active

    names = host.executor.names()
    assert names[0] == 'lvs' and 'lvchange' in names
    assert ('blockdev', '--flushbufs', PATH) in host.executor.commands
    # A compute host never writes the shared VG's metadata (rule 1).
    assert not [c for c in host.executor.commands
                if fakes.is_metadata_write(c)]
    for argv, kwargs in host.executor.calls:
        assert kwargs.get('run_as_root') is True
        if fakes.config_of(argv):
            assert 'metadata_read_only=1' in fakes.config_of(argv)


def test_driver_built_by_nova_uses_scan_tries(libvirt, nova_conf):
    vol_driver = libvirt.volume_drivers['shared_lvm']
    assert isinstance(vol_driver, volume.LibvirtSharedLVMVolumeDriver)
    assert vol_driver.connector.device_scan_attempts == \
        nova_conf.libvirt.num_volume_scan_tries
