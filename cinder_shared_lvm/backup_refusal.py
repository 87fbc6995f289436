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

"""End a backup that the driver refused, as Cinder's own failure path would.

A ``--force`` backup of an in-use volume asks the driver for a temporary
clone (or, with ``backup_use_temp_snapshot``, a snapshot) of it. Both are
refused while a host has the volume attached: a copy made on the cinder
host while another host writes is not a point in time, and a COW snapshot
can only be made by the host that has the origin active (safety rules).

Cinder 29's volume manager calls ``get_backup_device`` asynchronously and
has no error path there: when the driver raises, the backup stays
``creating`` and the volume ``backing-up`` for ever (seen on the rig; the
acceptance run's in-use backup waited 15 minutes). cinder-backup's own
failure path (``BackupManager.continue_backup``) sets the backup to
``error`` with the reason and puts the volume back in its previous status;
this does the same before the driver re-raises, so the user sees the
refusal and can detach and retry.
"""

from cinder import objects
from cinder.volume import volume_utils
from oslo_log import log as logging

LOG = logging.getLogger(__name__)


def fail_refused_backup(context, backup, err: Exception) -> None:
    """Mark *backup* failed with *err* and restore its volume's status."""
    reason = 'Backup refused by the shared_lvm driver: %s' % err
    LOG.error('Backup %(backup)s of volume %(volume)s: %(reason)s',
              {'backup': backup.id, 'volume': backup.volume_id,
               'reason': reason})
    volume_utils.update_backup_error(backup, reason)
    if backup.snapshot_id:
        snapshot = objects.Snapshot.get_by_id(context, backup.snapshot_id)
        snapshot.status = 'available'
        snapshot.save()
        return
    volume = objects.Volume.get_by_id(context, backup.volume_id)
    volume.update({'status': volume.previous_status,
                   'previous_status': 'error_backing-up'})
    volume.save()
