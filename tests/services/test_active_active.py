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

"""Two cinder-volume services in one Cinder cluster on one VG (issue 11).

A rig of its own: cinder-node and controller-2 each run a cinder-volume
service (``[DEFAULT] cluster = shared``, each its own ``host``, its host
commands on its own VM), compute-1 and compute-2 attach. Both share the VG
and etcd (Debian's etcd-server on 127.0.0.1) as Cinder's coordination
backend, under the real cinder-api and cinder-scheduler. The tests run in
file order: a burst through the API served by both services, a service
killed with SIGKILL in the middle of a clone, then etcd killed.

The whole module runs with ``CSLVM_AA=1`` (heavier tier, README.rst);
without it only the burst's smaller form runs, in ``.ci/run``.
"""

import concurrent.futures
import os
import re
import time

import pytest

from cinder_shared_lvm import contract
from cinder_shared_lvm import lvm
from rig import fixtures as rigfixtures
from tests.etcd import server as etcdserver
from tests.services import lifecycle
from tests.services import stack as stackmod

NODE, CTRL2, C1, C2 = 'cinder-node', 'controller-2', 'compute-1', 'compute-2'
VG = 'aavg'
LUN = '/dev/vda'
CLUSTER = 'shared'
FULL = bool(os.environ.get('CSLVM_AA'))
# The burst: the figures in the full tier, a smaller one in CI.
BURST = dict(creates=20, snapshots=10, clones=5, from_snapshots=5,
             extends=5, attaches=2) if FULL else dict(
    creates=6, snapshots=2, clones=1, from_snapshots=1, extends=1,
    attaches=1)


class Cloud(object):
    """The stack, the rig, etcd and the cinderclient API of one test."""

    def __init__(self, stack, rig, etcd):
        self.stack, self.rig, self.etcd = stack, rig, etcd
        self.api = stack.client()
        self.life = lifecycle.CliLifecycle(stack, rig, progress=print,
                                           vg=VG)

    def wait(self, manager, ident, want, timeout=600):
        deadline = time.monotonic() + timeout
        while True:
            try:
                status = manager.get(ident).status
            except Exception as err:            # gone
                if want is None and 'could not be found' in str(err):
                    return None
                raise
            if status == want:
                return status
            assert want == 'error' or not status.startswith('error'), (
                ident, status)
            assert time.monotonic() < deadline, (ident, status, want)
            time.sleep(1)

    def lvs(self) -> dict:
        reader = lvm.SharedLVM(VG, [LUN], role=lvm.READER,
                               executor=self.rig.host(NODE).execute,
                               check_vg=False)
        return {lv['name']: lv for lv in reader.list_lvs()}

    def log_path(self, host) -> str:
        return os.path.join(self.stack.dir, '%s.log'
                            % self.stack.volume_service(host))

    def service_log(self, host, offset=0) -> str:
        """The log of *host*'s cinder-volume service from *offset*."""
        with open(self.log_path(host), 'rb') as log:
            log.seek(offset)
            return log.read().decode('utf-8', 'replace')

    def check_vg_matches_cinder(self):
        """Every LV is a Cinder volume or snapshot and the other way
        round; vgck is clean; no host maps anything of the VG."""
        volumes = {'volume-' + v.id for v in self.api.volumes.list()}
        snaps = {contract.snapshot_lv_name('snapshot-' + s.id)
                 for s in self.api.volume_snapshots.list()}
        assert set(self.lvs()) == volumes | snaps
        self.rig.host(NODE).execute('vgck', VG)
        left = {h: [n for n in self.rig.host(h).dm_tables()
                    if n.startswith(VG + '-')]
                for h in (NODE, CTRL2, C1, C2)}
        assert not any(left.values()), left


@pytest.fixture(scope='module')
def cloud(tmp_path_factory):
    for reason in (stackmod.skip_reason(), etcdserver.skip_reason()):
        if reason:
            pytest.skip(reason)
    etcd = etcdserver.EtcdServer(str(tmp_path_factory.mktemp('aaetcd')))
    etcd.start()
    rig = rigfixtures.boot_rig(hosts=(NODE, CTRL2, C1, C2), lun_size='48G')
    stack = None
    try:
        # NOTE: lock and membership leases of 10 s: a killed service's
        # locks go 10 s after its death.
        stack = stackmod.Stack(
            rig.state_file, vg=VG, progress=print, cluster=CLUSTER,
            volume_hosts=(NODE, CTRL2),
            coordination_url=etcd.backend_url(timeout=10))
        life = lifecycle.CliLifecycle(stack, rig, vg=VG)
        life.prepare_vg()
        stack.start()
        life.types()            # the stack's default type, shared-a
        # NOTE: the burst outgrows Cinder's default quota of 10 volumes.
        stack.cli('quota-update', '--volumes', '-1', '--snapshots', '-1',
                  '--gigabytes', '-1', stackmod.PROJECT_ID)
        yield Cloud(stack, rig, etcd)
    finally:
        if stack is not None:
            stack.cleanup()
        rig.close()
        etcd.stop()


