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

"""The real driver and connectors wired to a running rig.

``World`` is what the functional tests, the demo and the benchmarks share:
a ``SharedLVMDriver`` built from cinder's config whose executor runs on
``cinder-node``, a ``SharedLVMConnector`` per compute host, cinder
volume/snapshot objects, and helpers that write and checksum data on a
host. It imports cinder, so import it only after ``cinder.tests.unit``
(see ``tests/functional/conftest.py``).
"""

import contextlib
import hashlib
import random
import shlex
import threading
import uuid
from unittest import mock

from cinder import context
from cinder import coordination
from cinder.tests.unit import fake_snapshot
from cinder.volume import configuration
from cinder.volume import driver as cinder_driver
from oslo_config import cfg

from cinder_shared_lvm.cmd import main as cli
from cinder_shared_lvm import connector as connmod
from cinder_shared_lvm import dm
from cinder_shared_lvm import driver as drvmod
from tests import cinder_objects

CONF = cfg.CONF
CINDER_NODE = 'cinder-node'
LUN = '/dev/vda'
MIB = 1 << 20


def start_coordinator(lock_dir: str) -> None:
    """Cinder's coordinator (tooz file backend) for the VG lock."""
    if coordination.COORDINATOR.started:
        return
    CONF.set_override('backend_url', 'file://%s' % lock_dir,
                      group='coordination')
    coordination.COORDINATOR.start()


