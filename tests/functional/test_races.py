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

"""Concurrent requests against one snapshot family, on real kernels.

Every scenario pairs one driver operation with one attach (``single``) or
two attaches from two hosts at once (``two-hosts``, a multi-attach
volume) of the same volume, at one *offset*:

* ``before-lock``: the operation is held just before its family lock, the
  attach runs to the end, then the operation goes on (where the old code
  had decided already);
* ``decided``: the operation holds the family lock, has re-read and
  decided, and is held before it acts; the attach must wait or be refused;
* ``active``: a copy holds its lease (the lock is free, the source family
  active on cinder-node); the attach must be refused;
* ``attach-reserved``: Cinder has reserved the attach (no host yet), which
  is held before initialize_connection while the operation runs.

A monitor samples the dm tables of all three hosts throughout
(races.Monitor). Each scenario then checks the data by checksum, that no
dm device is left on any host once everything is detached, and vgck.

The outcomes ("refused", "waited, then succeeded"...) and the monitor's
sample counts are printed at the end, per scenario over every run, and
written in full (with each refusal's message) to $CSLVM_RACE_REPORT if
set. CI runs a subset (CI_EXTRA and every operation at ``decided``).
The heavier tier, every scenario five times:
``CSLVM_RACE_RUNS=5 CSLVM_RACE_FULL=1 tools/run-tests
tests/functional/test_races.py``.
"""

import json
import os
import sys
import threading
from unittest import mock

import pytest

from cinder_shared_lvm import family
from tests.functional import inject
from tests.functional import races
from tests.functional import world as worldmod

pytestmark = pytest.mark.functional

C1, C2, NODE = races.C1, races.C2, races.NODE
VG = 'racevg'
RUNS = int(os.environ.get('CSLVM_RACE_RUNS', '1'))
FULL = os.environ.get('CSLVM_RACE_FULL') == '1'
COPY_MIB = 2


class Op(object):
    """One driver operation of a scenario.

    :param point: the prefix of its pause points in the driver
    :param setup: what exists before it: 'plain', 'cow' (a COW snapshot),
                  'legacy' (a hand-made, unmanaged COW snapshot)
    :param active: it has an ``active`` point (a copy's lease)
    """

    def __init__(self, name, point, setup, run, active=False):
        self.name, self.point, self.setup = name, point, setup
        self.run, self.active = run, active

    def offsets(self) -> list:
        return (['before-lock', 'decided'] + (['active'] if self.active
                                              else []) +
                ['attach-reserved'])


def _new_volume(env, sc):
    sc.new = env.w.volume(size=1)
    return sc.new


OPS = [
    Op('snapshot-cow', 'snapshot', 'plain',
       lambda env, sc: env.drv.create_snapshot(sc.new_snap())),
    Op('snapshot-copy', 'copy-snapshot', 'plain',
       lambda env, sc: env.copy_drv.create_snapshot(sc.new_snap()),
       active=True),
    Op('delete-snapshot', 'delete-snapshot', 'cow',
       lambda env, sc: env.clear_drv.delete_snapshot(sc.snap)),
    Op('volume-from-snapshot', 'from-snapshot', 'cow',
       lambda env, sc: env.drv.create_volume_from_snapshot(
           _new_volume(env, sc), sc.snap), active=True),
    Op('clone', 'clone', 'plain',
       lambda env, sc: env.drv.create_cloned_volume(
           _new_volume(env, sc), sc.vol), active=True),
    Op('revert', 'revert', 'cow',
       lambda env, sc: env.drv.revert_to_snapshot(env.w.ctx, sc.vol,
                                                  sc.snap)),
    Op('extend', 'extend', 'plain',
       lambda env, sc: env.drv.extend_volume(sc.vol, 2)),
    Op('delete', 'delete', 'plain',
       lambda env, sc: env.drv.delete_volume(sc.vol)),
    Op('manage', 'manage-snapshot', 'legacy',
       lambda env, sc: env.drv.manage_existing_snapshot(
           sc.new_snap(), {'source-name': 'legacy'})),
]


