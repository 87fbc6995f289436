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

"""What LVM, lvmlockd and sanlock do: the facts the lvmlockd mode relies
on (issue 10), as assertions, with LVM commands only (no driver).

doc/source/lvmlockd-facts.rst quotes these outputs; a new LVM that
changes one fails here first. One rig of three VMs for the module, with
``lvmlockd --sanlock-timeout 2`` (lockd_rig.py) so that a crashed host's
lease expires in about 80 s. The tests run in file order: the first ones
leave compute-2's lockspace unstarted, the crash comes last but one.
"""

import concurrent.futures
import os
import re
import time

import pytest

from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm
from tests.functional import lockd_rig

# About 6 minutes of LVM facts on a rig of its own: the heavier tier
# (README.rst). .ci/run keeps test_lockd.py, which runs the driver in this
# mode, with the defence-in-depth and crash tests.
pytestmark = [pytest.mark.functional, pytest.mark.lvmlockd,
              pytest.mark.skipif(not os.environ.get('CSLVM_LOCKD_FACTS'),
                                 reason='set CSLVM_LOCKD_FACTS=1 (heavier '
                                        'tier, README.rst)')]

NODE, C1, C2 = lockd_rig.LOCKD_HOSTS
VG = 'fvg'
LUN = '/dev/vda'
READER_CONFIG = lvm.build_lvm_config([LUN], read_only=True)
MIB = 1024 * 1024
# sanlock: another host is dead 8 x io_timeout + 60 s after its last
# renewal (timeouts.c); the rest is polling and command time.
HOST_DEAD = 8 * lockd_rig.SANLOCK_IO_TIMEOUT + 60


def refused(vg_lv, origin=False):
    """lvmlockd's refusal of a lock another host holds, exactly."""
    second = ('  Failed to lock origin LV %s\n' if origin
              else '  Failed to lock logical volume %s.\n') % vg_lv
    return '  LV locked by other host: %s\n' % vg_lv + second


def run(host, *argv, timeout=120):
    """(rc, stderr) of an LVM command on *host*."""
    rc, _out, err = host.run(*argv, timeout=timeout)
    return rc, err.decode()


def dm_names(host):
    return set(host.dm_tables())


def dm(lv, layer=''):
    """The dm name of *lv*: hyphens in names doubled, then ``-<layer>``
    for a snapshot's hidden ``cow`` or an origin's ``real`` device."""
    name = '%s-%s' % (VG, lv.replace('-', '--'))
    return name + '-' + layer if layer else name


@pytest.fixture(scope='module')
def facts_rig():
    """The rig, the shared VG made on cinder-node, compute-1's lockspace
    started; compute-2's is left for test_without_a_started_lockspace."""
    started = time.monotonic()
    rig = lockd_rig.boot_lockd_rig()
    try:
        print('\nlockd facts: 3 hosts + daemons up in %.1f s'
              % (time.monotonic() - started))
        print('lockd facts: vgcreate --shared took %.1f s' %
              lockd_rig.create_shared_vg(rig.host(NODE), VG, [LUN]))
        print('lockd facts: lockstart on compute-1 took %.1f s' %
              lockd_rig.lockstart(rig.host(C1), VG))
        for name in ('v1', 'v2'):
            rig.host(NODE).execute('lvcreate', '-an', '-Zn', '-L', '64m',
                                   '-n', name, VG)
        yield rig
    finally:
        print('lockd facts: module took %.0f s'
              % (time.monotonic() - started))
        rig.close()


def test_the_lock_lv_and_the_lease_offsets(facts_rig):
    """256 MiB; leases start at 67 MiB, 1 MiB each: 189 in 256 MiB."""
    node = facts_rig.host(NODE)
    out, _ = node.execute('lvs', '-a', '--units', 'b', '--noheadings',
                          '--nosuffix', '-o', 'lv_name,lv_attr,lv_size',
                          VG + '/lvmlock')
    assert out.split() == ['[lvmlock]', '-wi-ao----', str(256 * MIB)]
    out, _ = node.execute('vgs', '--noheadings', '-o',
                          'vg_lock_type,vg_lock_args', VG)
    assert out.split() == ['sanlock', '1.0.0:lvmlock']
    out, _ = node.execute('lvs', '--noheadings', '-o', 'lv_name,lock_args',
                          VG)
    offsets = dict(line.split() for line in out.splitlines())
    assert offsets == {'v1': '1.0.0:%d' % (67 * MIB),
                       'v2': '1.0.0:%d' % (68 * MIB)}
    assert lockd.started_lockspaces(lockd_rig.lockd_info(node)) == {
        VG: 'sanlock'}


