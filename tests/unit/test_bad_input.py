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

"""Bad input (design.rst rule 8): focused regressions of what the bad-input
cases found. The full case list is ``tests/bad_input_cases.py``; its table
is ``doc/source/bad_input.rst``.
"""

import pytest

from cinder_shared_lvm import connector
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm
from tests import bad_input_cases as cases
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


# -- every case of tests/bad_input_cases.py, against the recording executor --

UNIT_CASES = [c for c in cases.CASES if c.where == 'both']
VG_UUID = 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z'
VOL_UUID = '2872O1-EmVw-mbMU-GO1U-o1nd-BGC1-rg5rZq'
LEGACY_UUID = 'wRDTqN-zGtM-brT0-njyh-QacD-AJ4j-4sXh3k'


class UnitEnv(object):
    """What cases.run needs, on the fake VG: a 2 GiB volume with a COW
    snapshot, an unmanaged LV 'legacy', 10 GiB free of 100."""

    def __init__(self, drv, executor, fake_vg, make_volume, make_snapshot):
        from tests.unit import fakes
        fake_vg.uuid = VG_UUID
        fake_vg.free = 10 * fakes.GiB
        drv.vg.update_volume_group_info()
        self.driver = drv
        self.executor = executor
        self.volume = make_volume(size=2)
        snap = make_snapshot(self.volume)
        self.snap_lv = '_' + snap.name
        fake_vg.add_lv(self.volume.name, 2 * fakes.GiB, attr='owi-------',
                       uuid=VOL_UUID)
        fake_vg.add_lv(self.snap_lv, fakes.GiB, attr='swi-------',
                       origin=self.volume.name, uuid='s' + VOL_UUID[1:])
        fake_vg.add_lv('legacy', fakes.GiB, uuid=LEGACY_UUID)
        self._make_volume = make_volume
        self.subs = {'vg': fake_vg.name, 'volume': self.volume.name,
                     'snapshot': self.snap_lv, 'legacy': 'legacy',
                     'vg_uuid': VG_UUID, 'lv_uuid': VOL_UUID,
                     'other_lv_uuid': LEGACY_UUID, 'beyond_free': 50,
                     'extend_beyond_free': 50}

    def new_volume(self, size):
        from cinder.tests.unit import fake_constants as fake
        return self._make_volume(id=fake.VOLUME2_ID, size=size)

    def connector(self):
        return tc.make_conn(self.executor, device_scan_attempts=1)

    def connector_props(self):
        return {'host': 'compute-1', 'shared_lvm_vgs': [VG_UUID]}

    def connection_data(self):
        data = self.driver.initialize_connection(
            self.volume, self.connector_props())['data']
        self.executor.reset()
        return data


@pytest.mark.parametrize('case', UNIT_CASES, ids=[c.id for c in UNIT_CASES])
def test_bad_input_case(case, drv, executor, fake_vg, make_volume,
                        make_snapshot, clock):
    from tests.unit import fakes
    env = UnitEnv(drv, executor, fake_vg, make_volume, make_snapshot)
    with pytest.raises(Exception) as err:
        cases.run(case, env)
    assert type(err.value).__name__ == case.error, repr(err.value)
    changes = [c for c in executor.commands if fakes.is_metadata_write(c) or
               c[0] == 'lvchange' or c[0] in ('dd', 'dmsetup')]
    assert changes == []


def test_every_case_has_a_unique_id_and_a_known_error():
    assert len({c.id for c in cases.CASES}) == len(cases.CASES)
    for case in cases.CASES:
        cases.error_class(case.error)
        assert case.op in cases.OPS and case.where in ('both', 'rig')


def test_doc_table_is_the_rendered_case_list():
    """Run 'python -m tests.bad_input_cases --regen' after editing cases."""
    assert cases.doc_table() == cases.render()


def test_cli_refuses_a_device_with_a_trailing_newline():
    from cinder_shared_lvm.cmd import common
    with pytest.raises(common.CLIError):
        common.validate_device('/dev/vda\n')
