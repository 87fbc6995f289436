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

"""Every row of the policy table (doc/source/operations.rst) on the rig.

Each ``test_<row>`` runs one operation in every column of its row, with
the real driver on cinder-node and the real connector on the computes.
The expected cells are parsed from the doc, as the unit test does, so the
doc, the unit test and this test cannot drift apart.

A refused or busy cell must change nothing: vg_seqno, the LV list, the
volume's data checksum and every host's device-mapper devices are compared
before and after. An ``ok`` cell must really happen, and its undo must
leave no dm device behind. Copies copy the first DATA_MIB MiB only (the
full copy is proven by test_lifecycle.py): a full 1 GiB dd per cell would
take minutes under TCG and fill the sparse LUN.
"""

import concurrent.futures
import contextlib

from cinder import exception as cinder_exception
from oslo_config import cfg
import pytest

from cinder_shared_lvm import driver as drvmod
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exception
from tests.functional import world as worldmod
from tests.unit import test_driver_states as table

pytestmark = pytest.mark.functional

CONF = cfg.CONF
C1, C2, NODE = 'compute-1', 'compute-2', worldmod.CINDER_NODE
HOSTS = (NODE, C1, C2)
MIB = worldmod.MIB
GIB = 1 << 30
DATA_MIB = 1
VG = 'polvg'
BUSY = (cinder_exception.VolumeIsBusy, cinder_exception.SnapshotIsBusy)
# The rig has two computes: the operation runs for compute-1 ('cmp1');
# 'cmp2' is compute-2, and attached-2's second host ('cmp3') is compute-1.
ATTACHED = {'attached': (C2,), 'attached-2': (C2, C1),
            'family-att': (C2,)}


class State(object):
    def __init__(self, name):
        self.name = name
        self.family = name.startswith('family')
        self.hosts = ATTACHED.get(name, ())
        self.vol = self.snap = None
        self.infos = {}
        self.sum = None
        self.stack = contextlib.ExitStack()

    @property
    def snap_lv(self):
        return drvmod.snapshot_lv_name(self.snap)


