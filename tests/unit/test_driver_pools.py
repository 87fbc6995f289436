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

"""Several VGs as pools of one backend (cinder_shared_lvm/pools.py).

Two fake VGs, vga on /dev/sdb and vgb on /dev/sdc, answer the commands
addressed to them; each test asserts which VG every command went to, and
that a pool's commands carry only its own device in their filter.
"""

from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver_exception as exc
from tests import cinder_objects
from tests.unit import fakes
from tests.unit.fakes import lvs

GiB = fakes.GiB
DEVICES = {'vga': '/dev/sdb', 'vgb': '/dev/sdc'}
VOL = 'volume-%s' % fake.VOLUME_ID
VOL2 = 'volume-%s' % fake.VOLUME2_ID
HOST = 'cinder@backend1#%s'


@pytest.fixture
def vgs():
    return {name: fakes.FakeVG(name=name, uuid='UUID-' + name,
                               size=(10 if name == 'vga' else 20) * GiB)
            for name in DEVICES}


@pytest.fixture
def executor(vgs):
    """Answers each command from the fake VG it names."""
    def vg_of(argv):
        return vgs.get(argv[-1].split('/')[0]) or vgs['vga']

    def by_vg(method):
        return lambda argv: getattr(vg_of(argv), method)(argv)

    def pvs(argv):
        return ''.join('  %s|%s|%d|0\n' % (vg, dev, vgs[vg].size)
                       for vg, dev in DEVICES.items()), ''
    return fakes.FakeExecutor([
        (('pvs',), pvs), (('vgs',), by_vg('_vgs')), (('lvs',), by_vg('_lvs')),
        (('lvremove', '-f', '--select'), by_vg('_lvremove')),
        (('vgchange', '--addtag'), by_vg('_vgchange'))])


@pytest.fixture
def drv(make_driver):
    return make_driver(shared_lvm_volume_groups=['vga', 'vgb'],
                       shared_lvm_devices=list(DEVICES.values()))


def _on(executor, vg):
    """The commands (stripped) that name VG *vg* or one of its LVs."""
    return [c for c in executor.commands
            if c and (c[-1] == vg or c[-1].startswith(vg + '/') or
                      any(a.startswith(('/dev/%s/' % vg, 'if=/dev/%s/' % vg,
                                        'of=/dev/%s/' % vg)) for a in c))]


def test_each_pool_sees_only_its_own_device(drv, executor):
    assert sorted(drv.pool_drivers) == ['vga', 'vgb']
    for vg, dev in DEVICES.items():
        assert drv.pool_drivers[vg].vg.devices == [dev]
    executor.reset()
    drv.get_volume_stats(refresh=True)
    for argv, _kw in executor.calls:
        target = fakes.strip_config(argv)[-1].split('/')[0]
        config = fakes.config_of(argv)
        if target in DEVICES:
            other, = set(DEVICES.values()) - {DEVICES[target]}
            assert DEVICES[target] in config and other not in config


def test_stats_report_one_pool_per_vg(drv):
    stats = drv.get_volume_stats(refresh=True)
    pools = {p['pool_name']: p for p in stats['pools']}
    assert sorted(pools) == ['vga', 'vgb']
    assert pools['vga']['total_capacity_gb'] == 10
    assert pools['vgb']['total_capacity_gb'] == 20
    assert pools['vgb']['location_info'].endswith(':vgb:UUID-vgb')
    assert {p['backend_state'] for p in pools.values()} == {'up'}


def test_a_volume_is_created_in_its_pool(drv, executor, make_volume):
    drv.create_volume(make_volume(host=HOST % 'vgb'))
    creates = [c for c in executor.commands if c[0] == 'lvcreate']
    assert len(creates) == 1 and creates[0][-1] == 'vgb'
    assert _on(executor, 'vga') == []


def test_delete_and_snapshot_stay_in_the_volume_pool(drv, executor, vgs,
                                                     make_volume,
                                                     make_snapshot):
    vgs['vgb'].add_lv(VOL, GiB)
    vol = make_volume(host=HOST % 'vgb')
    drv.create_snapshot(make_snapshot(vol))
    drv.delete_volume(make_volume(id=fake.VOLUME2_ID, host=HOST % 'vgb'))
    assert _on(executor, 'vga') == []
    assert ('lvcreate', '-s') == tuple(
        c for c in executor.commands if c[0] == 'lvcreate')[0][:2]


