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

"""Unit tests of the compute-side connector, against a recording executor.

Every test asserts the exact commands the connector issued: the connector's
whole job is to run the right few commands, and nothing on bad input.
"""

import os
import subprocess
import sys

import pytest

from cinder_shared_lvm import connector
from cinder_shared_lvm import exception
from tests.unit import fakes

VG = 'cinder-shared'
LV = 'volume-0f1e2d3c'
PATH = '/dev/cinder-shared/volume-0f1e2d3c'
LV_UUID = '2872O1-EmVw-mbMU-GO1U-o1nd-BGC1-rg5rZq'
OTHER_UUID = 'wRDTqN-zGtM-brT0-njyh-QacD-AJ4j-4sXh3k'
VG_UUID = 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z'
DEV = '/dev/disk/by-id/wwn-0x600a0b80001'
SIZE = 1 << 30

LVS = ('lvs', '--noheadings', '--nosuffix', '--units', 'b', '--separator',
       '|', '-o', 'lv_name,lv_uuid,lv_size,lv_attr,origin,lv_tags',
       '%s/%s' % (VG, LV))
VGS = ('vgs', '--noheadings', '--nosuffix', '--units', 'b', '--separator',
       '|', '-o', 'vg_name,vg_uuid,vg_size,vg_free,lv_count,vg_extent_size,'
       'vg_mda_size,vg_mda_free,vg_autoactivation', '--readonly', VG)
ACTIVATE = ('lvchange', '-ay', '--yes', '%s/%s' % (VG, LV))
ACTIVATE_EX = ('lvchange', '-aey', '--yes', '%s/%s' % (VG, LV))
REFRESH = ('lvchange', '--refresh', '%s/%s' % (VG, LV))
DEACTIVATE = ('lvchange', '-an', '--yes', '%s/%s' % (VG, LV))
GETSIZE = ('blockdev', '--getsize64', PATH)
FLUSH = ('blockdev', '--flushbufs', PATH)
DMSETUP = ('dmsetup', 'remove', '--force', '--deferred',
           'cinder--shared-volume--0f1e2d3c')
LS = ('ls', '/sys/class/scsi_host')

INACTIVE = '-wi-------'
ACTIVE = '-wi-a-----'
OPEN = '-wi-ao----'

DROP = object()


def props(**over):
    data = {'volume_id': '0f1e2d3c', 'vg_name': VG, 'vg_uuid': VG_UUID,
            'lv_name': LV, 'lv_uuid': LV_UUID, 'device_path': PATH,
            'devices': [DEV], 'activation': 'shared', 'access_mode': 'rw',
            'discard': True, 'multiattach': False}
    data.update(over)
    return {k: v for k, v in data.items() if v is not DROP}


def lv_row(attr=INACTIVE, uuid=LV_UUID, size=SIZE, name=LV):
    return '  %s|%s|%d|%s||\n' % (name, uuid, size, attr)


def vg_row():
    return '  %s|%s|%d|%d|1|4194304|1044480|500000|\n' % (
        VG, VG_UUID, 100 * SIZE, 90 * SIZE)


