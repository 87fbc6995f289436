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
from tests.functional import races
from tests.functional import world as worldmod

pytestmark = pytest.mark.functional

POOLS = {'poola': '/dev/vda', 'poolb': '/dev/vdb'}
BACKEND = 'pools'
DATA_MIB = 8
C1, C2 = races.C1, races.C2


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


def _target(w, pool):
    """The ``host`` argument Cinder's migrate_volume gives the driver."""
    stats = w.driver.get_volume_stats(refresh=True)
    caps, = [p for p in stats['pools'] if p['pool_name'] == pool]
    return {'host': '%s@%s#%s' % (worldmod.CINDER_NODE, BACKEND, pool),
            'capabilities': caps}


def _seed(w, vol, data):
    with w.attached(vol, C1) as path:
        w.write(C1, path, data.a + data.b0)


def _settle_migration(w, single, vol, moved, data_sum):
    """Check that the volume is whole in exactly one pool, then delete.

    :param moved: the migration succeeded (Cinder then records the new
                  pool in the volume's host)
    :param data_sum: sha256 of the volume's first 2 MiB as it must be
    """
    if moved:
        vol.host = '%s@%s#%s' % (worldmod.CINDER_NODE, BACKEND, 'poolb')
    here, gone = ('poolb', 'poola') if moved else ('poola', 'poolb')
    assert vol.name in single[here].lvs()
    assert vol.name not in single[gone].lvs()
    with w.attached(vol, C1) as path:
        assert w.checksum(C1, path, 2) == data_sum
    w.driver.delete_volume(vol)
    for vg in POOLS:
        assert 'error' not in single[vg].vgck().lower()
    assert w.stale_dm_devices() == {}


@pytest.mark.parametrize('offset', ['decided', 'active', 'copied'])
def test_a_migration_racing_an_attach_keeps_the_guest_data(pools, offset):
    """``cinder migrate`` of an available volume to the other pool while a
    host attaches it (Cinder allows that without ``--lock-volume``).

    The migration is held at *offset*: ``decided`` (it holds the family
    lock), ``active`` (the copy's lease) or ``copied`` (the copy is
    done, the lock free, the old LV not yet removed). Whatever wins,
    the guest's write must be in the LV the volume keeps: either the
    attach is refused and the volume moves, or the attach succeeds and
    the migration fails with the copy removed.
    """
    w, single = pools
    drv = w.driver
    vol = _volume(w, 'poola')
    drv.create_volume(vol)
    data = races.Data('migrate-' + offset)
    _seed(w, vol, data)
    pause = races.Pause('migrate:' + offset, 'migrate')
    attacher = races.Attacher(w, vol, C2, data)
    with races.paused_drivers([drv], pause), \
            races.Monitor(w, {vol.name: {vol.name}}) as monitor:
        migrate, mig_out = races.start('migrate', drv.migrate_volume,
                                       w.ctx, vol, _target(w, 'poolb'))
        assert pause.reached.wait(races.JOIN)
        attach, att_out = races.start('attach', attacher)
        races.wait_or_mark(pause, [attach], [att_out])
        pause.go.set()
        races.join([migrate, attach])
    assert monitor.violations == []
    outcomes = (mig_out.describe(), att_out.describe())
    print('migration racing an attach at %s: %s' % (offset,
                                                    '; '.join(outcomes)))
    # Exactly one of the two wins; never both (the guest would write an
    # LV the volume no longer has), never neither.
    assert (mig_out.error is None) != (att_out.error is None), outcomes
    if offset == 'active':
        assert att_out.error is not None, outcomes
    if offset == 'copied':
        assert mig_out.error is not None, outcomes
    if att_out.error is None:
        assert attacher.read_a == worldmod.sha256(data.a)
        w.detach(vol, C2)
    _settle_migration(w, single, vol, mig_out.error is None,
                      data.sum_b1 if att_out.error is None else data.sum_b0)


@pytest.mark.parametrize('command,after', [('lvchange', 2), ('lvremove', 0)])
def test_a_migration_that_fails_mid_step_keeps_the_volume(
        pools, command, after):
    """The copy (the new LV's activation, after the source's -ay and
    --refresh) or the removal of the old LV (lvremove) fails: the
    volume stays in its pool with its data, and the other pool has
    nothing left (the copy is cleared and removed)."""
    w, single = pools
    vol = _volume(w, 'poola')
    w.driver.create_volume(vol)
    data = races.Data('migrate-fault-' + command)
    _seed(w, vol, data)
    node = w.node()
    inject.install(node, command)
    inject.arm(node, command, after=after)
    try:
        with pytest.raises(Exception, match='injected failure'):
            w.driver.migrate_volume(w.ctx, vol, _target(w, 'poolb'))
    finally:
        inject.disarm(node, command)
    _settle_migration(w, single, vol, False, data.sum_b0)
