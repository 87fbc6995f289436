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

"""Data operations that run on the cinder-volume host.

Clearing, cloning, copying from a snapshot and converting images need the
LVs active on the cinder-volume host for the duration of the copy. A
source is *leased* (``DataPath.lease``): its family is activated by its
first user and deactivated by its last, each under the family's lock, so
the cinder-volume host never keeps a stale dm device of a shared LV
(doc/source/safety.rst, rule 7) and never deactivates a family another
copy still reads. Every command goes through the driver's executor, never
a local ``utils.execute``: in the functional rig the executor runs on a
VM.
"""

import contextlib
import math
from typing import Callable

from cinder.image import image_utils
from cinder import exception as cinder_exception
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units

from cinder_shared_lvm import exception as lvm_exception
from cinder_shared_lvm import family
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm

LOG = logging.getLogger(__name__)


class Lease(object):
    """This host's use of one LV's family, from acquire until release.

    Acquired under the family's lock (``DataPath.lease``); ``release``
    takes that lock again, so the use count and the LVs' state on this
    host change together. Usable as a context manager that releases on
    exit, even on failure.
    """

    def __init__(self, datapath: 'DataPath', family_name: str, unit: str,
                 lv_name: str, reads: tuple, what: str):
        self._datapath = datapath
        self.family_name = family_name
        self.unit = unit
        self.lv_name = lv_name
        self.reads = reads
        self.what = what
        self.released = False

    @property
    def path(self) -> str:
        return self._datapath.vg.lv_path(self.lv_name)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        self._datapath.release(self)

    def __enter__(self) -> 'Lease':
        return self

    def __exit__(self, exc_type, exc_value, tb) -> None:
        if exc_type is None:
            self.release()
            return
        try:
            self.release()
        except Exception:
            # NOTE: never mask the body's error with the release's.
            LOG.exception('Could not release %s after a failed %s',
                          self._datapath.vg.lv_ref(self.lv_name), self.what)


