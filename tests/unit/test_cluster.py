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

"""Owner tags, copy locks and the coordination backend check (cluster.py).

The copy lock runs on tooz's real file driver (the session's coordinator);
tests/services/test_etcd.py runs it on a real etcd.
"""

import contextlib
import threading
from unittest import mock

import pytest
import tenacity
from tooz import coordination as tooz_coordination
from oslo_config import cfg

from cinder.tests.unit import fake_constants as fake

from cinder_shared_lvm import cluster
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import family
from tests.unit import fakes

VG = 'cinder-shared'
VOL = 'volume-6c3d6e4a-8c52-4d5e-9b7e-2a3f4b5c6d7e'
ME = 'cinder@backend1'
PEER = 'controller-2@backend1'
MOUNTS = """\
/dev/vda1 / ext4 rw,relatime 0 0
tmpfs /run tmpfs rw,nosuid 0 0
nfs1:/export/locks /var/lib/cinder/locks nfs4 rw,relatime 0 0
/dev/vdb1 /var/lib/cinder/locks/local ext4 rw 0 0
/dev/vdc1 /srv/my\\040share xfs rw 0 0
"""


def test_owner_tag_round_trip_in_lvm_tag_characters():
    tag = cluster.owner_tag('node 1@backend#pool')
    assert tag == 'cslvm-owner=node_1:backend#pool'
    assert cluster.owner_of(['cslvm-incomplete', tag]) == 'node_1:backend#pool'
    assert cluster.owner_of(['cslvm-incomplete']) is None


@pytest.mark.parametrize('path, fstype', [
    ('/var/lib/cinder/locks', 'nfs4'),
    ('/var/lib/cinder/locks/sub', 'nfs4'),
    ('/var/lib/cinder/locks/local/x', 'ext4'),     # the deeper mount wins
    ('/var/lib/cinder/locksmith', 'ext4'),         # not under the NFS one
    ('/run/x', 'tmpfs'),
    ('/srv/my share/l', 'xfs'),
])
def test_filesystem_of_takes_the_deepest_mount(path, fstype):
    assert cluster.filesystem_of(path, MOUNTS) == fstype


@pytest.mark.parametrize('url, local', [
    ('file:///var/lib/cinder/locks', False),
    ('file:///var/lib/cinder', True),
    ('file:///var/lib/cinder/locks/local', True),
    ('ipc://', True),
    ('etcd3+http://10.0.0.5:2379', False),
    ('etcd3+http://127.0.0.1:2379?timeout=5', False),
    ('zookeeper://zk1:2181', False),
    ('redis://r1:6379', False),
])
def test_host_local_reason(url, local):
    reason = cluster.host_local_reason(url, MOUNTS)
    assert bool(reason) is local, reason


def test_a_clustered_service_on_a_local_file_backend_is_refused():
    with pytest.raises(exc.InvalidRequest) as err:
        cluster.check_clustered_service('shared', 'file:///var/lib/cinder',
                                        'none', MOUNTS)
    text = str(err.value)
    assert "cluster 'shared'" in text and 'ext4' in text
    assert 'backend_url' in text and 'lvmlockd' in text


@pytest.mark.parametrize('cluster_name, url, manager', [
    (None, 'file:///var/lib/cinder', 'none'),          # not clustered
    ('', 'ipc://', 'none'),
    ('shared', 'file:///var/lib/cinder', 'lvmlockd'),  # LVM guards it
    ('shared', 'file:///var/lib/cinder/locks', 'none'),    # on NFS
    ('shared', 'etcd3+http://10.0.0.5:2379', 'none'),
])
def test_what_a_clustered_service_may_run_with(cluster_name, url, manager):
    assert cluster.check_clustered_service(cluster_name, url, manager,
                                           MOUNTS) is None


@contextlib.contextmanager
def held_in_another_thread(lv, lock_name=None):
    """Hold *lv*'s copy lock (or coordination lock *lock_name*) in a
    second thread for the body: to tooz's file driver, another process."""
    taken, done = threading.Event(), threading.Event()

    def hold():
        with family.coordination_lock(
                lock_name or cluster.copy_lock_name(VG, lv), 5,
                AssertionError):
            taken.set()
            done.wait(10)
    worker = threading.Thread(target=hold)
    worker.start()
    assert taken.wait(10)
    try:
        yield
    finally:
        done.set()
        worker.join()


def lv(*tags):
    return {'name': VOL, 'tags': list(tags)}


