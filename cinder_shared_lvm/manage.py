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

"""Manage and unmanage: Cinder takes over an existing LV, or lets go.

A mixin of ``SharedLVMDriver``; it uses the driver's LVM layer, locks and
policy. Only thick LVs and their COW snapshots can be managed: a thin,
pool, RAID, mirror or cache LV would bring pool or RAID metadata up on a
compute host at attach (``lvm.unsupported_kind``).
"""

from cinder import context as cinder_context
from cinder import exception as cinder_exception
from cinder import objects
from cinder.volume import volume_utils
from oslo_log import log as logging
from oslo_utils import units

from cinder_shared_lvm import datapath
from cinder_shared_lvm import exception as lvm_exception
from cinder_shared_lvm import lvm
from cinder_shared_lvm import names
from cinder_shared_lvm import pools
from cinder_shared_lvm import policy

LOG = logging.getLogger(__name__)


class ManageMixin(object):
    """manage_existing*, unmanage* and get_manageable_* of the driver."""

    def _ref_lv_name(self, existing_ref) -> str:
        """The LV name of a manage reference, which must be in our VG.

        Accepted: ``{'source-name': 'lv'}``, ``'vg/lv'`` or
        ``'/dev/vg/lv'``, with vg this backend's VG.
        """
        if isinstance(existing_ref, str):
            existing_ref = {'source-name': existing_ref}
        if not isinstance(existing_ref, dict) or not isinstance(
                existing_ref.get('source-name'), str):
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='the reference must have a source-name string')
        name = existing_ref['source-name']
        parts = name[len('/dev/'):].split('/') if name.startswith(
            '/dev/') else name.split('/')
        if len(parts) == 2:
            if parts[0] != self.vg_name:
                raise cinder_exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason='it names VG %r, but this backend manages VG %s'
                           % (parts[0], self.vg_name))
            parts = parts[1:]
        if len(parts) != 1:
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='use an LV name, vg/lv or /dev/vg/lv')
        try:
            return lvm.validate_name(parts[0])
        except lvm_exception.InvalidName as err:
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref, reason=str(err)) from err

    def _manageable_lv(self, existing_ref, snapshot: bool) -> tuple:
        """(name, report) of the LV a manage reference names, or refuse."""
        name = self._ref_lv_name(existing_ref)
        lv = self.vg.get_lv(name)
        if lv is None:
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='LV %s/%s does not exist' % (self.vg_name, name))
        unsupported = lvm.unsupported_kind(lv)
        if unsupported:
            # NOTE: attaching a thin, pool, RAID or mirror LV would
            # activate a pool or RAID metadata on a compute host.
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='LV %s is %s; only thick LVs and their COW '
                       'snapshots can be managed' % (name, unsupported))
        if lv['is_snapshot'] != snapshot:
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='LV %s is %sa COW snapshot' % (
                    name, '' if lv['is_snapshot'] else 'not '))
        if lv['open']:
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='LV %s is open on the cinder-volume host' % name)
        return name, lv

    def _already_managed(self, name: str) -> bool:
        """True if *name* is the LV of a volume or snapshot Cinder has.

        NOTE: by the name alone, an LV left by "cinder unmanage" (it keeps
        its volume-<id> name) could never be managed again (tempest's
        test_unmanage_manage_volume); ask Cinder's database.
        """
        if name.startswith('_snapshot-'):
            kind = 'snapshot'
            record_id = volume_utils.extract_id_from_snapshot_name(name[1:])
        else:
            kind = 'volume'
            record_id = volume_utils.extract_id_from_volume_name(name)
        return record_id is not None and self._record_exists(kind,
                                                             record_id)

    @staticmethod
    def _record_exists(kind: str, record_id: str) -> bool:
        """Whether Cinder's database has this volume or snapshot."""
        if kind == 'volume':
            return bool(volume_utils.check_already_managed_volume(
                record_id))
        try:
            objects.Snapshot.get_by_id(cinder_context.get_admin_context(),
                                       record_id)
        except cinder_exception.SnapshotNotFound:
            return False
        return True

    def _unmanaged_lv(self, existing_ref, snapshot: bool) -> tuple:
        """(name, report) of an LV Cinder may take over; else refuse."""
        name, lv = self._manageable_lv(existing_ref, snapshot=snapshot)
        if self._already_managed(name):
            raise cinder_exception.ManageExistingAlreadyManaged(
                volume_ref=name)
        return name, lv

    @pools.routed
    @names.lvm_errors
    def manage_existing_get_size(self, volume, existing_ref) -> int:
        # NOTE: Cinder asks for the size first; refuse a managed LV here
        # too, not only in manage_existing (doc/source/bad_input.rst).
        _name, lv = self._unmanaged_lv(existing_ref, snapshot=False)
        return datapath.gib_ceil(lv['size_bytes'])

    @pools.routed
    @names.lvm_errors
    def manage_existing(self, volume, existing_ref):
        """Rename the LV to the volume's name, round it up to whole GiB.

        Locks: the LV's family (under its current name), then the VG.
        Re-reads the LV under the lock.
        """
        name = self._ref_lv_name(existing_ref)
        with self._family(name, 'manage LV %s as volume %s' % (
                name, volume.id)):
            name, lv = self._unmanaged_lv(existing_ref, snapshot=False)
            size_gb = datapath.gib_ceil(lv['size_bytes'])
            self._pause('manage:decided')
            with self._metadata_lock():
                if lv['size_bytes'] != size_gb * units.Gi:
                    # NOTE: Cinder records whole GiB; grow the LV to match
                    # so that copies of the recorded size stay inside it.
                    self._checked_vg('manage %s' % name,
                                     size_gb * units.Gi - lv['size_bytes'])
                    self.vg.extend_volume(name, '%dg' % size_gb)
                self.vg.rename_volume(name, volume.name)
                self.vg.set_autoactivation(volume.name, False)
        return None

    def unmanage(self, volume) -> None:
        """Cinder forgets the volume; the LV stays, under its name."""
        LOG.info('Unmanaged volume %s; LV %s stays in VG %s', volume.id,
                 volume.name, self.vg_name)

    @pools.routed
    @names.lvm_errors
    def manage_existing_snapshot_get_size(self, snapshot, existing_ref):
        """The snapshot's size is its origin's, not its COW store's.

        NOTE: lvs reports a COW snapshot's lv_size as its exception store
        (say 512 MiB for a 10 GiB origin); volumes made from it and a
        revert's recreated store are sized from what this returns.
        """
        _name, lv = self._unmanaged_lv(existing_ref, snapshot=True)
        origin = self.vg.get_lv(lv['origin']) if lv['origin'] else None
        if origin is None:
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='the origin of LV %s cannot be read' % _name)
        return datapath.gib_ceil(origin['size_bytes'])

    @pools.routed
    @names.lvm_errors
    def manage_existing_snapshot(self, snapshot, existing_ref):
        """Rename a COW snapshot of the snapshot's volume to its LV name.

        Locks: the origin's family, then the VG. Re-reads the LV and the
        origin's attachments under the lock.
        """
        origin = snapshot.volume
        self._pause('manage-snapshot:before-lock')
        with self._family(origin.name, 'manage snapshot %s' % snapshot.id):
            name, lv = self._manageable_lv(existing_ref, snapshot=True)
            if lv['origin'] != origin.name:
                raise cinder_exception.ManageExistingInvalidReference(
                    existing_ref=existing_ref,
                    reason='LV %s is a snapshot of %s, not of %s' % (
                        name, lv['origin'], origin.name))
            if self._already_managed(name):
                raise cinder_exception.ManageExistingAlreadyManaged(
                    volume_ref=name)
            policy.check_family_change('manage a snapshot of',
                                       self._fresh(origin), lv)
            self._pause('manage-snapshot:decided')
            with self._metadata_lock():
                self.vg.rename_volume(name, names.snapshot_lv_name(snapshot))
        return None

    def unmanage_snapshot(self, snapshot) -> None:
        LOG.info('Unmanaged snapshot %s; LV %s stays in VG %s', snapshot.id,
                 names.snapshot_lv_name(snapshot), self.vg_name)

    def _manageable(self, cinder_resources, snapshots: bool, marker, limit,
                    offset, sort_keys, sort_dirs) -> list:
        """One lvs per VG; an entry per volume (or snapshot) LV."""
        cinder_ids = {r['id'] for r in cinder_resources}
        entries = []
        for pool in (self.pool_drivers.values() or [self]):
            entries.extend(pool._manageable_entries(cinder_ids, snapshots))
        return volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs)

    def _manageable_entries(self, cinder_ids: set, snapshots: bool) -> list:
        entries = []
        for lv in self.vg.list_lvs():
            is_snap = (lv['is_snapshot'] or
                       names.COPY_SNAPSHOT_TAG in lv['tags'])
            if is_snap != snapshots or lv['name'].startswith('_snapshot-') \
                    and not snapshots:
                continue
            entry = self._manageable_entry(lv, cinder_ids, snapshots)
            if self.router is not None:
                # NOTE: with several pools, the operator manages it with
                # --host <host>@<backend>#<this VG>.
                entry['extra_info'] = 'pool %s' % self.vg_name
            entries.append(entry)
        return entries

    @staticmethod
    def _manageable_entry(lv: dict, cinder_ids: set, snapshot: bool) -> dict:
        name = lv['name']
        if snapshot:
            unmangled = name[1:] if name.startswith('_snapshot') else name
            cinder_id = volume_utils.extract_id_from_snapshot_name(unmangled)
        else:
            cinder_id = volume_utils.extract_id_from_volume_name(name)
        entry = {'reference': {'source-name': name},
                 'size': datapath.gib_ceil(lv['size_bytes']),
                 'cinder_id': None, 'extra_info': None,
                 'safe_to_manage': True, 'reason_not_safe': None}
        if cinder_id and cinder_id in cinder_ids:
            entry.update(safe_to_manage=False, cinder_id=cinder_id,
                         reason_not_safe='already managed')
        elif cinder_id:
            entry.update(safe_to_manage=False,
                         reason_not_safe='named like a Cinder %s' % (
                             'snapshot' if snapshot else 'volume'))
        elif lvm.unsupported_kind(lv):
            entry.update(safe_to_manage=False,
                         reason_not_safe=lvm.unsupported_kind(lv))
        elif lv['open']:
            entry.update(safe_to_manage=False, reason_not_safe='in use')
        elif snapshot and not lv['origin']:
            entry.update(safe_to_manage=False,
                         reason_not_safe='not a COW snapshot')
        if snapshot:
            entry['source_reference'] = {'source-name': lv['origin']}
        return entry

    @names.lvm_errors
    def get_manageable_volumes(self, cinder_volumes, marker, limit, offset,
                               sort_keys, sort_dirs):
        return self._manageable(cinder_volumes, False, marker, limit,
                                offset, sort_keys, sort_dirs)

    @names.lvm_errors
    def get_manageable_snapshots(self, cinder_snapshots, marker, limit,
                                 offset, sort_keys, sort_dirs):
        return self._manageable(cinder_snapshots, True, marker, limit,
                                offset, sort_keys, sort_dirs)
