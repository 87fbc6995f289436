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

"""Unit tests of the device-mapper inventory (cinder_shared_lvm.dm) and of
``cinder-shared-lvm cleanup``'s dm pass, against the recording executor.

The dmsetup lines below are in the shape measured on the rig (dmsetup
1.02.185, kernel 6.1) for an origin with one COW snapshot.
"""

import io
import json

import pytest

from cinder_shared_lvm.cmd import main as cli
from cinder_shared_lvm import dm
from cinder_shared_lvm import exception
from tests.unit import fakes

VG = 'cinder-shared'
DEV = '/dev/disk/by-id/wwn-0x600a'
VG_UUID = 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z'
VGU = VG_UUID.replace('-', '')
ORIGIN = '7wfPsXZt4GufuOi2GvwW1ZhDx1hKORMN'
SNAP = 'MTNuXU2N4ZyYjWYgb33jk4ghJLxZ2jHL'
PLAIN = 'XkIrZHc9AZDPEHOKE8an5EE58VsyP9YM'
GONE = 'GoneGoneGoneGoneGoneGoneGoneGone'
OTHER_VG = 'x' * 32
# dm names as LVM makes them for VG cinder-shared ('-' doubled)
O, O_REAL = 'cinder--shared-o', 'cinder--shared-o-real'
S, S_COW = 'cinder--shared-s', 'cinder--shared-s-cow'
PL, GN = 'cinder--shared-plain', 'cinder--shared-gone'
DMINFO = ('dmsetup', 'info', '-c', '--noheadings', '--separator', '|', '-o',
          'name,uuid,devno,open,attr,devnos_used')


def uuid(lv, layer='', vg=VGU):
    return 'LVM-%s%s%s' % (vg, lv, layer)


def line(name, dm_uuid, devno, opened=0, attr='L--w', uses='254:0'):
    return '%s|%s|%s|%d|%s|%s\n' % (name, dm_uuid, devno, opened, attr, uses)


def family_lines(top_open=0):
    return (line(O, uuid(ORIGIN), '253:1', top_open, uses='253:0') +
            line(O_REAL, uuid(ORIGIN, '-real'), '253:0', 2) +
            line(S, uuid(SNAP), '253:3', uses='253:2,253:0') +
            line(S_COW, uuid(SNAP, '-cow'), '253:2', 1))


LISTING = (family_lines() +
           line(PL, uuid(PLAIN), '253:4', attr='L-sw') +
           line(GN, uuid(GONE), '253:5', attr='---w', uses='') +
           line('other-lv', uuid(PLAIN, vg=OTHER_VG), '253:6') +
           line('mpatha', 'mpath-3600a0b800', '253:7', 1, uses='8:0,8:16'))


def rm(dm_uuid):
    return ('dmsetup', 'remove', '-u', dm_uuid)


def inv(text=LISTING):
    fake = fakes.FakeExecutor([(DMINFO, (text, ''))])
    return fake, dm.inventory(fake, 'sudo')


# -- inventory and families --------------------------------------------------

def test_inventory_reads_lvm_devices_in_any_state():
    fake, devices = inv()
    assert fake.commands == [DMINFO]
    assert fake.calls[0][1] == {'root_helper': 'sudo', 'run_as_root': True}
    by_name = {d.name: d for d in devices}
    assert 'mpatha' not in by_name          # not an LV's device
    assert by_name[PL].suspended and by_name[PL].live
    assert not by_name[GN].live
    assert by_name[S_COW].layer == '-cow'
    assert by_name[S].uses == ('253:2', '253:0')


@pytest.mark.parametrize('text', ['No devices found\n', '', b''])
def test_inventory_of_nothing(text):
    assert inv(text)[1] == []


def test_families_follow_the_kernel_dependencies():
    _fake, devices = inv()
    fams = dm.families(devices, VG_UUID)
    assert [f.names for f in fams] == [
        [GN], [O, S, O_REAL, S_COW],
        [PL]]
    fam = fams[1]
    assert fam.lv_uuids == sorted([ORIGIN, SNAP])
    assert fam.open_by == {}         # -real/-cow are held by the family
    assert dm.family_of(devices, VG_UUID, SNAP).names == fam.names
    assert dm.family_of(devices, VG_UUID, 'n' * 32) is None


def test_an_open_top_makes_the_family_open():
    _fake, devices = inv(family_lines(top_open=1))
    (fam,) = dm.families(devices, VG_UUID)
    assert fam.open_by == {O: 1}