def never_up(owner):
    raise AssertionError('asked about %s' % owner)


@pytest.mark.parametrize('tags, up, kind', [
    (('cslvm-incomplete',), never_up, cluster.DEAD),         # no owner
    (('cslvm-incomplete', cluster.owner_tag(ME)), never_up,
     cluster.DEAD),                                          # my old life
    (('cslvm-incomplete', cluster.owner_tag(PEER)), lambda o: o ==
     cluster.tag_safe(PEER), cluster.LIVE_OWNER),
    (('cslvm-incomplete', cluster.owner_tag(PEER)), lambda o: False,
     cluster.DEAD),
])
def test_classify_an_incomplete_lv_whose_copy_lock_is_free(tags, up, kind):
    assert cluster.classify_incomplete(VG, lv(*tags), ME, up) == kind


def test_a_held_copy_lock_means_in_flight_whoever_the_owner():
    with held_in_another_thread(VOL):
        for tags in (('cslvm-incomplete',),
                     ('cslvm-incomplete', cluster.owner_tag(ME))):
            assert cluster.classify_incomplete(
                VG, lv(*tags), ME, never_up) == cluster.IN_FLIGHT
    assert cluster.classify_incomplete(
        VG, lv('cslvm-incomplete'), ME, never_up) == cluster.DEAD


def test_the_copy_lock_is_reentrant_and_free_to_its_holder():
    with cluster.copy_locked(VG, VOL, 5):
        with cluster.copy_locked(VG, VOL, 5):
            assert cluster.classify_incomplete(
                VG, lv('cslvm-incomplete'), ME, never_up) == cluster.DEAD


# -- the driver's startup recovery ------------------------------------------

def _services(table):
    return mock.patch.object(cluster, 'services_up',
                             return_value={cluster.tag_safe(k): v
                                           for k, v in table.items()})


def _start(make_driver):
    drv = make_driver(setup=False,
                      shared_lvm_cleanup_incomplete_on_startup=True)
    drv.do_setup(None)
    return drv


def _writes(executor):
    return [c for c in executor.commands if fakes.is_metadata_write(c)
            and c[0] != 'vgchange']         # the writer's claim


def test_recovery_leaves_a_live_peers_copy(make_driver, executor, fake_vg):
    fake_vg.add_lv(VOL, tags='cslvm-incomplete,' + cluster.owner_tag(PEER))
    drv = _start(make_driver)
    with _services({PEER: True, ME: True}):
        found = drv._recover_after_restart()
    assert found['live_owner'] == [VOL] and found['incomplete'] == []
    assert found['removed'] == [] and _writes(executor) == []


def test_recovery_removes_a_dead_peers_copy(make_driver, executor, fake_vg):
    fake_vg.add_lv(VOL, tags='cslvm-incomplete,' + cluster.owner_tag(PEER))
    drv = _start(make_driver)
    with _services({PEER: False, ME: True}):
        found = drv._recover_after_restart()
    assert found['incomplete'] == [VOL] and found['removed'] == [VOL]
    assert executor.commands[-1] == ('lvremove', '-f', VG + '/' + VOL)


def test_recovery_leaves_a_copy_whose_lock_is_held(make_driver, executor,
                                                   fake_vg):
    """Even its own name: another process of this service may run it."""
    fake_vg.add_lv(VOL, tags='cslvm-incomplete,' + cluster.owner_tag(ME))
    drv = _start(make_driver)
    with held_in_another_thread(VOL), _services({ME: True}):
        found = drv._recover_after_restart()
    assert found['in_flight'] == [VOL] and found['removed'] == []
    assert _writes(executor) == []


def test_recovery_without_the_services_table_spares_other_owners(
        make_driver, executor, fake_vg, caplog):
    fake_vg.add_lv(VOL, tags='cslvm-incomplete,' + cluster.owner_tag(PEER))
    drv = _start(make_driver)
    with mock.patch.object(cluster, 'services_up',
                           side_effect=RuntimeError('no database')):
        found = drv._recover_after_restart()
    assert found['live_owner'] == [VOL] and _writes(executor) == []
    assert 'no database' in caplog.text