class Clock(object):
    """time.monotonic and time.sleep for polling loops, without waiting."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    clk = Clock()
    monkeypatch.setattr(connector.time, 'monotonic', clk.monotonic)
    monkeypatch.setattr(connector.time, 'sleep', clk.sleep)
    return clk


@pytest.fixture
def fake(clock):
    return fakes.FakeExecutor([
        (('blockdev', '--getsize64'), ('%d\n' % SIZE, '')),
    ])


def make_conn(fake, **kwargs):
    kwargs.setdefault('activation_timeout', 0)
    return connector.SharedLVMConnector('sudo', execute=fake,
                                        host='compute-1', **kwargs)


@pytest.fixture
def conn(fake):
    return make_conn(fake)


def with_lv(fake, attr=INACTIVE, **kw):
    fake.add(('lvs',), (lv_row(attr, **kw), ''))
    return fake


# -- connect_volume --------------------------------------------------------

def test_connect_activates_shared_with_one_lvs_and_one_lvchange(conn, fake):
    with_lv(fake)
    assert conn.connect_volume(props()) == {'type': 'block', 'path': PATH}
    assert fake.commands == [LVS, ACTIVATE, GETSIZE]
    assert len(fake.lvm_commands) == 2


def test_connect_runs_lvm_as_a_confined_reader(conn, fake):
    with_lv(fake)
    conn.connect_volume(props())
    for argv, kwargs in fake.calls:
        assert kwargs['root_helper'] == 'sudo'
        assert kwargs['run_as_root'] is True
    for argv, _kw in fake.calls[:2]:
        config = fakes.config_of(argv)
        assert 'metadata_read_only=1' in config
        assert 'hints="none"' in config
        assert 'obtain_device_list_from_udev=0' in config
        assert '"a|^/dev/disk/by\\\\-id/wwn\\\\-0x600a0b80001$|"' in config
        assert '"r|.*|"' in config


def test_connect_exclusive_uses_aey(conn, fake):
    with_lv(fake)
    conn.connect_volume(props(activation='exclusive'))
    assert fake.commands == [LVS, ACTIVATE_EX, GETSIZE]


def test_connect_refreshes_an_lv_already_active_here(conn, fake):
    # Rule 4: another host may have extended it since it was activated.
    with_lv(fake, ACTIVE)
    conn.connect_volume(props())
    assert fake.commands == [LVS, REFRESH, GETSIZE]


def test_connect_uses_the_host_device_override(fake):
    conn = make_conn(fake, shared_lvm_devices=['/dev/mapper/mpatha'])
    with_lv(fake)
    conn.connect_volume(props())
    config = fakes.config_of(fake.calls[0][0])
    assert 'a|^/dev/mapper/mpatha$|' in config
    assert 'wwn' not in config


def test_connect_without_lv_uuid_skips_the_uuid_check(conn, fake):
    with_lv(fake, uuid=OTHER_UUID)
    conn.connect_volume(props(lv_uuid=DROP))
    assert fake.commands == [LVS, ACTIVATE, GETSIZE]


def test_connect_refuses_a_recreated_lv(conn, fake):
    with_lv(fake, uuid=OTHER_UUID)
    with pytest.raises(exception.InvalidConnectionInfo, match='UUID'):
        conn.connect_volume(props())
    assert fake.commands == [LVS]


def test_connect_lv_missing_in_visible_vg(conn, fake):
    fake.add(('lvs',), fakes.pe_error(5, 'Failed to find logical volume'))
    fake.add(('vgs',), (vg_row(), ''))
    with pytest.raises(exception.LVNotFound):
        conn.connect_volume(props())
    assert fake.commands == [LVS, VGS]


def test_connect_vg_not_visible_rescans_then_fails_clearly(fake, clock):
    conn = make_conn(fake, device_scan_attempts=2)
    fake.add(('lvs',), fakes.pe_error(5, 'Volume group not found'))
    fake.add(('vgs',), fakes.pe_error(5, 'Volume group not found'))
    fake.add(LS, ('host0\nhost1\n', ''))
    with pytest.raises(exception.VolumeGroupNotFound) as err:
        conn.connect_volume(props())
    assert DEV in str(err.value)
    assert fake.commands == [
        LVS, VGS, LS,
        ('tee', '-a', '/sys/class/scsi_host/host0/scan'),
        ('tee', '-a', '/sys/class/scsi_host/host1/scan'),
        LVS, VGS]
    tees = [kw for argv, kw in fake.calls if argv[0] == 'tee']
    assert all(kw['process_input'] == '- - -' for kw in tees)
    assert fake.calls[2][1]['run_as_root'] is False


def test_connect_finds_the_vg_after_a_rescan(fake, clock):
    conn = make_conn(fake, device_scan_attempts=3)
    fake.add(('lvs',), fakes.in_turn(
        fakes.pe_error(5, 'Volume group not found'), (lv_row(), '')))
    fake.add(('vgs',), fakes.pe_error(5, 'Volume group not found'))
    fake.add(LS, fakes.pe_error(2, 'No such file or directory'))
    conn.connect_volume(props())
    # No SCSI hosts here: the rescan is a harmless no-op.
    assert fake.commands == [LVS, VGS, LS, LVS, ACTIVATE, GETSIZE]


def test_connect_waits_for_the_device_node(fake, clock):
    conn = make_conn(fake, activation_timeout=10)
    with_lv(fake)
    fake.add(GETSIZE, fakes.in_turn(
        fakes.pe_error(1, 'No such file'), ('', ''), ('%d' % SIZE, '')))
    conn.connect_volume(props())
    assert fake.commands == [LVS, ACTIVATE, GETSIZE, GETSIZE, GETSIZE]
    assert clock.sleeps == [conn.DEVICE_POLL_INTERVAL] * 2


def test_connect_device_never_appears_deactivates_and_raises(fake, clock):
    conn = make_conn(fake, activation_timeout=1)
    with_lv(fake)
    fake.add(GETSIZE, fakes.pe_error(1, 'No such file'))
    with pytest.raises(exception.DeviceNotReady, match=PATH):
        conn.connect_volume(props())
    assert fake.commands == [LVS, ACTIVATE, GETSIZE, GETSIZE, GETSIZE,
                             DEACTIVATE]


def test_connect_device_never_appears_leaves_an_lv_active_before(fake,
                                                                 clock):
    # It was active before this attach (another user here): keep it.
    conn = make_conn(fake)
    with_lv(fake, ACTIVE)
    fake.add(GETSIZE, fakes.pe_error(1, 'No such file'))
    with pytest.raises(exception.DeviceNotReady):
        conn.connect_volume(props())
    assert fake.commands == [LVS, REFRESH, GETSIZE]


def test_connect_activation_failure_carries_lvm_stderr(conn, fake):
    with_lv(fake)
    fake.add(('lvchange', '-ay'),
             fakes.pe_error(5, 'LV locked by other host'))
    with pytest.raises(exception.LVMCommandFailed) as err:
        conn.connect_volume(props())
    assert 'LV locked by other host' in str(err.value)
    assert fake.commands == [LVS, ACTIVATE]


# -- connection data validation (rule 8) -----------------------------------

BAD_PROPS = {
    'not a dict': ['vg_name', VG],
    'vg name differs from path': props(vg_name='other-vg'),
    'lv name differs from path': props(lv_name='volume-other'),
    'path outside the vg': props(device_path='/dev/cinder-shared/../sda'),
    'dotdot lv': props(lv_name='..', device_path='/dev/cinder-shared/..'),
    'path to another device': props(device_path='/dev/sda'),
    'path with trailing slash': props(device_path=PATH + '/'),
    'shell in lv name': props(lv_name='x;rm -rf /',
                              device_path='/dev/cinder-shared/x;rm -rf /'),
    'command substitution in vg': props(vg_name='$(reboot)',
                                        device_path='/dev/$(reboot)/' + LV),
    'option as lv name': props(lv_name='-an',
                               device_path='/dev/cinder-shared/-an'),
    'reserved lv name': props(lv_name='snapshot-1',
                              device_path='/dev/cinder-shared/snapshot-1'),
    'missing vg_name': props(vg_name=DROP),
    'missing lv_name': props(lv_name=DROP),
    'missing device_path': props(device_path=DROP),
    'missing devices': props(devices=DROP),
    'missing activation': props(activation=DROP),
    'vg_name not a string': props(vg_name=['cinder-shared']),
    'lv_name not a string': props(lv_name=7),
    'unknown activation': props(activation='local'),
    'activation not a string': props(activation=True),
    'devices empty': props(devices=[]),
    'devices a string': props(devices=DEV),
    'device relative': props(devices=['dev/sdb']),
    'device with filter metacharacters': props(devices=['/dev/sdb|.*']),
    'device with quote': props(devices=['/dev/sdb"]']),
    'device with dotdot': props(devices=['/dev/disk/../sda']),
    'device not a string': props(devices=[None]),
    'lv_uuid malformed': props(lv_uuid='$(id)'),
    'lv_uuid not a string': props(lv_uuid=123),
    'vg_uuid malformed': props(vg_uuid='x'),
    'access_mode unknown': props(access_mode='rwx'),
}


@pytest.mark.parametrize('bad', list(BAD_PROPS.values()),
                         ids=list(BAD_PROPS))
@pytest.mark.parametrize('method', ['connect_volume', 'extend_volume',
                                    'get_volume_paths',
                                    'get_all_available_volumes'])
def test_bad_connection_data_is_refused_with_no_command(conn, fake, bad,
                                                        method):
    with pytest.raises(exception.InvalidConnectionInfo):
        getattr(conn, method)(bad)
    assert fake.calls == []


@pytest.mark.parametrize('bad', list(BAD_PROPS.values()),
                         ids=list(BAD_PROPS))
def test_bad_connection_data_refused_on_detach(conn, fake, bad):
    with pytest.raises(exception.InvalidConnectionInfo):
        conn.disconnect_volume(bad, None)
    with pytest.raises(exception.InvalidConnectionInfo):
        conn.disconnect_volume(bad, None, force=True)
    conn.disconnect_volume(bad, None, ignore_errors=True)
    assert fake.calls == []


def test_invalid_connection_info_is_an_invalid_parameter():
    from os_brick import exception as brick_exception
    with pytest.raises(brick_exception.InvalidParameterValue):
        connector.parse_connection_properties({})


def test_bad_host_device_override_refused_at_construction(fake):
    with pytest.raises(exception.InvalidConnectionInfo):
        make_conn(fake, shared_lvm_devices=['/dev/sdb|.*'])


def test_parse_accepts_the_contract(conn):
    target = connector.parse_connection_properties(
        props(activation='exclusive', access_mode='ro'))
    assert target == connector.Target(VG, LV, LV_UUID, PATH, [DEV], True,
                                      VG_UUID)


# -- disconnect_volume (rule 7, decided from device-mapper) -----------------

VGU = VG_UUID.replace('-', '')
LVU = LV_UUID.replace('-', '')
SNAPU = 'SnApUuIdSnApUuIdSnApUuIdSnApUuId'
OTHERU = OTHER_UUID.replace('-', '')
TOP = 'cinder--shared-volume--0f1e2d3c'
SNAP = 'cinder--shared-__snapshot--1'
DMINFO = ('dmsetup', 'info', '-c', '--noheadings', '--separator', '|', '-o',
          'name,uuid,devno,open,attr,devnos_used')
FLUSH_DM = ('blockdev', '--flushbufs', '/dev/mapper/' + TOP)


def dm_uuid(lv=LVU, layer=''):
    return 'LVM-%s%s%s' % (VGU, lv, layer)


def dm_dev(name, uuid, devno, opened=0, attr='L--w', uses='254:0'):
    return '%s|%s|%s|%d|%s|%s\n' % (name, uuid, devno, opened, attr, uses)


def plain_top(attr='L--w', opened=0, lv=LVU):
    return dm_dev(TOP, dm_uuid(lv), '253:4', opened, attr)


def snapshot_family(top_open=0, snap_open=0, with_top=True):
    """An origin with one COW snapshot, as LVM maps it on this host."""
    rows = [dm_dev(TOP + '-real', dm_uuid(layer='-real'), '253:0',
                   int(with_top) + 1),
            dm_dev(SNAP, dm_uuid(SNAPU), '253:3', snap_open,
                   uses='253:2,253:0'),
            dm_dev(SNAP + '-cow', dm_uuid(SNAPU, '-cow'), '253:2', 1)]
    if with_top:
        rows.insert(0, dm_dev(TOP, dm_uuid(), '253:1', top_open,
                              uses='253:0'))
    return ''.join(rows)


def rm(uuid):
    return ('dmsetup', 'remove', '-u', uuid)


def wipe(name):
    return ('dmsetup', 'wipe_table', name)


def rm_deferred(uuid):
    return ('dmsetup', 'remove', '--deferred', '-u', uuid)


def with_dm(fake, *answers):
    """dmsetup info answers, one per call (then: no devices)."""
    fake.add(DMINFO, fakes.in_turn(*[(a, '') for a in answers] +
                                   [('No devices found\n', '')] * 3))
    return fake


def test_disconnect_flushes_deactivates_then_checks_dm(conn, fake):
    with_lv(fake, ACTIVE)
    with_dm(fake, 'No devices found\n')
    conn.disconnect_volume(props(), {'type': 'block', 'path': PATH})
    assert fake.commands == [LVS, FLUSH, DEACTIVATE, DMINFO]


@pytest.mark.parametrize('answer', [(lv_row(INACTIVE), ''),
                                    fakes.pe_error(5, 'Failed to find')])
def test_disconnect_nothing_to_do_when_nothing_is_mapped(conn, fake,
                                                         answer):
    fake.add(('lvs',), answer)
    with_dm(fake, '')
    conn.disconnect_volume(props(), None)
    assert fake.commands == [LVS, DMINFO]


# lvs attr, dmsetup attr, flushed first: states lvs does not call active
BLIND_SPOT = {
    'suspended': ('-wi-s-----', 'L-sw', False),
    'no table': ('-wi-d-----', '---w', False),
    'inactive table only': ('-wi-i-----', '-I-w', False),
    'stale table': (INACTIVE, 'L--w', True),
    'stale and inactive loaded': (INACTIVE, 'LI-w', True),
}


@pytest.mark.parametrize('lv_attr,dm_attr,flushed', list(BLIND_SPOT.values()),
                         ids=list(BLIND_SPOT))
def test_disconnect_removes_a_device_lvs_does_not_show_active(
        conn, fake, lv_attr, dm_attr, flushed):
    # Issue 9 #8: the old code returned after the lvs, and the device
    # stayed mapped over extents LVM reuses.
    with_lv(fake, lv_attr)
    with_dm(fake, 'other|LVM-%s|253:9|0|L--w|254:0\n' % ('x' * 64) +
            plain_top(dm_attr) +
            dm_dev('mpatha', 'mpath-3600a0b8', '253:7', 1, 'L--w', '8:0'))
    conn.disconnect_volume(props(), None)
    assert fake.commands == [LVS, DMINFO] + [FLUSH_DM] * flushed + [
        rm(dm_uuid())]


def test_disconnect_after_the_lv_was_deleted_removes_its_device(conn, fake):
    fake.add(('lvs',), fakes.pe_error(5, 'Failed to find logical volume'))
    with_dm(fake, plain_top())
    conn.disconnect_volume(props(), None)
    assert fake.commands == [LVS, DMINFO, FLUSH_DM, rm(dm_uuid())]


def test_disconnect_without_uuids_finds_the_device_by_name(conn, fake):
    fake.add(('lvs',), fakes.pe_error(5, 'Failed to find logical volume'))
    with_dm(fake, plain_top())
    conn.disconnect_volume(props(vg_uuid=DROP, lv_uuid=DROP), None)
    assert fake.commands == [LVS, DMINFO, FLUSH_DM, rm(dm_uuid())]


def test_disconnect_never_touches_another_lvs_device_by_name(conn, fake):
    # Same dm name, other LV UUID: a new LV of that name, not ours.
    fake.add(('lvs',), fakes.pe_error(5, 'Failed to find logical volume'))
    with_dm(fake, plain_top(lv=OTHERU))
    conn.disconnect_volume(props(), None)
    conn.disconnect_volume(props(vg_uuid=DROP), None)
    assert fake.commands == [LVS, DMINFO] * 2


def test_disconnect_removes_layers_lvm_left_behind(conn, fake):
    # The origin's top went with lvchange -an; its -real, the snapshot
    # and its -cow stayed (a family with a stale table here).
    with_lv(fake, '-wi-a-----')
    with_dm(fake, snapshot_family(with_top=False))
    conn.disconnect_volume(props(), None)
    assert fake.commands == [
        LVS, FLUSH, DEACTIVATE, DMINFO, rm(dm_uuid(SNAPU)),
        rm(dm_uuid(layer='-real')), rm(dm_uuid(SNAPU, '-cow'))]


def test_disconnect_stale_family_removes_tops_before_layers(conn, fake):
    with_lv(fake, INACTIVE)
    with_dm(fake, snapshot_family())
    conn.disconnect_volume(props(), None)
    assert fake.commands == [
        LVS, DMINFO, FLUSH_DM, rm(dm_uuid(SNAPU)), rm(dm_uuid()),
        rm(dm_uuid(layer='-real')), rm(dm_uuid(SNAPU, '-cow'))]


def test_disconnect_refuses_an_open_lv(conn, fake):
    with_lv(fake, OPEN)
    with pytest.raises(exception.DeviceBusy) as err:
        conn.disconnect_volume(props(), None)
    assert PATH in str(err.value) and 'force' in str(err.value)
    assert fake.commands == [LVS, FLUSH]


def test_disconnect_refuses_a_device_open_here_that_lvs_hides(conn, fake):
    with_lv(fake, INACTIVE)
    with_dm(fake, plain_top(opened=1))
    with pytest.raises(exception.DeviceBusy):
        conn.disconnect_volume(props(), None)
    assert fake.commands == [LVS, DMINFO, FLUSH_DM]


def test_disconnect_open_lv_ignore_errors_logs_only(conn, fake):
    with_lv(fake, OPEN)
    conn.disconnect_volume(props(), None, ignore_errors=True)
    assert fake.commands == [LVS, FLUSH]


def test_force_disconnect_of_open_lv_wipes_and_defers(conn, fake):
    with_lv(fake, OPEN)
    fake.add(('lvchange', '-an'),
             fakes.pe_error(5, 'Logical volume in use'))
    with_dm(fake, plain_top(opened=1))
    conn.disconnect_volume(props(), None, force=True)
    assert fake.commands == [LVS, FLUSH, DEACTIVATE, DMINFO, wipe(TOP),
                             rm_deferred(dm_uuid())]


def test_force_disconnect_of_open_family_removes_every_layer(conn, fake):
    # Issue 9 #9: the old code removed only the top device.
    with_lv(fake, 'owi-ao----')
    fake.add(('lvchange', '-an'),
             fakes.pe_error(5, 'Logical volume in use'))
    with_dm(fake, snapshot_family(top_open=1))
    conn.disconnect_volume(props(), None, force=True)
    assert fake.commands == [
        LVS, FLUSH, DEACTIVATE, DMINFO, rm(dm_uuid(SNAPU)), wipe(TOP),
        rm_deferred(dm_uuid()), rm(dm_uuid(layer='-real')),
        rm(dm_uuid(SNAPU, '-cow'))]


def test_force_disconnect_of_suspended_open_family(conn, fake):
    # Nothing is flushed: a flush of a suspended device blocks.
    with_lv(fake, 'owi-s-----')
    with_dm(fake, snapshot_family(top_open=1).replace(
        '253:1|1|L--w', '253:1|1|L-sw'))
    conn.disconnect_volume(props(), None, force=True)
    assert fake.commands == [
        LVS, DMINFO, rm(dm_uuid(SNAPU)), wipe(TOP), rm_deferred(dm_uuid()),
        rm(dm_uuid(layer='-real')),
        rm(dm_uuid(SNAPU, '-cow'))]


def test_dm_remove_failure_is_clear_and_a_retry_finishes(conn, fake):
    with_lv(fake, INACTIVE)
    # After the failure: the top and the -real it holds are left.
    after = ''.join(row for row in snapshot_family().splitlines(True)
                    if row.startswith(TOP)).replace('253:0|2|', '253:0|1|')
    with_dm(fake, snapshot_family(), after)
    fake.add(rm(dm_uuid()), fakes.in_turn(
        fakes.pe_error(1, 'device-mapper: remove ioctl failed: Device or '
                          'resource busy'), ('', '')))
    with pytest.raises(exception.SharedLVMError) as err:
        conn.disconnect_volume(props(), None)
    text = str(err.value)
    for word in ('%s/%s' % (VG, LV), 'compute-1', 'dmsetup remove -u',
                 'resource busy', 'Removed: %s, %s-cow.' % (SNAP, SNAP),
                 'Still mapped here: %s, %s-real.' % (TOP, TOP)):
        assert word in text, (word, text)
    # Never the -real under a top that is still there.
    assert fake.commands[3:] == [rm(dm_uuid(SNAPU)), rm(dm_uuid()),
                                 rm(dm_uuid(SNAPU, '-cow'))]
    fake.reset()
    conn.disconnect_volume(props(), None)
    assert fake.commands == [
        LVS, DMINFO, FLUSH_DM, rm(dm_uuid()), rm(dm_uuid(layer='-real'))]


def test_dm_inventory_failure_is_clear(conn, fake):
    with_lv(fake, INACTIVE)
    fake.add(DMINFO, fakes.pe_error(1, 'dmsetup: command not found'))
    with pytest.raises(exception.SharedLVMError,
                       match='dmsetup info.*compute-1.*not found'):
        conn.disconnect_volume(props(), None)


def test_force_disconnect_uses_lvm_when_it_succeeds(conn, fake):
    with_lv(fake, OPEN)
    conn.disconnect_volume(props(), None, force=True)
    assert fake.commands == [LVS, FLUSH, DEACTIVATE, DMINFO]


def test_disconnect_deactivate_failure_raises_without_force(conn, fake):
    with_lv(fake, ACTIVE)
    fake.add(('lvchange', '-an'), fakes.pe_error(5, 'in use'))
    with pytest.raises(exception.LVMCommandFailed, match='in use'):
        conn.disconnect_volume(props(), None)
    assert fake.commands == [LVS, FLUSH, DEACTIVATE]


def test_disconnect_flush_failure_keeps_the_lv_active(conn, fake):
    with_lv(fake, ACTIVE)
    fake.add(FLUSH, fakes.pe_error(1, 'Input/output error'))
    with pytest.raises(exception.SharedLVMError, match='Input/output'):
        conn.disconnect_volume(props(), None)
    assert fake.commands == [LVS, FLUSH]


def test_force_disconnect_goes_on_after_a_failed_flush(conn, fake):
    with_lv(fake, ACTIVE)
    fake.add(FLUSH, fakes.pe_error(1, 'Input/output error'))
    conn.disconnect_volume(props(), None, force=True)
    assert fake.commands == [LVS, FLUSH, DEACTIVATE, DMINFO]


def test_disconnect_of_a_recreated_lv_removes_only_the_old_devices(conn,
                                                                   fake):
    # The LV was removed and made again under its name: never deactivate
    # the new one; the old one's devices (old UUID) are stale and go.
    with_lv(fake, ACTIVE, uuid=OTHER_UUID)
    with_dm(fake, plain_top() +
            dm_dev('cinder--shared-other', dm_uuid(OTHERU), '253:5'))
    conn.disconnect_volume(props(), None)
    assert fake.commands == [LVS, DMINFO, FLUSH_DM, rm(dm_uuid())]


def test_dm_name_doubles_dashes():
    assert connector.dm_name('a-b', 'c--d') == 'a--b-c----d'


# -- extend_volume ---------------------------------------------------------

def test_extend_refreshes_and_returns_the_new_size(conn, fake):
    fake.add(GETSIZE, ('%d\n' % (2 * SIZE), ''))
    assert conn.extend_volume(props()) == 2 * SIZE
    assert fake.commands == [REFRESH, GETSIZE]


def test_extend_refresh_failure_raises(conn, fake):
    fake.add(REFRESH[:2], fakes.pe_error(5, 'not found'))
    with pytest.raises(exception.LVMCommandFailed):
        conn.extend_volume(props())
    assert fake.commands == [REFRESH]


def test_extend_unreadable_size_raises(conn, fake):
    fake.add(GETSIZE, ('garbage', ''))
    with pytest.raises(exception.SharedLVMError, match='size'):
        conn.extend_volume(props())


# -- the small methods -----------------------------------------------------

@pytest.mark.parametrize('attr,paths', [(ACTIVE, [PATH]), (OPEN, [PATH]),
                                        (INACTIVE, [])])
def test_get_volume_paths(conn, fake, attr, paths):
    with_lv(fake, attr)
    assert conn.get_volume_paths(props()) == paths
    assert fake.commands == [LVS]


def test_get_volume_paths_lv_absent(conn, fake):
    fake.add(('lvs',), fakes.pe_error(5, 'Failed to find'))
    assert conn.get_volume_paths(props()) == []


def test_get_search_path(conn):
    assert conn.get_search_path() is None


def test_get_all_available_volumes(conn, fake):
    fake.add(('lvs',), (lv_row(ACTIVE) + lv_row(INACTIVE, name='volume-b') +
                        lv_row(OPEN, name='volume-c'), ''))
    assert conn.get_all_available_volumes() == []
    assert fake.calls == []
    assert conn.get_all_available_volumes(props()) == [
        PATH, '/dev/cinder-shared/volume-c']
    assert fake.commands == [LVS[:-1] + (VG,)]


def test_check_valid_device(conn, fake):
    assert conn.check_valid_device(PATH) is True
    assert fake.commands == [('dd', 'if=' + PATH, 'of=/dev/null', 'bs=4096',
                              'count=1', 'iflag=direct')]
    fake.add(('dd',), fakes.pe_error(1, 'Input/output error'))
    assert conn.check_valid_device(PATH) is False


@pytest.mark.parametrize('path', [None, '', 'sda', '/dev/sda;reboot',
                                  '/dev/$(x)'])
def test_check_valid_device_refuses_odd_paths(conn, fake, path):
    assert conn.check_valid_device(path) is False
    assert fake.calls == []


# -- get_connector_properties ----------------------------------------------

VGS_ALL = ('vgs', '--noheadings', '--separator', '|', '-o',
           'vg_name,vg_uuid', '--readonly')


LVMCONFIG = ('lvmconfig', '--type', 'full', 'devices/global_filter',
             'devices/filter')
OPEN_LVM_CONF = 'global_filter=["a|.*|"]\nfilter=["a|.*|"]\n'
CONFINED_LVM_CONF = ('global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|",'
                     '"r|.*|"]\nfilter=["a|.*|"]\n')


@pytest.fixture(autouse=True)
def fresh_scan_scope(monkeypatch):
    # lvm.conf's verdict is read once per process; each test starts fresh.
    monkeypatch.setattr(connector, '_scan_confined_by_lvm_conf', None,
                        raising=False)


@pytest.fixture
def nova_option(monkeypatch):
    """A Nova-like config with [shared_lvm] devices registered."""
    from oslo_config import cfg

    from cinder_shared_lvm import compute_opts
    conf = cfg.ConfigOpts()
    compute_opts.register(conf)
    conf([], project='nova')
    monkeypatch.setattr(compute_opts.cfg, 'CONF', conf)
    return conf


def test_connector_properties_lists_visible_vg_uuids(caplog):
    fake = fakes.FakeExecutor([
        (('vgs',), ('  cinder-shared|%s\n  local|%s\n' % (VG_UUID,
                                                          OTHER_UUID), '')),
        (('lvmconfig',), (OPEN_LVM_CONF, ''))])
    out = connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake, multipath=False, enforce_multipath=False)
    assert out == {'shared_lvm_vgs': sorted([VG_UUID, OTHER_UUID])}
    assert fake.commands == [LVMCONFIG, VGS_ALL]
    argv, kwargs = fake.calls[1]
    config = fakes.config_of(argv)
    assert 'filter' not in config
    assert 'metadata_read_only=1' in config and 'hints="none"' in config
    assert kwargs == {'root_helper': 'sudo', 'run_as_root': True}


def test_unconfined_scan_warns_once_naming_the_option(caplog):
    # Issue 9 #11: the old code scanned every disk, silently.
    fake = fakes.FakeExecutor([(('vgs',), ('', '')),
                               (('lvmconfig',), (OPEN_LVM_CONF, ''))])
    for _ in range(3):
        connector.SharedLVMConnector.get_connector_properties(
            'sudo', execute=fake)
    warnings = [r for r in caplog.records if r.levelname == 'WARNING']
    assert len(warnings) == 1
    assert '[shared_lvm] devices' in warnings[0].getMessage()
    assert 'every disk' in warnings[0].getMessage()
    assert fake.commands == [LVMCONFIG, VGS_ALL, VGS_ALL, VGS_ALL]


def test_scan_confined_by_lvm_conf_does_not_warn(caplog):
    fake = fakes.FakeExecutor([(('vgs',), ('', '')),
                               (('lvmconfig',), (CONFINED_LVM_CONF, ''))])
    connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake)
    assert not [r for r in caplog.records if r.levelname == 'WARNING']
    assert fake.commands == [LVMCONFIG, VGS_ALL]


def test_scan_confined_by_nova_conf_devices(nova_option, caplog):
    # Issue 9 #11: os-brick never passes shared_lvm_devices; the old code
    # then scanned every disk even with [shared_lvm] devices set.
    nova_option.set_override('devices', [DEV], group='shared_lvm')
    fake = fakes.FakeExecutor([(('vgs',), ('  cinder-shared|%s\n' % VG_UUID,
                                           ''))])
    out = connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake, multipath=False, enforce_multipath=False,
        host='compute-1')
    assert out == {'shared_lvm_vgs': [VG_UUID]}
    assert fake.commands == [VGS_ALL]
    config = fakes.config_of(fake.calls[0][0])
    assert ('filter=["a|^/dev/disk/by\\\\-id/wwn\\\\-0x600a0b80001$|",'
            '"r|.*|"]') in config
    assert not caplog.records


def test_nova_conf_devices_unset_falls_back_to_lvm_conf(nova_option):
    fake = fakes.FakeExecutor([(('vgs',), ('', '')),
                               (('lvmconfig',), (CONFINED_LVM_CONF, ''))])
    connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake)
    assert fake.commands == [LVMCONFIG, VGS_ALL]


def test_bad_nova_conf_devices_run_nothing(nova_option):
    nova_option.set_override('devices', ['/dev/x|.*'], group='shared_lvm')
    fake = fakes.FakeExecutor()
    out = connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake)
    assert out == {'shared_lvm_vgs': []}
    assert fake.calls == []


def test_connector_properties_confined_to_known_devices():
    fake = fakes.FakeExecutor([(('vgs',), ('  cinder-shared|%s\n' % VG_UUID,
                                           ''))])
    out = connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake, shared_lvm_devices=[DEV])
    assert out == {'shared_lvm_vgs': [VG_UUID]}
    config = fakes.config_of(fake.calls[0][0])
    assert 'filter=["a|^/dev/disk/by\\\\-id/wwn' in config


def test_connector_properties_decodes_bytes():
    fake = fakes.FakeExecutor()
    fake.add(('vgs',), lambda argv: (
        ('  cinder-shared|%s\n' % VG_UUID).encode(), b''))
    out = connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake)
    assert out == {'shared_lvm_vgs': [VG_UUID]}


@pytest.mark.parametrize('failure', [fakes.pe_error(127, 'lvm: not found'),
                                     OSError('no such file')])
def test_connector_properties_never_raises(failure):
    fake = fakes.FakeExecutor([(('vgs',), failure)])
    out = connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake)
    assert out == {'shared_lvm_vgs': []}


def test_connector_properties_bad_devices_run_nothing():
    fake = fakes.FakeExecutor()
    out = connector.SharedLVMConnector.get_connector_properties(
        'sudo', execute=fake, shared_lvm_devices=['/dev/x|.*'])
    assert out == {'shared_lvm_vgs': []}
    assert fake.calls == []


# -- packaging constraint --------------------------------------------------

def test_connector_imports_without_cinder_or_nova():
    # A compute host may have no cinder: block both imports and load it.
    code = ("import sys\n"
            "sys.modules['cinder'] = None\n"
            "sys.modules['nova'] = None\n"
            "from cinder_shared_lvm import connector\n"
            "c = connector.SharedLVMConnector('sudo', execute=lambda *a, **k:"
            " ('', ''))\n"
            "assert not [m for m in sys.modules if m.split('.')[0] in "
            "('cinder', 'nova') and sys.modules[m] is not None]\n"
            "print('ok')\n")
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root)
    result = subprocess.run([sys.executable, '-c', code], cwd=root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith('ok')
