"""Cinder volume driver for one LVM volume group on a shared LUN.

The cinder-volume host writes all LVM metadata; compute hosts activate the
LV they attach (``cinder_shared_lvm.connector``) and do I/O straight to the
SAN. There is no target: exports are no-ops and ``initialize_connection``
hands the compute host what it needs to activate the LV
(doc/source/contract.rst).

Safety (DESIGN.md section 4): the checks of ``policy`` run before any
metadata change; every metadata change runs under one lock per VG, shared
by all cinder-volume services that manage the VG; data copies run on this
host with the LVs active only for the copy (``datapath``).
"""

import contextlib
import functools
import socket

from cinder import coordination
from cinder import exception as cinder_exception
from cinder import interface
from cinder import utils
from cinder.volume import configuration
from cinder.volume import driver
from cinder.volume import volume_utils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import importutils
from oslo_utils import units

from cinder_shared_lvm import brick_registration
from cinder_shared_lvm import connector as shared_connector
from cinder_shared_lvm import datapath
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exception
from cinder_shared_lvm import lvm
from cinder_shared_lvm import opts
from cinder_shared_lvm import policy
from cinder_shared_lvm import vgcache

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.register_opts(opts.shared_lvm_opts,
                   group=configuration.SHARED_CONF_GROUP)

DRIVER_VOLUME_TYPE = 'shared_lvm'
COPY_SNAPSHOT_TAG = 'shared_lvm_snapshot_copy'
# An LV whose data is still being copied in (clone, volume from snapshot,
# copy-mode snapshot). The tag comes with the lvcreate and goes when the
# copy is done, so a crash mid-copy leaves an LV that startup can name.
INCOMPLETE_TAG = 'cslvm-incomplete'
# Extra share of a 100% COW store: the exception store needs a little more
# than the origin; lvcreate trims a request above the maximum it can use.
_COW_OVERHEAD = 1.01