# The CI subset: every operation against an attach at 'decided', the
# reserved-attach offset and two hosts where a family is at stake, and one
# lease. CSLVM_RACE_FULL=1 runs every operation at every offset, with one
# attach and with two.
CI_EXTRA = {('snapshot-cow', 'attach-reserved', 'single'),
            ('volume-from-snapshot', 'attach-reserved', 'single'),
            ('revert', 'attach-reserved', 'single'),
            ('clone', 'active', 'single'),
            ('delete-snapshot', 'decided', 'two-hosts'),
            ('volume-from-snapshot', 'decided', 'two-hosts')}


def _scenarios():
    for run in range(RUNS):
        for op in OPS:
            for offset in op.offsets():
                for kind in ('single', 'two-hosts'):
                    if FULL or (offset, kind) == ('decided', 'single') or \
                            (op.name, offset, kind) in CI_EXTRA:
                        yield op, offset, kind, run


SCENARIOS = list(_scenarios())
REPORTS = []


class Env(object):
    """Three drivers on one VG (cow, copy-mode snapshots, clearing)."""

    def __init__(self, w):
        self.w = w
        # NOTE: one section each (options are per section), all under one
        # service name: one writer of the VG.
        service = '%s@%s' % (NODE, w.backend)
        self.drv = w.driver = w.make_driver(
            shared_lvm_snapshot_mode='cow', volume_clear='none')
        self.copy_drv = w.make_driver(
            backend='racecopy', service_host=service,
            shared_lvm_snapshot_mode='copy', volume_clear='none')
        self.clear_drv = w.make_driver(
            backend='raceclear', service_host=service,
            shared_lvm_snapshot_mode='cow', volume_clear='zero',
            volume_clear_size=COPY_MIB)
        self.drivers = (self.drv, self.copy_drv, self.clear_drv)
        for drv in self.drivers:
            drv.datapath.copy = self._short_copy

    def _short_copy(self, src, dst, size_gb):
        # NOTE: the regions the scenario checks; a full 1 GiB dd per
        # scenario would take minutes under TCG (test_lifecycle.py copies
        # whole volumes).
        self.w.node().execute(
            'dd', 'if=%s' % src, 'of=%s' % dst, 'bs=1M',
            'count=%d' % COPY_MIB, 'iflag=direct', 'oflag=direct',
            'conv=fsync,notrunc')


@pytest.fixture(scope='module')
def env(world_factory, pytestconfig):
    w = world_factory(vg_name=VG)
    w.prepare_vg()
    w.setup_driver()
    yield Env(w)
    plugins = pytestconfig.pluginmanager
    # NOTE: a fixture's teardown runs with fd 1 captured; without this the
    # report went nowhere unless a test failed.
    with plugins.get_plugin('capturemanager').global_and_fixture_disabled():
        _print_report(plugins.get_plugin('terminalreporter'))
    w.remove_vg()


def _print_report(terminal):
    # NOTE: each outcome's full error text goes to $CSLVM_RACE_REPORT;
    # the terminal gets one line per scenario over every run.
    lines = ['', 'race suite: %d scenarios run, %d monitor samples; by '
             'scenario over %d run(s):' % (
                 len(REPORTS), sum(r.samples for r in REPORTS), RUNS)]
    lines += races.summarize(REPORTS)
    if terminal is not None:
        terminal.write_line('\n'.join(lines))
    else:
        sys.stderr.write('\n'.join(lines) + '\n')
    path = os.environ.get('CSLVM_RACE_REPORT')
    if path:
        with open(path, 'a') as out:
            json.dump([r._asdict() for r in REPORTS], out, indent=1)


