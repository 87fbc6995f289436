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

"""The lvmlockd mode on the compute side and in the LVM layer (lockd.py).

The refusal texts are lvmlockd's own, as measured on the rig
(doc/source/lvmlockd-facts.rst); the rig tests
(tests/functional/test_lockd.py) run the same paths against real leases.
"""

import pytest

from cinder_shared_lvm import connector
from cinder_shared_lvm import exception
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm
from tests.unit import fakes
from tests.unit.test_connector import clock, fake, conn  # noqa: F401
from tests.unit.test_connector import GETSIZE, LV, LVS, VG, props, with_lv

REF = '%s/%s' % (VG, LV)
REFUSED = fakes.pe_error(5, '  LV locked by other host: %s\n'
                            '  Failed to lock logical volume %s.\n'
                         % (REF, REF))


@pytest.mark.parametrize('manager,exclusive,mode', [
    (lockd.NONE, False, 'y'), (lockd.NONE, True, 'ey'),
    (lockd.LVMLOCKD, False, 'sy'), (lockd.LVMLOCKD, True, 'ey')])
def test_the_activation_mode_of_each_lock_manager(manager, exclusive, mode):
    # NOTE: on a shared VG "-ay" means exclusive, so a plain LV that two
    # hosts use (multi-attach, live migration) must say -asy.
    assert lockd.activation_mode(manager, exclusive) == mode


def test_an_unknown_lock_manager_is_refused_before_any_command():
    run = fakes.FakeExecutor()
    with pytest.raises(ValueError, match="'dlm' is not one of none"):
        lvm.SharedLVM(VG, ['/dev/sdb'], executor=run, check_vg=False,
                      lock_manager='dlm')
    assert run.commands == []


def _layer(run, manager):
    return lvm.SharedLVM(VG, ['/dev/sdb'], role=lvm.READER, executor=run,
                         check_vg=False, lock_manager=manager)


def test_a_refusal_by_lvmlockd_has_its_own_error():
    run = fakes.FakeExecutor([(('lvchange',), REFUSED)])
    with pytest.raises(exception.LockedByOtherHost,
                       match='another host holds its lock') as err:
        _layer(run, lockd.LVMLOCKD).activate_lv(LV, exclusive=True)
    assert 'LV locked by other host' in str(err.value)
    assert 'Nothing was changed' in str(err.value)
    assert run.commands == [('lvchange', '-aey', '--yes', REF)]


def test_without_lvmlockd_the_same_text_is_a_plain_failure():
    run = fakes.FakeExecutor([(('lvchange',), REFUSED)])
    with pytest.raises(exception.LVMCommandFailed) as err:
        _layer(run, lockd.NONE).activate_lv(LV)
    assert type(err.value) is exception.LVMCommandFailed


def test_a_host_without_its_lockspace_gets_its_own_error():
    run = fakes.FakeExecutor([(('lvchange',), fakes.pe_error(
        5, '  Cannot access VG %s due to failed lock.\n' % VG))])
    with pytest.raises(exception.LockspaceNotStarted,
                       match='vgchange --lockstart'):
        _layer(run, lockd.LVMLOCKD).activate_lv(LV)


# stderr measured on the rig, LVM 2.03.16 (doc/source/lvmlockd-facts.rst)
OTHER_HOST = [
    # lvchange -aey, -asy or -ay of an LV another host holds
    '  LV locked by other host: vg/v1\n'
    '  Failed to lock logical volume vg/v1.\n',
    # lvextend, lvreduce, lvrename, lvremove of it
    '  LV locked by other host: vg/v1\n',
    # lvcreate -s of it
    '  LV locked by other host: vg/v1\n  Failed to lock origin LV vg/v1\n',
    # LVM's text for a VG lock that stays taken (not produced on the rig)
    '  VG vg lock failed: held by other host.\n',
]
NOT_STARTED = [
    # lvchange -a*, lvcreate, lvremove... with no lockspace on this host
    '  Cannot access VG vg due to failed lock.\n',
    # the same with lvmlockd not running
    '  WARNING: lvmlockd process is not running.\n'
    '  Cannot access VG vg due to failed lock.\n',
    # ...and after lvmlockctl --kill
    '  VG vg lock failed: storage failed for sanlock leases\n'
    '  Cannot access VG vg due to failed lock.\n',
    # lvchange -an (rc 0)
    '  LV vg/v1 lock failed: lockspace is inactive\n'
    '  Failed to unlock logical volume vg/v1.\n',
]
NEITHER = [
    None, '',
    # warnings of commands that succeed without a lock (rc 0)
    '  Reading VG vg without a lock.\n',
    '  VG vg lock skipped: held by other host.\n',
    '  Skipping global lock: lockspace not found or started\n',
    # the first lockstart on a host without udev (lockd_rig.lockstart)
    '  VG vg start failed: invalid parameters for sanlock\n',
    '  Volume group "vg" not found\n',
]


@pytest.mark.parametrize('stderr', OTHER_HOST)
def test_measured_refusals_are_refusals_by_another_host(stderr):
    assert lockd.refused_by_other_host(stderr)
    assert not lockd.lockspace_not_started(stderr)


@pytest.mark.parametrize('stderr', NOT_STARTED)
def test_measured_lockless_errors_are_a_lockspace_not_started(stderr):
    assert lockd.lockspace_not_started(stderr)
    assert not lockd.refused_by_other_host(stderr)


@pytest.mark.parametrize('stderr', NEITHER)
def test_other_texts_are_neither(stderr):
    assert not lockd.refused_by_other_host(stderr)
    assert not lockd.lockspace_not_started(stderr)


# -- the connector -----------------------------------------------------------

def test_connect_in_lvmlockd_mode_takes_a_shared_lock(conn, fake):  # noqa
    with_lv(fake)
    conn.connect_volume(props(lock_manager='lvmlockd'))
    assert fake.commands == [LVS, ('lvchange', '-asy', '--yes', REF),
                             GETSIZE]


def test_connect_a_family_in_lvmlockd_mode_takes_the_lock_exclusively(
        conn, fake):  # noqa: F811
    with_lv(fake, attr='owi-------')
    conn.connect_volume(props(lock_manager='lvmlockd',
                              activation='exclusive'))
    assert fake.commands == [LVS, ('lvchange', '-aey', '--yes', REF),
                             GETSIZE]


def test_connect_refused_by_lvmlockd_changes_nothing(conn, fake):  # noqa
    """The other host's lock wins: no refresh, no wait for the device,
    and the error says who refused and why."""
    with_lv(fake, attr='owi-------')
    fake.add(('lvchange',), REFUSED)
    with pytest.raises(exception.LockedByOtherHost):
        conn.connect_volume(props(lock_manager='lvmlockd',
                                  activation='exclusive'))
    assert fake.commands == [LVS, ('lvchange', '-aey', '--yes', REF)]


@pytest.mark.parametrize('value', ['dlm', '', None, ['lvmlockd'], 1])
def test_connection_data_with_a_bad_lock_manager_is_refused(
        conn, fake, value):  # noqa: F811
    with pytest.raises(exception.InvalidConnectionInfo,
                       match='lock_manager'):
        conn.connect_volume(props(lock_manager=value))
    assert fake.commands == []


def test_connection_data_without_a_lock_manager_is_the_default_mode():
    target = connector.parse_connection_properties(props())
    assert target.lock_manager == lockd.NONE
