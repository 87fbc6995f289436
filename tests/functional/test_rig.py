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

"""The rig itself: executor semantics, shared LUN, power and cleanup.

Every other functional test trusts the rig's executor to behave like
processutils.execute and its hosts to share one LUN; these tests prove it.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from oslo_concurrency import processutils

from rig import fixtures
from rig import mux
from rig import rig as rigmod
from rig.fixtures import rig, rig_hosts  # noqa: F401

pytestmark = pytest.mark.functional

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture
def a(rig):  # noqa: F811
    return rig.host(rig.host_names[0])


@pytest.fixture
def b(rig):  # noqa: F811
    return rig.host(rig.host_names[1])


def test_stdout_stderr_and_exit_code_are_separate(a):
    out, err = a.execute('sh', '-c', 'echo out; echo err >&2')
    assert (out, err) == ('out\n', 'err\n')

    with pytest.raises(processutils.ProcessExecutionError) as ctx:
        a.execute('sh', '-c', 'echo o; echo e >&2; exit 3')
    assert ctx.value.exit_code == 3
    assert ctx.value.stdout == 'o\n'
    assert ctx.value.stderr == 'e\n'
    assert 'sh -c' in ctx.value.cmd

    assert a.execute('sh', '-c', 'exit 3', check_exit_code=[0, 3]) == ('', '')
    assert a.execute('false', check_exit_code=False) == ('', '')
    assert a.run('sh', '-c', 'exit 7')[0] == 7


def test_argv_is_not_parsed_by_a_shell(a):
    hostile = "x'; echo pwned; '$(id)\n\"`"
    out, _ = a.execute('printf', '%s', hostile)
    assert out == hostile


def test_binary_stdin_and_stdout_survive(a):
    data = os.urandom(256 * 1024) + b'\n\0\r\n'
    out, err = a.execute('cat', process_input=data, binary=True)
    assert out == data and err == b''


def test_env_cwd_hostname_and_root_helper(a):
    out, _ = a.execute('sh', '-c', 'echo "$FOO"; pwd; hostname',
                       env_variables={'FOO': "it's"}, cwd='/tmp',
                       run_as_root=True, root_helper='sudo nonexistent')
    assert out == "it's\n/tmp\n%s\n" % a.name


def test_missing_binary_is_an_execution_error(a):
    with pytest.raises(processutils.ProcessExecutionError) as ctx:
        a.execute('no-such-binary')
    assert ctx.value.exit_code == 127


def test_timeout_raises_timeout_expired(a):
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        a.execute('sleep', '30', timeout=1)
    assert time.monotonic() - start < 10
    assert a.execute('echo', 'after')[0] == 'after\n'


def test_concurrent_calls_do_not_mix(rig):  # noqa: F811
    errors = []

    def worker(i):
        host = list(rig)[i % len(rig.hosts)]
        try:
            for j in range(6):
                out, _ = host.execute('echo', str(i), str(j))
                assert out == '%d %d\n' % (i, j)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_share_dir_is_seen_at_the_same_path(rig, a, b):  # noqa: F811
    path = os.path.join(rig.share_dir, 'hello.txt')
    with open(path, 'w') as f:
        f.write('from the test process')
    assert a.execute('cat', path)[0] == 'from the test process'
    b.execute('sh', '-c', 'echo back > %s.b' % path)
    with open(path + '.b') as f:
        assert f.read() == 'back\n'
    out, _ = b.execute('qemu-img', 'info', '--output=json', path)
    assert json.loads(out)['format'] == 'raw'


def _sha(host, dev):
    out, _ = host.execute(
        'sh', '-c', 'dd if=%s bs=1M iflag=direct 2>/dev/null | sha256sum'
        % dev)
    return out.split()[0]


def test_one_lun_shared_by_two_hosts(rig, a, b):  # noqa: F811
    vg = 'rigtest'
    dev = a.device_for_serial()
    assert b.device_for_serial() == dev
    a.execute('pvcreate', '-ff', '-y', dev)
    try:
        a.execute('vgcreate', '--setautoactivation', 'n', vg, dev)
        a.execute('lvcreate', '-n', 'lv1', '-L', '16M', '-an', '-Zn', vg)
        # Host B activates what host A created, writes, and lets go.
        b.execute('lvchange', '-ay', vg + '/lv1')
        assert '%s-lv1' % vg in b.dm_tables()
        b.execute('dd', 'if=/dev/urandom', 'of=/dev/%s/lv1' % vg, 'bs=1M',
                  'count=16', 'oflag=direct')
        written = _sha(b, '/dev/%s/lv1' % vg)
        b.execute('lvchange', '-an', vg + '/lv1')
        assert b.dm_tables() == {}
        # Host A reads the same bytes and takes a snapshot.
        a.execute('lvchange', '-ay', vg + '/lv1')
        assert _sha(a, '/dev/%s/lv1' % vg) == written
        a.execute('lvcreate', '-s', '-n', 'snap1', '-L', '8M', vg + '/lv1')
        tables = a.dm_tables()
        assert 'snapshot-origin' in tables['%s-lv1' % vg]
        assert tables['%s-snap1' % vg].split()[2] == 'snapshot'
        assert _sha(a, '/dev/%s/snap1' % vg) == written
        out, _ = b.execute('lvs', '--noheadings', '-o', 'lv_name', vg)
        assert out.split() == ['lv1', 'snap1']
    finally:
        a.execute('vgremove', '-f', vg, check_exit_code=False)
        a.execute('pvremove', '-ff', '-y', dev, check_exit_code=False)
    assert a.dm_tables() == {}


def test_remote_client_from_another_process(rig):  # noqa: F811
    name = rig.host_names[0]
    env = dict(os.environ, PYTHONPATH=REPO,
               CSLVM_RIG_STATE=rig.state_file)
    proc = subprocess.run(
        [sys.executable, '-m', 'rig', 'exec', name, '--',
         'sh', '-c', 'hostname; cat; echo oops >&2; exit 5'],
        input=b'piped', stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env, cwd=REPO, timeout=60)
    assert proc.returncode == 5
    assert proc.stdout == ('%s\npiped' % name).encode()
    assert proc.stderr == b'oops\n'
    client = mux.RigClient(rig.state_file)
    assert client.host(name).execute('hostname')[0] == name + '\n'


def test_power_off_and_boot(rig):  # noqa: F811
    host = rig.host(rig.host_names[-1])
    old_pid, old_boot = host.vm.pid, host.boot_id
    host.power_off()
    assert not host.is_up()
    assert not os.path.exists('/proc/%d' % old_pid) or \
        'Z' in open('/proc/%d/stat' % old_pid).read().split()[2]
    with pytest.raises(processutils.ProcessExecutionError) as ctx:
        host.execute('true')
    assert ctx.value.exit_code == -1
    host.boot()
    assert host.boot_id != old_boot
    assert host.device_for_serial() == '/dev/vda'
    assert host.execute('hostname')[0] == host.name + '\n'


def test_detach_and_attach_lun(rig):  # noqa: F811
    host = rig.host(rig.host_names[-1])
    host.detach_lun()
    try:
        out, _ = host.execute('sh', '-c', 'cat /sys/block/vd*/serial; true')
        # NOTE: the session rig also has a second LUN, serial SHAREDLUN2,
        # which stays: only the first one (serial SHAREDLUN) is detached.
        assert 'SHAREDLUN' not in out.split()
        assert 'SHAREDLUN2' in out.split()
    finally:
        host.attach_lun()
    assert host.device_for_serial() == '/dev/vda'


def _qemus_of(rundir):
    pids = []
    for pid in os.listdir('/proc'):
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read()
            with open('/proc/%s/stat' % pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
        except OSError:
            continue
        if pid.isdigit() and rundir.encode() in cmd and state != 'Z':
            pids.append(int(pid))
    return pids


def test_close_removes_every_vm_and_file():
    fixtures.require_rig()
    with rigmod.Rig(hosts=('solo',), lun_size='64M', mux=False) as r:
        rundir = r.dir
        assert _qemus_of(rundir)
    assert _qemus_of(rundir) == []
    assert not os.path.exists(rundir)


def test_next_run_reaps_a_killed_run():
    fixtures.require_rig()
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen(
        [sys.executable, '-m', 'rig', 'up', '--hosts', 'orphan',
         '--lun-size', '64M'], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, env=env, cwd=REPO, text=True)
    try:
        for line in proc.stdout:
            if 'state file' in line:
                rundir = os.path.dirname(line.split()[-1])
                break
        else:
            pytest.fail('rig did not come up: %s' % proc.wait())
    finally:
        proc.send_signal(signal.SIGKILL)  # no chance to clean up
        proc.wait()
    assert _qemus_of(rundir)
    assert rundir in rigmod.reap_stale()
    assert _qemus_of(rundir) == []
    assert not os.path.exists(rundir)
