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

"""get_backup_device: a refused backup ends in ``error``, never hangs.

Cinder 29 leaves a backup ``creating`` for ever when the driver raises
here (cinder_shared_lvm/backup_refusal.py); these tests pin that a refusal
marks the backup and restores the volume, and that an allowed backup is
left to Cinder untouched.
"""

from unittest import mock

from cinder.objects import fields
from cinder.tests.unit.backup import fake_backup
from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver_exception as exc
from tests.unit import fakes

VOL = 'volume-%s' % fake.VOLUME_ID


@pytest.fixture
def backup(ctx):
    obj = fake_backup.fake_backup_obj(ctx, volume_id=fake.VOLUME_ID,
                                      status='creating', snapshot_id=None)
    obj.save = mock.Mock()
    return obj


def _backing_up(volume, previous):
    volume.status = 'backing-up'
    volume.previous_status = previous
    volume.save = mock.Mock()
    return volume


@pytest.fixture
def lookups(drv, make_volume):
    """Volume.get_by_id answers with the test's volume; temp volumes are
    objects that need no database."""
    found = {}
    temp = make_volume(id=fake.VOLUME2_ID)
    temp.destroy = mock.Mock()
    temp.save = mock.Mock()
    with mock.patch('cinder.objects.Volume.get_by_id',
                    side_effect=lambda _ctx, _id: found['volume']), \
            mock.patch.object(drv, '_create_temp_volume', return_value=temp):
        yield found, temp


def test_in_use_backup_is_refused_and_ends_in_error(
        drv, ctx, executor, fake_vg, make_volume, backup, lookups):
    found, temp = lookups
    fake_vg.add_lv(VOL)
    found['volume'] = _backing_up(make_volume(attached_to=['cmp1']),
                                  'in-use')
    with pytest.raises(exc.OperationRefused, match='attached to cmp1'):
        drv.get_backup_device(ctx, backup)
    assert backup.status == fields.BackupStatus.ERROR
    assert 'attached to cmp1' in backup.fail_reason
    backup.save.assert_called()
    volume = found['volume']
    assert volume.status == 'in-use'
    assert volume.previous_status == 'error_backing-up'
    volume.save.assert_called_once_with()
    temp.destroy.assert_called_once_with()     # Cinder's own undo
    assert [c for c in executor.commands if fakes.is_metadata_write(c)] == []


def test_backup_of_an_available_volume_is_left_to_cinder(
        drv, ctx, executor, make_volume, backup, lookups):
    found, _temp = lookups
    found['volume'] = _backing_up(make_volume(), 'available')
    device, is_snapshot = drv.get_backup_device(ctx, backup)
    assert (device, is_snapshot) == (found['volume'], False)
    assert backup.status == 'creating'
    found['volume'].save.assert_not_called()
    assert executor.commands == []
