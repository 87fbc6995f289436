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

"""Run every cell of doc/source/operations.rst against the driver.

The table is parsed from the doc, so the doc and the driver cannot drift.
"""

import ast
import copy
import os
import re

from cinder import exception as cinder_exception
from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import family
from tests.unit import fakes

GiB = fakes.GiB
VG = 'cinder-shared'
VOL = 'volume-%s' % fake.VOLUME_ID
SNAP = '_snapshot-%s' % fake.SNAPSHOT_ID
ROOT = os.path.join(os.path.dirname(__file__), '..', '..')
DOC = os.path.join(ROOT, 'doc', 'source', 'operations.rst')
RIG_TESTS = os.path.join(ROOT, 'tests', 'functional', 'test_policy.py')


def _tables() -> list:
    """Every simple table of the doc, as lists of split rows."""
    with open(DOC) as f:
        lines = f.read().splitlines()
    rules = [i for i, line in enumerate(lines) if re.match(r'^=+(  +=+)+$',
                                                           line)]
    tables = []
    for top, mid, bottom in zip(rules[0::3], rules[1::3], rules[2::3]):
        tables.append([lines[top + 1].split()] +
                      [line.split() for line in lines[mid + 1:bottom]])
    return tables


def _table() -> list:
    """(operation, state, expected) for every cell of the doc's table."""
    header, *rows = _tables()[0]
    cells = []
    for op, *values in rows:
        assert len(values) == len(header) - 1, op
        cells += [(op, state, value) for state, value in zip(header[1:],
                                                             values)
                  if value != 'n/a']
    return cells


def rig_tests() -> dict:
    """{row: test name} of the doc's 'Rig tests' table."""
    header, *rows = _tables()[1]
    assert header == ['Row', 'Rig', 'test'], header
    return {row: test for row, test in rows}


CELLS = _table()


@pytest.fixture
def state(request, fake_vg, make_volume, make_snapshot):
    """Build the VG and Cinder objects of one column of the table."""
    name = request.param
    is_family = name.startswith("family")
    hosts = {'detached': [], 'attached': ['cmp2'],
             'attached-2': ['cmp2', 'cmp3'], 'family': [],
             'family-att': ['cmp2'], 'copying': [],
             'family-copying': []}[name]
    if is_family:
        fake_vg.add_lv(VOL, GiB, attr='owi-------')
        fake_vg.add_lv(SNAP, GiB, attr='swi-------', origin=VOL)
    else:
        fake_vg.add_lv(VOL, GiB)
        fake_vg.add_lv(SNAP, GiB, tags='shared_lvm_snapshot_copy')
    vol = make_volume(attached_to=hosts, multiattach=len(hosts) > 1)
    # what a running copy holds (datapath.DataPath.activated): a clone
    # holds its source; a copy from a COW snapshot, the snapshot and origin
    # (a lease, datapath.DataPath.lease): the family's unit is counted
    # as active here, and the LV the copy reads is marked read.
    reads = {'copying': (VOL,), 'family-copying': (SNAP,)}.get(name)
    if reads:
        family.ACTIVE.acquire(fake_vg.name, VOL, reads)
    yield vol, make_snapshot(vol)
    if reads:
        family.ACTIVE.release(fake_vg.name, VOL, reads)


def _run(op, drv, ctx, make_volume, vol, snap):
    new = make_volume(id=fake.VOLUME2_ID, size=1)
    connector = {'host': 'cmp1', 'shared_lvm_vgs': ['VG-UUID-1']}
    if op == 'attach':
        info = drv.initialize_connection(vol, connector)
        return info['data']['activation']
    host = {'host': 'c2@b', 'capabilities': {
        'location_info': 'SharedLVMDriver:c2:cinder-shared:VG-UUID-1'}}
    calls = {
        'extend': lambda: drv.extend_volume(vol, 2),
        'snapshot-cow': lambda: drv.create_snapshot(snap),
        'snapshot-copy': lambda: drv.create_snapshot(snap),
        'delete-snapshot': lambda: drv.delete_snapshot(snap),
        'volume-from-snapshot': lambda: drv.create_volume_from_snapshot(
            new, snap),
        'revert': lambda: drv.revert_to_snapshot(ctx, vol, snap),
        'clone': lambda: drv.create_cloned_volume(new, vol),
        'upload-to-image': lambda: drv.copy_volume_to_image(
            ctx, vol, None, {'id': fake.IMAGE_ID}),
        'delete': lambda: drv.delete_volume(vol),
        'migrate-same-vg': lambda: drv.migrate_volume(ctx, vol, host),
    }
    calls[op]()
    return 'ok'


