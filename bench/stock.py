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

"""Cinder's stock path on a rig VM: LVMVolumeDriver + tgt, iSCSI initiator.

The stock ``LVMVolumeDriver`` runs in this process with the rig VM as its
executor. It shells out in three ways, all sent to the VM here:

* its own ``execute=`` (LVM commands, the target helper);
* os-brick's static LVM helpers and cinder's tgt privsep entrypoints,
  which call ``processutils.execute`` directly: patched for the duration
  (``stock_context``) so that they run on the VM too;
* ``tgt-admin``, a Perl script that reads the persistence file Cinder
  writes and calls ``tgtadm``. The VM has no Perl, so ``TgtAdminShim``
  reads the same file (written here, in ``volumes_dir``) and issues the
  ``tgtadm`` calls tgt-admin would.

os-brick's ``ISCSIConnector`` checks device nodes and sysfs with
``os.path.exists``/``glob`` on the machine it runs on, which is the wrong
machine in the rig (design.rst, one executor), so ``IscsiInitiator``
replays its command sequence for one CHAP-authenticated single-path LUN
through the executor instead: node create + auth update + startup update +
login, wait for the SCSI disk of the session, ``blockdev``; on detach
flush, delete the SCSI device, logout and delete the node.
"""

import contextlib
import os
import re
import time
from unittest import mock

from bench import env
from cinder import exception as cinder_exception
from cinder.volume import configuration
from cinder.volume.drivers import lvm as cinder_lvm
from oslo_concurrency import processutils

BACKEND = 'bench_stock'
INITIATOR = 'iqn.2004-10.org.openstack:bench-node'


class TgtAdminShim(object):
    """Executor that runs on *host* and stands in for ``tgt-admin``."""

    def __init__(self, host, volumes_dir):
        self.host = host
        self.volumes_dir = volumes_dir
        self.commands = []

    def __call__(self, *cmd, **kwargs):
        cmd = [str(c) for c in cmd]
        self.commands.append(cmd)
        if cmd and cmd[0] == 'tgt-admin':
            return self._tgt_admin(cmd[1:])
        kwargs.pop('root_helper', None)
        return self.host.execute(*cmd, **kwargs)

    def _tgtadm(self, *args, ok=()):
        try:
            return self.host.execute('tgtadm', '--lld', 'iscsi', *args)
        except processutils.ProcessExecutionError as err:
            if any(s in (err.stderr or '') for s in ok):
                return err.stdout, err.stderr
            raise

    def _targets(self) -> dict:
        out, _err = self._tgtadm('--op', 'show', '--mode', 'target')
        return {m.group(2): int(m.group(1)) for m in re.finditer(
            r'^Target (\d+): (\S+)$', out, re.M)}

    def _tgt_admin(self, args):
        if args[:1] == ['--show']:
            return self._tgtadm('--op', 'show', '--mode', 'target')
        if args[:1] == ['--update']:
            return self._update(args[1])
        if args[:1] == ['--delete']:
            tid = self._targets().get(args[1])
            if tid is None:
                raise processutils.ProcessExecutionError(
                    exit_code=22, stderr="can't find the target",
                    cmd='tgt-admin --delete')
            return self._tgtadm('--op', 'delete', '--mode', 'target',
                                '--tid', str(tid), '--force')
        raise ValueError('tgt-admin %s is not emulated' % args)

    def _update(self, iqn):
        vol_id = iqn.split(':', 1)[1]
        with open(os.path.join(self.volumes_dir, vol_id)) as f:
            conf = f.read()
        path = re.search(r'backing-store (\S+)', conf).group(1)
        chap = re.search(r'incominguser (\S+) (\S+)', conf)
        targets = self._targets()
        if iqn in targets:
            return '', ''
        tid = str(max(targets.values() or [0]) + 1)
        self._tgtadm('--op', 'new', '--mode', 'target', '--tid', tid,
                     '-T', iqn)
        self._tgtadm('--op', 'new', '--mode', 'logicalunit', '--tid', tid,
                     '--lun', '1', '-b', path)
        if chap:
            self._tgtadm('--op', 'new', '--mode', 'account', '--user',
                         chap.group(1), '--password', chap.group(2),
                         ok=('already exists',))
            self._tgtadm('--op', 'bind', '--mode', 'account', '--tid', tid,
                         '--user', chap.group(1))
        self._tgtadm('--op', 'bind', '--mode', 'target', '--tid', tid,
                     '-I', 'ALL')
        return '', ''