class Scenario(object):
    """The objects of one scenario: the volume, its snapshot, new LVs."""

    def __init__(self, env, op, kind, label):
        self.env, self.w = env, env.w
        self.op, self.kind, self.label = op, kind, label
        self.data = races.Data(label)
        self.vol = self.w.volume(size=1, multiattach=kind == 'two-hosts')
        self.snap = None
        self.new = None
        self.made_snaps = []

    def new_snap(self):
        snap = self.w.snapshot(self.vol)
        self.made_snaps.append(snap)
        return snap

    def build(self):
        drv = self.env.drv
        drv.create_volume(self.vol)
        self.data.seed_volume(self.w, self.vol.name)
        if self.op.setup == 'cow':
            self.snap = self.w.snapshot(self.vol)
            drv.create_snapshot(self.snap)
            lv = self.w.lvs()[races.snapshot_lv(self.snap)]
            assert lv['is_snapshot'], 'not a COW snapshot: %r' % lv
        elif self.op.setup == 'legacy':
            with drv._metadata_lock():
                drv.vg.create_lv_snapshot('legacy', self.vol.name,
                                          size_str='1100m')

    def families(self) -> dict:
        return {self.vol.name: races.family_members(self.w, self.vol.name)}


def _run_scenario(env, op, offset, kind, label):
    sc = Scenario(env, op, kind, label)
    sc.build()
    families = sc.families()
    hosts = (C1,) if kind == 'single' else (C1, C2)
    drv = {'snapshot-copy': env.copy_drv,
           'delete-snapshot': env.clear_drv}.get(op.name, env.drv)
    attachers = []
    with races.Monitor(env.w, families) as monitor:
        refresher = threading.Thread(target=_keep_members, daemon=True,
                                     args=(env.w, sc, families, monitor))
        refresher.start()
        if offset == 'attach-reserved':
            outcomes = _attach_first(env, sc, op, hosts, attachers)
        else:
            outcomes = _op_first(env, sc, op, drv, offset, hosts, attachers)
    REPORTS.append(races.Report(
        '%s %s %s' % (op.name, kind, offset) + (
            ' #%s' % label.split('-')[-1] if RUNS > 1 else ''),
        [o.describe() for o in outcomes], monitor.samples))
    assert monitor.samples >= 2
    assert not monitor.violations, monitor.violations[:3]
    _check_and_clean(env, sc, op, outcomes, attachers)


def _keep_members(w, sc, families, monitor):
    # NOTE: a snapshot made during the scenario joins the family the
    # monitor watches.
    while not monitor._stop.is_set():
        families[sc.vol.name] = families[sc.vol.name] | set(
            races.family_members(w, sc.vol.name))
        monitor._stop.wait(1.0)


def _op_first(env, sc, op, drv, offset, hosts, attachers):
    pause = races.Pause('%s:%s' % (op.point, offset), 'op')
    with races.paused_drivers(env.drivers, pause):
        op_thread, op_out = races.start('op', op.run, env, sc)
        pause.reached.wait(races.JOIN)
        threads, outs = _start_attaches(env, sc, hosts, attachers)
        races.wait_or_mark(pause, threads, outs)
        pause.go.set()
        races.join([op_thread] + threads)
    op_out.name = op.name
    return [op_out] + outs


def _attach_first(env, sc, op, hosts, attachers):
    pause = races.Pause('attach:reserved', 'attach-%s' % hosts[0])
    with races.paused_drivers(env.drivers, pause):
        threads, outs = _start_attaches(env, sc, hosts, attachers,
                                        pause=pause)
        pause.reached.wait(races.JOIN)
        op_thread, op_out = races.start('op', op.run, env, sc)
        races.wait_or_mark(pause, [op_thread], [op_out])
        pause.go.set()
        races.join([op_thread] + threads)
    op_out.name = op.name
    return [op_out] + outs


def _start_attaches(env, sc, hosts, attachers, pause=None):
    threads, outs = [], []
    for host in hosts:
        attacher = races.Attacher(env.w, sc.vol, host, sc.data,
                                  pause=pause if host == hosts[0] else None)
        attachers.append(attacher)
        thread, out = races.start('attach-%s' % host, attacher)
        out.name = 'attach %s' % host
        threads.append(thread)
        outs.append(out)
    return threads, outs


