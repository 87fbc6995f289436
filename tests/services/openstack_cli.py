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

"""The ``openstack`` commands of doc/source/admin/openstack_cli.rst, run.

Each step runs the ``openstack`` CLI (python-openstackclient, in a
subprocess, as Keystone's admin: openstacksdk's version discovery gets 204
from a noauth cinder-api, so this needs ``Stack(keystone=True)``) and checks
the result against the LVs of the shared VG. The commands are the
documented ones; only ``-f json`` is added so the test reads the output
without scraping tables.
"""

import json
import os
import subprocess
import time

from cinder_shared_lvm import lvm
from tests.services import lifecycle
from tests.services import stack as stackmod

PLAIN, MULTI = 'shared-lvm', 'shared-lvm-multiattach'
BACKEND = stackmod.BACKEND


class OpenStackCli(object):
    """Run the documented ``openstack`` steps next to a ``CliLifecycle``.

    :param life: the lifecycle whose stack, rig and checks are reused
    """

    def __init__(self, life: lifecycle.CliLifecycle):
        self.life = life
        self.stack = life.stack
        self.ids = {}

    def openstack(self, *args) -> object:
        """``openstack <args> -f json`` (or without output): parsed."""
        argv = [os.path.join(stackmod.VENV_BIN, 'openstack')] + list(args)
        t0 = time.monotonic()
        res = subprocess.run(argv, capture_output=True, text=True,
                             timeout=120, stdin=subprocess.DEVNULL,
                             env=self.stack.cli_env())
        self.life.commands.append(('openstack ' + ' '.join(args),
                                   res.returncode, time.monotonic() - t0))
        if res.returncode:
            raise lifecycle.LifecycleError('openstack %s failed (rc %d):\n%s%s'
                                           % (' '.join(args), res.returncode,
                                              res.stdout, res.stderr))
        return json.loads(res.stdout) if '-f' in args else res.stdout

    def create(self, name, *args) -> str:
        vol = self.openstack('volume', 'create', *args, name, '-f', 'json')
        self.ids[name] = vol['id']
        # NOTE: a copy under TCG on a busy machine took over 300 s.
        self.life.wait_status('volume', vol['id'], 'available', timeout=900)
        return vol['id']

    # -- the steps, in the order of the guide -------------------------------

    def types(self):
        self.openstack('volume', 'type', 'create', '--property',
                       'volume_backend_name=%s' % BACKEND, PLAIN)
        self.openstack('volume', 'type', 'create', '--property',
                       'volume_backend_name=%s' % BACKEND, '--property',
                       'multiattach=<is> True', MULTI)
        names = {t['Name'] for t in self.openstack('volume', 'type', 'list',
                                                   '-f', 'json')}
        self.life.expect({PLAIN, MULTI} <= names, names)
        return 'types %s, %s' % (PLAIN, MULTI)

    def create_volume(self):
        vid = self.create('os-vol1', '--type', PLAIN, '--size', '1')
        self.life.expect_lv('volume-%s' % vid, 1, snapshot=False)
        return 'available; LV volume-%s 1 GiB' % vid[:8]

    def snapshot(self):
        snap = self.openstack('volume', 'snapshot', 'create', '--volume',
                              'os-vol1', 'os-snap1', '-f', 'json')
        sid = self.ids['os-snap1'] = snap['id']
        self.life.wait_status('snapshot', sid, 'available')
        self.life.expect_lv('_snapshot-%s' % sid, snapshot=True)
        return 'available; COW LV _snapshot-%s' % sid[:8]

    def from_snapshot(self):
        vid = self.create('os-vol2', '--snapshot', 'os-snap1', '--size', '1')
        self.life.expect_lv('volume-%s' % vid, 1, snapshot=False)
        return 'available; LV volume-%s' % vid[:8]

    def multiattach(self):
        vid = self.create('os-shared', '--type', MULTI, '--size', '1')
        vol = self.openstack('volume', 'show', vid, '-f', 'json')
        self.life.expect(vol.get('multiattach') is True, vol)
        self.life.expect_lv('volume-%s' % vid, 1, snapshot=False)
        return 'multiattach True; LV volume-%s' % vid[:8]

    def manage(self):
        node = self.life.rig.host(stackmod.VOLUME_HOST)
        node.execute('lvcreate', '--config',
                     lvm.build_lvm_config([lifecycle.LUN], read_only=False),
                     '-an', '-Zn', '--setautoactivation', 'n', '-L', '1g',
                     '-n', 'legacy-os', self.life.vg)
        # NOTE: without --non-bootable, python-openstackclient 10.5 sends
        # "bootable": null and cinder-api answers 400 (admin/
        # openstack_cli.rst).
        vid = self.create('os-managed', '--remote-source',
                          'source-name=legacy-os', '--host', lifecycle.POOL,
                          '--type', PLAIN, '--non-bootable')
        lvs = self.life.lvs()
        self.life.expect('legacy-os' not in lvs and
                         'volume-%s' % vid in lvs, sorted(lvs))
        return 'LV legacy-os -> volume-%s' % vid[:8]

    def pools(self):
        deadline = time.monotonic() + 60
        while True:
            (pool,) = self.openstack('volume', 'backend', 'pool', 'list',
                                     '--long', '-f', 'json')
            # NOTE: python-openstackclient 10.5 prints the driver's stats
            # as one 'Capabilities' column (snake_case keys).
            caps = pool['Capabilities']
            if caps.get('total_volumes') == len(self.life.lvs()):
                break
            self.life.expect(time.monotonic() < deadline, pool)
            time.sleep(2)
        self.life.expect(pool['Name'] == lifecycle.POOL, pool)
        self.life.expect(caps['storage_protocol'] == 'shared_lvm', pool)
        return '%s: %s volumes, %s GiB free' % (
            pool['Name'], caps['total_volumes'], caps['free_capacity_gb'])

    def delete(self):
        self.openstack('volume', 'snapshot', 'delete', 'os-snap1')
        self.life.wait_gone('snapshot', self.ids.pop('os-snap1'))
        names = ['os-vol2', 'os-shared', 'os-managed', 'os-vol1']
        self.openstack('volume', 'delete', *names)
        for name in names:
            self.life.wait_gone('volume', self.ids.pop(name))
        self.openstack('volume', 'type', 'delete', PLAIN, MULTI)
        lvs = self.life.lvs()
        self.life.expect(not lvs, 'LVs left: %s' % sorted(lvs))
        return 'all gone; VG %s empty' % self.life.vg

    STEPS = (('openstack volume type create x2', 'types'),
             ('openstack volume create', 'create_volume'),
             ('openstack volume snapshot create', 'snapshot'),
             ('openstack volume create --snapshot', 'from_snapshot'),
             ('openstack volume create (multiattach)', 'multiattach'),
             ('openstack volume create --remote-source', 'manage'),
             ('openstack volume backend pool list --long', 'pools'),
             ('openstack volume (snapshot) delete', 'delete'))

    def run_all(self):
        for name, method in self.STEPS:
            self.life.step(name, stackmod.VOLUME_HOST,
                           getattr(self, method))

    def cleanup(self):
        """Best effort: remove what a failed run left in Cinder."""
        if 'os-snap1' in self.ids:
            self.life.cinder('snapshot-delete', '--force',
                             self.ids.pop('os-snap1'), check=False)
        for vid in self.ids.values():
            self.life.cinder('force-delete', vid, check=False)
        self.ids.clear()
