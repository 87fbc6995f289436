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

"""The compute-side connector: activate a shared LV here, deactivate it.

``SharedLVMConnector`` is an os-brick ``InitiatorConnector``. Nova calls it
on a compute host that sees the shared LUN; the guest then does I/O straight
to the SAN through the activated LV (doc/source/design.rst).

It imports os-brick and oslo only, never cinder or nova: a compute host may
have no cinder installed. Every host command goes through the executor
(doc/source/design.rst, "One executor"); the device node is never checked with
``os.path.exists``, which would look at the wrong machine in the test rig.
"""

import collections
import re
import socket
import time
from typing import Optional

from os_brick import executor as brick_executor
from os_brick import initiator
from os_brick.initiator.connectors import base
from os_brick.privileged import rootwrap as priv_rootwrap
from oslo_concurrency import lockutils
from oslo_concurrency import processutils
from oslo_log import log as logging

from cinder_shared_lvm.cmd import check as lvm_check
from cinder_shared_lvm import compute_opts
from cinder_shared_lvm import dm
from cinder_shared_lvm import exception
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm

LOG = logging.getLogger(__name__)

PROTOCOL = 'SHARED_LVM'
ACTIVATION_SHARED = 'shared'
ACTIVATION_EXCLUSIVE = 'exclusive'
DEFAULT_ACTIVATION_TIMEOUT = 30

# A shared PV path: absolute, no shell or LVM-filter metacharacters.
# NOTE: every pattern here ends in \Z, not $: '$' also matches before a
# trailing newline, so '/dev/vda\n' would pass (found by the bad-input
# tests, doc/source/bad_input.rst).
_DEVICE_RE = re.compile(r'^/[A-Za-z0-9_.:+@=,/-]{1,4095}\Z')
_MAX_DEVICES = 64
# LVM's UUID format: 32 characters in groups of 6-4-4-4-4-4-6.
_UUID_RE = re.compile(
    r'^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}\Z')
_SCSI_HOST_DIR = '/sys/class/scsi_host'
_SCSI_HOST_RE = re.compile(r'^host[0-9]+\Z')

# Executor of connectors built without ``execute=`` (os-brick's factory,
# Cinder's own attach paths); None means os-brick's root helper.
_default_execute = None


def set_default_executor(execute) -> None:
    """Run connectors built without ``execute=`` through *execute*.

    Cinder's backup, migration and image paths build connectors through
    os-brick's factory, which passes no executor. The driver calls this
    when ``shared_lvm_executor`` is set, so those connectors run their
    commands where the driver runs its own.
    """
    global _default_execute
    _default_execute = execute


Target = collections.namedtuple(
    'Target', 'vg lv lv_uuid path devices exclusive vg_uuid lock_manager',
    defaults=(None, lockd.NONE))


def _refuse(reason: str, *args) -> exception.InvalidConnectionInfo:
    return exception.InvalidConnectionInfo(reason=reason % args)


def check_devices(devices, what: str = 'devices') -> list:
    """Return *devices* as a list of safe absolute paths, else raise."""
    if not isinstance(devices, (list, tuple)) or not devices:
        raise _refuse('%s must be a non-empty list of device paths', what)
    if len(devices) > _MAX_DEVICES:
        raise _refuse('%s lists more than %d paths', what, _MAX_DEVICES)
    for dev in devices:
        # NOTE: these paths go into the LVM filter, so '|' or '"' would
        # rewrite it; '..' would point the filter outside the shared LUN.
        if (not isinstance(dev, str) or not _DEVICE_RE.match(dev) or
                '..' in dev.split('/')):
            raise _refuse('%s entry %r is not a plain absolute device path',
                          what, dev)
    return list(devices)