def start_daemons(host):
    """tgtd and iscsid in the VM, on loopback only."""
    host.shell('mkdir -p /etc/iscsi /run/tgtd /var/lib/iscsi && '
               'echo InitiatorName=%s > /etc/iscsi/initiatorname.iscsi'
               % INITIATOR)
    host.shell('tgtd --iscsi portal=127.0.0.1:3260 || tgtd')
    host.shell('iscsid')
    for _ in range(50):
        rc, _o, _e = host.run('tgtadm', '--lld', 'iscsi', '--op', 'show',
                              '--mode', 'target')
        if rc == 0:
            return
        time.sleep(0.2)
    raise RuntimeError('tgtd did not start')


@contextlib.contextmanager
def stock_context(shim):
    """Send cinder's and os-brick's direct processutils calls to the VM."""
    def execute(*cmd, **kwargs):
        for key in ('on_execute', 'on_completion', 'root_helper'):
            kwargs.pop(key, None)
        return shim(*cmd, **kwargs)
    with mock.patch.object(processutils, 'execute', execute):
        yield


class _NoDB(object):
    def volume_get(self, context, volume_id):
        raise cinder_exception.NotFound()


def make_driver(shim, vg_name, volumes_dir):
    env.in_process_privsep()
    overrides = {'volume_group': vg_name, 'target_helper': 'tgtadm',
                 'target_protocol': 'iscsi',
                 'target_ip_address': '127.0.0.1', 'target_port': 3260,
                 'volumes_dir': volumes_dir, 'lvm_type': 'default',
                 'lvm_conf_file': 'None', 'volume_clear': 'none',
                 'volume_backend_name': BACKEND}
    conf = configuration.Configuration(cinder_lvm.volume_opts,
                                       config_group=BACKEND)
    for opts in (cinder_lvm.volume_opts,):
        conf.append_config_values(opts)
    drv = cinder_lvm.LVMVolumeDriver(configuration=conf, execute=shim,
                                     host='bench@' + BACKEND)
    for key, value in overrides.items():
        env.CONF.set_override(key, value, group=BACKEND)
    drv.target_driver.db = _NoDB()
    drv.do_setup(None)
    drv.check_for_setup_error()
    return drv


class IscsiInitiator(object):
    """os-brick's single-path iSCSI attach, replayed through the executor."""

    def __init__(self, host, timeout=30):
        self.host = host
        self.timeout = timeout

    def _node(self, data, *args):
        return self.host.execute(
            'iscsiadm', '-m', 'node', '-T', data['target_iqn'], '-p',
            data['target_portal'], *args)

    def connect(self, data) -> str:
        self._node(data, '--interface', 'default', '--op', 'new')
        if data.get('auth_method'):
            for key, value in (('authmethod', data['auth_method']),
                               ('username', data['auth_username']),
                               ('password', data['auth_password'])):
                self._node(data, '--op', 'update', '-n',
                           'node.session.auth.%s' % key, '-v', value)
        self._node(data, '--op', 'update', '-n', 'node.startup', '-v',
                   'automatic')
        self._node(data, '--login')
        self.host.execute('iscsiadm', '-m', 'session')
        lun = data.get('target_lun', 1)
        deadline = time.monotonic() + self.timeout
        glob = ('/sys/class/iscsi_session/session*/device/target*/'
                '*:*:*:%d/block/*' % lun)
        while True:
            out, _err = self.host.shell('for p in %s; do [ -e "$p" ] && '
                                        'basename "$p"; done; true' % glob)
            names = out.split()
            if names:
                dev = '/dev/' + names[0]
                rc, out, _e = self.host.run('blockdev', '--getsize64', dev)
                if rc == 0 and out.strip().isdigit():
                    return dev
            if time.monotonic() > deadline:
                raise RuntimeError('no SCSI disk for %s' % data)
            time.sleep(0.1)

    def disconnect(self, data, dev):
        self.host.execute('blockdev', '--flushbufs', dev)
        self.host.execute('tee', '-a', '/sys/block/%s/device/delete'
                          % os.path.basename(dev), process_input='1')
        self._node(data, '--logout')
        self._node(data, '--op', 'delete')