def test_dm_uuid_is_lvm_s():
    assert dm.dm_uuid(VG_UUID, 'MTNuXU-2N4Z-yYjW-Ygb3-3jk4-ghJL-xZ2jHL',
                      '-cow') == uuid(SNAP, '-cow')
    with pytest.raises(ValueError):
        dm.dm_uuid(VG_UUID, 'x;reboot')
    with pytest.raises(ValueError):
        dm.dm_uuid(VG_UUID, SNAP, '-pool')


# -- removal -----------------------------------------------------------------

def test_remove_family_refuses_an_open_family_untouched():
    fake, devices = inv(family_lines(top_open=1))
    (fam,) = dm.families(devices, VG_UUID)
    fake.reset()
    with pytest.raises(exception.DeviceBusy, match=O + ' .1.'):
        dm.remove_family(fake, 'sudo', fam, what='vol-1', host='c1')
    assert fake.calls == []


def test_remove_family_forced_wipes_what_is_open():
    fake, devices = inv(family_lines(top_open=1))
    (fam,) = dm.families(devices, VG_UUID)
    fake.reset()
    done = dm.remove_family(fake, 'sudo', fam, force=True)
    assert fake.commands == [
        ('dmsetup', 'wipe_table', O),
        ('dmsetup', 'remove', '--deferred', '-u', uuid(ORIGIN)),
        rm(uuid(SNAP)), rm(uuid(ORIGIN, '-real')), rm(uuid(SNAP, '-cow'))]
    assert done == {'deferred': [O],
                    'removed': [S, O_REAL, S_COW]}


def test_remove_family_never_orphans_a_layer_on_failure():
    fake, devices = inv(family_lines())
    (fam,) = dm.families(devices, VG_UUID)
    fake.add(rm(uuid(SNAP)), fakes.pe_error(1, 'Device or resource busy'))
    with pytest.raises(dm.DMRemoveFailed) as err:
        dm.remove_family(fake, 'sudo', fam, what='vol-1', host='c1')
    # The snapshot stayed, so its -cow and the -real it uses stay too.
    assert fake.commands[1:] == [rm(uuid(ORIGIN)), rm(uuid(SNAP))]
    assert ('Removed: %s. Still mapped here: %s, %s, %s.' % (
        O, S, O_REAL, S_COW)) in str(err.value)
    assert 'vol-1 on c1 failed at dmsetup remove -u' in str(err.value)


def test_remove_leftovers_for_startup_recovery():
    fake, _devices = inv()
    fake.reset()
    report = dm.remove_leftovers(
        fake, 'sudo', VG_UUID, keep=['MTNuXU-2N4Z-yYjW-Ygb3-3jk4-ghJL-xZ2jHL'],
        host='cinder-1', lv_names={PLAIN: 'volume-p'})
    assert fake.commands == [DMINFO, rm(uuid(GONE)), rm(uuid(PLAIN))]
    assert report == {'removed': [[GN], [PL]], 'deferred': [],
                      'skipped_open': {}, 'failed': []}


LOCK_LV = line('cinder--shared-lvmlock', uuid('k' * 32), '253:9', 1)


@pytest.mark.parametrize('force', [False, True])
def test_the_lock_lv_of_a_shared_vg_is_never_a_leftover(force):
    """sanlock holds the lvmlockd mode's leases on it: removing it would
    drop every lock of this host (and get it reset by the watchdog)."""
    fake, _devices = inv(LOCK_LV + line(PL, uuid(PLAIN), '253:4'))
    fake.reset()
    report = dm.remove_leftovers(fake, 'sudo', VG_UUID, force=force)
    assert fake.commands == [DMINFO, rm(uuid(PLAIN))]
    assert report['removed'] == [[PL]] and report['skipped_open'] == {}


@pytest.mark.parametrize('name, lock', [
    ('cinder--shared-lvmlock', True), ('vg-lvmlock', True),
    ('vg-my--lvmlock', False), ('vg-lvmlock-cow', False),
    ('vg-lvmlockx', False), ('vg-volume--1', False)])
def test_only_an_lv_named_lvmlock_is_the_lock_lv(name, lock):
    assert dm.is_lock_lv(name) is lock


def test_remove_leftovers_reports_failures_and_goes_on():
    fake, _devices = inv()
    fake.add(rm(uuid(GONE)), fakes.pe_error(1, 'busy'))
    report = dm.remove_leftovers(fake, 'sudo', VG_UUID)
    assert report['failed'][0]['devices'] == [GN]
    assert 'removed LV %s' % GONE in report['failed'][0]['error']
    assert report['removed'] == [[O, S, O_REAL, S_COW],
                                 [PL]]


