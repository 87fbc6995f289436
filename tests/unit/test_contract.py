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

"""The shared names and the one device-path rule (cinder_shared_lvm.contract).
"""

import pytest

from cinder_shared_lvm.cmd import common
from cinder_shared_lvm import contract


@pytest.mark.parametrize('path', [
    '/dev/disk/by-id/wwn-0x600a098038303053453f463045727a41',
    '/dev/disk/by-path/pci-0000:3b:00.0-fc-0x500a0981891b8dc5-lun-1',
    '/dev/disk/by-id/dm-uuid-mpath-3600a0980383030',
    '/dev/mapper/mpatha', '/dev/mapper/cinder_lun@site=a+b',
    # udev keeps '#' in the names it builds from SCSI serials
    '/dev/disk/by-id/scsi-SATA_disk#1', '/dev/vdb'])
def test_accepted_device_paths(path):
    assert contract.device_path_problem(path) is None
    assert common.validate_device(path) == path


@pytest.mark.parametrize('path', [
    '/dev/a,/dev/b',                # the list separator of every option
    '/dev/vda\n', '/dev/vd a', '/dev/vd|a', '/dev/vd"a', "/dev/vd'a",
    '/dev/vd$a', '/dev/vd\\a', '/dev/vd*', 'dev/vda', '/sys/block/vda',
    '/dev/../etc/passwd', '/dev/./vda', '/dev//vda', '/dev/vda/', '/dev/',
    '/dev/' + 'a' * 4091, None, 7, ['/dev/vda']])
def test_refused_device_paths(path):
    assert contract.device_path_problem(path)


def test_refused_device_path_is_bad_input_in_the_cli():
    with pytest.raises(common.CLIError) as exc:
        common.split_devices('/dev/vda,/dev/vd|b')
    assert exc.value.exit_code == 2
    assert "'/dev/vd|b'" in str(exc.value)


@pytest.mark.parametrize('cinder_name, lv_name', [
    ('snapshot-2c3d4e5f-6071-4829-9abc-def012345678',
     '_snapshot-2c3d4e5f-6071-4829-9abc-def012345678'),
    ('volume-1', 'volume-1'), ('my-snap', 'my-snap')])
def test_snapshot_name_escape_round_trips(cinder_name, lv_name):
    assert contract.snapshot_lv_name(cinder_name) == lv_name
    assert contract.cinder_snapshot_name(lv_name) == cinder_name


def test_dm_name_doubles_dashes():
    assert contract.dm_name('cinder-shared', 'volume-a-b') == \
        'cinder--shared-volume--a--b'


def test_activation_modes():
    assert contract.ACTIVATION_MODES == ('shared', 'exclusive')