def test_a_copy_holds_its_lock_until_the_tag_is_gone(drv, fake_vg,
                                                     make_volume):
    """Seen from another thread mid-copy, the new LV's copy lock is held;
    after the tag is gone, it is free."""
    src = make_volume(id=fake.VOLUME2_ID, size=1)
    dst = make_volume(size=1)
    fake_vg.add_lv(src.name, fakes.GiB)
    lock = cluster.copy_lock_name(VG, dst.name)
    seen = {}

    def look(point):
        if point == 'clone:active':
            worker = threading.Thread(target=lambda: seen.update(
                mid_copy=family.lock_is_held_elsewhere(lock)))
            worker.start()
            worker.join()
    drv.pause_hook = look
    drv.create_cloned_volume(dst, src)
    assert seen == {'mid_copy': True}
    assert family.lock_is_held_elsewhere(lock) is False


@pytest.fixture
def clustered():
    """[DEFAULT] cluster, as cinder-volume's command registers it, and
    this module's mount table."""
    opt = cfg.StrOpt('cluster')
    registered = 'cluster' not in cfg.CONF
    if registered:
        cfg.CONF.register_opt(opt)
    cfg.CONF.set_override('cluster', 'shared')
    url = cfg.CONF.coordination.backend_url
    with mock.patch.object(cluster, 'read_mounts', return_value=MOUNTS):
        yield
    cfg.CONF.set_override('backend_url', url, group='coordination')
    cfg.CONF.clear_override('cluster')
    if registered:
        cfg.CONF.unregister_opt(opt)


@pytest.mark.parametrize('url', ['file:///var/lib/cinder', 'ipc://'])
def test_setup_refuses_a_clustered_service_on_host_local_locks(
        clustered, make_driver, executor, url):
    cfg.CONF.set_override('backend_url', url, group='coordination')
    drv = make_driver(setup=False)
    drv.do_setup(None)
    with pytest.raises(exc.InvalidRequest) as err:
        drv.check_for_setup_error()
    assert 'host-local' in str(err.value)
    assert _writes(executor) == [] and not [
        c for c in executor.commands if c[:2] == ('vgchange', '--addtag')]


@pytest.mark.parametrize('url', ['etcd3+http://10.0.0.5:2379',
                                 'file:///var/lib/cinder/locks'])
def test_setup_accepts_a_clustered_service_on_shared_locks(
        clustered, make_driver, url):
    cfg.CONF.set_override('backend_url', url, group='coordination')
    drv = make_driver(setup=False)
    drv.do_setup(None)
    drv.check_for_setup_error()
    assert drv.vg.vg_uuid


# -- what a coordination backend may answer ---------------------------------

class _Lock(object):
    def __init__(self, acquire=None, release=None):
        self._acquire, self._release = acquire, release
        self.released = False

    def acquire(self, blocking):
        if isinstance(self._acquire, Exception):
            raise self._acquire
        return self._acquire

    def release(self):
        self.released = True
        if self._release:
            raise self._release


def _backend_lock(lock):
    return mock.patch.object(family.coordination.COORDINATOR, 'get_lock',
                             return_value=lock)


def test_etcds_retry_error_on_a_blocking_acquire_is_a_timeout():
    lock = _Lock(acquire=tenacity.RetryError(None))
    with _backend_lock(lock), pytest.raises(exc.MetadataLockTimeout):
        with family.vg_locked(VG, 1):
            pytest.fail('entered without the lock')


def test_a_backend_that_does_not_answer_is_a_clear_refusal():
    lock = _Lock(acquire=tooz_coordination.ToozConnectionError(
        'connection refused'))
    with _backend_lock(lock), \
            pytest.raises(exc.CoordinationUnavailable) as err:
        with family.vg_locked(VG, 1):
            pytest.fail('entered without the lock')
    assert 'connection refused' in str(err.value)
    assert 'Nothing was changed' in str(err.value)


def test_a_failed_release_leaves_the_lock_to_its_lease(caplog):
    lock = _Lock(acquire=True,
                 release=tooz_coordination.ToozConnectionError('gone'))
    with _backend_lock(lock):
        with family.vg_locked(VG, 1):
            pass
    assert lock.released and 'lease expires' in caplog.text


# -- a family active on another service's host ------------------------------

def _active_elsewhere(name=VOL):
    return held_in_another_thread(
        None, lock_name=family.active_lock_name(VG, name))


def test_the_first_user_claims_the_family_for_this_host():
    active = family.ActiveUse()
    assert active.acquire(VG, VOL, ()) is True
    assert active.acquire(VG, VOL, ()) is False
    seen = []
    worker = threading.Thread(target=lambda: seen.append(
        family.lock_is_held_elsewhere(family.active_lock_name(VG, VOL))))
    worker.start()
    worker.join()
    assert seen == [True]
    assert active.release(VG, VOL, ()) is False
    assert active.release(VG, VOL, ()) is True
    assert family.lock_is_held_elsewhere(
        family.active_lock_name(VG, VOL)) is False


