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

"""Every bad-input case (tests/bad_input_cases.py) on the rig.

The real driver runs on cinder-node and the real connector on compute-1.
Each case must raise its error and change nothing: vg_seqno, the LV list
(names, UUIDs, sizes, attributes) and every host's device-mapper devices
are the same as before the first case. The table of cases and outcomes is
doc/source/bad_input.rst.
"""

import pytest

from cinder_shared_lvm import connector as connmod
from tests import bad_input_cases as cases
from tests.functional import world as worldmod

pytestmark = pytest.mark.functional

VG = 'badvg'
C1, C2, NODE = 'compute-1', 'compute-2', worldmod.CINDER_NODE
HOSTS = (NODE, C1, C2)
GIB = 1 << 30


class RigEnv(object):
    """What cases.run needs: a 2 GiB volume with a COW snapshot and an LV
    that Cinder does not manage, on the shared VG."""

    def __init__(self, world):
        self.w = world
        self.driver = drv = world.driver
        self.volume = world.volume(size=2)
        drv.create_volume(self.volume)
        self.snap = world.snapshot(self.volume)
        drv.create_snapshot(self.snap)
        self.snap_lv = '_' + self.snap.name
        world.node().execute('lvcreate', '-an', '-Zn', '-n', 'legacy', '-L',
                             '8m', '--yes', VG)
        # metadata only (no I/O): leaves room for sizes above the free
        # space but below the VG's size, for create and for extend
        world.node().execute('lvcreate', '-an', '-Zn', '-n', 'filler', '-L',
                             '6g', '--yes', VG)
        lvs = world.lvs()
        drv.vg.update_volume_group_info()
        free = drv.vg.vg_free_space
        extend_to = int(free) + 3
        assert extend_to < drv.vg.vg_size, (free, drv.vg.vg_size)
        self.subs = {'vg': VG, 'volume': self.volume.name,
                     'snapshot': self.snap_lv, 'legacy': 'legacy',
                     'vg_uuid': drv.vg.vg_uuid,
                     'lv_uuid': lvs[self.volume.name]['uuid'],
                     'other_lv_uuid': lvs['legacy']['uuid'],
                     'beyond_free': int(free) + 1,
                     'extend_beyond_free': extend_to}

    def new_volume(self, size):
        return self.w.volume(size=size)

    def connector(self):
        return connmod.SharedLVMConnector(
            None, execute=self.w.node(C1).execute, host=C1,
            activation_timeout=5, device_scan_attempts=1)

    def connector_props(self):
        return self.w.connector_properties(C1)

    def connection_data(self):
        return self.driver.initialize_connection(
            self.volume, self.connector_props())['data']

    def observe(self):
        prefix = VG + '-'
        dm = {h: sorted(n for n in self.w.node(h).dm_tables()
                        if n.startswith(prefix)) for h in HOSTS}
        lvs = {n: (r['uuid'], r['size_bytes'], r['attr'], r['origin'])
               for n, r in self.w.lvs().items()}
        return {'vg_seqno': self.w.vg_seqno(), 'lvs': lvs, 'dm': dm}

    def close(self):
        self.driver.delete_snapshot(self.snap)
        self.driver.delete_volume(self.volume)


@pytest.fixture(scope='module')
def env(world_factory):
    w = world_factory(vg_name=VG)
    w.prepare_vg(expected_volumes=100)
    w.setup_driver()
    e = RigEnv(w)
    e.baseline = e.observe()
    yield e
    try:
        e.close()
        w.vgck()
    finally:
        w.remove_vg()


@pytest.mark.parametrize('case', cases.CASES, ids=[c.id for c in cases.CASES])
def test_bad_input(env, case):
    with pytest.raises(Exception) as err:
        cases.run(case, env)
    assert type(err.value).__name__ == case.error, repr(err.value)
    assert env.observe() == env.baseline