def _parallel(func, items, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(func, items))


def _served_by(cloud, volume_ids) -> dict:
    """{rig host: how many of *volume_ids* its service created}, from the
    driver's "Creating LV <vg>/volume-<id>" lines in each service's log."""
    counts = {}
    for host in (NODE, CTRL2):
        log = cloud.service_log(host)
        counts[host] = sum(1 for vid in volume_ids
                           if 'Creating LV %s/volume-%s ' % (VG, vid) in log)
    return counts


def test_both_services_serve_a_concurrent_burst(cloud):
    api, n = cloud.api, BURST
    started = time.monotonic()
    vols = _parallel(lambda i: api.volumes.create(1, name='aa-%d' % i),
                     range(n['creates']))
    for v in vols:
        cloud.wait(api.volumes, v.id, 'available')
    snaps = _parallel(lambda v: api.volume_snapshots.create(
        v.id, name='aa-snap-%s' % v.id[:8]), vols[:n['snapshots']])
    for s in snaps:
        cloud.wait(api.volume_snapshots, s.id, 'available')
    copies = _parallel(lambda v: api.volumes.create(
        1, source_volid=v.id, name='aa-clone'), vols[-n['clones']:])
    copies += _parallel(lambda s: api.volumes.create(
        1, snapshot_id=s.id, name='aa-from-snap'), snaps[:n['from_snapshots']])
    extended = vols[n['snapshots']:n['snapshots'] + n['extends']]
    _parallel(lambda v: api.volumes.extend(v.id, 2), extended)
    for v in copies + extended:
        cloud.wait(api.volumes, v.id, 'available')
    assert all(api.volumes.get(v.id).size == 2 for v in extended)
    assert set(cloud.lvs()) >= {'volume-' + v.id for v in vols + copies}
    # attachments on both computes, through both services
    plain = [v for v in vols[n['snapshots']:]
             if v not in extended][:2 * n['attaches']]
    handles = [(v.id, cloud.life.connect(v.id, host=h)) for v, h in zip(
        plain, [C1, C2] * n['attaches'])]
    for vid, handle in handles:
        cloud.wait(api.volumes, vid, 'in-use')
    for vid, handle in handles:
        cloud.life.disconnect(vid, handle)
    served = _served_by(cloud, [v.id for v in vols + copies])
    took = time.monotonic() - started
    print('\nactive-active burst: %d creates, %d snapshots, %d clones, %d '
          'from snapshots, %d extends, %d attachments in %.0f s; created '
          'by service: %s' % (
              n['creates'], n['snapshots'], n['clones'], n['from_snapshots'],
              n['extends'], len(handles), took, served))
    assert all(served.values()), served
    assert sum(served.values()) == len(vols + copies), served
    cloud.check_vg_matches_cinder()
    # deletes, through both services too
    _parallel(lambda v: api.volumes.delete(v.id), copies)
    for v in copies:
        cloud.wait(api.volumes, v.id, None)
    _parallel(lambda s: api.volume_snapshots.delete(s.id), snaps)
    for s in snaps:
        cloud.wait(api.volume_snapshots, s.id, None)
    _parallel(lambda v: api.volumes.delete(v.id), vols)
    for v in vols:
        cloud.wait(api.volumes, v.id, None)
    assert cloud.lvs() == {}
    cloud.check_vg_matches_cinder()


def _kill_the_service_cloning(cloud, size=3):
    """Clone a *size* GiB volume and SIGKILL the service that copies it.

    :returns: (source, clone, victim host, survivor host, seconds from
               the kill to a create the survivor served)
    """
    api, stack = cloud.api, cloud.stack
    src = api.volumes.create(size, name='aa-src')
    cloud.wait(api.volumes, src.id, 'available')
    offsets = {h: os.path.getsize(cloud.log_path(h)) for h in (NODE, CTRL2)}
    clone = api.volumes.create(size, source_volid=src.id, name='aa-killed')
    copying = re.compile(r'Copying \d+ GiB from \S+ to \S*volume-%s'
                         % clone.id)
    deadline = time.monotonic() + 300
    victim = None
    while victim is None:
        assert time.monotonic() < deadline, 'the clone never started'
        for host in (NODE, CTRL2):
            if copying.search(cloud.service_log(host, offsets[host])):
                victim = host
        time.sleep(0.2)
    survivor, = {NODE, CTRL2} - {victim}
    stack.kill(stack.volume_service(victim))
    killed = time.monotonic()
    probe = api.volumes.create(1, name='aa-after-kill')
    cloud.wait(api.volumes, probe.id, 'available')
    failover = time.monotonic() - killed
    assert api.volumes.get(clone.id).status == 'creating'
    api.volumes.delete(probe.id)
    cloud.wait(api.volumes, probe.id, None)
    return src, clone, victim, survivor, failover