def test_the_reader_config_keeps_lvmlockd_on(facts_rig):
    """--config merges setting by setting over lvm.conf and lvmlocal.conf.
    (``lvmconfig --config X path`` looks only in X: use --type diff.)"""
    out, _ = facts_rig.host(C1).execute(
        'lvmconfig', '--type', 'diff', '--config', READER_CONFIG)
    for setting in ('use_lvmlockd=1', 'host_id=2', 'metadata_read_only=1'):
        assert setting in out.split(), out


def test_without_a_started_lockspace(facts_rig):
    c2 = facts_rig.host(C2)
    info = lockd_rig.lockd_info(c2)
    assert info == '' and lockd.started_lockspaces(info) == {}
    status = lockd_rig.sanlock_status(c2)
    assert not re.search(r'^s lvm_%s:' % VG, status, re.M), status
    no_lock = '  Cannot access VG %s due to failed lock.\n' % VG
    for argv in (('lvchange', '-aey', VG + '/v1'),
                 ('lvchange', '-asy', VG + '/v1'),
                 ('lvcreate', '-an', '-Zn', '-L', '8m', '-n', 'x', VG),
                 ('lvremove', '-f', VG + '/v2')):
        assert run(c2, *argv) == (5, no_lock), argv
        assert lockd.lockspace_not_started(no_lock)
    assert run(c2, 'lvs', VG) == (
        0, '  Reading VG %s without a lock.\n' % VG)
    rc, err = run(c2, 'lvchange', '-an', VG + '/v1')
    assert (rc, err) == (0, '  Reading VG %s without a lock.\n'
                            '  LV %s/v1 lock failed: lockspace is inactive\n'
                            '  Failed to unlock logical volume %s/v1.\n'
                         % (VG, VG, VG))
    assert lockd.lockspace_not_started(err)
    assert not dm_names(c2)
    # The first start on a host without udev fails, the second works.
    rc, err = run(c2, 'vgchange', '--lockstart', VG)
    assert (rc, err) == (
        5, '  Skipping global lock: lockspace not found or started\n'
           '  VG %s start failed: invalid parameters for sanlock\n' % VG)
    assert lockd.started_lockspaces(lockd_rig.lockd_info(c2)) == {}
    print('\nlockd facts: lockstart on compute-2 (2nd try) took %.1f s; '
          'again when started %.1f s' % (lockd_rig.lockstart(c2, VG),
                                         lockd_rig.lockstart(c2, VG)))
    assert lockd.started_lockspaces(lockd_rig.lockd_info(c2)) == {
        VG: 'sanlock'}
    assert re.search(r'^s lvm_%s:3:/dev/mapper/%s-lvmlock:0$' % (VG, VG),
                     lockd_rig.sanlock_status(c2), re.M)


def test_the_reader_config_activates_and_still_writes_metadata(facts_rig):
    """Compute hosts activate with READER_CONFIG: locks are taken, and
    metadata_read_only does not stop writes (not on LVM 2.03.16 in any
    mode: design.rst); only the reader role in Python does."""
    c1, node = facts_rig.host(C1), facts_rig.host(NODE)
    for mode in ('-aey', '-asy', '-ay'):
        assert run(c1, 'lvchange', mode, '--config', READER_CONFIG,
                   VG + '/v1') == (0, '')
        assert dm('v1') in dm_names(c1)
        assert run(node, 'lvchange', '-aey', VG + '/v1') == (
            5, refused(VG + '/v1'))
        assert run(c1, 'lvchange', '-an', '--config', READER_CONFIG,
                   VG + '/v1') == (0, '')
    rc, err = run(c1, 'lvcreate', '-an', '-Zn', '-L', '8m', '-n', 'byreader',
                  '--config', READER_CONFIG, VG)
    assert rc == 0 and 'This metadata update is NOT backed up' in err, err
    node.execute('lvremove', '-f', VG + '/byreader')


def test_activation_while_another_host_holds_it_exclusively(facts_rig):
    node, c1 = facts_rig.host(NODE), facts_rig.host(C1)
    c1.execute('lvchange', '-aey', VG + '/v1')
    for mode in ('-aey', '-asy', '-ay'):
        rc, err = run(node, 'lvchange', mode, VG + '/v1')
        assert (rc, err) == (5, refused(VG + '/v1')), mode
        assert lockd.refused_by_other_host(err)
        assert dm('v1') not in dm_names(node)
    info = lockd_rig.lockd_info(c1)
    uuid = node.execute('lvs', '--noheadings', '-o', 'lv_uuid',
                        VG + '/v1')[0].strip()
    assert 'LK LV ex %s' % uuid in info.splitlines(), info
    assert re.search(r'^r lvm_%s:%s:/dev/mapper/%s-lvmlock:%d:\d+ p \d+$'
                     % (VG, uuid, VG, 67 * MIB),
                     lockd_rig.sanlock_status(c1), re.M)
    c1.execute('lvchange', '-an', VG + '/v1')