def _check_and_clean(env, sc, op, outcomes, attachers):
    w, data = env.w, sc.data
    wrote = [a for a in attachers if a.path]
    for a in wrote:
        assert a.read_a == data.sum_a, 'attach read changed data'
    op_out = outcomes[0]
    if op.name in ('snapshot-cow', 'manage') and op_out.error is None:
        made = races.snapshot_lv(sc.made_snaps[-1])
        assert w.lvs()[made]['origin'] == sc.vol.name, made
    if op.name == 'extend' and op_out.error is None:
        for a in wrote:
            info = w._attachment(sc.vol, a.host).connection_info['data']
            assert w.connector(a.host).extend_volume(info) == 2 << 30
    for a in wrote:
        w.detach(sc.vol, a.host)
    assert w.stale_dm_devices() == {}, 'dm devices left after detach'
    assert races.no_leases_left(VG), family.ACTIVE.families(VG)
    lvs = w.lvs()
    if sc.vol.name in lvs:
        want = data.sum_b1 if wrote else data.sum_b0
        assert data.sums_on_node(w, sc.vol.name, sc.vol.name) == want, \
            'origin data'
    for name in _copies(sc, lvs):
        assert data.sums_on_node(w, name, sc.vol.name) == data.sum_b0, \
            'copy or snapshot %s' % name
    _remove_all(env, lvs)
    assert w.stale_dm_devices() == {}
    w.vgck()            # raises unless the VG is consistent


def _copies(sc, lvs) -> list:
    """LVs that hold the volume's data as it was before any attach."""
    names = [races.snapshot_lv(s) for s in sc.made_snaps + [sc.snap]
             if s is not None]
    names += ['legacy'] + ([sc.new.name] if sc.new is not None else [])
    return [n for n in names if n in lvs]


def _remove_all(env, lvs):
    drv = env.drv
    snaps = [n for n, lv in lvs.items() if lv['is_snapshot']]
    with drv._metadata_lock():
        for name in snaps + [n for n in lvs if n not in snaps]:
            drv.vg.delete(name)
    assert env.w.lvs() == {}


@pytest.mark.parametrize('op,offset,kind,run', SCENARIOS,
                         ids=['%s-%s-%s-%d' % (o.name, off, k, r)
                              for o, off, k, r in SCENARIOS])
def test_race(env, op, offset, kind, run):
    _run_scenario(env, op, offset, kind,
                  '%s-%s-%s-%d' % (op.name, offset, kind, run))


# -- copies of one family at once ---------------------------------------------

def _hold_copy(env, drv, point, func, *args):
    pause = races.Pause(point, 'held')
    drv.pause_hook = pause
    thread, out = races.start('held', func, *args)
    assert pause.reached.wait(races.JOIN), out.error
    return pause, thread, out


@pytest.mark.parametrize('run', range(RUNS))
def test_two_copies_from_two_snapshots_of_one_origin(env, run):
    """The first copy to finish must not take the family down under the
    second (LVM deactivates a family with any member)."""
    w, drv = env.w, env.drv
    vol = w.volume(size=1)
    drv.create_volume(vol)
    data = races.Data('two-copies')
    data.seed_volume(w, vol.name)
    s1, s2 = w.snapshot(vol), w.snapshot(vol)
    drv.create_snapshot(s1)
    drv.create_snapshot(s2)
    n1, n2 = w.volume(size=1), w.volume(size=1)
    with races.Monitor(w, {vol.name: races.family_members(w, vol.name)}) \
            as monitor:
        pause, held, held_out = _hold_copy(
            env, drv, 'from-snapshot:active',
            drv.create_volume_from_snapshot, n2, s2)
        try:
            drv.create_volume_from_snapshot(n1, s1)      # runs to the end
        finally:
            drv.pause_hook = None
            pause.go.set()
        races.join([held])
    REPORTS.append(races.Report('two copies from two snapshots #%d' % run, [
        'first succeeded', held_out.describe()], monitor.samples))
    assert held_out.error is None, held_out.error
    assert not monitor.violations
    for new in (n1, n2):
        assert data.sums_on_node(w, new.name, new.name) == data.sum_b0
    assert w.stale_dm_devices() == {}
    _remove_all(env, w.lvs())


