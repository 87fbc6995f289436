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

"""The operator CLI ``cinder-shared-lvm`` run on the rig's virtual hosts.

``check`` first sees the rig's stock lvm.conf (rig/lvm.conf: no
filter, hints on, compute hosts not read-only) and must name exactly what
is missing; with the project's lvm.conf snippet for the role
(etc/cinder-shared-lvm/lvm-*.conf, the LUN path put in) it passes.
``status --json`` and ``cleanup`` run against real activations.
"""

import json
import os
import shlex

import pytest

from cinder_shared_lvm import driver as drvmod
from tests.functional import world as worldmod

pytestmark = pytest.mark.functional

NODE = worldmod.CINDER_NODE
C1 = 'compute-1'
VG = 'clivg'
ETC = os.path.join(os.path.dirname(__file__), '..', '..', 'etc',
                   'cinder-shared-lvm')
# What the rig's stock lvm.conf lacks, by role.
STOCK_FAILS = {'writer': {'scan-confined', 'hints'},
               'reader': {'scan-confined', 'hints', 'metadata-read-only'}}


@pytest.fixture(scope='module')
def cw(world_factory):
    w = world_factory(vg_name=VG, backend='cli')
    w.prepare_vg()
    w.setup_driver()
    yield w
    for host in (C1, 'compute-2', NODE):
        w.node(host).execute('lvchange', '-an', VG, check_exit_code=False)
    w.remove_vg()


def cli(w, host, *args):
    """(exit code, parsed JSON) of one CLI run on *host*."""
    out, err = [], []
    rc = worldmod.cli.main(list(args) + ['--vg', VG, '--devices',
                                         worldmod.LUN, '--json'],
                           execute=w.node(host).execute,
                           stdout=worldmod._Lines(out),
                           stderr=worldmod._Lines(err))
    return rc, json.loads(''.join(out))


def failing(data):
    return {c['check'] for c in data['checks'] if c['status'] == 'FAIL'}


def _with_snippet(w, host, snippet_name):
    """Append the project's lvm.conf snippet (LUN path filled in)."""
    with open(os.path.join(ETC, snippet_name)) as f:
        text = f.read().replace('/dev/disk/by-id/wwn-0xSHARED',
                                worldmod.LUN)
    node = w.node(host)
    node.shell('cp /etc/lvm/lvm.conf /etc/lvm/lvm.conf.rig && '
               'printf %%s %s >> /etc/lvm/lvm.conf' % shlex.quote(text))


def _restore(w, host):
    w.node(host).shell('mv /etc/lvm/lvm.conf.rig /etc/lvm/lvm.conf')


@pytest.mark.parametrize('host,role,snippet', [
    (NODE, 'writer', 'lvm-cinder-node.conf'),
    (C1, 'reader', 'lvm-compute.conf')])
def test_check_reports_what_is_missing_then_passes(cw, host, role, snippet):
    rc, data = cli(cw, host, 'check', '--role', role)
    print('%s check --role %s on stock rig lvm.conf: rc %d, FAIL %s' % (
        host, role, rc, sorted(failing(data))))
    assert rc == 1 and not data['ok']
    assert failing(data) == STOCK_FAILS[role], data['checks']
    _with_snippet(cw, host, snippet)
    try:
        rc, data = cli(cw, host, 'check', '--role', role)
    finally:
        _restore(cw, host)
    assert rc == 0 and data['ok'], data['checks']
    assert {c['check'] for c in data['checks']} >= STOCK_FAILS[role]


def test_status_shows_volumes_snapshots_families_activation(cw):
    w = cw
    vol, plain = w.volume(1), w.volume(1)
    w.driver.create_volume(vol)
    w.driver.create_volume(plain)
    snap = w.snapshot(vol)
    w.driver.create_snapshot(snap)
    snap_lv = drvmod.snapshot_lv_name(snap)
    try:
        with w.attached(plain, C1):
            rc, data = cli(w, C1, 'status')
        assert rc == 0
        lvs = {e['name']: e for e in data['lvs']}
        assert lvs[vol.name]['kind'] == 'volume'
        assert lvs[vol.name]['id'] == vol.id
        assert lvs[snap_lv]['kind'] == 'snapshot'
        assert lvs[snap_lv]['id'] == snap.id
        assert lvs[snap_lv]['origin'] == vol.name
        assert data['families'] == {vol.name: [snap_lv]}
        assert lvs[plain.name]['active'] is True
        assert lvs[plain.name]['open'] is False
        assert lvs[vol.name]['active'] is False
        assert lvs[vol.name]['size_bytes'] == 1 << 30
        assert data['metadata_free_percent'] > 90
    finally:
        w.driver.delete_snapshot(snap)
        w.driver.delete_volume(vol)
        w.driver.delete_volume(plain)


def test_cleanup_deactivates_unused_and_skips_open(cw):
    w = cw
    idle, busy = w.volume(1), w.volume(1)
    for v in (idle, busy):
        w.driver.create_volume(v)
    w.attach(idle, C1)
    busy_path = w.attach(busy, C1)
    holder = w.node(C1)
    # A local user holds busy open (as qemu would) for the whole cleanup.
    out, _err = holder.shell('(exec 3<%s; exec sleep 60) >/dev/null 2>&1 & '
                             'echo $!' % busy_path)
    pid = out.strip()
    try:
        rc, dry = cli(w, C1, 'cleanup', '--dry-run')
        assert rc == 0 and dry['deactivated'] == [idle.name]
        assert w.lvs(C1)[idle.name]['active']
        rc, data = cli(w, C1, 'cleanup')
        assert rc == 0, data
        assert data['deactivated'] == [idle.name]
        assert data['skipped_open'] == [busy.name]
        lvs = w.lvs(C1)
        assert not lvs[idle.name]['active']
        assert lvs[busy.name]['active'] and lvs[busy.name]['open']
    finally:
        holder.execute('kill', pid, check_exit_code=False)
        holder.shell('while kill -0 %s 2>/dev/null; do sleep 0.1; done' % pid)
    w.detach(busy, C1)
    w.forget_attachment(idle, C1)
    for v in (idle, busy):
        w.driver.delete_volume(v)
    assert not w.stale_dm_devices()
