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

"""Registration of the driver with Nova and the connector with os-brick."""

import os
import subprocess
import sys
from unittest import mock

import pytest
from nova.virt.libvirt import driver as libvirt_driver
from os_brick.initiator import connector as brick_connector

from cinder_shared_lvm import brick_registration
from cinder_shared_lvm.nova import registration

pytestmark = pytest.mark.usefixtures('restore_registries')

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
OURS = 'cinder_shared_lvm.nova.volume.LibvirtSharedLVMVolumeDriver'


def test_nova_has_no_shared_lvm_driver_by_default():
    assert 'shared_lvm' not in libvirt_driver.VOLUME_DRIVERS


def test_register_adds_volume_driver(connector_importable):
    before = dict(libvirt_driver.VOLUME_DRIVERS)
    registration.register()
    after = dict(libvirt_driver.VOLUME_DRIVERS)
    assert after.pop('shared_lvm') == OURS
    assert after == before
    assert registration.is_registered()


def test_register_is_idempotent(connector_importable):
    registration.register()
    drivers = dict(libvirt_driver.VOLUME_DRIVERS)
    conn_list = list(brick_connector._get_connector_list())
    maps = [dict(m) for m in brick_registration._mappings()]
    registration.register()
    registration.register()
    assert dict(libvirt_driver.VOLUME_DRIVERS) == drivers
    assert list(brick_connector._get_connector_list()) == conn_list
    assert [dict(m) for m in brick_registration._mappings()] == maps
    assert conn_list.count(brick_registration.CONNECTOR_PATH) == 1


def test_register_replaces_foreign_entry(connector_importable):
    libvirt_driver.VOLUME_DRIVERS['shared_lvm'] = 'someone.Else'
    with mock.patch.object(registration.LOG, 'warning') as warning:
        registration.register()
    warning.assert_called_once()
    assert libvirt_driver.VOLUME_DRIVERS['shared_lvm'] == OURS


def test_brick_registration_covers_every_architecture(connector_importable):
    brick_registration.register()
    for arch in ('x86_64', 'aarch64', 's390x', 'ppc64le'):
        mapping = brick_connector.get_connector_mapping(arch)
        assert mapping['SHARED_LVM'] == brick_registration.CONNECTOR_PATH
    assert brick_registration.is_registered()


@pytest.mark.parametrize('protocol', ['SHARED_LVM', 'shared_lvm'])
def test_factory_builds_shared_lvm_connector(connector_importable, protocol):
    brick_registration.register()
    conn = brick_connector.InitiatorConnector.factory(
        protocol, 'sudo', device_scan_attempts=2)
    assert type(conn) is connector_importable


def test_factory_refuses_before_registration():
    from os_brick import exception as brick_exception
    with pytest.raises(brick_exception.InvalidConnectorProtocol):
        brick_connector.InitiatorConnector.factory('SHARED_LVM', 'sudo')


def test_connector_properties_include_shared_lvm(connector_importable):
    brick_registration.register()
    props = {'shared_lvm_vgs': ['vg-uuid-1']}
    with mock.patch.object(connector_importable, 'get_connector_properties',
                           return_value=props) as ours:
        result = _properties_of_ours_only()
    assert result['shared_lvm_vgs'] == ['vg-uuid-1']
    ours.assert_called_once_with('sudo', host='compute-1', multipath=False,
                                 enforce_multipath=False, execute=None)


def _properties_of_ours_only():
    # Run os-brick's real get_connector_properties with every other
    # connector's class method stubbed, so the test does not probe iSCSI,
    # FC or NVMe on this machine.
    from oslo_utils import importutils
    real_import = importutils.import_class

    def import_class(path):
        cls = real_import(path)
        if path == brick_registration.CONNECTOR_PATH:
            return cls
        return mock.Mock(platform=cls.platform, os_type=cls.os_type,
                         get_connector_properties=mock.Mock(
                             return_value={}))

    with mock.patch.object(brick_connector.importutils, 'import_class',
                           side_effect=import_class):
        return brick_connector.get_connector_properties(
            'sudo', '192.0.2.10', False, False, host='compute-1')


def test_brick_register_refuses_unimportable_connector(monkeypatch):
    monkeypatch.setattr(brick_registration, 'CONNECTOR_PATH',
                        'cinder_shared_lvm.no_such_module.Connector')
    conn_list = list(brick_connector._get_connector_list())
    with pytest.raises(ImportError):
        brick_registration.register()
    assert list(brick_connector._get_connector_list()) == conn_list
    assert 'SHARED_LVM' not in brick_connector.get_connector_mapping()


_CMD_PROBE = """
import sys
from unittest import mock

from cinder_shared_lvm.nova import cmd
from cinder_shared_lvm.nova import registration

calls = []
with mock.patch.object(cmd.compute, 'main',
                       side_effect=lambda: calls.append(
                           registration.is_registered())):
    cmd.main()
print(calls, 'eventlet' in sys.modules)
"""


def test_cmd_registers_then_runs_nova_compute():
    # nova.cmd.compute monkey-patches (or, in threading mode, forbids
    # eventlet) at import time, so this needs a fresh interpreter: the
    # probe also proves that nothing we import pulls eventlet in first.
    env = dict(os.environ, PYTHONPATH=_REPO, PYTHONWARNINGS='ignore')
    env.pop('OS_NOVA_DISABLE_EVENTLET_PATCHING', None)
    out = subprocess.run([sys.executable, '-c', _CMD_PROBE], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == '[True] False'
