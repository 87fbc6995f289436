"""Bad input (DESIGN.md rule 8): focused regressions of what the bad-input
cases found. The full case list is ``tests/bad_input_cases.py``; its table
is ``doc/source/bad_input.rst``.
"""

import pytest

from cinder_shared_lvm import connector
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm
from tests.unit import test_connector as tc


@pytest.mark.parametrize('name', ['legacy\n', 'lv\n', '\nlv', 'l\nv'])
def test_name_with_a_newline_is_refused(name):
    # '$' in a regex also matches before a trailing newline
    with pytest.raises(exception.InvalidName):
        lvm.validate_name(name)


def test_tag_with_a_trailing_newline_is_refused():
    with pytest.raises(exception.InvalidName):
        lvm.validate_tag('shared_lvm_snapshot_copy\n')


@pytest.mark.parametrize('over', [
    {'devices': ['/dev/sdb\n']},
    {'lv_uuid': tc.LV_UUID + '\n'},
    {'vg_uuid': tc.VG_UUID + '\n'},
], ids=['device', 'lv_uuid', 'vg_uuid'])
def test_connection_data_with_a_trailing_newline_is_refused(tc_fake, over):
    conn = tc.make_conn(tc_fake)
    with pytest.raises(exception.InvalidConnectionInfo):
        conn.connect_volume(tc.props(**over))
    assert tc_fake.calls == []


@pytest.fixture
def tc_fake(clock):
    return tc.fakes.FakeExecutor([
        (('blockdev', '--getsize64'), ('%d\n' % tc.SIZE, ''))])


@pytest.fixture
def clock(monkeypatch):
    clk = tc.Clock()
    monkeypatch.setattr(connector.time, 'monotonic', clk.monotonic)
    monkeypatch.setattr(connector.time, 'sleep', clk.sleep)
    return clk


def test_connect_refuses_a_snapshot_lv(tc_fake):
    tc.with_lv(tc_fake, attr='swi-------')
    with pytest.raises(exception.InvalidConnectionInfo, match='snapshot'):
        tc.make_conn(tc_fake).connect_volume(tc.props())
    assert tc_fake.commands == [tc.LVS]


def test_connect_refuses_shared_activation_of_a_family(tc_fake):
    tc.with_lv(tc_fake, attr='owi-------')
    with pytest.raises(exception.InvalidConnectionInfo, match='one host'):
        tc.make_conn(tc_fake).connect_volume(tc.props())
    assert tc_fake.commands == [tc.LVS]


def test_connect_family_exclusive_is_allowed(tc_fake):
    tc.with_lv(tc_fake, attr='owi-------')
    tc.make_conn(tc_fake).connect_volume(tc.props(activation='exclusive'))
    assert tc.ACTIVATE_EX in tc_fake.commands


def test_connector_vgs_as_a_string_is_refused(drv):
    # 'uuid in a_string' is a substring test
    with pytest.raises(exc.ConnectorRefused):
        drv.validate_connector({'host': 'cmp1',
                                'shared_lvm_vgs': 'xx VG-UUID-1 xx'})
