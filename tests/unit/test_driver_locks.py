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

"""Family locks, fresh re-reads and per-family activation (issue 9 holes).

Each test interleaves two requests, or fails one step, with the fake
executor: a command that blocks on an Event holds one request inside its
lock while another arrives. On the code before the family lock, every one
of these tests fails (the hole it names is noted on each); the rig proves
the same on real kernels in tests/functional/test_races.py.
"""

import subprocess
import sys
import threading
from unittest import mock

from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import family
from tests import cinder_objects
from tests.unit import fakes

VG = 'cinder-shared'
GiB = fakes.GiB
VOL = 'volume-%s' % fake.VOLUME_ID
NEW = 'volume-%s' % fake.VOLUME2_ID
SNAP = '_snapshot-%s' % fake.SNAPSHOT_ID
SNAP2 = '_snapshot-%s' % fake.SNAPSHOT2_ID
CONNECTOR = {'host': 'cmp1', 'shared_lvm_vgs': ['VG-UUID-1']}
WAIT = 5


def ref(lv):
    return '%s/%s' % (VG, lv)


class Gate(object):
    """A command that blocks until opened: one request held mid-step."""

    def __init__(self, result=('', '')):
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.result = result

    def __call__(self, argv):
        self.entered.set()
        assert self.opened.wait(WAIT), 'gate never opened'
        return self.result


def in_thread(func, *args):
    """Run func(*args) in a thread; returns (thread, outcome dict)."""
    outcome = {}

    def run():
        try:
            outcome['result'] = func(*args)
        except Exception as err:
            outcome['error'] = err
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def attach_while_held(drv, gate, vol, unless_waited: str, func, *args):
    """Run func(*args) until it reaches *gate*, attach *vol* meanwhile:
    the attach must wait until the gate opens. Returns both outcomes."""
    runner, done = in_thread(func, *args)
    assert gate.entered.wait(WAIT)
    attacher, attached = in_thread(drv.initialize_connection, vol,
                                   dict(CONNECTOR))
    attacher.join(0.5)
    assert attacher.is_alive(), unless_waited
    gate.opened.set()
    runner.join(WAIT)
    attacher.join(WAIT)
    return done, attached


def family_of_one_snapshot(fake_vg, snaps=(SNAP,)):
    fake_vg.add_lv(VOL, GiB, attr='owi-------')
    for name in snaps:
        fake_vg.add_lv(name, GiB, attr='swi-------', origin=VOL)


# -- hole 1: check-then-act ---------------------------------------------------

def test_attach_during_a_cow_snapshot_waits_and_gets_exclusive(
        drv, executor, fake_vg, make_volume, make_snapshot):
    """Before: the attach read the LV mid-snapshot and got 'shared'."""
    fake_vg.add_lv(VOL, GiB)
    vol = make_volume()
    gate = Gate()

    def lvcreate_snapshot(argv):
        gate(argv)
        fake_vg.add_lv(VOL, GiB, attr='owi-------')
        fake_vg.add_lv(SNAP, GiB, attr='swi-------', origin=VOL)
        return '', ''
    executor.add(('lvcreate', '-s'), lvcreate_snapshot)
    snapped, attached = attach_while_held(
        drv, gate, vol, 'the attach did not wait for the snapshot',
        drv.create_snapshot, make_snapshot(vol))
    assert 'error' not in snapped, snapped
    assert attached['result']['data']['activation'] == 'exclusive'


def test_copy_from_snapshot_rereads_attachments_under_the_lock(
        drv, executor, fake_vg, make_volume, make_snapshot):
    """Before: the copy trusted the attachments the request carried."""
    family_of_one_snapshot(fake_vg)
    stale = make_volume()                       # what the request carries
    reserved = cinder_objects.attachment(stale.obj_context, stale, None,
                                         attach_status='reserved')
    drv._read_attachments = lambda volume: [reserved]   # the database now
    new = make_volume(id=fake.VOLUME2_ID)
    with pytest.raises(exc.OperationRefused, match='attach'):
        drv.create_volume_from_snapshot(new, make_snapshot(stale))
    assert not any(fakes.is_metadata_write(c) for c in executor.commands)


def test_production_reads_attachments_from_the_database(make_volume):
    from cinder import objects
    from cinder_shared_lvm import driver as drvmod
    vol = make_volume()
    fresh = [cinder_objects.attachment(vol.obj_context, vol, 'cmp2')]
    with mock.patch.object(objects.VolumeAttachmentList,
                           'get_all_by_volume_id',
                           return_value=fresh) as read:
        assert drvmod.SharedLVMDriver._read_attachments(vol) == fresh
    assert read.call_args[0][1] == vol.id


