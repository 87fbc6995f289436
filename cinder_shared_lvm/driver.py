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

"""Cinder volume driver for one LVM volume group on a shared LUN.

The cinder-volume host writes all LVM metadata; compute hosts activate the
LV they attach (``cinder_shared_lvm.connector``) and do I/O straight to the
SAN. There is no target: exports are no-ops and ``initialize_connection``
hands the compute host what it needs to activate the LV
(doc/source/contract.rst).

Safety (doc/source/safety.rst): every operation that reads or changes a
snapshot family takes the family's lock, re-reads the attachments and the
LV under it and decides there (``policy``); metadata writes also take the
VG lock, always after the family lock (``family``); data copies run on
this host with the source leased, active only while copies use it
(``datapath``).
"""

import contextlib
import socket
import time

from cinder import context as cinder_context
from cinder import exception as cinder_exception
from cinder import interface
from cinder import objects
from cinder import utils
from cinder.volume import configuration
from cinder.volume import driver
from cinder.volume import volume_utils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils import importutils
from oslo_utils import units

from cinder_shared_lvm import backup_refusal
from cinder_shared_lvm import brick_registration
from cinder_shared_lvm import cluster
from cinder_shared_lvm import connector as shared_connector
from cinder_shared_lvm import contract
from cinder_shared_lvm import datapath
from cinder_shared_lvm import dm
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exception
from cinder_shared_lvm import family
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm
from cinder_shared_lvm import manage
from cinder_shared_lvm import names
from cinder_shared_lvm import opts
from cinder_shared_lvm import policy
from cinder_shared_lvm import pools
from cinder_shared_lvm import revert
from cinder_shared_lvm import vgcache

LOG = logging.getLogger(__name__)
CONF = cfg.CONF
CONF.register_opts(opts.shared_lvm_opts,
                   group=configuration.SHARED_CONF_GROUP)

DRIVER_VOLUME_TYPE = names.DRIVER_VOLUME_TYPE
COPY_SNAPSHOT_TAG = names.COPY_SNAPSHOT_TAG
INCOMPLETE_TAG = names.INCOMPLETE_TAG
snapshot_lv_name = names.snapshot_lv_name
_lvm_errors = names.lvm_errors
WRITER_TAG_PREFIX = 'cslvm-writer='
# Extra share of a 100% COW store: the exception store needs a little more
# than the origin; lvcreate trims a request above the maximum it can use.
_COW_OVERHEAD = 1.01


def _dm_uuid_or_none(lv_uuid: str):
    """An LV UUID as dm spells it, or None if LVM did not report one."""
    try:
        return dm.lvm_uuid(lv_uuid)
    except ValueError:
        return None


def _register_stock_lvm_opts() -> None:
    """Register cinder's LVM driver options (lvm_type, lvm_mirrors).

    They are read only to refuse a section copied from the stock driver.
    NOTE: cinder's LVM driver module names objects.Volume at class level,
    so it can be imported only once cinder's objects are registered;
    register them first (idempotent), as cinder-volume has.
    """
    objects.register_all()
    from cinder.volume.drivers import lvm as cinder_lvm  # noqa: F401


