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

"""The volume lifecycle driven by the ``cinder`` CLI against real services.

Every step runs one or more ``cinder`` commands (python-cinderclient in a
subprocess, noauth) and then checks the result against the LVs of the
shared VG, read on the rig host with LVM. ``CliLifecycle.run_all`` returns
``(step, host, result, seconds)`` rows for the demo's table.

The one step the CLI cannot do alone is giving a compute host's full
connector to an attachment: ``cinder attachment-create``/``attachment-
update`` build the connector from fixed options (``--initiator``, ``--ip``,
``--host``, ...), so ``shared_lvm_vgs`` cannot be passed and the driver
refuses the host (doc/source/contract.rst). That step uses
python-cinderclient's API, ``attachments.update(id, connector)``, which is
what Nova calls; the CLI creates, completes, shows and deletes the
attachment.
"""

import time

from cinder_shared_lvm import connector as connmod
from cinder_shared_lvm.cmd import main as cli_main
from cinder_shared_lvm import lvm
from rig import RigClient
from tests.services import stack as stackmod

VG = 'svcvg'
LUN = '/dev/vda'
POOL = '%s@%s#%s' % (stackmod.VOLUME_HOST, stackmod.BACKEND,
                     stackmod.BACKEND)
COMPUTE = 'compute-1'
GIB = 1 << 30
MIB = 1 << 20


class LifecycleError(AssertionError):
    pass