class Env(object):
    """The world plus the cached column states of the table."""

    def __init__(self, world):
        self.w = world
        self.drv = world.driver
        self.states = {}
        self.pool = concurrent.futures.ThreadPoolExecutor(6)
        self.drv.datapath.copy = self._short_copy
        self.drv.datapath.lv_to_image = self._short_upload

    # -- stand-ins for the long data paths ----------------------------------

    def _short_copy(self, src, dst, size_gb):
        self.w.node().execute(
            'dd', 'if=%s' % src, 'of=%s' % dst, 'bs=1M',
            'count=%d' % DATA_MIB, 'iflag=direct', 'oflag=direct',
            'conv=fsync,notrunc')

    def _short_upload(self, context, image_service, image_meta, lease,
                      volume):
        self.w.checksum(NODE, lease.path, DATA_MIB)
        lease.release()

    # -- states ---------------------------------------------------------------

    def state(self, name):
        if name not in self.states:
            self.states[name] = self._build(name)
        return self.states[name]

    def _build(self, name):
        st = State(name)
        w, drv = self.w, self.drv
        st.vol = w.volume(size=1, multiattach=len(st.hosts) > 1)
        drv.create_volume(st.vol)
        with w.on_node(st.vol.name) as path:
            st.sum = w.write(NODE, path, worldmod.pattern(name, DATA_MIB
                                                          * MIB))
        st.snap = w.snapshot(st.vol)
        if st.family:
            drv.create_snapshot(st.snap)
        else:
            # a copy-mode snapshot as LVM sees it, without its 1 GiB copy
            with drv._metadata_lock():
                drv.vg.create_volume(st.snap_lv, '1g',
                                     tags=(drvmod.COPY_SNAPSHOT_TAG,))
        for host in st.hosts:
            w.attach(st.vol, host)
            st.infos[host] = w._attachment(st.vol, host).connection_info
        if name == 'copying':
            st.stack.enter_context(w.on_node(st.vol.name))
        elif name == 'family-copying':
            st.stack.enter_context(w.on_node(st.snap_lv, st.vol.name))
        return st

    def drop(self, name):
        """Tear a state down; it is rebuilt when a row needs it again."""
        st = self.states.pop(name, None)
        if st is None:
            return
        st.stack.close()
        for host in st.hosts:
            info = st.infos[host]['data']
            self.w.connector(host).disconnect_volume(info, None, force=True)
        lvs = self.w.lvs()
        for lv in (st.snap_lv, st.vol.name):
            if lv in lvs:
                self.remove_lv(lv)

    def remove_lv(self, name):
        with self.drv._metadata_lock():
            self.drv.vg.delete(name)

    def close(self):
        try:
            for name in list(self.states):
                self.drop(name)
        finally:
            self.pool.shutdown()

    # -- observations ---------------------------------------------------------

    def read_sum(self, st):
        w, drv = self.w, self.drv
        if st.hosts:
            path = st.infos[st.hosts[0]]['data']['device_path']
            return w.checksum(st.hosts[0], path, DATA_MIB)
        if st.name.endswith('copying'):
            return w.checksum(NODE, drv.vg.lv_path(st.vol.name), DATA_MIB)
        with w.on_node(st.vol.name, reads=False) as path:
            return w.checksum(NODE, path, DATA_MIB)

    def _dm_of_host(self, host):
        return sorted(n for n in self.w.node(host).dm_tables()
                      if n.startswith(VG + '-'))

    def dm(self):
        return dict(zip(HOSTS, self.pool.map(self._dm_of_host, HOSTS)))

    def dm_of(self, *lv_names, hosts=HOSTS):
        """dm devices of these LVs (with -real/-cow parts) on *hosts*."""
        mine = tuple(worldmod.connmod.dm_name(VG, n) for n in lv_names)
        return [n for h, names in self.dm().items() if h in hosts
                for n in names if n.startswith(mine)]

    def _lvs(self):
        return {n: (r['uuid'], r['size_bytes'], r['attr'][0], r['origin'])
                for n, r in self.w.lvs().items()}

    def observe(self, st):
        """What a refused cell must not change; read in parallel."""
        jobs = {'vg_seqno': self.pool.submit(self.w.vg_seqno),
                'lvs': self.pool.submit(self._lvs),
                'data': self.pool.submit(self.read_sum, st)}
        seen = {'dm': self.dm()}
        seen.update((k, job.result()) for k, job in jobs.items())
        return seen


@pytest.fixture(scope='module')
def env(world_factory):
    # small COW stores: seven columns share the session's 20 GiB LUN
    w = world_factory(vg_name=VG,
                      overrides={'shared_lvm_snapshot_size_percent': 5})
    w.prepare_vg(expected_volumes=200)
    w.setup_driver()
    e = Env(w)
    yield e
    try:
        e.close()
    finally:
        for host in (C1, C2):
            w.node(host).execute('lvchange', '-an', VG,
                                 check_exit_code=False)
        w.remove_vg()


# -- the operations of the table's rows ---------------------------------------
# Each returns the cell's value for a run that was not refused.

def op_attach(env, st):
    w, drv = env.w, env.drv
    info = drv.initialize_connection(st.vol, w.connector_properties(C1))
    conn = w.connector(C1)
    path = conn.connect_volume(info['data'])['path']
    try:
        assert w.checksum(C1, path, DATA_MIB) == st.sum
    finally:
        if C1 not in st.hosts:
            conn.disconnect_volume(info['data'], None)
    return info['data']['activation']


def op_extend(env, st):
    new = st.vol.size + 1
    env.drv.extend_volume(st.vol, new)
    st.vol.size = new
    assert env.w.lvs()[st.vol.name]['size_bytes'] == new * GIB
    for host in st.hosts:
        size = env.w.connector(host).extend_volume(st.infos[host]['data'])
        assert size == new * GIB, (host, size)
    return 'ok'