def _wait_service(cloud, host, state, timeout=300) -> float:
    """Seconds until ``cinder service-list`` shows *host*'s cinder-volume
    in *state* ('up' or 'down')."""
    started = time.monotonic()
    while True:
        rows = stackmod.parse_table(cloud.stack.cli('service-list').stdout)
        row, = [r for r in rows if r['Binary'] == 'cinder-volume' and
                r['Host'] == '%s@%s' % (host, stackmod.BACKEND)]
        if row['State'] == state:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, row
        time.sleep(3)


def _delete_all(cloud, *volumes):
    for vol in volumes:
        cloud.api.volumes.delete(vol.id)
    for vol in volumes:
        cloud.wait(cloud.api.volumes, vol.id, None)


@pytest.mark.skipif(not FULL, reason='CSLVM_AA=1 (heavier tier)')
def test_kill_9_mid_clone_the_survivor_serves_and_cleanup_defines_it(cloud):
    src, clone, victim, survivor, failover = _kill_the_service_cloning(
        cloud)
    print('\nactive-active: killed %s mid-clone; %s served a create %.1f s '
          'later' % (victim, survivor, failover))
    # Cinder's cleanup: the service starts again and cleans up its own
    # workers; the half-made clone must not become available.
    cloud.stack.restart(cloud.stack.volume_service(victim))
    status = cloud.wait(cloud.api.volumes, clone.id, 'error', timeout=300)
    lv = cloud.lvs().get('volume-' + clone.id)
    print('active-active: after the restart the clone is %s; its LV: %s'
          % (status, lv and lv['tags']))
    _delete_all(cloud, clone, src)
    assert cloud.lvs() == {}
    cloud.check_vg_matches_cinder()


@pytest.mark.skipif(not FULL, reason='CSLVM_AA=1 (heavier tier)')
def test_a_survivor_cleans_up_for_a_member_that_stays_dead(cloud):
    """``cinder work-cleanup``: the survivor puts the dead member's clone
    in error; the dead member's host keeps its device-mapper leftovers
    until its service starts again and removes them."""
    src, clone, victim, survivor, _failover = _kill_the_service_cloning(
        cloud)
    down = _wait_service(cloud, victim, 'down')
    out = cloud.stack.cli('work-cleanup', '--cluster',
                          '%s@%s' % (CLUSTER, stackmod.BACKEND), '--host',
                          '%s@%s' % (victim, stackmod.BACKEND), '--binary',
                          'cinder-volume').stdout
    assert 'will be cleaned' in out, out
    cloud.wait(cloud.api.volumes, clone.id, 'error', timeout=300)
    _delete_all(cloud, clone)
    left = [n for n in cloud.rig.host(victim).dm_tables()
            if n.startswith(VG + '-')]
    print('\nactive-active: %s down in Cinder %.0f s after the kill; '
          'work-cleanup by %s put the clone in error; it was deleted; '
          '%s still mapped %s until its service started again'
          % (victim, down, survivor, victim, left))
    cloud.stack.restart(cloud.stack.volume_service(victim))
    _wait_service(cloud, victim, 'up')      # after its startup recovery
    _delete_all(cloud, src)
    cloud.check_vg_matches_cinder()


@pytest.mark.skipif(not FULL, reason='CSLVM_AA=1 (heavier tier)')
def test_etcd_down_requests_fail_clearly_and_resume(cloud):
    api = cloud.api
    cloud.etcd.stop()
    try:
        down = api.volumes.create(1, name='aa-etcd-down')
        status = cloud.wait(api.volumes, down.id, 'error', timeout=300)
        assert 'volume-' + down.id not in cloud.lvs()
        logs = cloud.service_log(NODE) + cloud.service_log(CTRL2)
        assert 'coordination backend' in logs
    finally:
        back = cloud.etcd.start()
    up = api.volumes.create(1, name='aa-etcd-back')
    cloud.wait(api.volumes, up.id, 'available', timeout=300)
    print('\nactive-active: etcd down: a create ended %s with no LV; etcd '
          'back in %.1f s, the next create was available' % (status, back))
    for vol in (down, up):
        api.volumes.delete(vol.id)
        cloud.wait(api.volumes, vol.id, None)
    cloud.check_vg_matches_cinder()
