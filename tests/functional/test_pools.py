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

"""Several VGs as pools of one backend, on the rig's two shared LUNs.

VG ``poola`` on /dev/vda and ``poolb`` on /dev/vdb, one backend with
``shared_lvm_volume_groups = poola, poolb``. Data is written and checked
with sha256 on the compute hosts; copies between the pools run
concurrently with creates in both, and one fails mid-step.
"""

import threading

import pytest

from tests.functional import inject
from tests.functional import world as worldmod

pytestmark = pytest.mark.functional

POOLS = {'poola': '/dev/vda', 'poolb': '/dev/vdb'}
BACKEND = 'pools'
DATA_MIB = 8


@pytest.fixture(scope='module')
def pools(world_factory):
    single = {vg: world_factory(vg_name=vg, devices=[dev])
              for vg, dev in POOLS.items()}
    for w in single.values():
        w.prepare_vg()
    w = world_factory(vg_name='poola', backend=BACKEND,
                      devices=list(POOLS.values()),
                      overrides={'shared_lvm_volume_groups': list(POOLS)})
    w.setup_driver()
    yield w, single
    for host in ('compute-1', 'compute-2'):
        for vg in POOLS:
            w.rig.host(host).execute('lvchange', '-an', vg,
                                     check_exit_code=False)
    for vg in single.values():
        vg.remove_vg()


def _volume(w, pool, size=1):
    return w.volume(size=size, host='%s@%s#%s' % (worldmod.CINDER_NODE,
                                                  BACKEND, pool))


def _write(w, vol, host, seed):
    with w.attached(vol, host) as path:
        return w.write(host, path, worldmod.pattern(seed, DATA_MIB * 2 ** 20))


def _checksum(w, vol, host):
    with w.attached(vol, host) as path:
        return w.checksum(host, path, DATA_MIB)


def test_each_vg_is_a_pool_with_its_own_figures(pools):
    w, single = pools
    stats = w.driver.get_volume_stats(refresh=True)
    by_name = {p['pool_name']: p for p in stats['pools']}
    assert sorted(by_name) == sorted(POOLS)
    assert by_name['poolb']['total_capacity_gb'] < \
        by_name['poola']['total_capacity_gb']
    for vg, pool in by_name.items():
        assert pool['backend_state'] == 'up'
        assert pool['location_info'].split(':')[2] == vg
        assert w.driver.pool_drivers[vg].vg.devices == [POOLS[vg]]


def test_copies_across_pools_keep_the_data(pools):
    """A volume in poolb; a clone of it in poola; a COW snapshot of it in
    poolb, new data on the origin, and a volume from the snapshot in
    poola that holds the data of the snapshot's moment."""
    w, single = pools
    drv = w.driver
    origin = _volume(w, 'poolb')
    drv.create_volume(origin)
    first = _write(w, origin, 'compute-1', 'first')
    clone = _volume(w, 'poola')
    drv.create_cloned_volume(clone, origin)
    snap = w.snapshot(origin)
    drv.create_snapshot(snap)
    assert single['poolb'].lvs()['_snapshot-' + snap.id]['is_snapshot']
    second = _write(w, origin, 'compute-1', 'second')
    from_snap = _volume(w, 'poola')
    drv.create_volume_from_snapshot(from_snap, snap)
    assert _checksum(w, clone, 'compute-2') == first
    assert _checksum(w, from_snap, 'compute-2') == first
    assert _checksum(w, origin, 'compute-2') == second
    assert set(single['poola'].lvs()) == {clone.name, from_snap.name}
    drv.delete_snapshot(snap)
    for vol in (origin, clone, from_snap):
        drv.delete_volume(vol)
    assert single['poola'].lvs() == {} and single['poolb'].lvs() == {}


def test_concurrent_creates_and_copies_in_both_pools(pools):
    w, single = pools
    drv = w.driver
    source = _volume(w, 'poola')
    drv.create_volume(source)
    data = _write(w, source, 'compute-1', 'source')
    made = [_volume(w, 'poola' if i % 2 else 'poolb') for i in range(8)]
    copies = [_volume(w, 'poolb') for _ in range(2)]
    errors = []

    def run(func, *args):
        try:
            func(*args)
        except Exception as err:  # noqa
            errors.append(err)
    threads = [threading.Thread(target=run, args=(drv.create_volume, v))
               for v in made]
    threads += [threading.Thread(target=run, args=(
        drv.create_cloned_volume, c, source)) for c in copies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for vg in POOLS:
        want = {v.name for v in made + copies + [source]
                if v.host.endswith('#' + vg)}
        assert set(single[vg].lvs()) == want
        assert 'error' not in single[vg].vgck().lower()
    assert [_checksum(w, c, 'compute-2') for c in copies] == [data, data]
    for vol in made + copies + [source]:
        drv.delete_volume(vol)
    assert w.stale_dm_devices() == {}


def test_a_failed_copy_across_pools_leaves_nothing(pools):
    """The new LV's activation fails (after the source's -ay and
    --refresh): the new LV in poolb is removed, the source in poola is
    deactivated again and keeps its data."""
    w, single = pools
    drv = w.driver
    node = w.node()
    source = _volume(w, 'poola')
    drv.create_volume(source)
    data = _write(w, source, 'compute-1', 'kept')
    clone = _volume(w, 'poolb')
    inject.install(node, 'lvchange')
    inject.arm(node, 'lvchange', after=2)
    try:
        with pytest.raises(Exception, match='injected failure'):
            drv.create_cloned_volume(clone, source)
    finally:
        inject.disarm(node, 'lvchange')
    assert clone.name not in single['poolb'].lvs()
    assert not single['poola'].lvs()[source.name]['active']
    assert [n for n in node.dm_tables() if n.startswith('pool')] == []
    assert _checksum(w, source, 'compute-2') == data
    drv.delete_volume(source)