# -- hole 2: delete_snapshot's clear ------------------------------------------

def test_attach_of_origin_waits_for_the_snapshot_clear(
        make_driver, executor, fake_vg, make_volume, make_snapshot):
    """Before: the attach passed while the clear had the family active."""
    drv = make_driver(volume_clear='zero')
    family_of_one_snapshot(fake_vg)
    vol = make_volume()
    gate = Gate()
    executor.add(('dd',), gate)

    def lvremove(argv):
        del fake_vg.lvs[SNAP]
        fake_vg.add_lv(VOL, GiB)
        return '', ''
    executor.add(('lvremove',), lvremove)
    deleted, attached = attach_while_held(
        drv, gate, vol, 'the attach passed during the clear',
        drv.delete_snapshot, make_snapshot(vol))
    assert 'error' not in deleted, deleted
    # the family is gone: a plain LV, and nothing active on cinder-node
    assert attached['result']['data']['activation'] == 'shared'
    assert family.ACTIVE.users(VG, VOL) == 0


# -- hole 3: in-flight attaches without a host --------------------------------

def test_second_in_flight_attach_of_a_family_is_refused(
        drv, executor, fake_vg, make_volume):
    """Before: attachments without a host were ignored: both exclusive."""
    family_of_one_snapshot(fake_vg)
    vol = make_volume(multiattach=True)
    ctx = vol.obj_context
    cinder_objects.set_attachments(ctx, vol, [
        cinder_objects.attachment(ctx, vol, None, attach_status='reserved',
                                  id=fake.ATTACHMENT_ID),
        cinder_objects.attachment(ctx, vol, None, attach_status='reserved',
                                  id=fake.ATTACHMENT2_ID)])
    with pytest.raises(exc.OperationRefused, match='in progress'):
        drv.initialize_connection(vol, dict(CONNECTOR))


def test_own_in_flight_attach_is_not_counted(drv, fake_vg, make_volume):
    family_of_one_snapshot(fake_vg)
    vol = make_volume()
    ctx = vol.obj_context
    cinder_objects.set_attachments(ctx, vol, [cinder_objects.attachment(
        ctx, vol, None, attach_status='reserved')])
    info = drv.initialize_connection(vol, dict(CONNECTOR))
    assert info['data']['activation'] == 'exclusive'


# -- hole 4: activation bookkeeping per family --------------------------------

def test_two_copies_from_two_snapshots_share_the_family(
        drv, executor, fake_vg, make_volume, make_snapshot):
    """Before: the first copy to finish deactivated the family under the
    second (deactivating any member takes the whole family down)."""
    family_of_one_snapshot(fake_vg, (SNAP, SNAP2))
    vol = make_volume()
    fake_vg.add_lv(NEW, GiB)
    gate = Gate()
    executor.add(lambda argv: argv[0] == 'dd' and SNAP2 in argv[1], gate)
    second, second_done = in_thread(
        drv.create_volume_from_snapshot,
        make_volume(id=fake.VOLUME3_ID), make_snapshot(
            vol, id=fake.SNAPSHOT2_ID))
    assert gate.entered.wait(WAIT)
    drv.create_volume_from_snapshot(make_volume(id=fake.VOLUME2_ID),
                                    make_snapshot(vol))
    members = {ref(VOL), ref(SNAP), ref(SNAP2)}
    assert not [c for c in executor.commands
                if c[:2] == ('lvchange', '-an') and c[-1] in members], \
        'the family was deactivated while a copy still read it'
    gate.opened.set()
    second.join(WAIT)
    assert 'error' not in second_done, second_done
    assert executor.commands.count(fakes.deactivate(ref(VOL))) == 1
    assert family.ACTIVE.users(VG, VOL) == 0


# -- hole 5: revert is all or nothing -----------------------------------------

def test_revert_whose_recreate_fails_says_how_to_restore(
        drv, executor, ctx, fake_vg, make_volume, make_snapshot):
    """Before: the snapshot was gone and Cinder listed it as available."""
    family_of_one_snapshot(fake_vg)
    vol = make_volume()
    snap = make_snapshot(vol)
    executor.add(('lvcreate', '-s'), fakes.pe_error(5, 'no space'))
    with mock.patch.object(type(snap), 'save') as save:
        with pytest.raises(exc.RevertIncomplete) as err:
            drv.revert_to_snapshot(ctx, vol, snap)
    assert 'lvcreate -s -n %s -L 1035m -c 64k %s' % (SNAP, ref(VOL)) in str(
        err.value)
    assert snap.status == 'error' and save.called
    assert executor.names().count('lvcreate') == 2      # tried twice
    assert executor.commands[-1] == fakes.deactivate(ref(VOL))