class CliLifecycle(object):
    """Run CLI steps and check each against the VG.

    :param stack: a started ``stack.Stack``
    :param client: a ``RigClient`` of the same rig
    """

    def __init__(self, stack, client, progress=print, vg=VG):
        self.stack = stack
        self.rig = client
        self.progress = progress
        self.vg = vg
        self.rows = []
        self.ids = {}
        self.commands = []

    # -- plumbing ------------------------------------------------------------

    def cinder(self, *args, check=True):
        t0 = time.monotonic()
        res = self.stack.cli(*args, check=False)
        self.commands.append(('cinder ' + ' '.join(str(a) for a in args),
                              res.returncode, time.monotonic() - t0))
        if check and res.returncode:
            raise LifecycleError('cinder %s failed (rc %d):\n%s%s' % (
                ' '.join(str(a) for a in args), res.returncode, res.stdout,
                res.stderr))
        return res

    def show(self, kind, ident) -> dict:
        return stackmod.parse_show(self.cinder(
            '%sshow' % ('' if kind == 'volume' else kind + '-'),
            ident).stdout)

    def wait_status(self, kind, ident, want, timeout=300) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            info = self.show(kind, ident)
            status = info.get('status')
            if status == want:
                return info
            if status and status.startswith('error'):
                raise LifecycleError('%s %s went to %s; cinder-volume log:'
                                     '\n%s' % (kind, ident, status,
                                               self.stack.tail(
                                                   'cinder-volume', 60)))
            if time.monotonic() > deadline:
                raise LifecycleError('%s %s is %s, not %s, after %ds' % (
                    kind, ident, status, want, timeout))
            time.sleep(1)

    def wait_gone(self, kind, ident, timeout=300) -> None:
        deadline = time.monotonic() + timeout
        cmd = '%sshow' % ('' if kind == 'volume' else kind + '-')
        while True:
            res = self.cinder(cmd, ident, check=False)
            if res.returncode and 'No ' in res.stderr + res.stdout:
                return
            info = stackmod.parse_show(res.stdout)
            if info.get('status', '').startswith('error'):
                raise LifecycleError('%s %s went to %s' % (
                    kind, ident, info['status']))
            if time.monotonic() > deadline:
                raise LifecycleError('%s %s still exists after %ds' % (
                    kind, ident, timeout))
            time.sleep(1)

    def lvs(self, host=stackmod.VOLUME_HOST) -> dict:
        """{lv name: report} of the shared VG, read on *host*."""
        reader = lvm.SharedLVM(self.vg, [LUN], role=lvm.READER,
                               executor=self.rig.host(host).execute,
                               check_vg=False)
        return {lv['name']: lv for lv in reader.list_lvs()}

    def step(self, name, host, func):
        t0 = time.monotonic()
        result = func()
        seconds = round(time.monotonic() - t0, 1)
        self.rows.append((name, host, result, seconds))
        self.progress('%-34s %-12s %s (%.1fs)' % (name, host, result,
                                                  seconds))
        return result

    def expect(self, cond, what):
        if not cond:
            raise LifecycleError(what)

    def create_volume(self, name, *args) -> str:
        out = stackmod.parse_show(self.cinder('create', '--name', name,
                                              *args).stdout)
        vid = out['id']
        self.ids[name] = vid
        info = self.wait_status('volume', vid, 'available')
        self.expect(info.get('os-vol-host-attr:host') == POOL,
                    'volume %s landed on %s' % (
                        vid, info.get('os-vol-host-attr:host')))
        return vid

    def expect_lv(self, name, size_gb=None, snapshot=None):
        lv = self.lvs().get(name)
        self.expect(lv is not None, 'LV %s/%s is missing: %s' % (
            self.vg, name, sorted(self.lvs())))
        if size_gb is not None:
            self.expect(lv['size_bytes'] == size_gb * GIB,
                        'LV %s is %d bytes, not %d GiB' % (
                            name, lv['size_bytes'], size_gb))
        if snapshot is not None:
            self.expect(lv['is_snapshot'] == snapshot,
                        'LV %s is_snapshot=%s' % (name, lv['is_snapshot']))
        return lv

    # -- the steps -----------------------------------------------------------

    def prepare_vg(self):
        out = []

        class Sink(object):
            write = out.append

            def flush(self):
                pass
        rc = cli_main.main(['prepare', '--vg', self.vg, '--devices', LUN,
                            '--force'],
                           execute=self.rig.host(
                               stackmod.VOLUME_HOST).execute,
                           stdout=Sink(), stderr=Sink())
        if rc:
            raise LifecycleError('prepare failed: %s' % ''.join(out))
        return 'VG %s on %s' % (self.vg, LUN)

    def types(self):
        for name in ('shared-a', 'shared-b'):
            self.cinder('type-create', name)
            self.cinder('type-key', name, 'set',
                        'volume_backend_name=%s' % stackmod.BACKEND)
        listed = self.cinder('type-list').stdout
        self.expect('shared-a' in listed and 'shared-b' in listed, listed)
        return 'types shared-a, shared-b -> backend %s' % stackmod.BACKEND

    def create(self):
        vid = self.create_volume('v1', '--volume-type', 'shared-a', '1')
        self.expect_lv('volume-%s' % vid, 1, snapshot=False)
        return 'available; LV volume-%s 1 GiB' % vid[:8]

    def snapshot(self):
        out = stackmod.parse_show(self.cinder(
            'snapshot-create', '--name', 's1', self.ids['v1']).stdout)
        sid = self.ids['s1'] = out['id']
        self.wait_status('snapshot', sid, 'available')
        lv = self.expect_lv('_snapshot-%s' % sid, snapshot=True)
        self.expect(lv['origin'] == 'volume-%s' % self.ids['v1'],
                    'snapshot origin is %s' % lv['origin'])
        return 'available; COW LV _snapshot-%s' % sid[:8]

    def from_snapshot(self):
        vid = self.create_volume('v2', '--snapshot-id', self.ids['s1'], '1')
        self.expect_lv('volume-%s' % vid, 1, snapshot=False)
        return 'available; LV volume-%s (copy)' % vid[:8]

    def clone(self):
        vid = self.create_volume('v3', '--source-volid', self.ids['v1'],
                                 '1')
        self.expect_lv('volume-%s' % vid, 1, snapshot=False)
        return 'available; LV volume-%s (copy)' % vid[:8]

    def extend(self):
        self.cinder('extend', self.ids['v3'], '2')
        deadline = time.monotonic() + 300
        while self.show('volume', self.ids['v3']).get('size') != '2':
            self.expect(time.monotonic() < deadline, 'extend timed out')
            time.sleep(1)
        self.wait_status('volume', self.ids['v3'], 'available')
        self.expect_lv('volume-%s' % self.ids['v3'], 2)
        return 'size 2; LV 2 GiB'

    def retype(self):
        self.cinder('retype', self.ids['v3'], 'shared-b')
        deadline = time.monotonic() + 300
        while True:
            info = self.show('volume', self.ids['v3'])
            if info.get('volume_type') == 'shared-b' and \
                    info.get('status') == 'available':
                break
            self.expect(time.monotonic() < deadline, 'retype: %s' % info)
            time.sleep(1)
        self.expect_lv('volume-%s' % self.ids['v3'], 2)
        return 'type shared-b; same LV, no copy'

    def manage(self):
        node = self.rig.host(stackmod.VOLUME_HOST)
        cfg = lvm.build_lvm_config([LUN], read_only=False)
        node.execute('lvcreate', '--config', cfg, '-an', '-Zn',
                     '--setautoactivation', 'n', '-L', '1g', '-n', 'legacy',
                     self.vg)
        self.expect_lv('legacy', 1)
        out = stackmod.parse_show(self.cinder(
            'manage', '--name', 'm1', '--volume-type', 'shared-a', POOL,
            'legacy').stdout)
        vid = self.ids['m1'] = out['id']
        self.wait_status('volume', vid, 'available')
        lvs = self.lvs()
        self.expect('legacy' not in lvs and 'volume-%s' % vid in lvs,
                    'after manage: %s' % sorted(lvs))
        return 'LV legacy -> volume-%s' % vid[:8]

    def unmanage(self):
        vid = self.ids.pop('m1')
        self.cinder('unmanage', vid)
        self.wait_gone('volume', vid)
        self.expect_lv('volume-%s' % vid, 1)
        node = self.rig.host(stackmod.VOLUME_HOST)
        cfg = lvm.build_lvm_config([LUN], read_only=False)
        node.execute('lvremove', '--config', cfg, '-f',
                     '%s/volume-%s' % (self.vg, vid))
        return 'gone from cinder; LV kept (then lvremove by hand)'

    def pools(self):
        # NOTE: cinder-volume reports stats every few seconds
        # (backend_stats_polling_interval); wait for a report that has
        # seen the last change.
        deadline = time.monotonic() + 60
        while True:
            info = stackmod.parse_show(self.cinder('get-pools',
                                                   '--detail').stdout)
            lvs = self.lvs()
            if int(info.get('total_volumes', -1)) == len(lvs):
                break
            self.expect(time.monotonic() < deadline,
                        'pool says %s volumes, VG has %d LVs' % (
                            info.get('total_volumes'), len(lvs)))
            time.sleep(2)
        self.expect(info.get('name') == POOL, info)
        self.expect(info.get('storage_protocol') == 'shared_lvm', info)
        self.expect(info.get('backend_state') == 'up', info)
        return 'total %s GiB, free %s GiB, %s LVs, metadata %s%% free' % (
            info['total_capacity_gb'], info['free_capacity_gb'],
            info['total_volumes'], info['metadata_free_percent'])

    def connect(self, vid, host=COMPUTE):
        """Attach volume *vid* on rig host *host* as Nova does.

        :returns: (attachment id, connector, connection info, device)
        """
        compute = self.rig.host(host)
        out = stackmod.parse_show(self.cinder(
            'attachment-create', vid).stdout)
        att = out['id']
        self.expect(out.get('status') == 'reserved', out)
        props = connmod.SharedLVMConnector.get_connector_properties(
            None, execute=compute.execute)
        connector = dict(props, host=host, ip='127.0.0.1',
                         platform='x86_64', os_type='linux',
                         multipath=False, initiator=None,
                         mountpoint='/dev/vdb')
        # NOTE: the CLI cannot pass shared_lvm_vgs (see module doc); this
        # is Nova's call.
        t0 = time.monotonic()
        updated = self.stack.client().attachments.update(att, connector)
        self.commands.append(('attachments.update(%s, connector of %s) '
                              '[cinderclient API]' % (att, host), 0,
                              time.monotonic() - t0))
        # NOTE: Cinder flattens 'data' into the attachment's
        # connection_info; nest it again, as Nova does.
        flat = dict(updated.connection_info)
        info = {'driver_volume_type': flat.pop('driver_volume_type', None),
                'data': flat}
        self.expect(info['driver_volume_type'] == 'shared_lvm', info)
        conn = connmod.SharedLVMConnector(None, execute=compute.execute,
                                          host=host)
        device = conn.connect_volume(info['data'])
        self.cinder('attachment-complete', att)
        return att, conn, info, device

    def disconnect(self, vid, handle):
        """Undo ``connect``: detach on the host, delete the attachment."""
        att, conn, info, device = handle
        conn.disconnect_volume(info['data'], device)
        self.cinder('attachment-delete', att)
        self.wait_status('volume', vid, 'available')

    def attach(self):
        vid = self.ids['v2']
        compute = self.rig.host(COMPUTE)
        handle = self.connect(vid)
        self.ids['att'] = handle[0]
        device = handle[3]
        self.expect(self.show('volume', vid).get('status') == 'in-use',
                    'volume is not in-use')
        data = bytes(range(256)) * 4096
        compute.execute('dd', 'of=%s' % device['path'], 'bs=1M',
                        'oflag=direct', 'conv=fsync,notrunc',
                        process_input=data)
        out, _err = compute.shell(
            'dd if=%s bs=1M count=1 iflag=direct 2>/dev/null | sha256sum'
            % device['path'])
        import hashlib
        self.expect(out.split()[0] == hashlib.sha256(data).hexdigest(),
                    'read back differs')
        self.expect(any(n.startswith(self.vg) for n in compute.dm_tables()),
                    'no dm device on %s' % COMPUTE)
        self.ids['device'] = handle[1:]
        return 'in-use; %s active on %s, 1 MiB written + read back' % (
            device['path'], COMPUTE)

    def detach(self):
        conn, info, device = self.ids.pop('device')
        self.disconnect(self.ids['v2'],
                        (self.ids.pop('att'), conn, info, device))
        stale = [n for n in self.rig.host(COMPUTE).dm_tables()
                 if n.startswith(self.vg)]
        self.expect(not stale, 'stale dm devices on %s: %s' % (COMPUTE,
                                                               stale))
        return 'available; no dm device left on %s' % COMPUTE

    def delete_snapshot(self):
        sid = self.ids.pop('s1')
        self.cinder('snapshot-delete', sid)
        self.wait_gone('snapshot', sid)
        self.expect('_snapshot-%s' % sid not in self.lvs(), 'LV remains')
        return 'gone; LV removed'

    def delete_volumes(self):
        names = [n for n in ('v1', 'v2', 'v3') if n in self.ids]
        for name in names:
            self.cinder('delete', self.ids[name])
        for name in names:
            self.wait_gone('volume', self.ids.pop(name))
        lvs = self.lvs()
        self.expect(not lvs, 'LVs left in the VG: %s' % sorted(lvs))
        return '%d volumes gone; VG %s empty' % (len(names), self.vg)

    def run_all(self):
        host = stackmod.VOLUME_HOST
        steps = [
            ('cinder type-create x2 + type-key', host, self.types),
            ('cinder create', host, self.create),
            ('cinder snapshot-create', host, self.snapshot),
            ('cinder create --snapshot-id', host, self.from_snapshot),
            ('cinder create --source-volid', host, self.clone),
            ('cinder extend', host, self.extend),
            ('cinder retype', host, self.retype),
            ('cinder manage', host, self.manage),
            ('cinder unmanage', host, self.unmanage),
            ('cinder get-pools --detail', host, self.pools),
            ('cinder attachment-create + connect', COMPUTE, self.attach),
            ('disconnect + cinder attachment-delete', COMPUTE, self.detach),
            ('cinder snapshot-delete', host, self.delete_snapshot),
            ('cinder delete', host, self.delete_volumes),
        ]
        for name, where, func in steps:
            self.step(name, where, func)
        return self.rows

    def cleanup(self):
        """Best effort: remove what a failed run left in Cinder."""
        if 'device' in self.ids:
            conn, info, device = self.ids.pop('device')
            try:
                conn.disconnect_volume(info['data'], device, force=True)
            except Exception:
                pass
        if 'att' in self.ids:
            self.cinder('attachment-delete', self.ids.pop('att'),
                        check=False)
        if 's1' in self.ids:
            self.cinder('snapshot-delete', '--force', self.ids.pop('s1'),
                        check=False)
        for name in ('v1', 'v2', 'v3', 'm1'):
            if name in self.ids:
                self.cinder('force-delete', self.ids.pop(name),
                            check=False)