def parse_connection_properties(props) -> Target:
    """Validate connection data strictly (safety rule 8).

    Runs no command: a forged or malformed request changes nothing.
    """
    if not isinstance(props, dict):
        raise _refuse('connection data must be a dict, not %s',
                      type(props).__name__)
    for key in ('vg_name', 'lv_name', 'device_path', 'devices',
                'activation'):
        if key not in props:
            raise _refuse('the %r key is missing', key)
    try:
        vg = lvm.validate_name(props['vg_name'], 'VG')
        lv = lvm.validate_name(props['lv_name'], 'LV')
    except exception.InvalidName as err:
        raise _refuse('%s', err) from err
    path = props['device_path']
    if path != '/dev/%s/%s' % (vg, lv):
        raise _refuse('device_path %r is not /dev/%s/%s', path, vg, lv)
    activation = props['activation']
    if activation not in (ACTIVATION_SHARED, ACTIVATION_EXCLUSIVE):
        raise _refuse('activation %r is neither %r nor %r', activation,
                      ACTIVATION_SHARED, ACTIVATION_EXCLUSIVE)
    for key in ('lv_uuid', 'vg_uuid'):
        value = props.get(key)
        if value is not None and (not isinstance(value, str) or
                                  not _UUID_RE.match(value)):
            raise _refuse('%s %r is not an LVM UUID', key, value)
    if props.get('access_mode', 'rw') not in ('rw', 'ro'):
        raise _refuse('access_mode %r is neither "rw" nor "ro"',
                      props.get('access_mode'))
    devices = check_devices(props['devices'])
    # NOTE: absent in the default mode, so older connection data (and the
    # default mode's) reads as 'none'.
    lock_manager = props.get('lock_manager', lockd.NONE)
    if lock_manager not in lockd.LOCK_MANAGERS:
        raise _refuse('lock_manager %r is not one of %s', lock_manager,
                      ', '.join(lockd.LOCK_MANAGERS))
    return Target(vg, lv, props.get('lv_uuid'), path, devices,
                  activation == ACTIVATION_EXCLUSIVE, props.get('vg_uuid'),
                  lock_manager)


def dm_name(vg: str, lv: str) -> str:
    """device-mapper's name for vg/lv: each '-' doubled, joined by '-'."""
    return '%s-%s' % (vg.replace('-', '--'), lv.replace('-', '--'))


# lvm.conf's verdict on the unconfined VG scan, read once per process:
# None until read, then True (its filters confine the scan) or False.
_scan_confined_by_lvm_conf = None
LVMCONFIG_FILTER_KEYS = ('devices/global_filter', 'devices/filter')


def _check_scan_scope(execute, root_helper, extra_config: str = '') -> bool:
    """Say, once per process, what confines the scan when no devices are
    configured: lvm.conf's filters, or nothing.

    NOTE: a global_filter or filter that ends in a reject-all pattern (as
    etc/cinder-shared-lvm/lvm-compute.conf sets) confines every LVM
    command on the host; without one, ``vgs`` opens every disk here,
    including other backends' volumes attached to guests (issue 9 #11).
    """
    global _scan_confined_by_lvm_conf
    if _scan_confined_by_lvm_conf is not None:
        return _scan_confined_by_lvm_conf
    argv = list(lvm.SharedLVM.LV_CMD_PREFIX) + [
        'lvmconfig', '--type', 'full']
    if extra_config:
        argv += ['--config', extra_config]
    try:
        out, _err = execute(*(argv + list(LVMCONFIG_FILTER_KEYS)),
                            root_helper=root_helper, run_as_root=True)
    except (processutils.ProcessExecutionError, OSError) as err:
        LOG.debug('lvmconfig failed: %s', err)
        out = ''
    if isinstance(out, bytes):
        out = out.decode('utf-8', 'replace')
    values = {}
    for line in (out or '').splitlines():
        key, sep, raw = line.strip().partition('=')
        if sep:
            values[key] = lvm_check.parse_value(raw.strip())
    confined = any(lvm_check.ends_with_reject_all(values.get(key))
                   for key in ('global_filter', 'filter'))
    if confined:
        LOG.info('[shared_lvm] devices is not set; the scan for shared VGs '
                 'is confined by the filters of lvm.conf')
    else:
        LOG.warning('[shared_lvm] devices is not set in nova.conf and '
                    "lvm.conf's devices/global_filter (or filter) does not "
                    'end in a reject-all pattern: the scan for shared VGs '
                    'reads '
                    'every disk of this host, including volumes of other '
                    'backends attached to guests. Set [shared_lvm] devices '
                    'to the shared PV path(s), or merge '
                    'etc/cinder-shared-lvm/lvm-compute.conf into lvm.conf.')
    _scan_confined_by_lvm_conf = confined
    return confined