@interface.volumedriver
class SharedLVMDriver(manage.ManageMixin, driver.VolumeDriver):
    """Volumes are LVs of one VG that every host sees on a shared LUN."""

    VERSION = contract.VERSION
    CI_WIKI_NAME = contract.CI_WIKI_NAME
    # Several cinder-volume services in one Cinder cluster may write one VG
    # (doc/source/admin/active-active.rst).
    SUPPORTS_ACTIVE_ACTIVE = True
    # Set by the race tests only (see _pause).
    pause_hook = None

    def __init__(self, *args, pool_vg=None, pool_devices=None, **kwargs):
        """:param pool_vg: set on a pool driver (pools.py): its one VG
        :param pool_devices: that VG's devices"""
        super(SharedLVMDriver, self).__init__(*args, **kwargs)
        self._pool_vg = pool_vg
        self._pool_devices = pool_devices
        # With several VGs: {vg: pool driver} on the backend's driver, and
        # each pool driver's router is that driver.
        self.pool_drivers = {}
        self.router = None
        self.configuration.append_config_values(opts.shared_lvm_opts)
        _register_stock_lvm_opts()
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
        # NOTE: lvm_type and lvm_mirrors are registered by cinder's LVM
        # driver module; in a fresh process (cinder's own tooling calls
        # this on the bare class) they are not there yet: KeyError.
        _register_stock_lvm_opts()
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
        return self._pool_vg or self.configuration.shared_lvm_volume_group

    @property
    def lock_manager(self) -> str:
        return self.configuration.shared_lvm_lock_manager

    @property
    def devices(self) -> list:
        return self._pool_devices or self.configuration.shared_lvm_devices

    def pool_driver(self, resource) -> 'SharedLVMDriver':
        """The driver of the pool that holds *resource* (a volume or a
        snapshot): this one when the backend has one VG."""
        router = self.router or self
        if not router.pool_drivers:
            return self
        name = pools.pool_of(resource) if resource is not None else None
        return self.pool_named(name, getattr(resource, 'id', resource))

    def pool_named(self, name, what) -> 'SharedLVMDriver':
        """The driver of pool (VG) *name*; *what* names the request."""
        router = self.router or self
        if name not in router.pool_drivers:
            raise exc.InvalidRequest(
                reason='%s is in pool %r, which is not one of the VGs of '
                       'backend %s (%s)' % (
                           what, name, self.backend_name,
                           ', '.join(sorted(router.pool_drivers))))
        return router.pool_drivers[name]

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
        if pools.is_multi_pool(self.configuration) and not self._pool_vg:
            self._setup_pools(context)
            return
        self.vg = lvm.SharedLVM(
            self.vg_name, self.devices,
            role=lvm.WRITER, executor=self._execute,
            root_helper=utils.get_root_helper(), check_vg=False,
            lock_manager=self.lock_manager)
        self.datapath = datapath.DataPath(self.vg, self._execute,
                                          self.configuration, self._family)

    def _setup_pools(self, context) -> None:
        """One pool driver per VG, each confined to its own devices."""
        split = pools.devices_by_vg(
            self._execute, utils.get_root_helper(),
            self.configuration.shared_lvm_devices,
            pools.configured_vgs(self.configuration))
        for vg_name, devices in split.items():
            child = type(self)(configuration=self.configuration,
                               execute=self._execute, host=self.host,
                               db=self.db, pool_vg=vg_name,
                               pool_devices=devices)
            child.router = self
            # NOTE: what a test set on this instance (the race tests'
            # pause hook, the rig's database stand-ins) holds for every
            # pool.
            for attr in ('pause_hook', '_read_attachments',
                         '_record_exists'):
                if attr in vars(self):
                    setattr(child, attr, vars(self)[attr])
            child.do_setup(context)
            self.pool_drivers[vg_name] = child
        LOG.info('Shared LVM backend %s has %d pools: %s', self.backend_name,
                 len(split), ', '.join('%s on %s' % (vg, ', '.join(devs))
                                       for vg, devs in split.items()))

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
        if self.vg is None and not self.pool_drivers:
            self.do_setup(None)
        if self.pool_drivers:
            for child in self.pool_drivers.values():
                child.check_for_setup_error()
            return
        self.vg.update_volume_group_info()
        if self.lock_manager == lockd.LVMLOCKD:
            self._start_lockspace()
        if self.vg.vg_autoactivation == 'enabled':
            LOG.warning('VG %s has autoactivation enabled: a compute host '
                        'may activate its LVs at boot. Run "vgchange '
                        '--setautoactivation n %s".', self.vg_name,
                        self.vg_name)
        LOG.info('Shared LVM backend %(backend)s uses VG %(vg)s (uuid '
                 '%(uuid)s) on %(devices)s',
                 {'backend': self.backend_name, 'vg': self.vg_name,
                  'uuid': self.vg.vg_uuid, 'devices': self.vg.devices})
        self._check_coordination()
        self._claim_vg()
        self._recover_after_restart()

    def _check_coordination(self) -> None:
        """Refuse a clustered service whose locks hold on this host only."""
        cluster.check_clustered_service(
            self._cluster_name(), CONF.coordination.backend_url,
            self.lock_manager, cluster.read_mounts())

    @staticmethod
    def _cluster_name():
        """[DEFAULT] cluster, or None outside a Cinder cluster."""
        try:
            # NOTE: cinder-volume's command registers [DEFAULT] cluster;
            # other processes that load the driver do not.
            return CONF.cluster or None
        except cfg.NoSuchOptError:
            return None

    def _start_lockspace(self) -> None:
        """lvmlockd mode: the VG must be shared, and its lockspace joined
        before any lock (the writer tag below is a metadata write)."""
        lock_type = self.vg.vg_lock_type()
        if lock_type != 'sanlock':
            raise exc.InvalidRequest(
                reason='shared_lvm_lock_manager = lvmlockd, but VG %s has '
                       'lock type %r, not sanlock. Make it with '
                       '"cinder-shared-lvm prepare --lock-manager lvmlockd", '
                       'or convert it with "vgchange --locktype sanlock %s" '
                       'while no host uses it' % (
                           self.vg_name, lock_type, self.vg_name))
        if self.vg.lockspace_started():
            LOG.info('Lockspace of VG %s is already started on this host',
                     self.vg_name)
            return
        timeout = self.configuration.shared_lvm_lockstart_timeout
        LOG.info('Starting the lockspace of VG %s (vgchange --lockstart, '
                 'up to %s s)', self.vg_name, timeout)
        started = time.monotonic()
        self.vg.start_lockspace(timeout)
        LOG.info('Lockspace of VG %s started in %.1f s', self.vg_name,
                 time.monotonic() - started)

    def _writer_tag(self) -> str:
        """Who writes the VG: this service, or its Cinder cluster."""
        name = self._cluster_name()
        if name:
            # NOTE: Cinder names a backend's cluster <cluster>@<backend>.
            return WRITER_TAG_PREFIX + 'cluster.' + cluster.tag_safe(
                '%s@%s' % (name, self.configuration.config_group))
        return WRITER_TAG_PREFIX + cluster.tag_safe(self.host or
                                                    self.hostname)

    def _claim_vg(self) -> None:
        """Refuse to start where another service writes the VG.

        One writer per VG: a cinder-volume service, or the services of one
        Cinder cluster (active-active: every lock, count and copy owner
        they share lives in the coordination backend or in LV tags). The
        VG carries the writer's name as a tag; a service with another
        name or cluster, or a second backend section on the same VG, is
        refused. Its limit: two processes that share one service name (the
        same ``backend_host`` running twice) look the same; fence the
        passive node (doc/source/safety.rst, "How many services").
        """
        mine = self._writer_tag()
        claims = [t for t in self.vg.vg_tags()
                  if t.startswith(WRITER_TAG_PREFIX)]
        others = [t for t in claims if t != mine]
        if others:
            raise exc.InvalidRequest(
                reason='VG %s is written by cinder-volume service %s '
                       '(VG tag %s); one service, or one Cinder cluster, '
                       'writes a VG. If that service is gone for good, '
                       'release it with '
                       '"vgchange --deltag %s %s" and restart; to run '
                       'several services on it, put them in one Cinder '
                       'cluster' % (
                           self.vg_name, others[0][len(WRITER_TAG_PREFIX):],
                           others[0], others[0], self.vg_name))
        if not claims:
            with self._metadata_lock():
                self.vg.add_vg_tag(mine)
            LOG.info('VG %s is now written by %s (VG tag %s)', self.vg_name,
                     self.host, mine)

    def _recover_after_restart(self) -> dict:
        """Deal with what a crash or restart of this service left behind.

        An LV still tagged INCOMPLETE_TAG was being copied into when a
        cinder-volume service died: it is reported, and cleared and
        removed when shared_lvm_cleanup_incomplete_on_startup is set. An
        LV left active on this host by a service restart (no reboot) is
        deactivated unless something here holds it open or a copy in this
        process uses it; then device-mapper is asked what this host still
        maps of the VG (``lvs`` does not show a suspended, table-less or
        stale device as active) and those families are removed too.

        An incomplete LV whose copy lock another process holds, or whose
        owner tag names another service that Cinder's services table
        shows up, is a copy in flight: it is left alone (cluster.py).

        :returns: {'incomplete': [...], 'removed': [...],
                   'deactivated': [...], 'removed_dm': [...],
                   'in_flight': [...], 'live_owner': [...]}
        """
        found = {'incomplete': [], 'removed': [], 'deactivated': [],
                 'removed_dm': [], 'in_flight': [], 'live_owner': []}
        lvs = self.vg.list_lvs()
        self._sort_incomplete([lv for lv in lvs
                               if INCOMPLETE_TAG in lv['tags']], found)
        self._deactivate_leftovers(lvs, found)
        self._remove_dm_leftovers(lvs, found)
        self._report_incomplete(found)
        return found

    def _sort_incomplete(self, incomplete: list, found: dict) -> None:
        """Tell a dead copy (reported, or cleaned up) from a live one."""
        if not incomplete:
            return
        is_up = self._service_liveness()
        me = self.host or self.hostname
        for lv in incomplete:
            kind = cluster.classify_incomplete(self.vg_name, lv, me, is_up)
            if kind == cluster.DEAD:
                found['incomplete'].append(lv['name'])
                continue
            key = 'in_flight' if kind == cluster.IN_FLIGHT else 'live_owner'
            found[key].append(lv['name'])
            LOG.info('LV %(lv)s is being copied into by %(owner)s (%(why)s); '
                     'left alone', {
                         'lv': self.vg.lv_ref(lv['name']),
                         'owner': cluster.owner_of(lv['tags']) or 'a service',
                         'why': 'its copy lock is held'
                         if kind == cluster.IN_FLIGHT
                         else 'that service is up in Cinder'})

    @staticmethod
    def _service_liveness():
        """callable(tag-safe service) -> is it up, per Cinder's table."""
        try:
            table = cluster.services_up(cinder_context.get_admin_context(),
                                        objects)
        except Exception as err:
            LOG.warning('Cannot read the cinder-volume services from '
                        "Cinder's database (%s): an incomplete LV of "
                        'another service is left alone', err)
            return lambda owner: True
        return lambda owner: table.get(owner, False)

    def _deactivate_leftovers(self, lvs: list, found: dict) -> None:
        for lv in lvs:
            name = lv['name']
            if not lv['active'] or lv['open'] or lv['origin'] or \
                    family.ACTIVE.users(self.vg_name, name):
                continue        # a COW snapshot goes with its origin
            try:
                self.vg.deactivate_lv(name)
                found['deactivated'].append(name)
                LOG.warning('LV %s was left active on this host; '
                            'deactivated it', self.vg.lv_ref(name))
            except lvm_exception.SharedLVMError as err:
                LOG.error('LV %s is active on this host and could not be '
                          'deactivated: %s', self.vg.lv_ref(name), err)

    def _remove_dm_leftovers(self, lvs: list, found: dict) -> None:
        """Remove dm devices of the VG that nothing here uses or opens."""
        uuids = {lv['name']: _dm_uuid_or_none(lv['uuid']) for lv in lvs}
        keep = [uuids[lv['name']] for lv in lvs if uuids[lv['name']] and
                family.ACTIVE.users(self.vg_name, lv['name'])]
        try:
            report = dm.remove_leftovers(
                self.vg._execute, self.vg._root_helper, self._vg_uuid(),
                keep=keep, host=self.hostname,
                lv_names={u: n for n, u in uuids.items() if u})
        except (lvm_exception.SharedLVMError, ValueError) as err:
            LOG.error('Cannot list the dm devices of VG %s on this host: %s',
                      self.vg_name, err)
            return
        found['removed_dm'] = [n for names in report['removed']
                               for n in names]
        for name, openers in report['skipped_open'].items():
            LOG.error('dm device %s of VG %s is open on this host (%s) and '
                      'was left in place; stop its user, then run '
                      '"cinder-shared-lvm cleanup"', name, self.vg_name,
                      openers)
        for failure in report['failed']:
            LOG.error('Could not remove dm devices %s of VG %s: %s',
                      failure['devices'], self.vg_name, failure['error'])

    def _report_incomplete(self, found: dict) -> None:
        if not found['incomplete']:
            return
        LOG.error('VG %(vg)s has LVs whose copy never finished (a '
                  'cinder-volume service stopped mid-copy): %(lvs)s. Their '
                  'Cinder volumes or snapshots are in error; delete them, '
                  'or set shared_lvm_cleanup_incomplete_on_startup.',
                  {'vg': self.vg_name,
                   'lvs': ', '.join(found['incomplete'])})
        if self.configuration.shared_lvm_cleanup_incomplete_on_startup:
            for name in found['incomplete']:
                try:
                    # NOTE: a half-copied LV holds tenant data; clear it
                    # (volume_clear) before its extents are freed.
                    with self._copy_lock(name), \
                            self._family(name, 'remove incomplete LV'):
                        lv = self.vg.get_lv(name)
                        if lv is not None:
                            self.datapath.clear(name, lv,
                                                'startup cleanup')
                            self._delete_lv(name)
                    found['removed'].append(name)
                except Exception:
                    LOG.exception('Could not clear and remove incomplete '
                                  'LV %s', self.vg.lv_ref(name))

    # -- locking -------------------------------------------------------------
    #
    # Lock order: the family lock, then the VG metadata lock (family.py).
    # Every operation that reads or changes a family's state holds its
    # family lock while it re-reads that state, decides and acts; the VG
    # lock is held around metadata writes only.

    @contextlib.contextmanager
    def _family(self, origin: str, operation: str):
        """The family lock of *origin* (a volume's LV), re-entrant."""
        with family.family_locked(
                self.vg_name, origin,
                self.configuration.shared_lvm_lock_timeout, operation):
            self._pause('family-locked')
            yield

    @contextlib.contextmanager
    def _metadata_lock(self):
        """Serialise metadata writes of every service that manages the VG.

        Cinder's coordination lock spans processes and hosts (with a
        shared backend); tooz's file driver also serialises the threads of
        one process, so two drivers in one process are covered too.
        """
        with family.vg_locked(self.vg_name,
                              self.configuration.shared_lvm_lock_timeout):
            try:
                yield
            except Exception:
                # A failed write may have been refused for space another
                # service took: check the next one against a fresh report.
                self._recent_vg.invalidate()
                raise

    def _fresh(self, volume) -> policy.Fresh:
        """*volume* with its attachments re-read (call under its lock)."""
        return policy.Fresh(volume, self._read_attachments(volume))

    @staticmethod
    def _read_attachments(volume) -> list:
        """The volume's attachments as the database holds them now.

        NOTE: the object a request carries was read before the request
        waited for the family lock; an attach that Cinder reserved since
        is only in the database.
        """
        ctx = cinder_context.get_admin_context()
        return list(objects.VolumeAttachmentList.get_all_by_volume_id(
            ctx, volume.id))

    def _pause(self, point: str) -> None:
        """A named point in an operation, for the race tests.

        Production never sets ``pause_hook``; tests/functional/test_races.py
        sets it on a driver instance to hold an operation at *point*.
        """
        # NOTE: a pool's driver answers to the hook set on its router too
        # (tests set it after setup, when the pools exist already).
        hook = self.pause_hook or getattr(self.router, 'pause_hook', None)
        if hook is not None:
            hook(point)

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
                'pools': [child._pool_stats() for child in (
                    self.pool_drivers.values() or [self])]}
        self._stats = data

    def _pool_stats(self) -> dict:
        pool = {'pool_name': self._pool_vg or self.backend_name,
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
        if (self.lock_manager == lockd.LVMLOCKD and
                not self.vg.lockspace_started()):
            # NOTE: without its lockspace this host can take no lock: every
            # create, delete and copy would fail, so the scheduler must
            # not pick this pool.
            LOG.error('Lockspace of VG %s is not started on this host: '
                      'reporting the pool down. Check sanlock and lvmlockd, '
                      'then restart cinder-volume (or run "vgchange '
                      '--lockstart %s").', self.vg_name, self.vg_name)
            pool.update(backend_state='down',
                        lockspace_state='not started')
        elif self.lock_manager == lockd.LVMLOCKD:
            pool['lockspace_state'] = 'started'
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

    def _removable_at_once(self, fresh, names) -> bool:
        """True when a delete needs no LV report before its lvremove.

        A report is needed to clear the LV (its size and kind), and to
        decide while a host has the volume (or the snapshot's origin)
        attached or a copy here uses the LV. In the common case none of
        that holds, and the one rule left that needs LVM's view, "never
        remove an origin that has snapshots", is checked by the removal
        itself (``SharedLVM.delete_unless_origin``).
        """
        return not (self.datapath.clears or policy.is_attached(fresh)
                    or policy.copy_users(self.vg_name, names))

    def _remove_at_once(self, name: str, fresh, what: str) -> None:
        """Remove *name* in one metadata command; if LVM removed nothing,
        read the LV once to say why (gone, or an origin with snapshots).

        Locks: the caller holds the family; this takes the VG lock for
        the removal only.
        """
        with self._metadata_lock():
            LOG.info('Removing LV %s for %s', self.vg.lv_ref(name), what)
            if self.vg.delete_unless_origin(name):
                return
        lv = self.vg.get_lv(name)
        if lv is None:
            LOG.warning('LV %s does not exist; nothing to do for %s',
                        self.vg.lv_ref(name), what)
            return
        policy.check_delete(fresh, lv)
        raise lvm_exception.LVMCommandFailed(
            command='lvremove', target=self.vg.lv_ref(name), exit_code=0,
            stderr='LVM removed nothing although the LV is not an origin '
                   'with snapshots (report: %s); nothing was changed' % lv)

    def _undo_create(self, name: str, why: str) -> None:
        """Clear and remove an LV made by a failed operation.

        The LV may hold part of a tenant's data (a half-done copy), and
        lvcreate -Zn does not zero extents for the next LV: clear it as
        volume_clear says before removing it. If the clear fails, the LV
        stays (still tagged incomplete) for startup or the operator to
        remove; never mask the operation's own error.
        """
        LOG.error('%s failed; clearing and removing the new LV %s', why,
                  self.vg.lv_ref(name))
        try:
            with self._family(name, 'undo %s' % name):
                lv = self.vg.get_lv(name)
                if lv is None:
                    return
                self.datapath.clear(name, lv, 'undo of %s' % why)
                self._delete_lv(name)
        except Exception:
            LOG.exception('Could not clear and remove LV %s; it stays '
                          'tagged %s. Delete its Cinder volume or snapshot '
                          '(which clears it), or remove it by hand after '
                          'clearing it.', self.vg.lv_ref(name),
                          INCOMPLETE_TAG)

    @pools.routed
    def local_path(self, volume) -> str:
        return self.vg.lv_path(volume.name)

    # -- volumes -------------------------------------------------------------

    @pools.routed
    @_lvm_errors
    def create_volume(self, volume) -> None:
        """lvcreate an inactive, non-autoactivated thick LV.

        Locks: the VG lock. A new volume's family is reachable by no other
        request while Cinder has it ``creating``.
        """
        policy.check_size('volume %s' % volume.id, volume.size,
                          self._vg_size_gb())
        with self._metadata_lock():
            self._create_lv(volume.name, volume.size,
                            'volume %s' % volume.id)

    @pools.routed
    @_lvm_errors
    def delete_volume(self, volume) -> None:
        """Clear (if configured) and remove the LV; a missing LV is gone.

        Locks: the family, for the whole operation (the clear included);
        then the VG for lvremove. Re-reads: the LV, the attachments, this
        host's use of the family.
        """
        what = 'delete volume %s' % volume.id
        self._pause('delete:before-lock')
        with self._family(volume.name, what):
            fresh = self._fresh(volume)
            if self._removable_at_once(fresh, [volume.name]):
                self._pause('delete:decided')
                self._remove_at_once(volume.name, fresh, what)
                return
            lv = self.vg.get_lv(volume.name)
            if lv is None:
                LOG.warning('LV %s of volume %s does not exist; nothing to '
                            'delete', self.vg.lv_ref(volume.name), volume.id)
                return
            policy.check_not_attached('delete', fresh, 'a host is using it',
                                      error=exc.VolumeBusyRefused)
            policy.check_delete(fresh, lv)
            policy.check_not_copying('delete', self.vg_name, [volume.name],
                                     fresh, error=exc.VolumeBusyRefused,
                                     volume_name=volume.name)
            self._pause('delete:decided')
            self.datapath.clear(volume.name, lv, what)
            self._delete_lv(volume.name)

    @pools.routed
    @_lvm_errors
    def extend_volume(self, volume, new_size: int) -> None:
        """lvextend; a compute host that has the LV active refreshes it.

        Locks: the family, then the VG. Re-reads: the LV, the attachments,
        this host's use of the family.
        """
        what = 'extend volume %s' % volume.id
        policy.check_size('volume %s' % volume.id, new_size,
                          self._vg_size_gb())
        self._pause('extend:before-lock')
        with self._family(volume.name, what):
            lv = self._require_lv(volume.name, what)
            fresh = self._fresh(volume)
            policy.check_family_change('extend', fresh, lv)
            policy.check_extend_under_lvmlockd(fresh, self.lock_manager)
            policy.check_not_copying('extend', self.vg_name, [volume.name],
                                     fresh)
            grow = self._growth(volume, lv, new_size)
            if not grow:
                return
            self._pause('extend:decided')
            with self._metadata_lock():
                self._checked_vg(what, grow)
                self.vg.extend_volume(volume.name, '%dg' % new_size)

    def _growth(self, volume, lv: dict, new_size: int) -> int:
        """Bytes to add to reach *new_size* GiB; refuse a shrink."""
        grow = new_size * units.Gi - lv['size_bytes']
        if grow < 0:
            raise exc.InvalidRequest(
                reason='volume %s is %d bytes; shrinking it to %d GiB is '
                       'not supported' % (volume.id, lv['size_bytes'],
                                          new_size))
        if grow == 0:
            LOG.info('LV %s is already %d GiB', self.vg.lv_ref(volume.name),
                     new_size)
        return grow

    # -- copies --------------------------------------------------------------
    #
    # A copy has three steps. Under the source family's lock: re-read and
    # decide, create the new LV (VG lock), and lease the source (activate
    # its family here, first user only). Without the lock: copy. Under the
    # lock again: release the lease (the last user deactivates). While the
    # lease is held, an attach of the family, or a change to what the copy
    # reads, is refused (policy.check_not_copying).

    @pools.routed
    @_lvm_errors
    def create_cloned_volume(self, volume, src_vref) -> None:
        """New LV at the target size; copy the source's size into it.

        The source may be in another pool (VG) of this backend: its pool
        driver decides and leases it (pools.py).
        """
        what = 'clone volume %s' % src_vref.id
        source = self.pool_driver(src_vref)

        def decide():
            # NOTE: other copies may read the same source at once; they
            # share its activation here.
            policy.check_clone_source(source._fresh(src_vref))
            return source._require_lv(src_vref.name, what)
        self._create_copy(volume, src_vref.name, src_vref.size, what,
                          decide, 'clone', source=source)

    @pools.routed
    @_lvm_errors
    def create_volume_from_snapshot(self, volume, snapshot) -> None:
        """New LV at the target size; copy the snapshot's data into it."""
        what = 'create volume from snapshot %s' % snapshot.id
        snap_lv = snapshot_lv_name(snapshot)
        source = self.pool_driver(snapshot)

        def decide():
            src = source._require_lv(snap_lv, what)
            policy.check_family_change('create a volume from',
                                       source._fresh(snapshot.volume), src)
            return src
        self._create_copy(volume, snapshot.volume.name,
                          snapshot.volume_size, what, decide, 'from-snapshot',
                          source=source)

    def _create_copy(self, volume, family_name: str, src_size_gb: int,
                     what: str, decide, point: str,
                     tags: tuple = (INCOMPLETE_TAG,), source=None) -> None:
        """Create *volume*'s LV and copy *src_size_gb* GiB of the source.

        :param family_name: the family (origin LV) of the source
        :param decide: called under the family lock; re-reads, refuses or
                       returns the source's LV report
        :param point: the operation's name for ``_pause``
        :param source: the pool driver of the source (default: this one)
        """
        policy.check_size('volume %s' % volume.id, volume.size,
                          self._vg_size_gb())
        if volume.size < src_size_gb:
            raise exc.InvalidRequest(
                reason='volume %s (%d GiB) is smaller than its source '
                       '(%d GiB)' % (volume.id, volume.size, src_size_gb))
        self._copy_into_new(volume.name, volume.size, src_size_gb,
                            family_name, what, decide, point, tags, source)

    def _copy_into_new(self, new_lv: str, size_gb: int, src_size_gb: int,
                       family_name: str, what: str, decide, point: str,
                       tags: tuple, source=None) -> None:
        """Under *new_lv*'s copy lock: create it, copy *src_size_gb* GiB
        of the source into it, mark it complete; undo on failure."""
        with self._copy_lock(new_lv):
            lease = self._start_copy(new_lv, size_gb, family_name, what,
                                     decide, point, tags, source or self)
            try:
                with lease:
                    self._pause('%s:active' % point)
                    self._copy_to_new(lease, new_lv, src_size_gb)
                self._mark_complete(new_lv)
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._undo_create(new_lv, what)

    def _owner_tag(self) -> str:
        """Names this service on a copy's new LV (cluster.py)."""
        return cluster.owner_tag(self.host or self.hostname)

    def _copy_lock(self, new_lv: str):
        """The copy lock of *new_lv*, held from before its lvcreate until
        it is complete or removed: a starting service never takes an LV
        whose copy is still running anywhere (cluster.py). Taken before
        the source's family lock."""
        return cluster.copy_locked(self.vg_name, new_lv,
                                   self.configuration.shared_lvm_lock_timeout)

    def _start_copy(self, new_lv: str, size_gb: int, family_name: str,
                    what: str, decide, point: str, tags: tuple,
                    source=None):
        """Step 1 of a copy, under the source family's lock (in the
        source's VG); returns the source pool's lease."""
        source = source or self
        self._pause('%s:before-lock' % point)
        with source._family(family_name, what):
            src = decide()
            self._pause('%s:decided' % point)
            with self._metadata_lock():
                self._create_lv(new_lv, size_gb, what,
                                tags=tags + (self._owner_tag(),))
            try:
                return source.datapath.lease(
                    family_name, src, what,
                    exclusive=src['is_snapshot'] or src['has_snapshots'],
                    reads=(src['name'],))
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._undo_create(new_lv, what)

    def _copy_to_new(self, lease, dst_lv: str, size_gb: int) -> None:
        with self.datapath.activated_new(dst_lv) as dst:
            LOG.info('Copying %(size)d GiB from %(src)s to %(dst)s for '
                     '%(what)s', {'size': size_gb, 'src': lease.path,
                                  'dst': dst, 'what': lease.what})
            self.datapath.copy(lease.path, dst, size_gb)

    def _mark_complete(self, name: str) -> None:
        """Drop INCOMPLETE_TAG: the LV's data is all there."""
        with self._metadata_lock():
            self.vg.del_tag(name, INCOMPLETE_TAG)

    # -- snapshots -----------------------------------------------------------

    @pools.routed
    @_lvm_errors
    def create_snapshot(self, snapshot) -> None:
        """A COW snapshot (lvcreate -s) or a full copy, per snapshot mode.

        Locks: the volume's family, then the VG. Re-reads: the
        attachments, the LV, this host's use of the family.
        """
        volume = snapshot.volume
        snap_lv = snapshot_lv_name(snapshot)
        what = 'snapshot %s of volume %s' % (snapshot.id, volume.id)
        if self.configuration.shared_lvm_snapshot_mode == \
                opts.SNAPSHOT_MODE_COPY:
            self._create_copy_snapshot(snapshot, volume, snap_lv, what)
            return
        self._pause('snapshot:before-lock')
        with self._family(volume.name, what):
            fresh = self._fresh(volume)
            policy.check_create_snapshot(fresh)
            policy.check_not_copying('snapshot', self.vg_name, [volume.name],
                                     fresh)
            self._pause('snapshot:decided')
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
        """lvcreate -s (caller holds the family and metadata locks).

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
        self.vg.create_lv_snapshot(
            snap_lv, volume.name, size_str='%dm' % size_mb,
            chunk_size=self.configuration.shared_lvm_snapshot_chunk_size)

    def _create_copy_snapshot(self, snapshot, volume, snap_lv: str,
                              what: str) -> None:
        """A plain LV with a full copy: the origin stays a plain LV."""
        def decide():
            policy.check_create_snapshot(self._fresh(volume))
            return self._require_lv(volume.name, what)
        # NOTE: an origin that already has COW snapshots (the snapshot
        # mode was changed) is a family: -aey, like any family copy.
        self._create_copy_as(snapshot.volume_size, snap_lv, volume.name,
                             what, decide)

    def _create_copy_as(self, size_gb: int, new_lv: str, family_name: str,
                        what: str, decide) -> None:
        self._copy_into_new(new_lv, size_gb, size_gb, family_name, what,
                            decide, 'copy-snapshot',
                            (COPY_SNAPSHOT_TAG, INCOMPLETE_TAG))

    @pools.routed
    @_lvm_errors
    def delete_snapshot(self, snapshot) -> None:
        """Clear (if configured) and remove; a missing snapshot is gone.

        Locks: the origin's family for the whole operation (the clear
        activates the whole family here), then the VG for lvremove.
        Re-reads: the snapshot LV, the origin's attachments, this host's
        use of the family.
        """
        snap_lv = snapshot_lv_name(snapshot)
        origin = snapshot.volume
        what = 'delete snapshot %s' % snapshot.id
        self._pause('delete-snapshot:before-lock')
        with self._family(origin.name, what):
            fresh = self._fresh(origin)
            if self._removable_at_once(fresh, [snap_lv]):
                self._pause('delete-snapshot:decided')
                self._remove_at_once(snap_lv, fresh, what)
                return
            lv = self.vg.get_lv(snap_lv)
            if lv is None:
                LOG.warning('LV %s of snapshot %s does not exist; nothing '
                            'to delete', self.vg.lv_ref(snap_lv),
                            snapshot.id)
                return
            policy.check_family_change('delete snapshot of', fresh, lv,
                                       error=exc.SnapshotBusyRefused)
            # NOTE: a copy of the origin may have the family active here;
            # the clear shares that activation. A copy from this snapshot
            # reads it: busy.
            policy.check_not_copying(
                'delete snapshot', self.vg_name, [snap_lv],
                'snapshot %s (LV %s)' % (snapshot.id, snap_lv),
                error=exc.SnapshotBusyRefused, snapshot_name=snap_lv)
            self._pause('delete-snapshot:decided')
            self.datapath.clear(origin.name, lv, what)
            self._delete_lv(snap_lv)

    @pools.routed
    @_lvm_errors
    def revert_to_snapshot(self, context, volume, snapshot) -> None:
        """Merge a COW snapshot (then recreate it) or copy a copy back.

        Locks: the volume's family for the whole operation, then the VG
        around the merge and the recreation. Re-reads: the attachments,
        the snapshot LV, this host's use of the family.
        """
        snap_lv = snapshot_lv_name(snapshot)
        what = 'revert volume %s to snapshot %s' % (volume.id, snapshot.id)
        self._pause('revert:before-lock')
        with self._family(volume.name, what):
            policy.check_not_attached('revert', self._fresh(volume),
                                      'its data would change under the '
                                      'guest')
            lv = self._require_lv(snap_lv, what)
            origin = self._require_lv(volume.name, what)
            policy.check_not_copying('revert', self.vg_name,
                                     [volume.name, snap_lv], volume)
            self._pause('revert:decided')
            if lv['is_snapshot']:
                revert.merge(self, volume, snapshot, snap_lv, origin, what)
                return
            with self.datapath.lease(volume.name, lv, what,
                                     reads=(snap_lv,)) as src:
                with self.datapath.lease(volume.name, origin, what) as dst:
                    self.datapath.copy(src.path, dst.path,
                                       snapshot.volume_size)

    # -- images --------------------------------------------------------------

    @pools.routed
    @_lvm_errors
    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False) -> None:
        """Fetch here, convert onto the LV through the executor.

        Locks: the volume's family around the activation (a re-image may
        write a volume that has snapshots).
        """
        def check():
            policy.check_not_attached(
                'write an image to', self._fresh(volume),
                'the image would be written under the guest')
        self.datapath.image_to_lv(context, image_service, image_id,
                                  volume.name, volume.size, check=check)

    @pools.routed
    @_lvm_errors
    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta) -> None:
        """Convert the LV to a raw file through the executor, upload it.

        A plain LV may be read here while a compute host has it active
        (Cinder asks for force to upload an in-use volume); a snapshot
        family may not be active on two hosts. Locks: the family, while
        it decides and leases the LV.
        """
        what = 'upload volume %s' % volume.id
        with self._family(volume.name, what):
            lv = self._require_lv(volume.name, what)
            policy.check_family_change('upload', self._fresh(volume), lv)
            lease = self.datapath.lease(volume.name, lv, what,
                                        exclusive=lv['has_snapshots'],
                                        reads=(volume.name,))
        with lease:
            self.datapath.lv_to_image(context, image_service, image_meta,
                                      lease, volume)

    def get_backup_device(self, context, backup):
        """Cinder's temporary clone or snapshot for a backup, or a refusal
        that reaches the user (``backup_refusal``: Cinder would otherwise
        leave the backup ``creating`` for ever)."""
        try:
            return super().get_backup_device(context, backup)
        except exc.OperationRefused as err:
            backup_refusal.fail_refused_backup(context, backup, err)
            raise

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
        """Refuse a host that does not report our VG (contract.rst).

        With several pools the volume is not known here: the host must see
        every VG of the backend.
        """
        for pool in (self.pool_drivers.values() or [self]):
            policy.check_connector(connector, pool.vg_name, pool._vg_uuid(),
                                   pool.lock_manager)

    @pools.routed
    @_lvm_errors
    def initialize_connection(self, volume, connector, **kwargs) -> dict:
        """Connection data for the connector; no metadata is written.

        Also Nova's second connection in a live migration. Locks: the
        volume's family. Re-reads: the LV (has it snapshots now?), the
        attachments (in-flight ones without a host count as another
        host), this host's use of the family.
        """
        host = policy.check_connector(connector, self.vg_name,
                                      self._vg_uuid(), self.lock_manager)
        what = 'attach volume %s to %s' % (volume.id, host)
        self._pause('attach:before-lock')
        with self._family(volume.name, what):
            lv = self._require_lv(volume.name, what)
            fresh = self._fresh(volume)
            activation = policy.activation_for(fresh, lv, host)
            # NOTE: a family being copied is active on this host, so an
            # attach would put it on two (rule 5); a plain LV being copied
            # would be written under the copy.
            policy.check_not_copying('attach', self.vg_name, [volume.name],
                                     fresh)
            self._pause('attach:decided')
        LOG.info('Connecting volume %(vol)s (LV %(lv)s) to host %(host)s '
                 'with %(act)s activation',
                 {'vol': volume.id, 'lv': volume.name, 'host': host,
                  'act': activation})
        return self._connection_info(volume, lv, activation, connector)

    def _connection_info(self, volume, lv: dict, activation: str,
                         connector: dict) -> dict:
        mode = connector.get('mode') if connector.get('mode') in (
            'rw', 'ro') else 'rw'
        data = {'volume_id': volume.id,
                'vg_name': self.vg_name,
                'vg_uuid': self._vg_uuid(),
                'lv_name': volume.name,
                'lv_uuid': lv['uuid'],
                'device_path': self.vg.lv_path(volume.name),
                'devices': list(self.vg.devices),
                'activation': activation,
                'access_mode': mode,
                'discard': True,
                'multiattach': bool(volume.multiattach)}
        if self.lock_manager != lockd.NONE:
            # NOTE: only in the lvmlockd mode, so that the default mode's
            # connection data stays as it was; the connector then asks
            # for -asy instead of -ay (lockd.activation_mode).
            data['lock_manager'] = self.lock_manager
        return {'driver_volume_type': DRIVER_VOLUME_TYPE, 'data': data}

    @pools.routed
    def terminate_connection(self, volume, connector, **kwargs) -> None:
        """Nothing to undo here: the compute host deactivates on detach.

        Takes the family lock all the same, so that a detach is ordered
        with the family's other operations. ``connector=None`` is a
        force-detach of every attachment; it succeeds too.
        """
        host = (connector or {}).get('host', 'all hosts')
        with self._family(volume.name, 'detach volume %s from %s' % (
                volume.id, host)):
            LOG.debug('terminate_connection of volume %s for %s: nothing '
                      'to do', volume.id, host)

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

    # -- retype and migration -------------------------------------------------

    def retype(self, context, volume, new_type, diff, host) -> bool:
        """Nothing on the LV depends on the type, except encryption."""
        encryption = (diff or {}).get('encryption') or {}
        if any(old != new for old, new in encryption.values()):
            LOG.info('Retype of volume %s changes encryption; Cinder must '
                     'migrate it', volume.id)
            return False
        return True

    def _same_backend(self, host: dict) -> bool:
        """True when *host* (host@backend#pool) is this backend."""
        target = volume_utils.extract_host((host or {}).get('host') or '',
                                           'backend')
        return target == volume_utils.extract_host(self.host, 'backend')

    def _same_vg(self, host: dict) -> bool:
        info = ((host or {}).get('capabilities') or {}).get(
            'location_info') or ''
        parts = info.split(':')
        return (len(parts) == 4 and parts[0] == 'SharedLVMDriver' and
                parts[2] == self.vg_name and bool(self.vg.vg_uuid) and
                parts[3] == self.vg.vg_uuid)

    @pools.routed
    @_lvm_errors
    def migrate_volume(self, context, volume, host):
        """Same VG (by UUID): the LV stays where it is. Another pool of
        this backend: the driver copies the LV into that VG itself
        (``_move_to_pool``). Anything else: Cinder's generic copy.
        """
        self._vg_uuid()
        if self._same_vg(host):
            LOG.info('Volume %s migrates to %s, which manages the same VG '
                     '%s: nothing to copy', volume.id, host.get('host'),
                     self.vg_name)
            return True, None
        if self.router is not None and self._same_backend(host):
            target = self.pool_named(
                volume_utils.extract_host(host['host'], 'pool'),
                'migration target %s' % host['host'])
            self._move_to_pool(volume, target)
            return True, None
        return False, None

    def _move_to_pool(self, volume, target: 'SharedLVMDriver') -> None:
        """Copy *volume*'s LV to the same name in *target*'s VG, then
        remove it here.

        Not Cinder's generic migration: that copies with Cinder's own
        ``utils.execute`` (past the driver's executor, design.rst "One
        executor") and needs Nova for a volume in use. Locks: this pool's
        family of the volume (the decision and the lease), then the
        target's VG lock for the new LV; then this family again for the
        removal. Refused while attached (the copy would not be consistent)
        and for an origin with snapshots (a family never spans VGs).
        """
        what = 'migrate volume %s to pool %s' % (volume.id, target.vg_name)

        def decide():
            lv = self._require_lv(volume.name, what)
            fresh = self._fresh(volume)
            policy.check_not_attached(
                'migrate to another pool', fresh,
                'a copy between pools of a volume in use would not be '
                'consistent')
            policy.check_delete(fresh, lv)
            return lv
        target._create_copy(volume, volume.name, volume.size, what, decide,
                            'migrate', source=self)
        self._pause('migrate:copied')
        self._remove_moved(volume, target, what)

    def _remove_moved(self, volume, target: 'SharedLVMDriver',
                      what: str) -> None:
        """Remove the old LV of a volume copied to *target*, or undo.

        Between the copy's lease and this removal the family lock is free,
        and Cinder lets an available volume be attached while it migrates
        (unless ``--lock-volume``). ``delete_volume`` re-reads under the
        family lock and refuses an attached volume; the guest then writes
        the old LV, so the copy is stale: remove it and fail the
        migration, and the volume stays where it was, intact.
        """
        try:
            self.delete_volume(volume)
        except Exception:
            with excutils.save_and_reraise_exception() as ctx:
                if self.vg.get_lv(volume.name) is None:
                    # NOTE: lvremove reported an error but removed the LV
                    # (e.g. a failed metadata backup afterwards): the
                    # copy is now the only one, so keep it.
                    ctx.reraise = False
                    LOG.exception('Volume %s is now in pool %s; the '
                                  'removal of its old LV %s reported an '
                                  'error, but the LV is gone', volume.id,
                                  target.vg_name, self.vg.lv_ref(volume.name))
                    return
                LOG.error('%s: the old LV %s stays (it could not be '
                          'removed); removing the copy in pool %s',
                          what, self.vg.lv_ref(volume.name), target.vg_name)
                target._undo_create(volume.name, what)

    @_lvm_errors
    def update_migrated_volume(self, context, volume, new_volume,
                               original_volume_status):
        """Give the migrated LV the original volume's name when we can.

        The LV is the new volume's, in the new volume's pool.
        """
        pool = self.pool_driver(new_volume)
        if pool is not self:
            return pool.update_migrated_volume(context, volume, new_volume,
                                               original_volume_status)
        keep = {'_name_id': new_volume._name_id or new_volume.id,
                'provider_location': new_volume.provider_location}
        if original_volume_status != 'available':
            # NOTE: renaming an LV that a compute host has active would
            # leave that host with a stale dm name.
            return keep
        original = CONF.volume_name_template % volume.id
        try:
            # NOTE: the migrated LV's family; the original name is free
            # (its volume is gone), so no second family lock is needed.
            with self._family(new_volume.name, 'rename migrated volume %s'
                              % volume.id), self._metadata_lock():
                self.vg.rename_volume(new_volume.name, original)
        except lvm_exception.SharedLVMError as err:
            LOG.warning('Could not rename LV %s back to %s (%s); the '
                        'volume keeps the new name', new_volume.name,
                        original, err)
            return keep
        return {'_name_id': None, 'provider_location': None}