def pattern(seed: str, size: int) -> bytes:
    """Deterministic bytes that differ for every seed."""
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class World(object):
    """Driver on cinder-node, connectors on the computes, one shared VG.

    :param rig: a started ``rig.Rig``
    :param vg_name: the VG made on the shared LUN by ``prepare``
    :param backend: the cinder.conf section of the driver
    """

    def __init__(self, rig, vg_name='rigvg', backend='rig1',
                 overrides=None, devices=None):
        self.rig = rig
        self.vg_name = vg_name
        self.backend = backend
        # NOTE: the rig's second shared LUN is /dev/vdb (pools tests).
        self.devices = list(devices or [LUN])
        self.ctx = context.get_admin_context()
        self.overrides = dict({'shared_lvm_volume_group': vg_name,
                               'shared_lvm_devices': self.devices,
                               'volume_clear': 'none',
                               'volume_backend_name': backend},
                              **(overrides or {}))
        self.lock_manager = self.overrides.get('shared_lvm_lock_manager',
                                               'none')
        self.driver = None

    # -- setup ---------------------------------------------------------------

    def node(self, name: str = CINDER_NODE):
        return self.rig.host(name)

    def prepare_vg(self, expected_volumes: int = 2000) -> str:
        """Make the shared VG with the operator CLI, run on cinder-node."""
        out = []
        rc = cli.main(['prepare', '--vg', self.vg_name, '--devices',
                       ','.join(self.devices),
                       '--expected-volumes', str(expected_volumes),
                       '--lock-manager', self.lock_manager, '--force'],
                      execute=self.node().execute,
                      stdout=_Lines(out), stderr=_Lines(out))
        if rc != 0:
            raise AssertionError('prepare failed: %s' % ''.join(out))
        return ''.join(out)

    def remove_vg(self) -> None:
        self.node().execute('vgremove', '-f', self.vg_name,
                            check_exit_code=False)
        self.node().execute('pvremove', '-ff', '-y', *self.devices,
                            check_exit_code=False)

    def make_driver(self, host: str = CINDER_NODE, service_host=None,
                    backend=None, **overrides):
        """A driver whose commands run on rig host *host*.

        :param service_host: its Cinder service name (host@backend); by
                             default *host*'s
        :param backend: its cinder.conf section (default: the World's).
            NOTE: options are set per section, so two drivers that must
            differ in an option need two sections.
        """
        backend = backend or self.backend
        conf = configuration.Configuration(cinder_driver.volume_opts,
                                           config_group=backend)
        drv = drvmod.SharedLVMDriver(
            configuration=conf, execute=self.node(host).execute,
            host=service_host or '%s@%s' % (host, backend))
        # NOTE: no database: the volume objects, shared by every thread of
        # a test, hold the attachments the driver re-reads.
        drv._read_attachments = cinder_objects.attachments_of
        # ...and every LV named like Cinder's has its record there.
        drv._record_exists = cinder_objects.record_exists
        # NOTE: the driver registers its options in the backend's group;
        # only then can they be set, as cinder.conf would.
        for key, value in dict(self.overrides, **overrides).items():
            CONF.set_override(key, value, group=backend)
        drv.do_setup(self.ctx)
        drv.check_for_setup_error()
        return drv

    def restart_driver(self, **kwargs) -> dict:
        """Start a new driver, as cinder-volume's restart would.

        :returns: what its startup recovery (do_setup) found. NOTE: a
                  second _recover_after_restart() on the new driver would
                  only see what that first pass left, and so could not
                  tell a clean VG from one the startup had to repair.
        """
        found = []
        recover = drvmod.SharedLVMDriver._recover_after_restart

        def record(drv):
            found.append(recover(drv))
            return found[-1]

        with mock.patch.object(drvmod.SharedLVMDriver,
                               '_recover_after_restart', record):
            self.make_driver(**kwargs)
        assert len(found) == 1, 'do_setup ran no startup recovery'
        return found[0]

    def setup_driver(self):
        self.driver = self.make_driver()
        return self.driver

    def connector(self, host: str) -> connmod.SharedLVMConnector:
        return connmod.SharedLVMConnector(
            None, execute=self.node(host).execute, host=host,
            activation_timeout=30)

    def connector_properties(self, host: str) -> dict:
        props = connmod.SharedLVMConnector.get_connector_properties(
            None, execute=self.node(host).execute, host=host,
            shared_lvm_lock_manager=self.lock_manager)
        return dict(props, host=host, multipath=False)

    # -- cinder objects ------------------------------------------------------

    def volume(self, size: int = 1, **updates):
        return cinder_objects.volume(self.ctx, size=size, **updates)

    def snapshot(self, volume):
        snap = fake_snapshot.fake_snapshot_obj(
            self.ctx, id=str(uuid.uuid4()), volume_id=volume.id,
            volume_size=volume.size)
        snap.volume = volume
        return snap

    # -- attach / detach as Nova would, recording cinder's attachments -------

    def attach(self, volume, host: str, after_reserve=None) -> str:
        """Attach as Cinder and Nova do; returns the device path.

        Cinder's order: reserve an attachment with no host
        (attachment-create), initialize_connection, record the connector
        and host ('attaching'), Nova's connect_volume, then 'attached'.
        On any failure the reservation goes, as Nova deletes it.

        :param after_reserve: called once the reservation is recorded
                              (the race tests hold the attach there)
        """
        att = cinder_objects.attachment(self.ctx, volume, None,
                                        attach_status='reserved')
        self._record(volume, add=att)
        try:
            if after_reserve is not None:
                after_reserve()
            info = self.driver.initialize_connection(
                volume, self.connector_properties(host))
            assert info['driver_volume_type'] == 'shared_lvm', info
            att.attached_host = host
            att.connector = {'host': host}
            att.connection_info = info
            att.attach_status = 'attaching'
            device = self.connector(host).connect_volume(info['data'])
        except Exception:
            self._record(volume, remove=att)
            raise
        att.attach_status = 'attached'
        self._record(volume)
        return device['path']

    _db_lock = threading.Lock()

    def _record(self, volume, add=None, remove=None) -> None:
        """Change the attachments the driver reads (our 'database')."""
        with self._db_lock:
            atts = [a for a in volume.volume_attachment.objects
                    if a is not remove]
            if add is not None:
                atts.append(add)
            cinder_objects.set_attachments(self.ctx, volume, atts)

    def detach(self, volume, host: str, force: bool = False) -> None:
        att = self._attachment(volume, host)
        info = att.connection_info
        self.connector(host).disconnect_volume(
            info['data'], {'type': 'block', 'path': info['data'][
                'device_path']}, force=force)
        self.forget_attachment(volume, host)

    def forget_attachment(self, volume, host: str) -> None:
        """What Cinder does on terminate_connection/attachment-delete."""
        self.driver.terminate_connection(volume, {'host': host})
        with self._db_lock:
            cinder_objects.set_attachments(
                self.ctx, volume, [a for a in volume.volume_attachment.objects
                                   if a.attached_host != host])

    @staticmethod
    def _attachment(volume, host):
        for att in volume.volume_attachment.objects:
            if att.attached_host == host:
                return att
        raise AssertionError('%s is not attached on %s' % (volume.id, host))

    @contextlib.contextmanager
    def attached(self, volume, host: str):
        path = self.attach(volume, host)
        try:
            yield path
        finally:
            self.detach(volume, host)

    # -- data ----------------------------------------------------------------

    @contextlib.contextmanager
    def on_node(self, lv_name: str, family_name: str = None,
                reads: bool = True):
        """Lease an LV on cinder-node, as the driver's copies do; yields
        its path. A COW snapshot's family comes up exclusively.

        :param family_name: the Cinder volume's LV (default: *lv_name*)
        :param reads: mark the LV read, as a running copy does
        """
        drv = self.driver
        lv = drv.vg.get_lv(lv_name)
        assert lv is not None, lv_name
        lease = drv.datapath.lease(
            family_name or lv_name, lv, 'test read of %s' % lv_name,
            exclusive=lv['is_snapshot'] or lv['has_snapshots'],
            reads=(lv_name,) if reads else ())
        with lease:
            yield lease.path

    def write(self, host: str, path: str, data: bytes,
              offset_mib: int = 0) -> str:
        """Write *data* with O_DIRECT at *offset_mib*; return its sha256."""
        assert len(data) % MIB == 0
        self.node(host).execute(
            'dd', 'of=%s' % path, 'bs=1M', 'seek=%d' % offset_mib,
            'oflag=direct', 'conv=fsync,notrunc', process_input=data)
        return sha256(data)

    def checksum(self, host: str, path: str, size_mib: int,
                 offset_mib: int = 0) -> str:
        """sha256 of *size_mib* MiB at *offset_mib*, read with O_DIRECT."""
        script = ('dd if=%s bs=1M skip=%d count=%d iflag=direct 2>/dev/null'
                  ' | sha256sum' % (shlex.quote(path), offset_mib, size_mib))
        out, _err = self.node(host).shell(script)
        return out.split()[0]

    def device_size(self, host: str, path: str) -> int:
        out, _err = self.node(host).execute('blockdev', '--getsize64', path)
        return int(out.strip())

    # -- the VG as LVM sees it ------------------------------------------------

    def lvs(self, host: str = CINDER_NODE) -> dict:
        """{lv name: report} read on *host* (a reader config)."""
        from cinder_shared_lvm import lvm
        reader = lvm.SharedLVM(self.vg_name, self.devices, role=lvm.READER,
                               executor=self.node(host).execute,
                               check_vg=False)
        return {lv['name']: lv for lv in reader.list_lvs()}

    def vg_seqno(self) -> int:
        out, _err = self.node().execute(
            'vgs', '--noheadings', '-o', 'vg_seqno', self.vg_name)
        return int(out.strip())

    def vgck(self) -> str:
        out, err = self.node().execute('vgck', self.vg_name)
        return (out + err).strip()

    def stale_dm_devices(self) -> dict:
        """{host: [dm names of this VG]} still present on any host."""
        prefix = self.vg_name.replace('-', '--') + '-'
        stale = {}
        for name in self.rig.host_names:
            if not self.rig.host(name).is_up():
                continue
            # NOTE: the lvmlockd mode's lock LV is active on every host
            # with a started lockspace: sanlock's, not a leftover.
            names = [n for n in self.rig.host(name).dm_tables()
                     if n.startswith(prefix) and not dm.is_lock_lv(n)]
            if names:
                stale[name] = names
        return stale


class _Lines(object):
    """A tiny write()-able sink for the CLI's output."""

    def __init__(self, out: list):
        self.out = out

    def write(self, text):
        self.out.append(text)

    def flush(self):
        pass