def test_activation_while_another_host_holds_it_shared(facts_rig):
    node, c1 = facts_rig.host(NODE), facts_rig.host(C1)
    c1.execute('lvchange', '-asy', VG + '/v1')
    for mode in ('-aey', '-ay'):
        assert run(node, 'lvchange', mode, VG + '/v1') == (
            5, refused(VG + '/v1')), mode
        assert dm('v1') not in dm_names(node)
    assert run(node, 'lvchange', '-asy', VG + '/v1') == (0, '')
    # shared on both now: -aey is refused on either, the LV stays shared
    assert run(node, 'lvchange', '-aey', VG + '/v1') == (
        5, refused(VG + '/v1'))
    assert dm('v1') in dm_names(node)
    for host in (node, c1):
        host.execute('lvchange', '-an', VG + '/v1')


def test_metadata_writes_while_another_host_holds_the_lv(facts_rig):
    """lvmlockd refuses what needs the LV lock; a tag or permission change
    needs only the VG lock, and so does removing a *snapshot* of an origin
    active elsewhere, which leaves that host's dm devices behind."""
    node, c1 = facts_rig.host(NODE), facts_rig.host(C1)
    node.execute('lvcreate', '-s', '-L', '16m', '-n', 's2', VG + '/v2')
    node.execute('lvchange', '-an', VG + '/v2')
    c1.execute('lvchange', '-aey', VG + '/v1', VG + '/v2')
    lv1 = VG + '/v1'
    refused_only = '  LV locked by other host: %s\n' % lv1
    for argv, expected in (
            (('lvextend', '-L', '128m', lv1), (5, refused_only)),
            (('lvreduce', '-f', '-L', '32m', lv1), (5, refused_only)),
            (('lvrename', lv1, VG + '/v1x'), (5, refused_only)),
            (('lvremove', '-f', lv1), (5, refused_only)),
            (('lvcreate', '-s', '-L', '16m', '-n', 's1', lv1),
             (5, refused(lv1, origin=True))),
            (('lvchange', '--addtag', 't1', lv1), (0, '')),
            (('lvchange', '--deltag', 't1', lv1), (0, '')),
            (('lvchange', '-p', 'r', lv1), (0, '')),
            (('lvchange', '-p', 'rw', lv1), (0, '')),
            (('lvcreate', '-an', '-Zn', '-L', '8m', '-n', 'v3', VG),
             (0, None)),
            (('lvremove', '-f', VG + '/v3'), (0, '')),
            (('lvremove', '-f', VG + '/s2'), (0, ''))):
        rc, err = run(node, *argv)
        assert rc == expected[0] and expected[1] in (None, err), (argv, err)
    assert {dm('s2'), dm('s2', 'cow'), dm('v2', 'real')} <= dm_names(c1)
    c1.execute('lvchange', '-an', VG + '/v1', VG + '/v2')
    leftovers = {n for n in dm_names(c1) if n.startswith(dm('s2'))
                 or n.startswith(dm('v2'))}
    assert leftovers == {dm('s2'), dm('s2', 'cow'), dm('v2', 'real')}
    for name in (dm('s2'), dm('s2', 'cow'), dm('v2', 'real')):
        c1.execute('dmsetup', 'remove', name)
    node.execute('vgck', VG)


def test_lvcreate_loops_on_two_hosts_at_once(facts_rig):
    node, c2 = facts_rig.host(NODE), facts_rig.host(C2)
    loop = ('for i in 1 2 3 4 5; do lvcreate -an -Zn -L 8m -n %s$i %s '
            '|| exit 1; done')
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(
            lambda h: h[0].run('sh', '-c', loop % (h[1], VG), timeout=300),
            ((node, 'a'), (c2, 'b'))))
    took = time.monotonic() - started
    assert [r[0] for r in results] == [0, 0], results
    names = node.execute('lvs', '--noheadings', '-o', 'lv_name', VG)[0]
    assert {'a%d' % i for i in range(1, 6)} | {
        'b%d' % i for i in range(1, 6)} <= set(names.split())
    for host in (node, c2):
        host.execute('vgck', VG)
    print('\nlockd facts: 2 x 5 lvcreate at once took %.1f s' % took)
    node.execute('lvremove', '-f', *['%s/%s%d' % (VG, p, i)
                                     for p in 'ab' for i in range(1, 6)])


