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

"""Revert to a COW snapshot, all or nothing.

``lvconvert --merge`` consumes the snapshot: after it, Cinder still lists a
snapshot whose LV is gone unless the driver recreates it. The steps, all
under the volume's family lock (the caller's) and the VG lock:

1. activate the origin here, exclusively (the family comes up with it), so
   that the merge runs now, in the foreground, instead of at the next
   activation on whichever host that is;
2. merge;
3. recreate the snapshot while the origin is still active: LVM allows a
   snapshot of an active origin, and a failure to deactivate (step 4) can
   then no longer lose it;
4. deactivate (releasing the lease).

If step 3 fails, the revert fails loudly: the snapshot is marked ``error``
in Cinder (Cinder would otherwise put it back to ``available``) and the
error names the one command that recreates it.
"""

from oslo_log import log as logging

from cinder_shared_lvm import driver_exception as exc

LOG = logging.getLogger(__name__)


def merge(drv, volume, snapshot, snap_lv: str, origin_lv: dict,
          what: str) -> None:
    """Merge *snap_lv* into *volume*'s LV and recreate it (see above).

    :param drv: the SharedLVMDriver (holds the family lock)
    :param origin_lv: the origin's LV report, read under the lock
    """
    lease = drv.datapath.lease(volume.name, origin_lv, what, exclusive=True)
    with lease:
        with drv._metadata_lock():
            LOG.info('Merging %s into %s', snap_lv, volume.name)
            drv.vg.revert(snap_lv)
            _recreate(drv, volume, snapshot, snap_lv)
        try:
            lease.release()
        except Exception as err:
            raise exc.RevertIncomplete(
                volume=volume.id, snapshot=snapshot.id,
                reason='the volume holds the snapshot\'s data and the '
                       'snapshot was recreated, but LV %s is still active '
                       'on the cinder-volume host (%s)' % (
                           drv.vg.lv_ref(volume.name), err),
                action='Run "lvchange -an %s" there (or restart '
                       'cinder-volume, which deactivates leftovers) before '
                       'attaching the volume.' % drv.vg.lv_ref(
                           volume.name)) from err


def _recreate(drv, volume, snapshot, snap_lv: str) -> None:
    """Recreate the merged snapshot; on failure, mark it and say how."""
    try:
        drv._create_cow_snapshot(snapshot, volume, snap_lv,
                                 check_space=False)
        return
    except Exception as first:
        LOG.warning('Recreating snapshot LV %s after the merge failed (%s); '
                    'retrying once', drv.vg.lv_ref(snap_lv), first)
    try:
        drv._create_cow_snapshot(snapshot, volume, snap_lv,
                                 check_space=False)
    except Exception as err:
        command = 'lvcreate -s -n %s -L %dm -c %s %s' % (
            snap_lv, drv._cow_size_mb(snapshot.volume_size),
            drv.configuration.shared_lvm_snapshot_chunk_size,
            drv.vg.lv_ref(volume.name))
        _mark_snapshot_error(snapshot)
        raise exc.RevertIncomplete(
            volume=volume.id, snapshot=snapshot.id,
            reason='the merge succeeded, so the volume holds the '
                   'snapshot\'s data, but the snapshot LV %s could not be '
                   'recreated: %s' % (drv.vg.lv_ref(snap_lv), err),
            action='The snapshot is marked error. Recreate it with "%s" '
                   'on the cinder-volume host, then reset the snapshot to '
                   'available.' % command) from err


def _mark_snapshot_error(snapshot) -> None:
    """Keep Cinder from listing a snapshot whose LV is gone as available.

    NOTE: Cinder's revert error path sets the snapshot back to available
    only if it is still 'restoring'; once it is 'error', it stays so.
    """
    try:
        snapshot.status = 'error'
        snapshot.save()
    except Exception:
        LOG.exception('Could not mark snapshot %s as error', snapshot.id)