@pytest.mark.parametrize('run', range(RUNS))
def test_a_clear_racing_a_clone_of_the_origin(env, run):
    """delete-snapshot's clear shares the family the clone has active."""
    w = env.w
    vol = w.volume(size=1)
    env.drv.create_volume(vol)
    data = races.Data('clear-clone')
    data.seed_volume(w, vol.name)
    snap = w.snapshot(vol)
    env.drv.create_snapshot(snap)
    new = w.volume(size=1)
    with races.Monitor(w, {vol.name: races.family_members(w, vol.name)}) \
            as monitor:
        pause, held, held_out = _hold_copy(
            env, env.drv, 'clone:active', env.drv.create_cloned_volume,
            new, vol)
        try:
            env.clear_drv.delete_snapshot(snap)
        finally:
            env.drv.pause_hook = None
            pause.go.set()
        races.join([held])
    REPORTS.append(races.Report('clear racing a clone #%d' % run, [
        'delete-snapshot succeeded', held_out.describe()], monitor.samples))
    assert held_out.error is None, held_out.error
    assert not monitor.violations
    assert races.snapshot_lv(snap) not in w.lvs()
    assert data.sums_on_node(w, new.name, new.name) == data.sum_b0
    assert w.stale_dm_devices() == {}
    _remove_all(env, w.lvs())


# -- a command that fails mid-step --------------------------------------------

FAULTS = [
    # (operation, command that fails, passes before it fails). NOTE: dd is
    # a busybox applet in the rig's shell and cannot be wrapped; a copy
    # fails at the activation of its new LV instead (the source's -ay and
    # --refresh pass first).
    ('clone', 'lvchange', 2),
    ('delete-snapshot', 'lvremove', 0),
    ('revert', 'lvconvert', 0),
] + ([
    ('volume-from-snapshot', 'lvchange', 2),
    ('snapshot-copy', 'lvchange', 2),
    ('extend', 'lvextend', 0),
    ('manage', 'lvrename', 0),
] if FULL else [])


@pytest.mark.parametrize('op_name,command,after', FAULTS,
                         ids=['%s-%s' % (f[0], f[1]) for f in FAULTS])
def test_a_failed_step_loses_nothing(env, op_name, command, after):
    op, = [o for o in OPS if o.name == op_name]
    w = env.w
    sc = Scenario(env, op, 'single', 'fault-%s' % op_name)
    sc.build()
    try:
        _fail_one_step(env, sc, op, command, after)
    finally:
        _remove_all(env, w.lvs())
    assert w.stale_dm_devices() == {}


def _fail_one_step(env, sc, op, command, after):
    w = env.w
    before = {n: lv['size_bytes'] for n, lv in w.lvs().items()}
    node = w.node()
    inject.install(node, command)
    inject.arm(node, command, after)
    try:
        with pytest.raises(Exception, match='injected failure'):
            op.run(env, sc)
    finally:
        assert not inject.disarm(node, command), 'the fault never fired'
    # nothing lost: what existed is there with its size and data
    lvs = w.lvs()
    for name, size in before.items():
        assert name in lvs and lvs[name]['size_bytes'] == size, name
    assert not [n for n in lvs if n not in before], \
        'a failed step left a new LV'
    # NOTE: a delete-snapshot that fails after its clear has zeroed part
    # of the COW store of the snapshot being deleted (Cinder has it
    # error_deleting); the origin and every other LV must be intact.
    assert data_ok(w, sc, skip_snapshot=op.name == 'delete-snapshot')
    assert races.no_leases_left(VG)
    assert w.stale_dm_devices() == {}
    # and the next start finds nothing to repair
    found = w.restart_driver()
    assert found == {'incomplete': [], 'removed': [], 'deactivated': [],
                     'removed_dm': [], 'in_flight': [], 'live_owner': []}


def data_ok(w, sc, skip_snapshot=False) -> bool:
    data = sc.data
    assert data.sums_on_node(w, sc.vol.name, sc.vol.name) == data.sum_b0
    for name in _copies(sc, w.lvs()):
        if skip_snapshot and sc.snap and name == races.snapshot_lv(sc.snap):
            continue
        assert data.sums_on_node(w, name, sc.vol.name) == data.sum_b0
    return True


