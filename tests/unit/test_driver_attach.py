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

"""Cinder's own attach paths (image copy, backup, generic migration).

Those paths call ``driver._attach_volume`` (or the volume manager's and
backup manager's ``_connect_device``), which build an os-brick connector
from the connection's ``driver_volume_type``. The driver registers the
``shared_lvm`` connector in ``do_setup`` and runs it with its own executor.
"""

import sys

from os_brick.initiator import connector as brick_connector
import pytest

from cinder_shared_lvm import brick_registration
from cinder_shared_lvm import connector as connmod
from tests.unit import conftest
from tests.unit import fakes

CALLS = []
EXECUTOR_PATH = 'tests.unit.test_driver_attach.recording_execute'


def recording_execute(*cmd, **kwargs):
    """An executor named by ``shared_lvm_executor`` in these tests."""
    CALLS.append(tuple(str(c) for c in cmd))
    stripped = fakes.strip_config(cmd)
    if stripped[:1] == ('vgs',):
        return '', ''
    return '', ''


@pytest.fixture(autouse=True)
def reset_default_executor():
    yield
    connmod.set_default_executor(None)
    conftest.CONF.clear_override('shared_lvm_executor',
                                 group=conftest.BACKEND)
    del CALLS[:]


VG_UUID = 'vvvvvv-vvvv-vvvv-vvvv-vvvv-vvvv-vvvvvv'


@pytest.fixture
def fake_vg():
    return fakes.FakeVG(uuid=VG_UUID)


@pytest.fixture
def volume(make_volume, fake_vg):
    vol = make_volume(attach_status='detached', status='available')
    fake_vg.add_lv(vol.name, size=fakes.GiB,
                   uuid='aaaaaa-bbbb-cccc-dddd-eeee-ffff-gggggg')
    return vol


def _activation_shows_in_lvs(executor, fake_vg, volume):
    """lvs reports the LV active once lvchange -ay ran."""
    def activate(argv):
        fake_vg.lvs[volume.name]['lv_attr'] = '-wi-a-----'
        return '', ''
    executor.add(('lvchange', '-ay'), activate)
    executor.add(('blockdev',), ('%d\n' % fakes.GiB, ''))


def _props():
    return {'host': 'cinder-host', 'shared_lvm_vgs': [VG_UUID]}


def test_do_setup_registers_the_connector(drv):
    assert brick_registration.is_registered()
    conn = brick_connector.InitiatorConnector.factory('shared_lvm', None)
    assert isinstance(conn, connmod.SharedLVMConnector)


def test_attach_volume_activates_through_the_driver_executor(
        drv, executor, fake_vg, volume, ctx):
    _activation_shows_in_lvs(executor, fake_vg, volume)
    attach_info, _vol = drv._attach_volume(ctx, volume, _props())
    assert attach_info['device'] == {
        'type': 'block', 'path': '/dev/cinder-shared/%s' % volume.name}
    names = executor.names()
    assert 'lvchange' in names and 'dd' in names, executor.commands
    activations = [c for c in executor.commands if c[0] == 'lvchange']
    assert any('-asy' in c or '-ay' in c for c in activations), activations

    executor.reset()
    drv._detach_volume(ctx, attach_info, volume, _props())
    deactivations = [c for c in executor.commands if c[0] == 'lvchange']
    assert any('-an' in c or '-aln' in c for c in deactivations), \
        executor.commands


def test_attach_refuses_a_host_without_the_vg(drv, volume, ctx):
    from cinder import exception as cinder_exception
    with pytest.raises(cinder_exception.VolumeBackendAPIException,
                       match='does not see VG'):
        drv._attach_volume(ctx, volume, {'host': 'cinder-host'})


def test_unreadable_device_is_detached_again(drv, executor, fake_vg,
                                             volume, ctx):
    from cinder import exception as cinder_exception
    _activation_shows_in_lvs(executor, fake_vg, volume)
    executor.add(('dd',), fakes.pe_error(stderr='Input/output error'))
    with pytest.raises(cinder_exception.DeviceUnavailable):
        drv._attach_volume(ctx, volume, _props())
    lvchanges = [c for c in executor.commands if c[0] == 'lvchange']
    assert any('-an' in c or '-aln' in c for c in lvchanges), lvchanges


def test_executor_option_replaces_the_local_executor(make_driver):
    make_driver(setup=False)       # registers the options of the backend
    conftest.CONF.set_override('shared_lvm_executor', EXECUTOR_PATH,
                               group=conftest.BACKEND)
    drv = make_driver(setup=False)
    # NOTE: pytest may import this file under another module name than
    # the dotted path; use the calls list of the module the driver loaded.
    calls = sys.modules[drv._execute.__module__].CALLS
    assert drv._execute.__name__ == 'recording_execute'
    drv.do_setup(None)
    # Connectors that os-brick's factory builds (backup and migration
    # paths) run through the same executor.
    conn = brick_connector.InitiatorConnector.factory('shared_lvm', None)
    del calls[:]
    props = connmod.SharedLVMConnector.get_connector_properties(None)
    assert calls and fakes.strip_config(calls[0])[0] == 'vgs', calls
    assert 'shared_lvm_vgs' in props
    del calls[:]
    conn._execute('true')
    assert calls == [('true',)]


def test_without_the_option_connectors_keep_os_brick_executor(drv):
    assert connmod._default_execute is None
