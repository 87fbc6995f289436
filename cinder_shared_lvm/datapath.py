"""Data operations that run on the cinder-volume host.

Clearing, cloning, copying from a snapshot and converting images need the
LVs active on the cinder-volume host for the duration of the copy. Every
helper here activates what it needs and deactivates it afterwards, even on
failure, so the cinder-volume host never keeps a stale dm device of a
shared LV (DESIGN.md rule 7). Every command goes through the driver's
executor, never a local ``utils.execute``: in the functional rig the
executor runs on a VM.
"""

import contextlib
import math
from typing import Callable

from cinder.image import image_utils
from cinder import exception as cinder_exception
from cinder.volume import volume_utils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import units

from cinder_shared_lvm import lvm
from cinder_shared_lvm import policy

LOG = logging.getLogger(__name__)


class DataPath(object):
    """Copies between LVs of one shared VG, on this host.

    :param vg: the driver's ``lvm.SharedLVM`` (writer role)
    :param execute: the driver's executor
    :param configuration: the backend's configuration (for
                          volume_dd_blocksize and volume_clear_*)
    """

    def __init__(self, vg: lvm.SharedLVM, execute: Callable, configuration):
        self.vg = vg
        self._execute = execute
        self.configuration = configuration

    @contextlib.contextmanager
    def activated(self, *lv_names: str, exclusive: bool = False,
                  hold: tuple = ()):
        """Activate *lv_names* here for the body; always deactivate them.

        Each LV is marked in use (``policy.IN_USE``) for the body. An LV
        that another copy here already uses is shared, not activated
        again, and only its last user deactivates it: two clones of one
        source used to fail, because the first to finish could not
        deactivate an LV the second still read.

        :param exclusive: ``-aey`` (snapshot families)
        :param hold: more LVs to mark in use without activating them: the
                     origin of a COW snapshot, which comes up with it
        """
        done = []
        vg_name = self.vg.vg_name
        for name in hold:
            policy.IN_USE.hold(vg_name, name)
        try:
            for name in lv_names:
                with policy.IN_USE.lock:
                    if policy.IN_USE.hold(vg_name, name) == 1:
                        try:
                            self._activate(name, exclusive)
                        except Exception:
                            with excutils.save_and_reraise_exception():
                                policy.IN_USE.release(vg_name, name)
                    done.append(name)
            yield [self.vg.lv_path(n) for n in lv_names]
        except Exception:
            with excutils.save_and_reraise_exception():
                self._deactivate_all(done, quiet=True)
        else:
            self._deactivate_all(done, quiet=False)
        finally:
            for name in hold:
                policy.IN_USE.release(vg_name, name)

    def _activate(self, name: str, exclusive: bool) -> None:
        self.vg.activate_lv(name, exclusive=exclusive)
        try:
            # NOTE: activation leaves an LV that was already active here
            # with its old table; another host may have resized it since
            # (DESIGN.md rule 4).
            self.vg.refresh_lv(name)
        except Exception:
            with excutils.save_and_reraise_exception():
                try:
                    self.vg.deactivate_lv(name)
                except Exception:
                    LOG.exception('Could not deactivate %s after a failed '
                                  'refresh', self.vg.lv_ref(name))

    def _deactivate_all(self, names: list, quiet: bool) -> None:
        # NOTE: deactivate in reverse order: a COW snapshot activated after
        # its origin goes first. Only the last user of an LV deactivates.
        # Every name is released even when a deactivation fails: a count
        # left behind would refuse operations on the LV until a restart.
        vg_name = self.vg.vg_name
        error = None
        for name in reversed(names):
            with policy.IN_USE.lock:
                if policy.IN_USE.release(vg_name, name) > 0:
                    continue
                try:
                    self.vg.deactivate_lv(name)
                except Exception as err:
                    error = error or err
                    LOG.exception('Could not deactivate %s; the '
                                  'cinder-volume host still has it active',
                                  self.vg.lv_ref(name))
        if error is not None and not quiet:
            raise error

    def copy(self, src_path: str, dst_path: str, size_gb: int) -> None:
        """Copy *size_gb* GiB; data is on the LUN when this returns.

        ``sync=True`` because another host reads the data next, through its
        own page cache-free path; cached writes here would be invisible.
        """
        volume_utils.copy_volume(
            src_path, dst_path, size_gb * units.Ki,
            self.configuration.volume_dd_blocksize, sync=True,
            execute=self._execute, sparse=False)

    def clear(self, lv_name: str, lv_size_mb: int,
              dm_suffix: str = '') -> None:
        """Overwrite an LV with zeros as configured by volume_clear.

        cinder's ``volume_utils.clear_volume`` runs ``utils.execute``
        directly, so this calls copy_volume with the driver's executor.

        :param lv_size_mb: size of what is cleared, in MiB
        :param dm_suffix: '-cow' to clear a COW snapshot's store
        """
        mode = self.configuration.volume_clear
        if mode in (None, 'none'):
            return
        if mode != 'zero':
            raise cinder_exception.InvalidConfigurationValue(
                option='volume_clear', value=mode)
        # NOTE: volume_clear_size=0 means all of it; never write past it.
        size_mb = min(self.configuration.volume_clear_size or lv_size_mb,
                      lv_size_mb)
        with self.activated(lv_name):
            path = (self.dm_path(lv_name) + dm_suffix if dm_suffix
                    else self.vg.lv_path(lv_name))
            LOG.info('Clearing %(lv)s (%(mb)d MiB) through %(path)s',
                     {'lv': self.vg.lv_ref(lv_name), 'mb': size_mb,
                      'path': path})
            volume_utils.copy_volume(
                '/dev/zero', path, size_mb,
                self.configuration.volume_dd_blocksize, sync=True,
                execute=self._execute,
                ionice=self.configuration.volume_clear_ionice, sparse=False)

    def dm_path(self, lv_name: str) -> str:
        """/dev/mapper path of an LV (dashes doubled, as LVM names them)."""
        return '/dev/mapper/%s-%s' % (self.vg.vg_name.replace('-', '--'),
                                      lvm.validate_name(lv_name)
                                      .replace('-', '--'))

    def image_to_lv(self, context, image_service, image_id: str,
                    lv_name: str, size_gb: int) -> None:
        """Fetch an image here and convert it onto the LV (via executor).

        The temporary file lives in image_conversion_dir, which the host
        that runs the executor must see at the same path.
        """
        with image_utils.temporary_file(
                prefix='shared_lvm_image_%s_' % image_id) as tmp:
            image_utils.fetch(context, image_service, image_id, tmp,
                              None, None)
            meta = image_service.show(context, image_id)
            fmt = self._verify_image(image_id, meta, tmp, size_gb)
            with self.activated(lv_name) as (path,):
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
                    lv_name: str, volume, exclusive: bool = False) -> None:
        """Copy the LV to a file here (via executor), then upload it.

        :param exclusive: the LV is the origin of a snapshot family
        """
        with image_utils.temporary_file(
                prefix='shared_lvm_upload_%s_' % volume.id) as tmp:
            with self.activated(lv_name, exclusive=exclusive) as (path,):
                LOG.info('Copying %(lv)s to %(tmp)s for image %(image)s',
                         {'lv': self.vg.lv_ref(lv_name), 'tmp': tmp,
                          'image': image_meta.get('id')})
                self._execute('qemu-img', 'convert', '-O', 'raw', path, tmp,
                              run_as_root=True)
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
