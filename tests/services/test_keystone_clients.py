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

"""The clients that need Keystone: the ``openstack`` CLI and Horizon.

One Keystone-authenticated stack (``Stack(keystone=True, glance=True)``)
around the rig serves both. The ``openstack`` steps are those of
doc/source/admin/openstack_cli.rst (``openstack_cli``); the Horizon test
clicks through Project > Volumes in headless Chromium
(``horizon_browser``), saves its screenshots into doc/source/horizon/, and
checks each volume and the snapshot against the LVs of the VG.
"""

import json
import os

import pytest

from rig import RigClient
from tests.services import cloud
from tests.services import horizon
from tests.services import lifecycle
from tests.services import openstack_cli
from tests.services import stack as stackmod

DEFAULT_TYPE = 'shared-a'
# NOTE: tools/horizon-test refreshes the screenshots that the docs show;
# every other run keeps its own, so a test run leaves the tree as it was.
SHOTS = os.path.join(stackmod.REPO, os.environ.get(
    'CSLVM_HORIZON_SHOTS', '.horizon-shots'))


@pytest.fixture(scope='module')
def life(services_rig_state):
    client = RigClient(services_rig_state)
    stack = stackmod.Stack(services_rig_state, vg=lifecycle.VG,
                           keystone=True, glance=True)
    life = lifecycle.CliLifecycle(stack, client, progress=lambda line: None)
    life.prepare_vg()
    try:
        stack.start()
        # The stack's default_volume_type: what a create without a type
        # (Horizon's form, a volume from a snapshot) gets.
        life.cinder('type-create', DEFAULT_TYPE)
        life.cinder('type-key', DEFAULT_TYPE, 'set',
                    'volume_backend_name=%s' % stackmod.BACKEND)
        yield life
    finally:
        try:
            stack.cleanup()
        finally:
            lifecycle.remove_vg(client)


def test_openstack_cli_steps(life):
    steps = openstack_cli.OpenStackCli(life)
    try:
        steps.run_all()
    finally:
        steps.cleanup()
    assert [row[0] for row in life.rows] == [
        name for name, _method in openstack_cli.OpenStackCli.STEPS]


def _by_name(life, kind):
    """{name: id} of this project's volumes or snapshots."""
    rows = stackmod.parse_table(life.cinder(
        'list' if kind == 'volume' else 'snapshot-list').stdout)
    return {r['Name']: r['ID'] for r in rows}


def test_horizon_volume_panels(life):
    reason = horizon.skip_reason()
    if reason:
        pytest.fail(reason)     # a skip here would hide a broken setup
    os.makedirs(SHOTS, exist_ok=True)
    web = horizon.Horizon(life.stack, life.stack.keystone.url).start()
    res = web.browse(SHOTS, 'admin', cloud.ADMIN_PASSWORD)
    report = json.loads(res.stdout or '{}')
    with open(os.path.join(SHOTS, 'report.json'), 'w') as f:
        json.dump(report, f, indent=2, sort_keys=True)
        f.write('\n')
    assert res.returncode == 0, '%s\n%s\n%s' % (
        report.get('error'), res.stderr[-3000:], life.stack.tail('horizon'))
    volumes, snapshots = _by_name(life, 'volume'), _by_name(life, 'snapshot')
    lvs = life.lvs()
    for name in ('hz-vol1', 'hz-vol2'):
        lv = lvs['volume-%s' % volumes[name]]
        assert lv['size_bytes'] == lifecycle.GIB and not lv['is_snapshot']
    snap = lvs['_snapshot-%s' % snapshots['hz-snap1']]
    assert snap['is_snapshot'] and \
        snap['origin'] == 'volume-%s' % volumes['hz-vol1']
    assert [a['http_status'] for a in report['admin']] == [200, 200, 200]
