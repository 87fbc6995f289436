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

"""The driver in the lvmlockd mode: lockspace at setup, stats, refusals.

``lvmlockctl --info`` answers are in LVM 2.03.16's format
(doc/source/lvmlockd-facts.rst).
"""

import subprocess

from cinder import exception as cinder_exception
from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import connector
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm
from tests import cinder_objects
from tests.unit import fakes

VG = 'cinder-shared'
VOL = 'volume-%s' % fake.VOLUME_ID
LOCKSTART = ('vgchange', '--lockstart', VG)
LOCK_TYPE = ('vgs', '--noheadings', '-o', 'vg_lock_type', '--readonly', VG)
INFO = ('lvmlockctl', '--info')
STARTED = ('VG %s lock_type=sanlock J2Lw8T-Lm3h-vBMd-ctRM-CSfF-1o9A-'
           'VDVlpa\nLS sanlock lvm_%s\nLK VG un ver 4\n' % (VG, VG), '')
LOCKD = {'shared_lvm_lock_manager': 'lvmlockd'}


@pytest.fixture
def shared_vg(fake_vg):
    fake_vg.lock_type = 'sanlock'
    return fake_vg


def _setup(make_driver, executor):
    drv = make_driver(setup=False, **LOCKD)
    drv.do_setup(None)
    drv.check_for_setup_error()
    return drv


def test_setup_starts_the_lockspace_before_its_first_lock(
        make_driver, executor, shared_vg):
    executor.add(INFO, fakes.in_turn(('', ''), STARTED))
    _setup(make_driver, executor)
    names = executor.commands
    assert names.index(LOCKSTART) < names.index(
        ('vgchange', '--addtag', 'cslvm-writer=cinder:backend1', VG))
    assert names.index(LOCK_TYPE) < names.index(LOCKSTART)
    # ...waiting for it, with the configured limit
    kwargs = [kw for argv, kw in executor.calls
              if fakes.strip_config(argv) == LOCKSTART]
    assert kwargs[0]['timeout'] == 180


def test_setup_with_a_started_lockspace_does_not_start_it_again(
        make_driver, executor, shared_vg):
    executor.add(INFO, STARTED)
    _setup(make_driver, executor)
    assert LOCKSTART not in executor.commands


def test_setup_refuses_a_local_vg_in_the_lvmlockd_mode(
        make_driver, executor, fake_vg):
    with pytest.raises(exc.InvalidRequest, match=r"lock type '', not "
                       r'sanlock.*prepare --lock-manager lvmlockd'):
        _setup(make_driver, executor)
    assert not [c for c in executor.commands if fakes.is_metadata_write(c)]


def test_a_lockspace_that_does_not_start_in_time_fails_the_setup(
        make_driver, executor, shared_vg):
    executor.add(INFO, ('', ''))
    executor.add(LOCKSTART, subprocess.TimeoutExpired('vgchange', 180))
    with pytest.raises(exc.StorageRefused,
                       match='still starting after 180 s'):
        _setup(make_driver, executor)
    assert shared_vg.tags == []


def test_the_default_mode_never_asks_lvmlockd(make_driver, executor):
    drv = make_driver()
    drv.get_volume_stats(refresh=True)
    assert INFO not in executor.commands
    assert LOCK_TYPE not in executor.commands
    assert 'lockspace_state' not in drv._stats['pools'][0]


def test_a_pool_without_its_lockspace_is_down(make_driver, executor,
                                              shared_vg):
    executor.add(INFO, fakes.in_turn(STARTED, ('', '')))
    drv = _setup(make_driver, executor)
    pool = drv.get_volume_stats(refresh=True)['pools'][0]
    assert pool['backend_state'] == 'down'
    assert pool['lockspace_state'] == 'not started'


def test_a_pool_with_its_lockspace_is_up(make_driver, executor, shared_vg):
    executor.add(INFO, STARTED)
    drv = _setup(make_driver, executor)
    pool = drv.get_volume_stats(refresh=True)['pools'][0]
    assert (pool['backend_state'], pool['lockspace_state']) == (
        'up', 'started')


REFUSED = fakes.pe_error(5, '  LV locked by other host: %s/%s\n'
                         % (VG, VOL))


def test_a_delete_that_lvmlockd_refuses_keeps_the_volume_available(
        make_driver, executor, shared_vg):
    executor.add(INFO, STARTED)
    drv = _setup(make_driver, executor)
    shared_vg.add_lv(VOL)
    executor.add(('lvremove',), REFUSED)
    volume = cinder_objects.volume(None, id=fake.VOLUME_ID, size=1)
    with pytest.raises(exc.StorageRefused, match='another host holds its '
                       'lock.*Nothing was changed') as err:
        drv.delete_volume(volume)
    # VolumeIsBusy: the volume manager puts the volume back to available
    assert isinstance(err.value, cinder_exception.VolumeIsBusy)
    assert 'delete volume' in str(err.value)