def _started_lockspaces(execute, root_helper, vgs: list) -> list:
    """UUIDs of the visible VGs whose sanlock lockspace lvmlockd joined
    here: the driver attaches only to such a host (lvmlockd mode)."""
    started = lvm.started_lockspaces(execute, root_helper)
    return sorted({vg['uuid'] for vg in vgs
                   if started.get(vg['name']) == 'sanlock'})


class SharedLVMConnector(base.BaseLinuxConnector):
    """Attach and detach LVs of a shared VG on this (compute) host.

    :param shared_lvm_devices: paths of the shared PVs on this host, when
        they differ from the paths in the connection data
    :param activation_timeout: seconds to wait for the device node after
        activation
    :param host: name of this host in log messages
    :param lvm_extra_config: more LVM config text for every LVM command
    """

    DEVICE_POLL_INTERVAL = 0.5
    RESCAN_INTERVAL = 2

    def __init__(self, root_helper, driver=None, execute=None,
                 device_scan_attempts=initiator.DEVICE_SCAN_ATTEMPTS_DEFAULT,
                 shared_lvm_devices=None,
                 activation_timeout=DEFAULT_ACTIVATION_TIMEOUT,
                 *args, **kwargs):
        self.host = kwargs.pop('host', None) or socket.gethostname()
        self.lvm_extra_config = kwargs.pop('lvm_extra_config', '')
        super(SharedLVMConnector, self).__init__(
            root_helper, driver=driver, execute=execute or _default_execute,
            device_scan_attempts=device_scan_attempts, *args, **kwargs)
        self.shared_lvm_devices = (
            check_devices(shared_lvm_devices, 'shared_lvm_devices')
            if shared_lvm_devices else None)
        self.activation_timeout = activation_timeout

    # -- helpers -----------------------------------------------------------

    def _lvm(self, target: Target) -> lvm.SharedLVM:
        # NOTE: always the reader role: a compute host never writes the
        # shared VG's metadata (safety rule 1).
        return lvm.SharedLVM(target.vg,
                             self.shared_lvm_devices or target.devices,
                             role=lvm.READER, executor=self._execute,
                             root_helper=self._root_helper, check_vg=False,
                             extra_config=self.lvm_extra_config,
                             lock_manager=target.lock_manager)

    def _ctx(self, target: Target) -> dict:
        return {'vg': target.vg, 'lv': target.lv, 'host': self.host,
                'path': target.path}

    @staticmethod
    def _lock(target: Target):
        # Attach and detach of one LV on this host must not interleave.
        return lockutils.lock('shared-lvm-%s-%s' % (target.vg, target.lv))

    def _run(self, *argv, **kwargs) -> tuple:
        kwargs.setdefault('run_as_root', True)
        kwargs.setdefault('root_helper', self._root_helper)
        return self._execute(*argv, **kwargs)

    def _find_lv(self, vg: lvm.SharedLVM, target: Target) -> dict:
        """Read the LV from disk; rescan SCSI hosts while the VG is absent."""
        attempts = max(1, int(self.device_scan_attempts))
        for attempt in range(1, attempts + 1):
            # One lvs: with hints off it rereads the shared PV's metadata.
            lv = vg.get_lv(target.lv)
            if lv is not None:
                return lv
            if vg.vg_report() is not None:
                raise exception.LVNotFound(vg=target.vg, lv=target.lv)
            if attempt == attempts:
                break
            LOG.warning('VG %(vg)s is not visible on host %(host)s (attempt '
                        '%(n)d of %(max)d); rescanning SCSI hosts.',
                        dict(self._ctx(target), n=attempt, max=attempts))
            self._rescan_scsi_hosts()
            time.sleep(self.RESCAN_INTERVAL)
        raise exception.VolumeGroupNotFound(vg=target.vg,
                                            devices=vg.devices)

    def _rescan_scsi_hosts(self) -> None:
        """Ask every SCSI host for new LUNs; a no-op where there are none."""
        try:
            out, _err = self._run('ls', _SCSI_HOST_DIR, run_as_root=False)
        except processutils.ProcessExecutionError as err:
            LOG.debug('No SCSI hosts to rescan on %s: %s', self.host,
                      err.stderr)
            return
        for name in (out or '').split():
            if not _SCSI_HOST_RE.match(name):
                continue
            try:
                self._run('tee', '-a', '%s/%s/scan' % (_SCSI_HOST_DIR, name),
                          process_input='- - -')
            except processutils.ProcessExecutionError as err:
                LOG.warning('Rescan of SCSI %s on host %s failed: %s',
                            name, self.host, err.stderr)

    def _check_uuid(self, target: Target, lv: dict) -> None:
        if target.lv_uuid and lv['uuid'] != target.lv_uuid:
            raise _refuse('LV %s/%s has UUID %s but the connection data names '
                          '%s: it was removed and recreated, or the data is '
                          'forged', target.vg, target.lv, lv['uuid'],
                          target.lv_uuid)

    @staticmethod
    def _check_lv_kind(target: Target, lv: dict) -> None:
        """Refuse what would put a snapshot family on two hosts (rule 5).

        The driver attaches volumes only, and a family exclusively; a
        snapshot LV or a 'shared' family in connection data is stale or
        forged. Checked on the report already read: no extra command.
        """
        if lv['is_snapshot']:
            raise _refuse('LV %s/%s is a COW snapshot; only volumes are '
                          'attached', target.vg, target.lv)
        if lv['has_snapshots'] and not target.exclusive:
            raise _refuse('LV %s/%s has snapshots but the connection data '
                          'asks for shared activation; a snapshot family may '
                          'be active on one host only', target.vg, target.lv)

    def _device_size(self, path: str) -> Optional[int]:
        out, _err = self._run('blockdev', '--getsize64', path)
        size = (out or '').strip()
        return int(size) if size.isdigit() else None

    def _wait_for_device(self, target: Target) -> int:
        """Poll the device node through the executor until it answers."""
        deadline = time.monotonic() + self.activation_timeout
        while True:
            try:
                size = self._device_size(target.path)
                if size is not None:
                    return size
            except processutils.ProcessExecutionError as err:
                LOG.debug('Device %(path)s not ready on %(host)s: %(err)s',
                          dict(self._ctx(target), err=err.stderr))
            if time.monotonic() >= deadline:
                raise exception.DeviceNotReady(path=target.path,
                                               timeout=self.activation_timeout)
            time.sleep(self.DEVICE_POLL_INTERVAL)

    # -- InitiatorConnector API -------------------------------------------

    @staticmethod
    def get_connector_properties(root_helper, *args, **kwargs) -> dict:
        """Report the UUIDs of the VGs this host can read.

        The driver refuses to attach to a host whose list lacks its VG
        (doc/source/contract.rst). Never raises: a host without LVM simply
        sees no shared VG.

        The scan is confined to ``shared_lvm_devices`` when given, else to
        ``[shared_lvm] devices`` (nova.conf) when that option is registered
        and set. os-brick itself never passes ``shared_lvm_devices``.
        Without either, LVM applies the host's lvm.conf filters, and a
        warning says so when they accept every disk (doc/source/nova.rst).

        :param shared_lvm_devices: confine the scan to these PVs
        :param execute: the executor (os-brick passes ``execute=``)
        """
        execute = brick_executor.Executor(
            root_helper, execute=kwargs.get('execute') or
            _default_execute or priv_rootwrap.execute)._execute
        extra = kwargs.get('lvm_extra_config', '')
        try:
            devices = (kwargs.get('shared_lvm_devices') or
                       compute_opts.configured_devices())
            if devices:
                devices = check_devices(devices, 'shared_lvm_devices')
            else:
                _check_scan_scope(execute, root_helper, extra)
            vgs = lvm.visible_vgs(execute, root_helper, devices or None,
                                  extra)
        except Exception as err:
            LOG.warning('Cannot list the VGs this host sees: %s', err)
            vgs = []
        props = {'shared_lvm_vgs': sorted({vg['uuid'] for vg in vgs})}
        manager = (kwargs.get('shared_lvm_lock_manager') or
                   compute_opts.configured_lock_manager())
        if manager == lockd.LVMLOCKD:
            props['shared_lvm_lockspaces'] = _started_lockspaces(
                execute, root_helper, vgs)
        return props

    def get_search_path(self) -> None:
        # The VG, and so /dev/<vg>, is known only from connection data.
        return None

    def get_volume_paths(self, connection_properties: dict) -> list:
        """[device_path] if the LV is active on this host, else []."""
        target = parse_connection_properties(connection_properties)
        lv = self._lvm(target).get_lv(target.lv)
        return [target.path] if lv and lv['active'] else []

    def get_all_available_volumes(self, connection_properties=None) -> list:
        """Paths of the LVs of the connection's VG active on this host."""
        if not connection_properties:
            return []
        target = parse_connection_properties(connection_properties)
        vg = self._lvm(target)
        return [vg.lv_path(lv['name']) for lv in vg.list_lvs()
                if lv['active']]

    def check_valid_device(self, path: str, run_as_root: bool = True) -> bool:
        """True if one block of *path* reads back, bypassing the cache."""
        if not isinstance(path, str) or not _DEVICE_RE.match(path):
            return False
        try:
            self._run('dd', 'if=%s' % path, 'of=/dev/null', 'bs=4096',
                      'count=1', 'iflag=direct', run_as_root=run_as_root)
        except processutils.ProcessExecutionError as err:
            LOG.error('Device %s on host %s is not readable: %s', path,
                      self.host, err.stderr)
            return False
        return True

    def connect_volume(self, connection_properties: dict) -> dict:
        """Activate the LV here and wait for its device node.

        Normal case: one ``lvs`` and one ``lvchange``.
        """
        target = parse_connection_properties(connection_properties)
        ctx = self._ctx(target)
        LOG.info('Attaching %(vg)s/%(lv)s on host %(host)s', ctx)
        with self._lock(target):
            vg = self._lvm(target)
            lv = self._find_lv(vg, target)
            self._check_uuid(target, lv)
            self._check_lv_kind(target, lv)
            if lv['active']:
                # NOTE: already active here (multi-attach, or a retried
                # attach): reload its table, another host may have resized
                # it (safety rule 4).
                LOG.info('%(vg)s/%(lv)s is already active on %(host)s; '
                         'refreshing it', ctx)
                vg.refresh_lv(target.lv)
            else:
                LOG.info('Activating %(vg)s/%(lv)s on %(host)s (%(mode)s)',
                         dict(ctx, mode='exclusive' if target.exclusive
                              else 'shared'))
                vg.activate_lv(target.lv, exclusive=target.exclusive)
            try:
                size = self._wait_for_device(target)
                if size != lv['size_bytes']:
                    # NOTE: measured on the rig (LVM 2.03.16): after an
                    # lvextend on another host, lvs here may not report an
                    # LV with a stale table as active, so "lvchange -ay"
                    # is a no-op and the old, smaller table stays. Never
                    # hand out a stale table (safety rule 4).
                    LOG.warning('%(path)s on %(host)s has %(dev)d bytes but '
                                'LVM says %(lvm)d; refreshing it',
                                dict(ctx, dev=size, lvm=lv['size_bytes']))
                    vg.refresh_lv(target.lv)
                    size = self._wait_for_device(target)
                if size != lv['size_bytes']:
                    raise exception.SharedLVMError(
                        reason='%s on %s has %d bytes after a refresh but '
                               'LVM says %d; not using a stale table' % (
                                   target.path, self.host, size,
                                   lv['size_bytes']))
            except exception.SharedLVMError:
                if not lv['active']:
                    self._rollback_activation(vg, target)
                raise
        LOG.info('Attached %(vg)s/%(lv)s on host %(host)s at %(path)s', ctx)
        return {'type': 'block', 'path': target.path}

    def _rollback_activation(self, vg: lvm.SharedLVM, target: Target) -> None:
        # Refuse, don't leave half-done (safety rule 6).
        try:
            vg.deactivate_lv(target.lv)
        except exception.SharedLVMError as err:
            LOG.error('Could not deactivate %(vg)s/%(lv)s on %(host)s after '
                      'a failed attach: %(err)s',
                      dict(self._ctx(target), err=err))

    def disconnect_volume(self, connection_properties: dict, device_info,
                          force: bool = False,
                          ignore_errors: bool = False) -> None:
        """Flush, then deactivate the LV here (safety rule 7).

        :param force: deactivate even if the LV is open, removing the
                      device-mapper device by force if LVM refuses
        :param ignore_errors: log failures instead of raising them
        """
        try:
            target = parse_connection_properties(connection_properties)
            LOG.info('Detaching %(vg)s/%(lv)s on host %(host)s',
                     self._ctx(target))
            with self._lock(target):
                self._disconnect(target, force)
        except Exception as err:
            if not ignore_errors:
                raise
            LOG.warning('Ignoring failed detach (%s): %s',
                        type(err).__name__, err)

    def _disconnect(self, target: Target, force: bool) -> None:
        """Deactivate through LVM, then remove what device-mapper still maps.

        LVM's view decides only whether ``lvchange -an`` is worth running;
        the kernel's decides what is left: after this returns, no dm device
        of the LV's family remains on this host (or, forced, each one left
        fails all I/O and goes at its last close).
        """
        ctx = self._ctx(target)
        vg = self._lvm(target)
        lv = vg.get_lv(target.lv)
        lv_uuid = target.lv_uuid
        if lv is not None and lv_uuid and lv['uuid'] != lv_uuid:
            # NOTE: the LV was removed and recreated under the same name.
            # The new LV is not ours to deactivate; devices of the old one
            # (found by the old UUID below) are stale and must go.
            LOG.warning('%(vg)s/%(lv)s now has UUID %(new)s, not %(old)s '
                        'from the connection data; removing only the old '
                        "LV's devices on %(host)s",
                        dict(ctx, new=lv['uuid'], old=lv_uuid))
            lv = None
        elif lv is not None:
            lv_uuid = lv['uuid']
        if lv is not None and lv['active']:
            self._flush(target, force)
            if lv['open'] and not force:
                raise exception.DeviceBusy(path=target.path)
            try:
                vg.deactivate_lv(target.lv)
            except exception.LVMCommandFailed:
                if not force:
                    raise
                LOG.warning('LVM could not deactivate %(vg)s/%(lv)s on '
                            '%(host)s; removing its device-mapper devices '
                            'by force. Further I/O through them fails.', ctx)
            fam = self._dm_family(target, lv_uuid)
            if fam is not None:
                # NOTE: LVM may leave layers behind, e.g. the -real and
                # -cow devices of a family whose table here is stale.
                LOG.warning('%(vg)s/%(lv)s: device-mapper still maps %(fam)r '
                            'on %(host)s after lvchange -an; removing '
                            'it', dict(ctx, fam=fam))
                self._remove_family(target, fam, force)
        else:
            fam = self._dm_family(target, lv_uuid)
            if fam is None:
                LOG.info('%(vg)s/%(lv)s is not mapped on %(host)s; nothing '
                         'to detach', ctx)
                return
            # NOTE: lvs does not show a suspended, tableless, inactive-only
            # or stale device as active, yet the kernel maps it
            # (design.rst, "LVM facts the code relies on"); the LV may
            # even be gone from the metadata.
            LOG.warning('%(vg)s/%(lv)s is not active according to LVM but '
                        'device-mapper maps %(fam)r on %(host)s; removing '
                        'it', dict(ctx, fam=fam))
            name = dm_name(target.vg, target.lv)
            top = [d for d in fam.devices
                   if d.layer == '' and d.name == name]
            if top and top[0].live and not top[0].suspended:
                # NOTE: never flush a suspended device: it would block
                # until someone resumes it.
                self._flush(target, force,
                            dm_path='/dev/mapper/' + top[0].name)
            self._remove_family(target, fam, force)
        LOG.info('Detached %(vg)s/%(lv)s on host %(host)s', ctx)

    def _dm_family(self, target: Target, lv_uuid) -> Optional[dm.Family]:
        """The dm family of the target's LV on this host, or None.

        By UUID when the connection data (or lvs) gives both UUIDs;
        otherwise the VG's UUID is read off the device that carries the
        LV's dm name, and checked against the LV UUID when known.
        """
        devices = dm.inventory(self._execute, self._root_helper, self.host)
        vg_uuid = target.vg_uuid
        if not vg_uuid or not lv_uuid:
            name = dm_name(target.vg, target.lv)
            named = [d for d in devices
                     if d.name in (name, name + '-real', name + '-cow') and
                     (not lv_uuid or d.lv_uuid == dm.lvm_uuid(lv_uuid))]
            if not named:
                return None
            vg_uuid = vg_uuid or named[0].vg_uuid
            lv_uuid = lv_uuid or named[0].lv_uuid
        vg_uuid = dm.lvm_uuid(vg_uuid) if '-' in vg_uuid else vg_uuid
        lv_uuid = dm.lvm_uuid(lv_uuid) if '-' in lv_uuid else lv_uuid
        return dm.family_of(devices, vg_uuid, lv_uuid)

    def _remove_family(self, target: Target, fam: dm.Family,
                       force: bool) -> None:
        what = '%s/%s' % (target.vg, target.lv)
        if fam.open_by and not force:
            raise exception.DeviceBusy(path=target.path)
        dm.remove_family(self._execute, self._root_helper, fam, force=force,
                         what=what, host=self.host)

    def _flush(self, target: Target, force: bool,
               dm_path: Optional[str] = None) -> None:
        path = dm_path or target.path
        try:
            self._run('blockdev', '--flushbufs', path)
        except processutils.ProcessExecutionError as err:
            if not force:
                raise exception.SharedLVMError(
                    reason='flushing %s on %s failed (%s); not deactivating '
                           'it' % (path, self.host,
                                   (err.stderr or '').strip())) from err
            LOG.warning('Flushing %(path)s on %(host)s failed; forcing the '
                        'detach anyway', dict(self._ctx(target), path=path))

    def extend_volume(self, connection_properties: dict) -> int:
        """Load the LV's new size here and return it in bytes (rule 4)."""
        target = parse_connection_properties(connection_properties)
        LOG.info('Refreshing %(vg)s/%(lv)s on host %(host)s after an '
                 'extend', self._ctx(target))
        self._lvm(target).refresh_lv(target.lv)
        size = self._device_size(target.path)
        if size is None:
            raise exception.SharedLVMError(
                reason='cannot read the size of %s on %s' % (target.path,
                                                             self.host))
        return size