@pytest.mark.parametrize('op,state,expected', CELLS,
                         indirect=['state'],
                         ids=['%s-%s' % (o, s) for o, s, _e in CELLS])
def test_operation_in_state(make_driver, executor, fake_vg, ctx,
                            make_volume, op, state, expected, monkeypatch):
    mode = 'copy' if op == 'snapshot-copy' else 'cow'
    drv = make_driver(shared_lvm_snapshot_mode=mode)
    # the image service side of an upload is not what this table is about
    monkeypatch.setattr(drv.datapath, 'lv_to_image',
                        lambda *a, **kw: None)
    vol, snap = state
    if expected in ('refused', 'busy'):
        before = copy.deepcopy(fake_vg.lvs)
        with pytest.raises(exc.OperationRefused) as err:
            _run(op, drv, ctx, make_volume, vol, snap)
        busy = (cinder_exception.VolumeIsBusy,
                cinder_exception.SnapshotIsBusy)
        assert isinstance(err.value, busy) == (expected == 'busy')
        # NOTE: a delete's one-command lvremove selects no origin; for a
        # family it runs, removes nothing, and the refusal follows. The
        # fake VG models that selection, so judge by what it holds after.
        assert fake_vg.lvs == before
        assert [c for c in executor.commands
                if fakes.is_metadata_write(c)
                and c != fakes.remove_unless_origin(VG, VOL)] == []
    else:
        assert _run(op, drv, ctx, make_volume, vol, snap) == expected


def test_table_covers_every_state_and_many_operations():
    assert {s for _o, s, _e in CELLS} == {
        'detached', 'attached', 'attached-2', 'family', 'family-att',
        'copying', 'family-copying'}
    assert len({o for o, _s, _e in CELLS}) >= 11


def _rig_functions() -> dict:
    """{name: function node} of the rig's policy tests."""
    with open(RIG_TESTS) as f:
        tree = ast.parse(f.read())
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_every_row_names_a_rig_test_that_exists_and_runs_the_row():
    named = rig_tests()
    functions = _rig_functions()
    ops = {o for o, _s, _e in CELLS}
    assert ops <= set(named), ops - set(named)
    assert {r for r in named if r.startswith('live-migration')}, named
    for row, test in named.items():
        module, _sep, name = test.partition('::')
        assert module == 'test_policy.py' and name in functions, test
        if row in ops:
            # the test runs this row: run_row('<row>') in its body
            strings = {n.value for n in ast.walk(functions[name])
                       if isinstance(n, ast.Constant)}
            assert row in strings, (row, test)


def _plain(name):
    return {'name': name, 'origin': None, 'is_snapshot': False,
            'has_snapshots': False}


def test_two_copies_of_one_source_share_its_activation(
        drv, executor, fake_vg):
    """The first copy to finish must not deactivate what the other reads."""
    fake_vg.add_lv(VOL, GiB)
    ref = '%s/%s' % (fake_vg.name, VOL)
    vg = fake_vg.name
    first = drv.datapath.lease(VOL, _plain(VOL), 'copy 1', reads=(VOL,))
    with drv.datapath.lease(VOL, _plain(VOL), 'copy 2', reads=(VOL,)):
        assert family.ACTIVE.read_by_copy(vg, [VOL]) == [VOL]
        first.release()
        assert fakes.deactivate(ref) not in executor.commands
        assert family.ACTIVE.users(vg, VOL) == 1
    assert executor.commands == [fakes.activate(ref), fakes.refresh(ref),
                                 fakes.deactivate(ref)]
    assert family.ACTIVE.read_by_copy(vg, [VOL]) == []
    assert family.ACTIVE.users(vg, VOL) == 0


def test_a_failed_deactivation_keeps_the_family_counted(drv, executor,
                                                        fake_vg,
                                                        make_volume):
    """Still active here: an attach elsewhere must be refused (rule 5)."""
    fake_vg.add_lv(VOL, GiB)
    executor.add(('lvchange', '-an'), fakes.pe_error(5, 'in use'))
    with pytest.raises(Exception):
        with drv.datapath.lease(VOL, _plain(VOL), 'copy', reads=(VOL,)):
            pass
    assert family.ACTIVE.read_by_copy(fake_vg.name, [VOL]) == []
    assert family.ACTIVE.users(fake_vg.name, VOL) == 1
    vol = make_volume()
    with pytest.raises(exc.OperationRefused, match='still|running'):
        drv.initialize_connection(vol, {'host': 'cmp1',
                                        'shared_lvm_vgs': ['VG-UUID-1']})
    family.ACTIVE.release(fake_vg.name, VOL, ())
