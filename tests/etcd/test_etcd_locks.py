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

"""The driver's locks on a real etcd, between real processes (issue 11).

What a starting service decides about another service's copy rests on
its copy lock (cluster.py); these tests hold that lock, and the VG
metadata lock, in a second process (tests/etcd/holder.py) through Cinder's
coordinator and tooz's etcd3+http driver, then kill that process with
SIGKILL, or kill etcd itself.
"""

import os
import signal
import subprocess
import sys
import time
from unittest import mock

from cinder import coordination
from oslo_config import cfg
import pytest

from cinder_shared_lvm import cluster
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import family
from tests.etcd import server

pytestmark = pytest.mark.etcd

VG = 'cinder-shared'
LV = 'volume-0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9'
ME = 'cinder-node@shared'
PEER = 'controller-2@shared'
# tooz's etcd3 lease (lock and membership) and HTTP timeout, in seconds.
TTL = 5
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    reason = server.skip_reason()
    if reason:
        pytest.skip(reason)
    etcd = server.EtcdServer(str(tmp_path_factory.mktemp('etcd')))
    print('\netcd: healthy after %.1f s' % etcd.start())
    yield etcd
    etcd.stop()


@pytest.fixture
def coordinator(etcd):
    """This process's Cinder coordinator on etcd, in place of the global
    one for the driver's lock functions."""
    # NOTE: put back exactly what was there (an override or none).
    previous = cfg.CONF._get_opt_info('backend_url',
                                      'coordination').get('override')
    cfg.CONF.set_override('backend_url', etcd.backend_url(timeout=TTL),
                          group='coordination')
    coord = coordination.Coordinator(prefix='cinder-')
    coord.start()
    try:
        with mock.patch.object(family.coordination, 'COORDINATOR', coord):
            yield coord
    finally:
        coord.stop()
        if previous is None:
            cfg.CONF.clear_override('backend_url', group='coordination')
        else:
            cfg.CONF.set_override('backend_url', previous,
                                  group='coordination')


@pytest.fixture
def holder(etcd):
    """Start a process that holds one lock: holder('copy', LV)."""
    procs = []

    def start(kind, *args):
        proc = subprocess.Popen(
            [sys.executable, '-m', 'tests.etcd.holder',
             etcd.backend_url(timeout=TTL), kind, VG, *args],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=dict(os.environ,
                                OS_CINDER_DISABLE_EVENTLET_PATCHING='true'))
        procs.append(proc)
        line = proc.stdout.readline()
        assert line == 'held\n', (line, proc.stderr.read()
                                  if proc.poll() is not None else '')
        return proc
    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def incomplete(owner):
    return {'name': LV, 'tags': ['cslvm-incomplete', cluster.owner_tag(owner)]}


def classify(up=False):
    return cluster.classify_incomplete(VG, incomplete(PEER), ME,
                                       lambda owner: up)


def wait_for_kind(kind, limit):
    """Seconds until classify() returns *kind*, polling every 0.5 s."""
    started = time.monotonic()
    while classify() != kind:
        assert time.monotonic() - started < limit, kind
        time.sleep(0.5)
    return time.monotonic() - started


def test_a_live_copy_stays_in_flight_past_its_lease_then_dies_with_it(
        coordinator, holder):
    proc = holder('copy', LV)
    # three lease times: the holder's heartbeat keeps its lock
    deadline = time.monotonic() + 3 * TTL
    checks = 0
    while time.monotonic() < deadline:
        assert classify() == cluster.IN_FLIGHT
        checks += 1
        time.sleep(1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    freed = wait_for_kind(cluster.DEAD, 4 * TTL)
    print('\netcd: a copy lock held %d checks over %d s; its holder '
          'killed -9, the lock was free %.1f s later (lease %d s)'
          % (checks, 3 * TTL, freed, TTL))
    assert freed < 2 * TTL + 2
    # free, but the owner is up in Cinder's table: still left alone
    assert classify(up=True) == cluster.LIVE_OWNER


def test_the_vg_lock_excludes_another_service(coordinator, holder):
    proc = holder('vg')
    started = time.monotonic()
    with pytest.raises(exc.MetadataLockTimeout):
        with family.vg_locked(VG, 2):
            pytest.fail('took the VG lock that another process holds')
    assert time.monotonic() - started >= 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    with family.vg_locked(VG, 3 * TTL):
        pass


def test_an_etcd_outage_refuses_and_then_resumes(etcd, coordinator, holder):
    """No lock is taken while etcd is down: a clear error, nothing done;
    once it is back, the live holder's copy is still in flight."""
    holder('copy', LV)
    assert classify() == cluster.IN_FLIGHT
    etcd.stop()
    try:
        started = time.monotonic()
        with pytest.raises(exc.CoordinationUnavailable) as err:
            classify()
        assert 'backend_url' in str(err.value)
        with pytest.raises(exc.CoordinationUnavailable):
            with family.vg_locked(VG, 2):
                pytest.fail('took the VG lock with etcd down')
        refused = time.monotonic() - started
    finally:
        restarted = etcd.start()
    kind = classify()
    print('\netcd: down: both locks refused in %.1f s; back after %.1f s; '
          'the holder\'s copy: %s' % (refused, restarted, kind))
    assert kind == cluster.IN_FLIGHT
    with family.vg_locked(VG, 2 * TTL):
        pass


def test_a_family_active_on_a_dead_services_host_frees_after_its_lease(
        coordinator, holder):
    """Another service's copy has the family active on its host: this
    service may not activate it here, nor attach it; once that process is
    killed, the claim goes with its lease."""
    proc = holder('active', LV)
    active = family.ActiveUse()
    assert active.active_elsewhere(VG, LV)
    with pytest.raises(exc.FamilyActiveElsewhere):
        active.acquire(VG, LV, ())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    started = time.monotonic()
    while active.active_elsewhere(VG, LV):
        assert time.monotonic() - started < 4 * TTL
        time.sleep(0.5)
    print('\netcd: a dead service\'s family claim freed %.1f s after '
          'SIGKILL' % (time.monotonic() - started))
    assert active.acquire(VG, LV, ()) is True
    assert active.release(VG, LV, ()) is True