def remove_vg(client, vg=VG):
    node = client.host(stackmod.VOLUME_HOST)
    for host in client:
        host.execute('lvchange', '-an', vg, check_exit_code=False)
    node.execute('vgremove', '-f', vg, check_exit_code=False)
    node.execute('pvremove', '-ff', '-y', LUN, check_exit_code=False)


def run(rig_state_file, progress=print, db='auto'):
    """Prepare the VG, boot the stack, run every step, tear all down.

    :returns: list of (step, host, result, seconds)
    """
    client = RigClient(rig_state_file)
    stack = stackmod.Stack(rig_state_file, vg=VG, db=db, progress=progress)
    life = CliLifecycle(stack, client, progress=progress)
    started = False
    try:
        life.step('cinder-shared-lvm prepare', stackmod.VOLUME_HOST,
                  life.prepare_vg)

        def start():
            stack.start()
            return 'rabbitmq + %s + cinder-api/scheduler/volume up' % (
                stack.db_kind)
        life.step('start services', 'localhost', start)
        started = True
        life.run_all()
    finally:
        t0 = time.monotonic()
        try:
            if started:
                life.cleanup()
        finally:
            stack.cleanup()
            remove_vg(client)
    life.rows.append(('stop services, remove VG', 'localhost',
                      'all stopped', round(time.monotonic() - t0, 1)))
    return life.rows