def test_a_volume_in_an_unknown_pool_is_refused(drv, executor,
                                                make_volume):
    with pytest.raises(exc.InvalidRequest, match="pool 'vgc'"):
        drv.create_volume(make_volume(host=HOST % 'vgc'))
    assert executor.commands == []


def test_a_clone_across_pools_copies_between_the_vgs(drv, executor, vgs,
                                                     make_volume):
    vgs['vga'].add_lv(VOL, GiB)
    src = make_volume(host=HOST % 'vga')
    dst = make_volume(id=fake.VOLUME2_ID, host=HOST % 'vgb')
    drv.create_cloned_volume(dst, src)
    assert lvs('vga/' + VOL) in executor.commands
    creates = [c for c in executor.commands if c[0] == 'lvcreate']
    assert [c[-1] for c in creates] == ['vgb']
    copies = [c for c in executor.commands if c[0] == 'dd']
    assert copies and copies[-1][1:3] == ('if=/dev/vga/' + VOL,
                                          'of=/dev/vgb/' + VOL2)


def test_a_missing_vg_fails_setup_and_names_it(make_driver):
    with pytest.raises(exc.InvalidRequest, match='vgz'):
        make_driver(shared_lvm_volume_groups=['vga', 'vgz'],
                    shared_lvm_devices=list(DEVICES.values()))


def test_manageable_volumes_come_from_every_pool(drv, vgs):
    vgs['vga'].add_lv('legacy-a', GiB)
    vgs['vgb'].add_lv('legacy-b', 2 * GiB)
    entries = drv.get_manageable_volumes([], None, 1000, 0, ['size'],
                                         ['asc'])
    assert [(e['reference']['source-name'], e['extra_info'])
            for e in entries] == [('legacy-a', 'pool vga'),
                                  ('legacy-b', 'pool vgb')]


def _host_of(vg, drv):
    stats = drv.get_volume_stats(refresh=True)
    pool, = [p for p in stats['pools'] if p['pool_name'] == vg]
    return {'host': HOST % vg, 'capabilities': pool}


def test_migration_to_another_pool_copies_then_removes(drv, executor,
                                                       vgs, make_volume):
    """The driver moves the LV itself: same name in the other VG, a copy
    through its executor, then the old LV goes."""
    vgs['vga'].add_lv(VOL, GiB)
    target = _host_of('vgb', drv)
    executor.reset()
    moved = drv.migrate_volume(None, make_volume(host=HOST % 'vga'),
                               target)
    assert moved == (True, None)
    creates = [c for c in executor.commands if c[0] == 'lvcreate']
    assert [(c[2], c[-1]) for c in creates] == [(VOL, 'vgb')]
    copy, = [c for c in executor.commands if c[0] == 'dd']
    assert copy[1:3] == ('if=/dev/vga/' + VOL, 'of=/dev/vgb/' + VOL)
    assert executor.commands[-1] == fakes.remove_unless_origin('vga', VOL)
    assert VOL not in vgs['vga'].lvs


def test_migration_of_an_origin_with_snapshots_is_refused(drv, executor,
                                                          vgs, make_volume):
    vgs['vga'].add_lv(VOL, GiB, attr='owi-------')
    target = _host_of('vgb', drv)
    executor.reset()
    with pytest.raises(exc.OperationRefused, match='snapshots'):
        drv.migrate_volume(None, make_volume(host=HOST % 'vga'), target)
    assert [c for c in executor.commands if fakes.is_metadata_write(c)] == []


def test_migration_to_another_pool_is_refused_while_attached(
        drv, executor, vgs, make_volume):
    vgs['vga'].add_lv(VOL, GiB)
    target = _host_of('vgb', drv)
    with pytest.raises(exc.OperationRefused, match='attached to cmp1'):
        drv.migrate_volume(None, make_volume(host=HOST % 'vga',
                                             attached_to=['cmp1']), target)