def test_a_family_active_on_another_host_is_not_activated_here():
    active = family.ActiveUse()
    with _active_elsewhere():
        assert active.active_elsewhere(VG, VOL) is True
        with pytest.raises(exc.FamilyActiveElsewhere) as err:
            active.acquire(VG, VOL, ())
        assert 'one host only' in str(err.value)
        assert active.users(VG, VOL) == 0
    assert active.active_elsewhere(VG, VOL) is False
    assert active.acquire(VG, VOL, ()) is True
    active.forget_all()
    assert active.users(VG, VOL) == 0
    assert active.active_elsewhere(VG, VOL) is False


def test_an_attach_is_refused_while_another_service_copies_the_family(
        drv, executor, fake_vg, make_volume):
    vol = make_volume()
    fake_vg.add_lv(vol.name, fakes.GiB)
    with _active_elsewhere(vol.name):
        with pytest.raises(exc.OperationRefused) as err:
            drv.initialize_connection(vol, {'host': 'cmp1',
                                            'shared_lvm_vgs': ['VG-UUID-1']})
    assert 'attach' in str(err.value) and vol.name in str(err.value)
    assert not [c for c in executor.commands if fakes.is_metadata_write(c)]
    drv.initialize_connection(vol, {'host': 'cmp1',
                                    'shared_lvm_vgs': ['VG-UUID-1']})


def test_a_copy_is_refused_while_another_service_has_the_source_active(
        drv, executor, fake_vg, make_volume):
    src = make_volume(id=fake.VOLUME2_ID, size=1)
    dst = make_volume(size=1)
    fake_vg.add_lv(src.name, fakes.GiB)
    with _active_elsewhere(src.name):
        with pytest.raises(exc.FamilyActiveElsewhere):
            drv.create_cloned_volume(dst, src)
    # Nothing was activated here: the new LV was made before the source's
    # lease was refused, then the undo looked it up to remove it (the fake
    # VG does not keep what lvcreate made).
    assert [c[0] for c in executor.commands] == [
        'lvs', 'vgs', 'lvcreate', 'lvs']
    assert executor.commands[-1][-1] == VG + '/' + dst.name
    assert family.ACTIVE.users(VG, src.name) == 0


# -- one writer per VG: a service, or a Cinder cluster ---------------------

CLUSTER_TAG = 'cslvm-writer=cluster.shared:backend1'


@pytest.fixture
def on_etcd(clustered):
    cfg.CONF.set_override('backend_url', 'etcd3+http://10.0.0.5:2379',
                          group='coordination')


def test_a_clustered_service_claims_the_vg_for_its_cluster(
        on_etcd, make_driver, executor, fake_vg):
    drv = make_driver(setup=False)
    drv.do_setup(None)
    drv.check_for_setup_error()
    assert ('vgchange', '--addtag', CLUSTER_TAG, VG) in executor.commands


def test_every_service_of_the_cluster_may_write_the_vg(
        on_etcd, make_driver, executor, fake_vg):
    """Another service of the cluster (another host) made the claim."""
    fake_vg.tags = [CLUSTER_TAG]
    make_driver()
    assert fake_vg.tags == [CLUSTER_TAG]


@pytest.mark.parametrize('tag', ['cslvm-writer=cinder:backend1',
                                 'cslvm-writer=cluster.other:backend1'])
def test_a_clustered_service_refuses_a_vg_another_writer_claimed(
        on_etcd, make_driver, executor, fake_vg, tag):
    fake_vg.tags = [tag]
    drv = make_driver(setup=False)
    drv.do_setup(None)
    with pytest.raises(exc.InvalidRequest) as err:
        drv.check_for_setup_error()
    assert 'vgchange --deltag %s' % tag in str(err.value)
    assert not [c for c in executor.commands if fakes.is_metadata_write(c)]


def test_a_lone_service_refuses_a_vg_its_cluster_claimed(
        make_driver, executor, fake_vg):
    fake_vg.tags = [CLUSTER_TAG]
    drv = make_driver(setup=False)
    drv.do_setup(None)
    with pytest.raises(exc.InvalidRequest) as err:
        drv.check_for_setup_error()
    assert 'one Cinder cluster' in str(err.value)