def test_revert_whose_recreation_fails_names_the_command_that_restores(env):
    """After the merge, lvcreate -s fails twice (the driver retries once):
    the snapshot is marked error, the error names the one command, and
    running it restores a snapshot of the reverted data."""
    op, = [o for o in OPS if o.name == 'revert']
    w = env.w
    sc = Scenario(env, op, 'single', 'revert-recreate')
    sc.build()
    node = w.node()
    inject.install(node, 'lvcreate')
    inject.arm(node, 'lvcreate', 0, times=2)
    with mock.patch.object(type(sc.snap), 'save'):
        with pytest.raises(Exception, match='lvcreate -s -n') as err:
            op.run(env, sc)
    assert not inject.disarm(node, 'lvcreate')
    assert sc.snap.status == 'error'
    snap_lv = races.snapshot_lv(sc.snap)
    assert snap_lv not in w.lvs()
    assert races.no_leases_left(VG)
    assert w.stale_dm_devices() == {}
    command = str(err.value).split('"')[1]
    node.execute(*command.split())
    assert w.lvs()[snap_lv]['origin'] == sc.vol.name
    data_ok(w, sc)
    _remove_all(env, w.lvs())


def test_revert_whose_deactivation_fails_keeps_the_snapshot(env):
    """lvchange -an fails after the merge: the snapshot exists, the family
    stays counted (attaches refused), and the next start deactivates it."""
    op, = [o for o in OPS if o.name == 'revert']
    w = env.w
    sc = Scenario(env, op, 'single', 'revert-deactivate')
    sc.build()
    node = w.node()
    inject.install(node, 'lvchange')
    # lvchange -aey and --refresh pass; the -an after the merge fails
    inject.arm(node, 'lvchange', 2)
    with pytest.raises(Exception, match='still active'):
        op.run(env, sc)
    assert not inject.disarm(node, 'lvchange')
    assert races.snapshot_lv(sc.snap) in w.lvs()
    with pytest.raises(Exception, match='copy'):
        w.attach(sc.vol, C1)
    # a restart: this process's count is gone, the LVs are still active
    family.ACTIVE.release(VG, sc.vol.name, ())
    found = w.restart_driver()
    # NOTE: the origin's lvchange -an takes the whole family down, so
    # device-mapper has nothing left for the dm pass.
    assert found['deactivated'] == [sc.vol.name], found
    assert found['removed_dm'] == [], found
    assert w.stale_dm_devices() == {}
    data_ok(w, sc)
    _remove_all(env, w.lvs())


def _next_extents(env) -> str:
    """Where the VG puts its next 1 GiB LV (lvcreate allocates first fit)."""
    drv = env.drv
    with drv._metadata_lock():
        drv.vg.create_volume('probe', '1g')
    out, _err = env.w.node().execute(
        'lvs', '--noheadings', '-o', 'seg_pe_ranges', '%s/probe' % VG)
    with drv._metadata_lock():
        drv.vg.delete('probe')
    return out.strip()


def test_a_failed_copy_leaves_no_tenant_data_on_free_extents(env):
    """The copy is done, then its last step fails: the undo must clear the
    new LV before freeing it (lvcreate -Zn does not zero for the next)."""
    w = env.w
    sc = Scenario(env, [o for o in OPS if o.name == 'clone'][0], 'single',
                  'undo-clear')
    sc.build()
    where = _next_extents(env)
    node = w.node()
    inject.install(node, 'lvchange')
    # activate+refresh of source and target, two deactivations, then the
    # --deltag that marks the copy complete fails
    inject.arm(node, 'lvchange', 6)
    with pytest.raises(Exception, match='injected failure'):
        env.clear_drv.create_cloned_volume(_new_volume(env, sc), sc.vol)
    assert not inject.disarm(node, 'lvchange')
    assert sc.new.name not in w.lvs()
    assert _next_extents(env) == where
    with env.drv._metadata_lock():
        env.drv.vg.create_volume('probe', '1g')
    with w.on_node('probe') as path:
        seen = w.checksum(NODE, path, 1)
    assert seen != sc.data.sum_a, 'tenant data left on freed extents'
    assert seen == worldmod.sha256(bytes(races.MIB))
    _remove_all(env, w.lvs())