def _new_snapshot(env, st, mode):
    snap = env.w.snapshot(st.vol)
    CONF.set_override('shared_lvm_snapshot_mode', mode,
                      group=env.w.backend)
    try:
        env.drv.create_snapshot(snap)
    finally:
        CONF.clear_override('shared_lvm_snapshot_mode', group=env.w.backend)
    lv = env.w.lvs()[drvmod.snapshot_lv_name(snap)]
    assert lv['is_snapshot'] == (mode == 'cow'), lv
    return 'ok'


def op_snapshot_cow(env, st):
    return _new_snapshot(env, st, 'cow')


def op_snapshot_copy(env, st):
    return _new_snapshot(env, st, 'copy')


def op_delete_snapshot(env, st):
    env.drv.delete_snapshot(st.snap)
    assert st.snap_lv not in env.w.lvs()
    return 'ok'


def op_volume_from_snapshot(env, st):
    new = env.w.volume(size=1)
    env.drv.create_volume_from_snapshot(new, st.snap)
    assert new.name in env.w.lvs()
    return 'ok'


def op_revert(env, st):
    env.drv.revert_to_snapshot(env.w.ctx, st.vol, st.snap)
    assert st.snap_lv in env.w.lvs(), 'snapshot not kept'
    return 'ok'


def op_clone(env, st):
    new = env.w.volume(size=1)
    env.drv.create_cloned_volume(new, st.vol)
    with env.w.on_node(new.name) as path:
        assert env.w.checksum(NODE, path, DATA_MIB) == st.sum
    return 'ok'


def op_upload_to_image(env, st):
    env.drv.copy_volume_to_image(env.w.ctx, st.vol, None, {'id': 'img'})
    return 'ok'


def op_delete(env, st):
    env.drv.delete_volume(st.vol)
    assert st.vol.name not in env.w.lvs()
    return 'ok'


def op_migrate_same_vg(env, st):
    vg = env.drv.vg
    host = {'host': 'other@rig2', 'capabilities': {
        'location_info': 'SharedLVMDriver:other:%s:%s' % (vg.vg_name,
                                                          vg.vg_uuid)}}
    moved, update = env.drv.migrate_volume(env.w.ctx, st.vol, host)
    assert moved and update is None
    return 'ok'


OPS = {'attach': op_attach, 'extend': op_extend,
       'snapshot-cow': op_snapshot_cow, 'snapshot-copy': op_snapshot_copy,
       'delete-snapshot': op_delete_snapshot,
       'volume-from-snapshot': op_volume_from_snapshot, 'revert': op_revert,
       'clone': op_clone, 'upload-to-image': op_upload_to_image,
       'delete': op_delete, 'migrate-same-vg': op_migrate_same_vg}
# after an ok cell, rebuild the column: its snapshot or volume is gone, or
# (extend) it grew and would fill the LUN row after row
DESTROYS = {'delete-snapshot', 'delete', 'extend'}


def run_row(env, op):
    """Run *op* in every column of its row; fail with every bad cell."""
    failures = []
    for _op, column, expected in [c for c in table.CELLS if c[0] == op]:
        try:
            _run_cell(env, op, column, expected)
        except Exception as err:
            failures.append('%s/%s: %s: %s' % (
                op, column, type(err).__name__, err))
            env.drop(column)
    assert not failures, '\n'.join(failures)