def test_lockstop_kill_and_drop(facts_rig):
    """--lockstop refuses while an LV is active; --kill makes every locked
    command fail; --drop releases the leases even with LVs still active,
    so another host can then activate them too."""
    node, c2 = facts_rig.host(NODE), facts_rig.host(C2)
    c2.execute('lvchange', '-aey', VG + '/v1')
    assert run(c2, 'vgchange', '--lockstop', VG) == (
        5, '  VG %s stop failed: LVs must first be deactivated\n' % VG)
    rc, out, err = c2.run('lvmlockctl', '--kill', VG)
    assert rc == 0, err
    rc, err = run(c2, 'lvchange', '-aey', VG + '/v2')
    assert (rc, err) == (
        5, '  VG %s lock skipped: storage failed for sanlock leases\n'
           '  Cannot access VG %s due to failed lock.\n' % (VG, VG))
    assert lockd.lockspace_not_started(err)
    assert lockd.started_lockspaces(lockd_rig.lockd_info(c2)) == {
        VG: 'sanlock'}
    assert c2.run('lvmlockctl', '--drop', VG)[0] == 0
    assert lockd_rig.lockd_info(c2) == ''
    assert dm('v1') in dm_names(c2)          # still active, now unlocked
    assert run(node, 'lvchange', '-aey', VG + '/v1') == (0, '')
    node.execute('lvchange', '-an', VG + '/v1')
    c2.execute('dmsetup', 'remove', dm('v1'))
    print('\nlockd facts: lockstart after --drop took %.1f s'
          % lockd_rig.lockstart(c2, VG))
    started = time.monotonic()
    rc, err = run(c2, 'vgchange', '--lockstop', VG)
    print('lockd facts: lockstop with nothing active: rc %d in %.1f s, %r'
          % (rc, time.monotonic() - started, err))
    assert rc == 0
    assert dm_names(c2) == set()             # the lock LV went too
    lockd_rig.lockstart(c2, VG)


def test_a_crashed_holder_blocks_until_its_lease_expires(facts_rig):
    node, c1 = facts_rig.host(NODE), facts_rig.host(C1)
    c1.execute('lvchange', '-aey', VG + '/v1')
    c1.power_off()
    crashed = time.monotonic()
    tries = 0
    while True:
        rc, err = run(node, 'lvchange', '-aey', VG + '/v1')
        tries += 1
        if rc == 0:
            break
        assert (rc, err) == (5, refused(VG + '/v1'))
        assert time.monotonic() - crashed < HOST_DEAD + 120
        time.sleep(2)
    expiry = time.monotonic() - crashed
    print('\nlockd facts: sanlock io_timeout %d s: compute-1 crashed '
          'holding -aey, cinder-node got it %.1f s later (%d tries)'
          % (lockd_rig.SANLOCK_IO_TIMEOUT, expiry, tries))
    assert HOST_DEAD - 10 < expiry < HOST_DEAD + 30
    node.execute('lvchange', '-an', VG + '/v1')
    started = time.monotonic()
    c1.boot()
    booted = time.monotonic() - started
    rc, out, err = c1.run('lvmlockctl', '--info')
    assert (rc, out, err) == (
        255, b'Cannot connect to lvmlockd.\n',
        b'/run/lvm/lvmlockd.socket: connect failed: No such file or '
        b'directory\n')
    timings = lockd_rig.restart_host(c1, VG)
    timings['boot'] = booted
    print('lockd facts: compute-1 back: %s s' % {
        k: round(v, 1) for k, v in timings.items()})
    # its own lease from before the crash: sanlock waits it out again
    assert timings['lockstart'] > HOST_DEAD - 10
    assert dm('v1') not in dm_names(c1)
    assert run(c1, 'lvchange', '-aey', VG + '/v1') == (0, '')
    c1.execute('lvchange', '-an', VG + '/v1')


def test_no_lease_renewal_came_near_the_io_timeout(facts_rig):
    """The short timeout is safe on the rig only if renewals stay fast."""
    worst = 0
    for name in (NODE, C2):
        rows = lockd_rig.renewal_history(facts_rig.host(name), VG)
        assert rows and all(r[2] == 0 and r[3] == 0 for r in rows), rows
        worst = max([worst] + [max(r[0], r[1]) for r in rows])
    print('\nlockd facts: slowest renewal i/o %d ms (io_timeout %d s)'
          % (worst, lockd_rig.SANLOCK_IO_TIMEOUT))
    assert worst < 1000
