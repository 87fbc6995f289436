"""Run every cell of doc/source/operations.rst against the driver.

The table is parsed from the doc, so the doc and the driver cannot drift.
"""

import os
import re

from cinder import exception as cinder_exception
from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver_exception as exc
from tests.unit import fakes

GiB = fakes.GiB
VOL = 'volume-%s' % fake.VOLUME_ID
SNAP = '_snapshot-%s' % fake.SNAPSHOT_ID
DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'doc', 'source',
                   'operations.rst')


def _table() -> list:
    """(operation, state, expected) for every cell of the doc's table."""
    with open(DOC) as f:
        lines = f.read().splitlines()
    rules = [i for i, line in enumerate(lines) if re.match(r'^=+(  +=+)+$',
                                                           line)]
    header = lines[rules[0] + 1].split()[1:]
    cells = []
    for line in lines[rules[1] + 1:rules[2]]:
        op, *values = line.split()
        assert len(values) == len(header), line
        cells += [(op, state, value) for state, value in zip(header, values)
                  if value != 'n/a']
    return cells


CELLS = _table()


@pytest.fixture
def state(request, fake_vg, make_volume, make_snapshot):
    """Build the VG and Cinder objects of one column of the table."""
    name = request.param
    family = name.startswith('family')
    hosts = {'detached': [], 'attached': ['cmp2'],
             'attached-2': ['cmp2', 'cmp3'], 'family': [],
             'family-att': ['cmp2']}[name]
    if family:
        fake_vg.add_lv(VOL, GiB, attr='owi-------')
        fake_vg.add_lv(SNAP, GiB, attr='swi-------', origin=VOL)
    else:
        fake_vg.add_lv(VOL, GiB)
        fake_vg.add_lv(SNAP, GiB, tags='shared_lvm_snapshot_copy')
    vol = make_volume(attached_to=hosts, multiattach=len(hosts) > 1)
    return vol, make_snapshot(vol)


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
def test_operation_in_state(make_driver, executor, ctx, make_volume, op,
                            state, expected, monkeypatch):
    mode = 'copy' if op == 'snapshot-copy' else 'cow'
    drv = make_driver(shared_lvm_snapshot_mode=mode)
    # the image service side of an upload is not what this table is about
    monkeypatch.setattr(drv.datapath, 'lv_to_image',
                        lambda *a, **kw: None)
    vol, snap = state
    if expected in ('refused', 'busy'):
        with pytest.raises(exc.OperationRefused) as err:
            _run(op, drv, ctx, make_volume, vol, snap)
        busy = (cinder_exception.VolumeIsBusy,
                cinder_exception.SnapshotIsBusy)
        assert isinstance(err.value, busy) == (expected == 'busy')
        assert [c for c in executor.commands
                if fakes.is_metadata_write(c)] == []
    else:
        assert _run(op, drv, ctx, make_volume, vol, snap) == expected


def test_table_covers_every_state_and_many_operations():
    assert {s for _o, s, _e in CELLS} == {
        'detached', 'attached', 'attached-2', 'family', 'family-att'}
    assert len({o for o, _s, _e in CELLS}) >= 11