def _attach_when_copied(drv, vgs, volume, ctx):
    """At ``migrate:copied`` the copy exists in vgb and a host attaches
    the volume (Cinder allows it without ``--lock-volume``)."""
    def hook(point):
        if point == 'migrate:copied':
            vgs['vgb'].add_lv(VOL, GiB)
            cinder_objects.set_attachments(ctx, volume, [
                cinder_objects.attachment(ctx, volume, 'cmp2', 'attached')])
    drv.pause_hook = hook


def test_an_attach_during_the_migration_keeps_the_volume_in_place(
        drv, executor, vgs, make_volume, ctx):
    """The old LV is the one the guest writes: it stays, the copy goes,
    and the migration fails with the refusal."""
    vgs['vga'].add_lv(VOL, GiB)
    volume = make_volume(host=HOST % 'vga')
    target = _host_of('vgb', drv)
    _attach_when_copied(drv, vgs, volume, ctx)
    executor.reset()
    with pytest.raises(exc.VolumeBusyRefused, match='attached to cmp2'):
        drv.migrate_volume(None, volume, target)
    removals = [c for c in executor.commands if c[0] == 'lvremove']
    assert removals == [('lvremove', '-f', 'vgb/' + VOL)]
    assert VOL in vgs['vga'].lvs


def test_a_failed_removal_of_the_old_lv_undoes_the_copy(
        drv, executor, vgs, make_volume):
    vgs['vga'].add_lv(VOL, GiB)
    target = _host_of('vgb', drv)
    drv.pause_hook = lambda point: (point == 'migrate:copied' and
                                    vgs['vgb'].add_lv(VOL, GiB))
    executor.add(('lvremove', '-f', '--select'),
                 fakes.pe_error(5, 'metadata write failed'))
    with pytest.raises(Exception, match='metadata write failed'):
        drv.migrate_volume(None, make_volume(host=HOST % 'vga'), target)
    assert VOL in vgs['vga'].lvs
    assert ('lvremove', '-f', 'vgb/' + VOL) in executor.commands


def test_an_error_after_the_old_lv_went_keeps_the_copy(
        drv, executor, vgs, make_volume, caplog):
    """lvremove removed the LV but exited non-zero: the copy is now the
    only one and stays; the migration succeeds and the log says so."""
    vgs['vga'].add_lv(VOL, GiB)
    target = _host_of('vgb', drv)

    def remove_then_fail(argv):
        vgs['vga']._lvremove(argv)
        raise fakes.pe_error(5, 'failed to back up metadata')
    executor.add(('lvremove', '-f', '--select'), remove_then_fail)
    executor.reset()
    assert drv.migrate_volume(None, make_volume(host=HOST % 'vga'),
                              target) == (True, None)
    assert VOL not in vgs['vga'].lvs
    assert not [c for c in executor.commands
                if c[0] == 'lvremove' and c[-1] == 'vgb/' + VOL]
    assert 'the removal of its old LV vga/%s reported an error' % VOL \
        in caplog.text


def test_migration_within_the_pool_keeps_the_lv(drv, vgs, make_volume):
    vgs['vga'].add_lv(VOL, GiB)
    target = _host_of('vga', drv)
    assert drv.migrate_volume(None, make_volume(host=HOST % 'vga'),
                              target) == (True, None)


def test_the_migrated_lv_is_renamed_in_the_new_pool(drv, executor, vgs,
                                                    make_volume):
    vgs['vgb'].add_lv(VOL2, GiB)
    original = make_volume(host=HOST % 'vga')
    new = make_volume(id=fake.VOLUME2_ID, host=HOST % 'vgb')
    assert drv.update_migrated_volume(None, original, new, 'available') == {
        '_name_id': None, 'provider_location': None}
    renames = [c for c in executor.commands if c[0] == 'lvrename']
    assert renames == [('lvrename', 'vgb', VOL2, VOL)]


def test_a_connector_must_see_every_vg_of_the_backend(drv):
    both = {'host': 'cmp1', 'shared_lvm_vgs': ['UUID-vga', 'UUID-vgb']}
    drv.validate_connector(both)
    with pytest.raises(exc.SharedLVMDriverError, match='vgb'):
        drv.validate_connector({'host': 'cmp1',
                                'shared_lvm_vgs': ['UUID-vga']})