def _run_cell(env, op, column, expected):
    st = env.state(column)
    before = env.observe(st)
    try:
        got = OPS[op](env, st)
    except exc.OperationRefused as err:
        got = 'busy' if isinstance(err, BUSY) else 'refused'
        assert 'Nothing was changed' in str(err), err
        assert got == expected, 'expected %s, got %s: %s' % (expected, got,
                                                             err)
    assert got == expected, 'expected %s, got %s' % (expected, got)
    if expected in ('refused', 'busy'):
        after = env.observe(st)
        assert after == before, (before, after)
        return
    # ok: undo what the operation made, and check that nothing it
    # activated is left behind (rule 7)
    for lv in set(env.w.lvs()) - set(before['lvs']):
        env.remove_lv(lv)
    if op not in DESTROYS:
        st.sum = env.read_sum(st)
        assert env.dm() == before['dm'], (before['dm'], env.dm())
        return
    env.drop(column)
    assert not env.dm_of(st.vol.name, st.snap_lv), env.dm()


# -- one test per row --------------------------------------------------------

def test_attach(env):
    run_row(env, 'attach')


def test_extend(env):
    run_row(env, 'extend')


def test_snapshot_cow(env):
    run_row(env, 'snapshot-cow')


def test_snapshot_copy(env):
    run_row(env, 'snapshot-copy')


def test_delete_snapshot(env):
    run_row(env, 'delete-snapshot')


def test_volume_from_snapshot(env):
    run_row(env, 'volume-from-snapshot')


def test_revert(env):
    run_row(env, 'revert')


def test_clone(env):
    run_row(env, 'clone')


def test_upload_to_image(env):
    run_row(env, 'upload-to-image')


def test_delete(env):
    run_row(env, 'delete')


def test_migrate_same_vg(env):
    run_row(env, 'migrate-same-vg')


# -- live migration: Nova connects the destination, then the source goes

def test_live_migration_plain_volume(env):
    w, drv = env.w, env.drv
    vol = w.volume(size=1)
    drv.create_volume(vol)
    try:
        src = w.attach(vol, C1)
        want = w.write(C1, src, worldmod.pattern('migrate', MIB))
        dst = w.attach(vol, C2)
        assert w.checksum(C2, dst, 1) == want
        w.detach(vol, C1)
        assert w.checksum(C2, dst, 1) == want
        again = w.write(C2, dst, worldmod.pattern('after', MIB), 1)
        w.detach(vol, C2)
        assert not env.dm_of(vol.name), env.dm()
        with w.on_node(vol.name) as path:
            assert w.checksum(NODE, path, 1) == want
            assert w.checksum(NODE, path, 1, offset_mib=1) == again
    finally:
        for host in (C1, C2):
            if any(a.attached_host == host
                   for a in vol.volume_attachment.objects):
                w.detach(vol, host, force=True)
        drv.delete_volume(vol)
    w.vgck()


def test_live_migration_family_refused(env):
    w, drv = env.w, env.drv
    vol = w.volume(size=1)
    drv.create_volume(vol)
    snap = w.snapshot(vol)
    drv.create_snapshot(snap)
    try:
        src = w.attach(vol, C1)
        info = w._attachment(vol, C1).connection_info['data']
        assert info['activation'] == 'exclusive'
        want = w.write(C1, src, worldmod.pattern('family', MIB))
        seqno, lvs = w.vg_seqno(), w.lvs(C1)
        with pytest.raises(exc.OperationRefused,
                           match='one host only') as err:
            drv.initialize_connection(vol, w.connector_properties(C2))
        assert 'Nothing was changed' in str(err.value)
        # a stale or forged 'shared' connection for the destination is
        # refused by the connector before it activates anything
        with pytest.raises(lvm_exception.InvalidConnectionInfo):
            w.connector(C2).connect_volume(dict(info, activation='shared'))
        assert not env.dm_of(vol.name, drvmod.snapshot_lv_name(snap),
                             hosts=(C2,)), env.dm()
        assert w.vg_seqno() == seqno and w.lvs(C1) == lvs
        assert w.checksum(C1, src, 1) == want
    finally:
        w.detach(vol, C1, force=True)
        drv.delete_snapshot(snap)
        drv.delete_volume(vol)
    assert not env.dm_of(vol.name, drvmod.snapshot_lv_name(snap)), env.dm()