def _lvm_errors(func):
    """Turn errors of the LVM layer into Cinder exceptions, same message."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (lvm_exception.InvalidName,
                lvm_exception.InvalidSize) as err:
            raise exc.InvalidValue(reason=str(err)) from err
        except lvm_exception.SharedLVMError as err:
            raise exc.SharedLVMDriverError(reason=str(err)) from err
    return wrapper


def snapshot_lv_name(snapshot) -> str:
    """LV of a snapshot: LVM reserves names starting with 'snapshot'."""
    name = snapshot.name
    return '_' + name if name.startswith('snapshot') else name


@interface.volumedriver
class SharedLVMDriver(driver.VolumeDriver):
    """Volumes are LVs of one VG that every host sees on a shared LUN."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'Cinder_Jenkins'
    SUPPORTS_ACTIVE_ACTIVE = False

    def __init__(self, *args, **kwargs):
        super(SharedLVMDriver, self).__init__(*args, **kwargs)
        self.configuration.append_config_values(opts.shared_lvm_opts)
        # NOTE: cinder's LVM driver registers lvm_type and lvm_mirrors,
        # read only to refuse a section copied from the stock driver. It
        # names objects.Volume at class level, so import it only here:
        # cinder-volume has registered its objects by now, while a bare
        # 'import cinder_shared_lvm.driver' has not.
        from cinder.volume.drivers import lvm as cinder_lvm  # noqa: F401
        self.configuration.append_config_values(
            self._get_oslo_driver_opts('lvm_type', 'lvm_mirrors'))
        executor = self.configuration.safe_get('shared_lvm_executor')
        if executor:
            # NOTE: VolumeManager builds drivers without execute=; this is
            # how a remote agent (the test rig) gets every host command.
            LOG.info('Running host commands through %s', executor)
            self._execute = importutils.import_class(executor)
        # The service's host (cinder.conf [DEFAULT] host or backend_host),
        # which is what operators see in Cinder; the OS name otherwise.
        self.hostname = (volume_utils.extract_host(self.host, 'host')
                         if self.host else socket.gethostname())
        self.vg = None
        self.datapath = None
        self._recent_vg = vgcache.RecentVGReport(
            self.configuration.shared_lvm_vg_report_max_age)
        self._stats = {}

    @classmethod
    def get_driver_options(cls) -> list:
        return opts.shared_lvm_opts + cls._get_oslo_driver_opts(
            'volume_clear', 'volume_clear_size', 'volume_clear_ionice',
            'volume_dd_blocksize', 'reserved_percentage',
            'max_over_subscription_ratio', 'volume_backend_name',
            'lvm_type', 'lvm_mirrors')

    # -- setup -------------------------------------------------------------

    @property
    def backend_name(self) -> str:
        return self.configuration.safe_get('volume_backend_name') or \
            'SharedLVM'

    @property
    def vg_name(self) -> str:
        return self.configuration.shared_lvm_volume_group

    @_lvm_errors
    def do_setup(self, context) -> None:
        """Build the LVM layer; reading the VG waits for the setup check.

        Also registers the ``shared_lvm`` connector with os-brick, so that
        Cinder's own attach paths in this process (generic migration,
        image and backup copies) can attach our volumes.
        """
        brick_registration.register()
        if self.configuration.safe_get('shared_lvm_executor'):
            shared_connector.set_default_executor(self._execute)
        self.vg = lvm.SharedLVM(
            self.vg_name, self.configuration.shared_lvm_devices,
            role=lvm.WRITER, executor=self._execute,
            root_helper=utils.get_root_helper(), check_vg=False)
        self.datapath = datapath.DataPath(self.vg, self._execute,
                                          self.configuration)

    @_lvm_errors
    def check_for_setup_error(self) -> None:
        """Refuse a configuration this driver cannot run safely."""
        conf = self.configuration
        if not conf.shared_lvm_devices:
            raise exc.InvalidRequest(
                reason='shared_lvm_devices is empty; list the shared PV '
                       'path(s) of VG %s' % self.vg_name)
        if conf.safe_get('lvm_type') == 'thin':
            raise exc.InvalidRequest(
                reason='lvm_type=thin is not supported: a thin pool cannot '
                       'be active on two hosts; remove lvm_type')
        if conf.safe_get('lvm_mirrors'):
            raise exc.InvalidRequest(
                reason='lvm_mirrors is not supported on a shared VG; '
                       'remove it (the SAN provides redundancy)')
        if self.vg is None:
            self.do_setup(None)
        self.vg.update_volume_group_info()
        if self.vg.vg_autoactivation == 'enabled':
            LOG.warning('VG %s has autoactivation enabled: a compute host '
                        'may activate its LVs at boot. Run "vgchange '
                        '--setautoactivation n %s".', self.vg_name,
                        self.vg_name)
        LOG.info('Shared LVM backend %(backend)s uses VG %(vg)s (uuid '
                 '%(uuid)s) on %(devices)s',
                 {'backend': self.backend_name, 'vg': self.vg_name,
                  'uuid': self.vg.vg_uuid, 'devices': self.vg.devices})
        self._recover_after_restart()

    def _recover_after_restart(self) -> dict:
        """Deal with what a crash or restart of this service left behind.

        An LV still tagged INCOMPLETE_TAG was being copied into when a
        cinder-volume service died: it is reported, and removed when
        shared_lvm_cleanup_incomplete_on_startup is set (only safe when no
        other running service manages the VG, since the tag also marks
        copies in flight there). An LV left active on this host by a
        service restart (no reboot) is deactivated unless something here
        holds it open or a copy in this process uses it.

        :returns: {'incomplete': [...], 'removed': [...],
                   'deactivated': [...]}
        """
        found = {'incomplete': [], 'removed': [], 'deactivated': []}
        lvs = self.vg.list_lvs()
        for lv in lvs:
            if INCOMPLETE_TAG in lv['tags']:
                found['incomplete'].append(lv['name'])
        for lv in lvs:
            name = lv['name']
            if not lv['active'] or lv['open'] or lv['origin'] or \
                    policy.IN_USE.busy(self.vg_name, [name]):
                continue        # a COW snapshot goes with its origin
            try:
                self.vg.deactivate_lv(name)
                found['deactivated'].append(name)
                LOG.warning('LV %s was left active on this host; '
                            'deactivated it', self.vg.lv_ref(name))
            except lvm_exception.SharedLVMError as err:
                LOG.error('LV %s is active on this host and could not be '
                          'deactivated: %s', self.vg.lv_ref(name), err)
        if not found['incomplete']:
            return found
        LOG.error('VG %(vg)s has LVs whose copy never finished (a '
                  'cinder-volume service stopped mid-copy): %(lvs)s. Their '
                  'Cinder volumes or snapshots are in error; delete them, '
                  'or set shared_lvm_cleanup_incomplete_on_startup.',
                  {'vg': self.vg_name,
                   'lvs': ', '.join(found['incomplete'])})
        if self.configuration.shared_lvm_cleanup_incomplete_on_startup:
            for name in found['incomplete']:
                try:
                    self._delete_lv(name)
                    found['removed'].append(name)
                except lvm_exception.SharedLVMError:
                    LOG.exception('Could not remove incomplete LV %s',
                                  self.vg.lv_ref(name))
        return found

    # -- locking -------------------------------------------------------------

    @contextlib.contextmanager
    def _metadata_lock(self):
        """Serialise metadata writes of every service that manages the VG.

        Cinder's coordination lock spans processes and hosts (with a
        shared backend); tooz's file driver also serialises the threads of
        one process, so two drivers in one process are covered too.
        """
        name = 'shared-lvm-%s' % self.vg_name
        timeout = self.configuration.shared_lvm_lock_timeout
        lock = coordination.COORDINATOR.get_lock(name)
        if not lock.acquire(blocking=timeout):
            raise exc.MetadataLockTimeout(lock=name, vg=self.vg_name,
                                          timeout=timeout)
        try:
            yield
        except Exception:
            # A failed write may have been refused for space another
            # service took: check the next one against a fresh report.
            self._recent_vg.invalidate()
            raise
        finally:
            lock.release()

    # -- stats ---------------------------------------------------------------

    def get_volume_stats(self, refresh: bool = False) -> dict:
        """Backend and pool stats; read the VG again when *refresh*."""
        if refresh or not self._stats:
            self._update_volume_stats()
        return self._stats

    def _update_volume_stats(self) -> None:
        """One vgs and one lvs, whatever the number of LVs."""
        data = {'volume_backend_name': self.backend_name,
                'vendor_name': 'Open Source',
                'driver_version': self.VERSION,
                'storage_protocol': DRIVER_VOLUME_TYPE,
                'sparse_copy_volume': False,
                'shared_targets': False,
                'pools': [self._pool_stats()]}
        self._stats = data

    def _pool_stats(self) -> dict:
        pool = {'pool_name': self.backend_name,
                'QoS_support': False,
                'thin_provisioning_support': False,
                'thick_provisioning_support': True,
                'multiattach': True,
                'reserved_percentage': self.configuration.reserved_percentage,
                'max_over_subscription_ratio': (
                    self.configuration.max_over_subscription_ratio),
                'filter_function': self.get_filter_function(),
                'goodness_function': self.get_goodness_function()}
        try:
            if self.vg is None:
                raise lvm_exception.SharedLVMError(reason='not set up')
            self.vg.update_volume_group_info()
        except lvm_exception.SharedLVMError as err:
            LOG.error('Cannot read VG %(vg)s for stats: %(err)s',
                      {'vg': self.vg_name, 'err': err})
            pool.update(total_capacity_gb=0, free_capacity_gb=0,
                        provisioned_capacity_gb=0, backend_state='down')
            return pool
        pool.update(self._vg_figures())
        return pool

    def _vg_figures(self) -> dict:
        vg = self.vg
        md_free_pct = round(lvm.metadata_free_percent(vg.vg_mda_size,
                                                      vg.vg_mda_free), 2)
        minimum = self.configuration.shared_lvm_min_free_metadata_percent
        warn_below = 2 * minimum
        if md_free_pct < warn_below:
            LOG.warning('VG %(vg)s metadata area is %(pct).1f%% free '
                        '(%(free)d of %(size)d bytes); volume creation stops '
                        'below %(min)d%%.',
                        {'vg': vg.vg_name, 'pct': md_free_pct,
                         'free': vg.vg_mda_free, 'size': vg.vg_mda_size,
                         'min': minimum})
        return {'total_capacity_gb': round(vg.vg_size, 2),
                'free_capacity_gb': round(vg.vg_free_space, 2),
                'provisioned_capacity_gb': vg.vg_provisioned_capacity,
                'total_volumes': vg.vg_lv_count,
                'location_info': 'SharedLVMDriver:%s:%s:%s' % (
                    self.hostname, vg.vg_name, vg.vg_uuid),
                'metadata_size_bytes': vg.vg_mda_size,
                'metadata_free_bytes': vg.vg_mda_free,
                'metadata_free_percent': md_free_pct,
                'backend_state': 'up'}

    # -- helpers -------------------------------------------------------------

    def _vg_size_gb(self) -> float:
        return self.vg.vg_size

    def _require_lv(self, name: str, what: str) -> dict:
        lv = self.vg.get_lv(name)
        if lv is None:
            raise exc.SharedLVMDriverError(
                reason='%s: LV %s/%s does not exist' % (what, self.vg_name,
                                                        name))
        return lv

    def _checked_vg(self, what: str, need_bytes: int) -> dict:
        """VG report; refuse if space or metadata area is short.

        A recent report is enough to allow (vgcache.py); a refusal is
        always decided on a fresh one.
        """
        minimum = self.configuration.shared_lvm_min_free_metadata_percent
        row = self._recent_vg.get()
        if row is not None:
            try:
                policy.check_space(what, need_bytes, row, minimum)
            except exc.OperationRefused:
                row = None
        if row is None:
            row = self.vg.vg_report()
            if row is None:
                raise lvm_exception.VolumeGroupNotFound(
                    vg=self.vg_name, devices=self.vg.devices)
            self._recent_vg.store(row)
            self.vg.vg_size = int(row['vg_size']) / float(units.Gi)
            policy.check_space(what, need_bytes, row, minimum)
        self._recent_vg.debit(need_bytes)
        return row

    def _create_lv(self, name: str, size_gb: int, what: str,
                   tags: tuple = ()) -> None:
        """Create a thick LV after the space checks (caller holds lock)."""
        self._checked_vg(what, size_gb * units.Gi)
        policy.check_size(what, size_gb, self._vg_size_gb())
        LOG.info('Creating LV %(lv)s (%(size)d GiB) for %(what)s',
                 {'lv': self.vg.lv_ref(name), 'size': size_gb, 'what': what})
        self.vg.create_volume(name, '%dg' % size_gb, tags=tags)

    def _delete_lv(self, name: str) -> None:
        with self._metadata_lock():
            LOG.info('Removing LV %s', self.vg.lv_ref(name))
            self.vg.delete(name)

    def _undo_create(self, name: str, why: str) -> None:
        """Remove an LV made by a failed operation; never mask its error."""
        LOG.error('%s failed; removing the new LV %s', why,
                  self.vg.lv_ref(name))
        try:
            self._delete_lv(name)
        except Exception:
            LOG.exception('Could not remove LV %s; remove it by hand',
                          self.vg.lv_ref(name))

    def local_path(self, volume) -> str:
        return self.vg.lv_path(volume.name)

    # -- volumes -------------------------------------------------------------

    @_lvm_errors
    def create_volume(self, volume) -> None:
        """lvcreate an inactive, non-autoactivated thick LV."""
        policy.check_size('volume %s' % volume.id, volume.size,
                          self._vg_size_gb())
        with self._metadata_lock():
            self._create_lv(volume.name, volume.size,
                            'volume %s' % volume.id)

    @_lvm_errors
    def delete_volume(self, volume) -> None:
        """Clear (if configured) and remove the LV; a missing LV is gone."""
        lv = self.vg.get_lv(volume.name)
        if lv is None:
            LOG.warning('LV %s of volume %s does not exist; nothing to '
                        'delete', self.vg.lv_ref(volume.name), volume.id)
            return
        policy.check_not_attached('delete', volume, 'a host is using it',
                                  error=exc.VolumeBusyRefused)
        policy.check_delete(volume, lv)
        policy.check_not_copying('delete', self.vg_name, [volume.name],
                                 volume, error=exc.VolumeBusyRefused,
                                 volume_name=volume.name)
        self.datapath.clear(volume.name, lv['size_bytes'] // units.Mi)
        self._delete_lv(volume.name)

    @_lvm_errors
    def extend_volume(self, volume, new_size: int) -> None:
        """lvextend; a compute host that has the LV active refreshes it."""
        policy.check_size('volume %s' % volume.id, new_size,
                          self._vg_size_gb())
        lv = self._require_lv(volume.name, 'extend volume %s' % volume.id)
        policy.check_family_change('extend', volume, lv)
        policy.check_not_copying('extend', self.vg_name, [volume.name],
                                 volume)
        grow = new_size * units.Gi - lv['size_bytes']
        if grow == 0:
            LOG.info('LV %s is already %d GiB', self.vg.lv_ref(volume.name),
                     new_size)
            return
        if grow < 0:
            raise exc.InvalidRequest(
                reason='volume %s is %d bytes; shrinking it to %d GiB is '
                       'not supported' % (volume.id, lv['size_bytes'],
                                          new_size))
        with self._metadata_lock():
            self._checked_vg('extend volume %s' % volume.id, grow)
            self.vg.extend_volume(volume.name, '%dg' % new_size)

    @_lvm_errors
    def create_cloned_volume(self, volume, src_vref) -> None:
        """New LV at the target size; copy the source's size into it."""
        policy.check_clone_source(src_vref)
        src = self._require_lv(src_vref.name, 'clone volume %s' %
                               src_vref.id)
        self._create_copy(volume, src_vref.name, src_vref.size,
                          exclusive=src['has_snapshots'])

    @_lvm_errors
    def create_volume_from_snapshot(self, volume, snapshot) -> None:
        """New LV at the target size; copy the snapshot's data into it."""
        snap_lv = snapshot_lv_name(snapshot)
        lv = self._require_lv(snap_lv, 'create volume from snapshot %s'
                              % snapshot.id)
        policy.check_family_change('create a volume from', snapshot.volume,
                                   lv)
        self._create_copy(volume, snap_lv, snapshot.volume_size,
                          exclusive=lv['is_snapshot'],
                          hold=(snapshot.volume.name,) if lv['is_snapshot']
                          else ())

    def _create_copy(self, volume, src_lv: str, src_size_gb: int,
                     exclusive: bool, hold: tuple = ()) -> None:
        """Create *volume*'s LV, then copy *src_size_gb* GiB of *src_lv*.

        :param exclusive: the source belongs to a snapshot family, which
                          is activated ``-aey`` (rule 5)
        """
        policy.check_size('volume %s' % volume.id, volume.size,
                          self._vg_size_gb())
        if volume.size < src_size_gb:
            raise exc.InvalidRequest(
                reason='volume %s (%d GiB) is smaller than its source %s '
                       '(%d GiB)' % (volume.id, volume.size, src_lv,
                                     src_size_gb))
        with self._metadata_lock():
            self._create_lv(volume.name, volume.size,
                            'volume %s' % volume.id, tags=(INCOMPLETE_TAG,))
        try:
            self._copy_lv(src_lv, volume.name, src_size_gb, exclusive,
                          hold=hold)
            self._mark_complete(volume.name)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._undo_create(volume.name, 'Copy from %s' % src_lv)

    def _mark_complete(self, name: str) -> None:
        """Drop INCOMPLETE_TAG: the LV's data is all there."""
        with self._metadata_lock():
            self.vg.del_tag(name, INCOMPLETE_TAG)

    def _copy_lv(self, src_lv: str, dst_lv: str, size_gb: int,
                 exclusive: bool = False, hold: tuple = ()) -> None:
        """Copy with both LVs active here; *hold*: more LVs in use."""
        with self.datapath.activated(src_lv, exclusive=exclusive,
                                     hold=hold) as (src,):
            with self.datapath.activated(dst_lv) as (dst,):
                LOG.info('Copying %(size)d GiB from %(src)s to %(dst)s',
                         {'size': size_gb, 'src': src, 'dst': dst})
                self.datapath.copy(src, dst, size_gb)

    # -- snapshots -----------------------------------------------------------

    @_lvm_errors
    def create_snapshot(self, snapshot) -> None:
        """A COW snapshot (lvcreate -s) or a full copy, per snapshot mode."""
        volume = snapshot.volume
        policy.check_create_snapshot(volume)
        snap_lv = snapshot_lv_name(snapshot)
        if self.configuration.shared_lvm_snapshot_mode == \
                opts.SNAPSHOT_MODE_COPY:
            self._create_copy_snapshot(snapshot, volume, snap_lv)
            return
        policy.check_not_copying('snapshot', self.vg_name, [volume.name],
                                 volume)
        with self._metadata_lock():
            self._create_cow_snapshot(snapshot, volume, snap_lv)

    def _cow_size_mb(self, size_gb: int) -> int:
        pct = self.configuration.shared_lvm_snapshot_size_percent
        size_mb = size_gb * units.Ki * pct / 100.0
        if pct == 100:
            size_mb = size_mb * _COW_OVERHEAD
        return int(size_mb) + 1

    def _create_cow_snapshot(self, snapshot, volume, snap_lv: str,
                             check_space: bool = True) -> None:
        """lvcreate -s (caller holds the metadata lock).

        :param check_space: False to recreate a snapshot that a merge has
                            just consumed: the merge freed the same space
                            and metadata, and a refusal here would lose a
                            snapshot that Cinder still lists
        """
        size_mb = self._cow_size_mb(snapshot.volume_size)
        if check_space:
            self._checked_vg('snapshot %s' % snapshot.id, size_mb * units.Mi)
        LOG.info('Creating COW snapshot %(snap)s of %(lv)s (%(mb)d MiB '
                 'store)', {'snap': snap_lv, 'lv': volume.name,
                            'mb': size_mb})
        self.vg.create_lv_snapshot(snap_lv, volume.name,
                                   size_str='%dm' % size_mb)

    def _create_copy_snapshot(self, snapshot, volume, snap_lv: str) -> None:
        """A plain LV with a full copy: the origin stays a plain LV."""
        src = self._require_lv(volume.name, 'snapshot volume %s' % volume.id)
        with self._metadata_lock():
            self._create_lv(snap_lv, snapshot.volume_size,
                            'snapshot %s' % snapshot.id,
                            tags=(COPY_SNAPSHOT_TAG, INCOMPLETE_TAG))
        try:
            # NOTE: an origin that already has COW snapshots (the snapshot
            # mode was changed) is a family: -aey, like any family copy.
            self._copy_lv(volume.name, snap_lv, snapshot.volume_size,
                          exclusive=src['has_snapshots'])
            self._mark_complete(snap_lv)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._undo_create(snap_lv, 'Copy of %s' % volume.name)

    @_lvm_errors
    def delete_snapshot(self, snapshot) -> None:
        """Clear (if configured) and remove; a missing snapshot is gone."""
        snap_lv = snapshot_lv_name(snapshot)
        lv = self.vg.get_lv(snap_lv)
        if lv is None:
            LOG.warning('LV %s of snapshot %s does not exist; nothing to '
                        'delete', self.vg.lv_ref(snap_lv), snapshot.id)
            return
        policy.check_family_change('delete snapshot of', snapshot.volume, lv,
                                   error=exc.SnapshotBusyRefused)
        family = [snapshot.volume.name] if lv['is_snapshot'] else []
        policy.check_not_copying('delete snapshot', self.vg_name,
                                 [snap_lv] + family, 'snapshot %s (LV %s)' % (
                                     snapshot.id, snap_lv),
                                 error=exc.SnapshotBusyRefused,
                                 snapshot_name=snap_lv)
        size_mb = lv['size_bytes'] // units.Mi
        # NOTE: a COW snapshot is cleared through its -cow device: writing
        # through the snapshot itself would copy origin chunks first.
        self.datapath.clear(snap_lv, size_mb,
                            dm_suffix='-cow' if lv['is_snapshot'] else '')
        self._delete_lv(snap_lv)

    @_lvm_errors
    def revert_to_snapshot(self, context, volume, snapshot) -> None:
        """Merge a COW snapshot (then recreate it) or copy a copy back."""
        policy.check_not_attached('revert', volume,
                                  'its data would change under the guest')
        snap_lv = snapshot_lv_name(snapshot)
        lv = self._require_lv(snap_lv, 'revert to snapshot %s' % snapshot.id)
        policy.check_not_copying('revert', self.vg_name,
                                 [volume.name, snap_lv], volume)
        if not lv['is_snapshot']:
            self._copy_lv(snap_lv, volume.name, snapshot.volume_size)
            return
        with self._metadata_lock():
            # NOTE: the origin is active here, exclusively and closed, so
            # the merge runs now in the foreground instead of at the next
            # activation on whichever host that is.
            with self.datapath.activated(volume.name, exclusive=True):
                LOG.info('Merging %s into %s', snap_lv, volume.name)
                self.vg.revert(snap_lv)
            # NOTE: the merge consumed the snapshot, which Cinder still
            # lists; recreate it, as cinder's LVM driver does.
            self._create_cow_snapshot(snapshot, volume, snap_lv,
                                      check_space=False)

    # -- images --------------------------------------------------------------

    @_lvm_errors
    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False) -> None:
        """Fetch here, convert onto the LV through the executor."""
        self.datapath.image_to_lv(context, image_service, image_id,
                                  volume.name, volume.size)

    @_lvm_errors
    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta) -> None:
        """Convert the LV to a raw file through the executor, upload it.

        A plain LV may be read here while a compute host has it active
        (Cinder asks for force to upload an in-use volume); a snapshot
        family may not be active on two hosts.
        """
        lv = self._require_lv(volume.name, 'upload volume %s' % volume.id)
        policy.check_family_change('upload', volume, lv)
        self.datapath.lv_to_image(context, image_service, image_meta,
                                  volume.name, volume,
                                  exclusive=lv['has_snapshots'])

    def clone_image(self, context, volume, image_location, image_meta,
                    image_service):
        """No image backend shares this VG: always copy."""
        return None, False

    # -- exports and connections ---------------------------------------------

    def create_export(self, context, volume, connector, vg=None):
        """No target: the compute host activates the LV itself."""
        return None

    def ensure_export(self, context, volume):
        return None

    def remove_export(self, context, volume):
        return None

    def _vg_uuid(self) -> str:
        if not self.vg.vg_uuid:
            self.vg.update_volume_group_info()
        return self.vg.vg_uuid

    @_lvm_errors
    def validate_connector(self, connector) -> None:
        """Refuse a host that does not report our VG (contract.rst)."""
        policy.check_connector(connector, self.vg_name, self._vg_uuid())

    @_lvm_errors
    def initialize_connection(self, volume, connector, **kwargs) -> dict:
        """Connection data for the connector; no metadata is written."""
        host = policy.check_connector(connector, self.vg_name,
                                      self._vg_uuid())
        lv = self._require_lv(volume.name, 'attach volume %s' % volume.id)
        activation = policy.activation_for(volume, lv, host)
        # NOTE: a family being copied is active on this host, so an attach
        # would put it on two (rule 5); a plain LV being copied would be
        # written under the copy.
        policy.check_not_copying('attach', self.vg_name, [volume.name],
                                 volume)
        mode = connector.get('mode') if connector.get('mode') in (
            'rw', 'ro') else 'rw'
        LOG.info('Connecting volume %(vol)s (LV %(lv)s) to host %(host)s '
                 'with %(act)s activation',
                 {'vol': volume.id, 'lv': volume.name, 'host': host,
                  'act': activation})
        return {'driver_volume_type': DRIVER_VOLUME_TYPE,
                'data': {'volume_id': volume.id,
                         'vg_name': self.vg_name,
                         'vg_uuid': self._vg_uuid(),
                         'lv_name': volume.name,
                         'lv_uuid': lv['uuid'],
                         'device_path': self.vg.lv_path(volume.name),
                         'devices': list(self.vg.devices),
                         'activation': activation,
                         'access_mode': mode,
                         'discard': True,
                         'multiattach': bool(volume.multiattach)}}

    def terminate_connection(self, volume, connector, **kwargs) -> None:
        """Nothing to undo here: the compute host deactivates on detach.

        ``connector=None`` is a force-detach of every attachment; it
        succeeds too.
        """
        LOG.debug('terminate_connection of volume %s for %s: nothing to do',
                  volume.id, (connector or {}).get('host', 'all hosts'))
        return None

    def _connect_device(self, conn):
        """Attach here with our connector, run through our executor.

        The base class asks os-brick's factory, which builds connectors
        without an executor; ours must run where the driver's commands run.
        """
        if conn.get('driver_volume_type') != DRIVER_VOLUME_TYPE:
            return super(SharedLVMDriver, self)._connect_device(conn)
        connector = shared_connector.SharedLVMConnector(
            utils.get_root_helper(), execute=self._execute,
            device_scan_attempts=(
                self.configuration.num_volume_device_scan_tries))
        device = connector.connect_volume(conn['data'])
        attach_info = {'conn': conn, 'device': device,
                       'connector': connector}
        if not connector.check_valid_device(device['path']):
            raise cinder_exception.DeviceUnavailable(
                path=device['path'], attach_info=attach_info,
                reason='LV %s is not readable after activation' %
                device['path'])
        return attach_info

    # -- manage / unmanage ----------------------------------------------------

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

    @staticmethod
    def _already_managed(name: str) -> bool:
        if name.startswith('_snapshot-'):
            return volume_utils.extract_id_from_snapshot_name(
                name[1:]) is not None
        return volume_utils.extract_id_from_volume_name(name) is not None

    def _unmanaged_lv(self, existing_ref, snapshot: bool) -> tuple:
        """(name, report) of an LV Cinder may take over; else refuse."""
        name, lv = self._manageable_lv(existing_ref, snapshot=snapshot)
        if self._already_managed(name):
            raise cinder_exception.ManageExistingAlreadyManaged(
                volume_ref=name)
        return name, lv

    @_lvm_errors
    def manage_existing_get_size(self, volume, existing_ref) -> int:
        # NOTE: Cinder asks for the size first; refuse a managed LV here
        # too, not only in manage_existing (doc/source/bad_input.rst).
        _name, lv = self._unmanaged_lv(existing_ref, snapshot=False)
        return datapath.gib_ceil(lv['size_bytes'])

    @_lvm_errors
    def manage_existing(self, volume, existing_ref):
        """Rename the LV to the volume's name, round it up to whole GiB."""
        name, lv = self._unmanaged_lv(existing_ref, snapshot=False)
        size_gb = datapath.gib_ceil(lv['size_bytes'])
        with self._metadata_lock():
            if lv['size_bytes'] != size_gb * units.Gi:
                # NOTE: Cinder records whole GiB; grow the LV to match so
                # that copies of the recorded size stay inside it.
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

    @_lvm_errors
    def manage_existing_snapshot_get_size(self, snapshot, existing_ref):
        _name, lv = self._unmanaged_lv(existing_ref, snapshot=True)
        return datapath.gib_ceil(lv['size_bytes'])

    @_lvm_errors
    def manage_existing_snapshot(self, snapshot, existing_ref):
        """Rename a COW snapshot of the snapshot's volume to its LV name."""
        name, lv = self._manageable_lv(existing_ref, snapshot=True)
        if lv['origin'] != snapshot.volume.name:
            raise cinder_exception.ManageExistingInvalidReference(
                existing_ref=existing_ref,
                reason='LV %s is a snapshot of %s, not of %s' % (
                    name, lv['origin'], snapshot.volume.name))
        if self._already_managed(name):
            raise cinder_exception.ManageExistingAlreadyManaged(
                volume_ref=name)
        policy.check_family_change('manage a snapshot of', snapshot.volume,
                                   lv)
        with self._metadata_lock():
            self.vg.rename_volume(name, snapshot_lv_name(snapshot))
        return None

    def unmanage_snapshot(self, snapshot) -> None:
        LOG.info('Unmanaged snapshot %s; LV %s stays in VG %s', snapshot.id,
                 snapshot_lv_name(snapshot), self.vg_name)

    def _manageable(self, cinder_resources, snapshots: bool, marker, limit,
                    offset, sort_keys, sort_dirs) -> list:
        """One lvs; an entry per volume (or snapshot) LV."""
        cinder_ids = {r['id'] for r in cinder_resources}
        entries = []
        for lv in self.vg.list_lvs():
            is_snap = lv['is_snapshot'] or COPY_SNAPSHOT_TAG in lv['tags']
            if is_snap != snapshots or lv['name'].startswith('_snapshot-') \
                    and not snapshots:
                continue
            entries.append(self._manageable_entry(lv, cinder_ids,
                                                  snapshots))
        return volume_utils.paginate_entries_list(
            entries, marker, limit, offset, sort_keys, sort_dirs)

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
        elif lv['open']:
            entry.update(safe_to_manage=False, reason_not_safe='in use')
        elif snapshot and not lv['origin']:
            entry.update(safe_to_manage=False,
                         reason_not_safe='not a COW snapshot')
        if snapshot:
            entry['source_reference'] = {'source-name': lv['origin']}
        return entry

    @_lvm_errors
    def get_manageable_volumes(self, cinder_volumes, marker, limit, offset,
                               sort_keys, sort_dirs):
        return self._manageable(cinder_volumes, False, marker, limit,
                                offset, sort_keys, sort_dirs)

    @_lvm_errors
    def get_manageable_snapshots(self, cinder_snapshots, marker, limit,
                                 offset, sort_keys, sort_dirs):
        return self._manageable(cinder_snapshots, True, marker, limit,
                                offset, sort_keys, sort_dirs)

    # -- retype and migration -------------------------------------------------

    def retype(self, context, volume, new_type, diff, host) -> bool:
        """Nothing on the LV depends on the type, except encryption."""
        encryption = (diff or {}).get('encryption') or {}
        if any(old != new for old, new in encryption.values()):
            LOG.info('Retype of volume %s changes encryption; Cinder must '
                     'migrate it', volume.id)
            return False
        return True

    def _same_vg(self, host: dict) -> bool:
        info = ((host or {}).get('capabilities') or {}).get(
            'location_info') or ''
        parts = info.split(':')
        return (len(parts) == 4 and parts[0] == 'SharedLVMDriver' and
                parts[2] == self.vg_name and bool(self.vg.vg_uuid) and
                parts[3] == self.vg.vg_uuid)

    @_lvm_errors
    def migrate_volume(self, context, volume, host):
        """Same VG (by UUID): the LV stays where it is; else generic copy."""
        self._vg_uuid()
        if not self._same_vg(host):
            return False, None
        LOG.info('Volume %s migrates to %s, which manages the same VG %s: '
                 'nothing to copy', volume.id, host.get('host'),
                 self.vg_name)
        return True, None

    @_lvm_errors
    def update_migrated_volume(self, context, volume, new_volume,
                               original_volume_status):
        """Give the migrated LV the original volume's name when we can."""
        keep = {'_name_id': new_volume._name_id or new_volume.id,
                'provider_location': new_volume.provider_location}
        if original_volume_status != 'available':
            # NOTE: renaming an LV that a compute host has active would
            # leave that host with a stale dm name.
            return keep
        original = CONF.volume_name_template % volume.id
        try:
            with self._metadata_lock():
                self.vg.rename_volume(new_volume.name, original)
        except lvm_exception.SharedLVMError as err:
            LOG.warning('Could not rename LV %s back to %s (%s); the '
                        'volume keeps the new name', new_volume.name,
                        original, err)
            return keep
        return {'_name_id': None, 'provider_location': None}