class DataPath(object):
    """Copies between LVs of one shared VG, on this host.

    :param vg: the driver's ``lvm.SharedLVM`` (writer role)
    :param execute: the driver's executor
    :param configuration: the backend's configuration (for
                          volume_dd_blocksize and volume_clear_*)
    :param family_lock: ``family_lock(origin, what)``: the driver's family
                        lock (``family.family_locked``), re-entrant
    """

    def __init__(self, vg: lvm.SharedLVM, execute: Callable, configuration,
                 family_lock: Callable):
        self.vg = vg
        self._execute = execute
        self.configuration = configuration
        self._family_lock = family_lock

    # -- activation on this host ------------------------------------------

    @staticmethod
    def unit_of(lv: dict) -> str:
        """The LV that LVM activates and deactivates *lv* with."""
        return lv['origin'] if lv['is_snapshot'] and lv['origin'] \
            else lv['name']

    def lease(self, family_name: str, lv: dict, what: str,
              exclusive: bool = False, reads: tuple = ()) -> Lease:
        """Activate *lv*'s family here (first user only); count the use.

        :param family_name: the Cinder volume's LV whose lock guards it
        :param lv: the report of the LV to use (``SharedLVM.get_lv``)
        :param exclusive: ``-aey``: the LV belongs to a snapshot family
        :param reads: LVs that the caller reads and that must not change
                      until it releases
        """
        unit = self.unit_of(lv)
        with self._family_lock(family_name, what):
            if family.ACTIVE.acquire(self.vg.vg_name, unit, reads):
                try:
                    self._activate(lv['name'], exclusive)
                except Exception:
                    with excutils.save_and_reraise_exception():
                        family.ACTIVE.release(self.vg.vg_name, unit, reads)
        return Lease(self, family_name, unit, lv['name'], tuple(reads), what)

    def release(self, lease: Lease) -> None:
        """Count a use less; the last user deactivates the whole family."""
        vg_name = self.vg.vg_name
        with self._family_lock(lease.family_name, lease.what):
            if not family.ACTIVE.release(vg_name, lease.unit, lease.reads):
                return
            try:
                # NOTE: deactivating the origin takes its snapshots and
                # their -real/-cow layers down with it.
                self.vg.deactivate_lv(lease.unit)
            except Exception:
                # NOTE: the family is still active here. Count it as used,
                # so that no attach puts it on a second host; startup
                # recovery deactivates it (or the operator, as logged).
                family.ACTIVE.acquire(vg_name, lease.unit, ())
                LOG.error('LV %s stays active on this host after %s: its '
                          'deactivation failed. Attaches of it are refused '
                          'until "lvchange -an %s" succeeds here and '
                          'cinder-volume restarts.',
                          self.vg.lv_ref(lease.unit), lease.what,
                          self.vg.lv_ref(lease.unit))
                raise

    @contextlib.contextmanager
    def activated_new(self, lv_name: str):
        """Activate an LV this operation created (no one else can reach it)
        for the body; always deactivate it."""
        self._activate(lv_name, exclusive=False)
        try:
            yield self.vg.lv_path(lv_name)
        except Exception:
            with excutils.save_and_reraise_exception():
                try:
                    self.vg.deactivate_lv(lv_name)
                except Exception:
                    LOG.exception('Could not deactivate %s after a failed '
                                  'copy', self.vg.lv_ref(lv_name))
        else:
            self.vg.deactivate_lv(lv_name)

    def _activate(self, name: str, exclusive: bool) -> None:
        # NOTE: with lvmlockd a copy holds its LVs -aey: the LV lock then
        # keeps every other host out for the copy's whole run, whatever the
        # driver's policy decided (doc/source/safety.rst, "Modes").
        self.vg.activate_lv(name, exclusive=exclusive or
                            self.vg.lock_manager == lockd.LVMLOCKD)
        try:
            # NOTE: activation leaves an LV that was already active here
            # with its old table; another host may have resized it since
            # (rule 4).
            self.vg.refresh_lv(name)
        except Exception:
            with excutils.save_and_reraise_exception():
                try:
                    self.vg.deactivate_lv(name)
                except Exception:
                    LOG.exception('Could not deactivate %s after a failed '
                                  'refresh', self.vg.lv_ref(name))

    def copy(self, src_path: str, dst_path: str, size_gb: int) -> None:
        """Copy *size_gb* GiB from one LV to another (``_dd``)."""
        self._dd(src_path, dst_path, size_gb * units.Gi, direct_read=True)

    def _dd(self, src: str, dst: str, count_bytes: int,
            direct_read: bool, prefix: tuple = ()) -> None:
        """dd with O_DIRECT writes, through the driver's executor; the data
        is on the LUN when this returns.

        Not cinder's ``volume_utils.copy_volume``: it probes O_DIRECT with
        cinder's own ``utils.execute`` on the local host, bypassing the
        driver's executor (design.rst, "One executor"), and when the probe
        cannot open the devices it falls back to a buffered copy and an
        fdatasync. On the rig that fallback made a clone 0.18x a raw
        O_DIRECT dd (benchmarks.rst). Every target here is an LV of the
        shared VG (or its dm device), a block device that takes O_DIRECT,
        and O_DIRECT writes reach the LUN before dd exits: another host
        reads the data next, past any page cache of this one.

        :param direct_read: O_DIRECT reads too (not from /dev/zero, which
                            refuses them)
        :param prefix: e.g. ``ionice -c3`` (volume_clear_ionice)
        """
        self._execute(
            *prefix, 'dd', 'if=%s' % src, 'of=%s' % dst,
            'count=%d' % count_bytes,
            'bs=%s' % self.configuration.volume_dd_blocksize,
            'iflag=count_bytes,direct' if direct_read
            else 'iflag=count_bytes', 'oflag=direct', run_as_root=True)

    @property
    def clears(self) -> bool:
        """True when deletes overwrite the LV first (volume_clear)."""
        return self.configuration.volume_clear not in (None, 'none')

    def clear(self, family_name: str, lv: dict, what: str) -> None:
        """Overwrite an LV with zeros as configured by volume_clear.

        cinder's ``volume_utils.clear_volume`` runs ``utils.execute``
        directly, so this writes the zeros with ``_dd`` through the
        driver's executor. A COW snapshot is cleared through its ``-cow``
        device: writing through the snapshot itself would copy origin
        chunks first. Its family is active here, exclusively, only for the
        clear.

        :param family_name: the Cinder volume's LV (the lock that guards
                            *lv*)
        :param lv: the report of the LV to clear
        """
        mode = self.configuration.volume_clear
        if not self.clears:
            return
        if mode != 'zero':
            raise cinder_exception.InvalidConfigurationValue(
                option='volume_clear', value=mode)
        lv_size_mb = lv['size_bytes'] // units.Mi
        # NOTE: volume_clear_size=0 means all of it; never write past it.
        size_mb = min(self.configuration.volume_clear_size or lv_size_mb,
                      lv_size_mb)
        snapshot = lv['is_snapshot']
        with self.lease(family_name, lv, what, exclusive=snapshot):
            path = (self.dm_path(lv['name']) + '-cow' if snapshot
                    else self.vg.lv_path(lv['name']))
            LOG.info('Clearing %(lv)s (%(mb)d MiB) through %(path)s for '
                     '%(what)s', {'lv': self.vg.lv_ref(lv['name']),
                                  'mb': size_mb, 'path': path,
                                  'what': what})
            ionice = self.configuration.volume_clear_ionice
            self._dd('/dev/zero', path, size_mb * units.Mi,
                     direct_read=False,
                     prefix=('ionice', ionice) if ionice else ())

    def dm_path(self, lv_name: str) -> str:
        """/dev/mapper path of an LV (dashes doubled, as LVM names them)."""
        return '/dev/mapper/%s-%s' % (self.vg.vg_name.replace('-', '--'),
                                      lvm.validate_name(lv_name)
                                      .replace('-', '--'))

    def image_to_lv(self, context, image_service, image_id: str,
                    lv_name: str, size_gb: int, check=None) -> None:
        """Fetch an image here and convert it onto the LV (via executor).

        The temporary file lives in image_conversion_dir, which the host
        that runs the executor must see at the same path.

        :param check: called under the family lock before the LV is
                      leased (the driver's re-read and refusal)
        """
        with image_utils.temporary_file(
                prefix='shared_lvm_image_%s_' % image_id) as tmp:
            image_utils.fetch(context, image_service, image_id, tmp,
                              None, None)
            meta = image_service.show(context, image_id)
            fmt = self._verify_image(image_id, meta, tmp, size_gb)
            what = 'image %s to %s' % (image_id, lv_name)
            with self._family_lock(lv_name, what):
                if check is not None:
                    check()
                lv = self.vg.get_lv(lv_name)
                if lv is None:
                    raise lvm_exception.LVNotFound(vg=self.vg.vg_name,
                                                   lv=lv_name)
                # NOTE: a re-image may write an origin that has snapshots:
                # its family comes up here, exclusively.
                lease = self.lease(lv_name, lv, what,
                                   exclusive=lv['has_snapshots'])
            with lease as use:
                path = use.path
                LOG.info('Converting image %(image)s (%(fmt)s) onto %(lv)s',
                         {'image': image_id, 'fmt': fmt,
                          'lv': self.vg.lv_ref(lv_name)})
                self._execute('qemu-img', 'convert', '-O', 'raw',
                              '-t', 'none', '-f', fmt, tmp, path,
                              run_as_root=True)

    @staticmethod
    def _verify_image(image_id: str, meta: dict, path: str,
                      size_gb: int) -> str:
        """Return the image's real format, or refuse an unsafe image."""
        data = image_utils.qemu_img_info(path, run_as_root=False)
        fmt = data.file_format
        if fmt is None:
            raise cinder_exception.ImageUnacceptable(
                image_id=image_id, reason="'qemu-img info' parsing failed")
        if data.backing_file is not None:
            raise cinder_exception.ImageUnacceptable(
                image_id=image_id, reason='fmt=%s backed by: %s' % (
                    fmt, data.backing_file))
        # NOTE: an image that Glance calls raw but that is really qcow2 (or
        # any other format) is the classic way to make qemu-img read a
        # host file; refuse it.
        disk_format = (meta or {}).get('disk_format')
        if disk_format == 'raw' and fmt != 'raw':
            raise cinder_exception.ImageUnacceptable(
                image_id=image_id, reason='Glance says raw but the data is '
                                          '%s' % fmt)
        if fmt == 'vmdk':
            image_utils.check_vmdk_image(image_id, data)
        if fmt == 'qcow2':
            image_utils.check_qcow2_image(image_id, data)
        image_utils.check_virtual_size(data.virtual_size, size_gb, image_id)
        return fmt

    def lv_to_image(self, context, image_service, image_meta: dict,
                    lease: Lease, volume) -> None:
        """Copy the leased LV to a file here (via executor), upload it.

        :param lease: the driver's lease of the volume's LV, released
                      here once the copy is done (the caller releases it
                      on any earlier failure)
        """
        with image_utils.temporary_file(
                prefix='shared_lvm_upload_%s_' % volume.id) as tmp:
            LOG.info('Copying %(lv)s to %(tmp)s for image %(image)s',
                     {'lv': self.vg.lv_ref(lease.lv_name), 'tmp': tmp,
                      'image': image_meta.get('id')})
            self._execute('qemu-img', 'convert', '-O', 'raw', lease.path,
                          tmp, run_as_root=True)
            # NOTE: the upload reads the file only; free the LV first.
            lease.release()
            image_utils.upload_volume(
                context, image_service, image_meta, tmp,
                run_as_root=False, store_id=_store_id(volume),
                base_image_ref=_base_image_ref(volume))


def _store_id(volume):
    vtype = volume.volume_type if volume.obj_attr_is_set(
        'volume_type') else None
    if not vtype:
        return None
    return (vtype.extra_specs or {}).get('image_service:store_id')


def _base_image_ref(volume):
    if not volume.obj_attr_is_set('volume_glance_metadata'):
        return None
    return (volume.glance_metadata or {}).get('image_id')


def gib_ceil(size_bytes: int) -> int:
    """Bytes to whole GiB, rounded up (Cinder sizes are whole GiB)."""
    return int(math.ceil(size_bytes / float(units.Gi)))