def test_revert_whose_deactivation_fails_keeps_the_snapshot(
        drv, executor, ctx, fake_vg, make_volume, make_snapshot):
    """Before: a failed lvchange -an after the merge skipped the
    recreation, losing the snapshot."""
    family_of_one_snapshot(fake_vg)
    vol = make_volume()
    executor.add(('lvchange', '-an'), fakes.pe_error(5, 'in use'))
    with pytest.raises(exc.RevertIncomplete, match='still active'):
        drv.revert_to_snapshot(ctx, vol, make_snapshot(vol))
    names = executor.names()
    assert names.index('lvconvert') < names.index('lvcreate')
    # still active here: counted, so an attach elsewhere is refused
    assert family.ACTIVE.users(VG, VOL) == 1
    with pytest.raises(exc.OperationRefused):
        drv.initialize_connection(make_volume(), dict(CONNECTOR))
    family.ACTIVE.release(VG, VOL, ())


# -- hole 10: undo paths clear ------------------------------------------------

def test_failed_copy_clears_the_new_lv_before_removing_it(
        make_driver, executor, fake_vg, make_volume, make_snapshot):
    """Before: a bare lvremove left tenant data on free extents."""
    drv = make_driver(volume_clear='zero')
    family_of_one_snapshot(fake_vg)
    fake_vg.add_lv(NEW, 2 * GiB)
    executor.add(lambda argv: argv[0] == 'dd' and 'if=/dev/zero' not in argv,
                 fakes.pe_error(1, 'I/O error'))
    with pytest.raises(Exception):
        drv.create_volume_from_snapshot(make_volume(id=fake.VOLUME2_ID,
                                                    size=2),
                                        make_snapshot(make_volume()))
    zeroing = [i for i, c in enumerate(executor.commands)
               if c[0] == 'dd' and c[1] == 'if=/dev/zero' and
               c[2] == 'of=/dev/%s' % ref(NEW)]
    remove = executor.commands.index(('lvremove', '-f', ref(NEW)))
    assert zeroing and zeroing[0] < remove


def test_undo_keeps_an_lv_it_could_not_clear(
        make_driver, executor, fake_vg, make_volume):
    drv = make_driver(volume_clear='zero')
    fake_vg.add_lv(NEW, GiB)
    executor.add(('dd',), fakes.pe_error(1, 'I/O error'))
    drv._undo_create(NEW, 'a test')
    assert ('lvremove', '-f', ref(NEW)) not in executor.commands


# -- locks ------------------------------------------------------------------

def test_a_family_lock_under_the_vg_lock_is_a_bug(drv):
    with drv._metadata_lock():
        with pytest.raises(family.LockOrderError):
            with drv._family(VOL, 'test'):
                pass


def test_locks_are_reentrant_in_one_thread(drv):
    with drv._family(VOL, 'outer'):
        with drv._family(VOL, 'inner'):
            assert family.holds_family_lock(VG, VOL)
        assert family.holds_family_lock(VG, VOL)
    assert not family.holds_family_lock(VG, VOL)


def test_family_lock_timeout_is_a_clear_error(make_driver, fake_vg,
                                              make_volume):
    drv = make_driver(shared_lvm_lock_timeout=1)
    fake_vg.add_lv(VOL, GiB)
    taken, done = threading.Event(), threading.Event()

    def hold():
        with drv._family(VOL, 'holder'):
            taken.set()
            done.wait(WAIT)
    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    assert taken.wait(WAIT)
    try:
        with pytest.raises(exc.FamilyLockTimeout, match='Nothing was'):
            drv.extend_volume(make_volume(), 2)
    finally:
        done.set()
        holder.join(WAIT)


# -- hole 12 ------------------------------------------------------------------

def test_get_driver_options_on_the_bare_class_in_a_fresh_process():
    """Before: KeyError('lvm_type'), as cinder's own tooling calls it."""
    code = ('from cinder_shared_lvm.driver import SharedLVMDriver; '
            'names = [o.name for o in SharedLVMDriver.get_driver_options()]; '
            'assert "lvm_type" in names and "shared_lvm_volume_group" in '
            'names, names; print(len(names))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.split()[-1]) >= 10