# -- cleanup's dm pass -------------------------------------------------------

VG_ROW = '  %s|%s|%d|%d|2|4194304|%d|%d|\n' % (
    VG, VG_UUID, 100 << 30, 60 << 30, 32 << 20, 16 << 20)
# LVM knows origin, snapshot and plain; lvs shows none of them active (a
# stale table, a suspended device); "gone" was deleted while mapped here.
LV_ROWS = ''.join('  %s|%s|%d|%s|%s|\n' % row for row in (
    ('o', '7wfPsX-Zt4G-ufuO-i2Gv-wW1Z-hDx1-hKORMN', 1 << 30, 'owi-------',
     ''),
    ('s', 'MTNuXU-2N4Z-yYjW-Ygb3-3jk4-ghJL-xZ2jHL', 1 << 30, 'swi-------',
     'o'),
    ('plain', 'XkIrZH-c9AZ-DPEH-OKE8-an5E-E58V-syP9YM', 1 << 30,
     '-wi-s-----', '')))


def run_cleanup(dm_text, *extra):
    fake = fakes.FakeExecutor([(('vgs',), (VG_ROW, '')),
                               (('lvs',), (LV_ROWS, '')),
                               (DMINFO, (dm_text, ''))])
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(['cleanup', '--vg', VG, '--devices', DEV, '--json'] +
                    list(extra), execute=fake, stdout=out, stderr=err)
    return code, json.loads(out.getvalue()), fake


def test_cleanup_removes_what_lvs_does_not_show():
    # Issue 9 #8: the old cleanup read only lvs and left all of these.
    code, data, fake = run_cleanup(LISTING)
    assert code == 0
    assert fake.commands[2:] == [
        DMINFO, rm(uuid(GONE)), rm(uuid(ORIGIN)), rm(uuid(SNAP)),
        rm(uuid(ORIGIN, '-real')), rm(uuid(SNAP, '-cow')), rm(uuid(PLAIN))]
    assert data['deactivated'] == []
    assert data['removed_dm'] == [GN, O, S, O_REAL,
                                  S_COW, PL]


def test_cleanup_skips_an_open_family_unless_forced():
    code, data, fake = run_cleanup(family_lines(top_open=1))
    assert code == 0
    assert fake.commands[2:] == [DMINFO]
    assert data['skipped_open_dm'] == {O: 1}
    code, data, fake = run_cleanup(family_lines(top_open=1), '--force')
    assert code == 0
    assert fake.commands[3:5] == [
        ('dmsetup', 'wipe_table', O),
        ('dmsetup', 'remove', '--deferred', '-u', uuid(ORIGIN))]
    assert data['deferred_dm'] == [O]


def test_cleanup_dry_run_removes_nothing():
    code, data, fake = run_cleanup(LISTING, '--dry-run')
    assert code == 0
    assert fake.commands[2:] == [DMINFO]
    assert len(data['removed_dm']) == 6


def test_cleanup_dm_failure_exits_1_and_names_what_is_left():
    fake_text = line(PL, uuid(PLAIN), '253:4', attr='L-sw')
    fake = fakes.FakeExecutor([(('vgs',), (VG_ROW, '')),
                               (('lvs',), (LV_ROWS, '')),
                               (DMINFO, (fake_text, '')),
                               (('dmsetup', 'remove'),
                                fakes.pe_error(1, 'ioctl failed: busy'))])
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(['cleanup', '--vg', VG, '--devices', DEV], execute=fake,
                    stdout=out, stderr=err)
    assert code == 1
    assert 'FAILED %s: ' % PL in out.getvalue()
    assert 'plain on ' in out.getvalue() and 'busy' in out.getvalue()


def test_a_kernel_without_device_mapper_maps_nothing():
    fake = fakes.FakeExecutor([(DMINFO, fakes.pe_error(
        1, '/dev/mapper/control: open failed: No such device\n'
           'Failure to communicate with kernel device-mapper driver.\n'))])
    assert dm.inventory(fake, 'sudo') == []


def test_other_dmsetup_failures_are_errors():
    fake = fakes.FakeExecutor([(DMINFO, fakes.pe_error(1, 'Permission'))])
    with pytest.raises(dm.DMCommandFailed, match='Permission'):
        dm.inventory(fake, 'sudo')