def test_refusals_of_a_snapshot_delete_are_snapshot_busy():
    assert issubclass(exc.SnapshotStorageRefused,
                      cinder_exception.SnapshotIsBusy)


# -- the LVM layer ----------------------------------------------------------

def test_started_lockspaces_reads_lvmlockctl_info():
    assert lockd.started_lockspaces(
        STARTED[0] + 'VG other lock_type=dlm x\nLS dlm lvm_other\n') == {
            VG: 'sanlock', 'other': 'dlm'}
    assert lockd.started_lockspaces('') == {}
    assert lockd.started_lockspaces(None) == {}


def test_a_lockspace_whose_start_failed_is_not_started():
    # measured: after "VG svg start failed", lvmlockctl --info still lists
    # the VG, with its LS line marked REM: (being removed)
    info = ('VG svg lock_type=sanlock CkLS9m-tVAN-6lKp-1El7-tDNr-ybLQ-'
            'Ks3990\nLS sanlock REM:lvm_svg\nLK VG un ver 0\n'
            'daemon 276f868a.compute-1\np -1 helper\n')
    assert lockd.started_lockspaces(info) == {}


def test_without_lvmlockd_running_no_lockspace_is_started():
    run = fakes.FakeExecutor([(INFO, fakes.pe_error(
        1, "Can't connect to lvmlockd"))])
    assert lvm.started_lockspaces(run) == {}


def test_a_reader_may_not_start_a_lockspace():
    run = fakes.FakeExecutor()
    layer = lvm.SharedLVM(VG, ['/dev/sdb'], role=lvm.READER, executor=run,
                          check_vg=False, lock_manager=lockd.LVMLOCKD)
    with pytest.raises(exception.ReadOnlyRole):
        layer.start_lockspace(10)
    assert run.commands == []


# -- the connector's properties ---------------------------------------------

VGS = ('vgs', '--noheadings', '--separator', '|', '-o', 'vg_name,vg_uuid',
       '--readonly')


def _properties(run, **kwargs):
    return connector.SharedLVMConnector.get_connector_properties(
        None, execute=run, shared_lvm_devices=['/dev/sdb'], **kwargs)


def test_properties_name_the_vgs_whose_lockspace_is_started():
    run = fakes.FakeExecutor([(VGS, ('  %s|UUID-A\n  other|UUID-B\n' % VG,
                                     '')), (INFO, STARTED)])
    props = _properties(run, shared_lvm_lock_manager='lvmlockd')
    assert props == {'shared_lvm_vgs': ['UUID-A', 'UUID-B'],
                     'shared_lvm_lockspaces': ['UUID-A']}


def test_properties_without_lvmlockd_report_no_lockspace():
    run = fakes.FakeExecutor([(VGS, ('  %s|UUID-A\n' % VG, '')),
                              (INFO, fakes.pe_error(1, 'no lvmlockd'))])
    props = _properties(run, shared_lvm_lock_manager='lvmlockd')
    assert props['shared_lvm_lockspaces'] == []


def test_properties_in_the_default_mode_do_not_ask_lvmlockd():
    run = fakes.FakeExecutor([(VGS, ('  %s|UUID-A\n' % VG, ''))])
    assert 'shared_lvm_lockspaces' not in _properties(run)
    assert INFO not in run.commands


# -- online extend -----------------------------------------------------------


def test_an_online_extend_is_refused_before_lvm_refuses_it(
        make_driver, executor, shared_vg, make_volume):
    """Measured: lvextend of an LV active on another host is refused by
    lvmlockd; the policy says why and what to do, and runs nothing."""
    executor.add(INFO, STARTED)
    drv = _setup(make_driver, executor)
    shared_vg.add_lv(VOL, attr='-wi-------')
    executor.reset()
    with pytest.raises(exc.OperationRefused,
                       match='cmp1.*lvmlockd mode.*Nothing was changed'):
        drv.extend_volume(make_volume(attached_to=['cmp1']), 2)
    assert 'lvextend' not in [c[0] for c in executor.commands]


def test_a_detached_volume_extends_in_the_lvmlockd_mode(
        make_driver, executor, shared_vg, make_volume):
    executor.add(INFO, STARTED)
    drv = _setup(make_driver, executor)
    shared_vg.add_lv(VOL, attr='-wi-------')
    drv.extend_volume(make_volume(), 2)
    assert executor.commands[-1] == ('lvextend', '-L', '2g',
                                     '%s/%s' % (VG, VOL))
