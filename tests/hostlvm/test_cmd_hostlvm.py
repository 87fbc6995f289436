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

"""The operator CLI against real LVM on a loop device, metadata only.

``--lvm-extra-config 'global { activation=0 }'`` is the test-only way to
run LVM here without device-mapper (doc/source/design.rst, "Testing on
these machines"). Each test points ``LVM_SYSTEM_DIR`` at its own lvm.conf,
so ``check`` judges a host config the test wrote, and LVM's metadata
backups land in the test's temp dir instead of /etc/lvm.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from cinder_shared_lvm.cmd import main as cli
from cinder_shared_lvm import lvm
from tests.hostlvm.util import run

pytestmark = pytest.mark.hostlvm

METADATA_ONLY = 'global { activation=0 }'
IMAGE_SIZE = 128 << 20
MIB = 1 << 20


def _skip_reason():
    if os.geteuid() != 0:
        return 'needs root for losetup and LVM'
    for tool in ('losetup', 'lvm', 'lvmconfig', 'blkid', 'blockdev'):
        if not shutil.which(tool):
            return 'no %s binary on this machine' % tool
    return None


class Host(object):
    """A blank loop device, a VG name for it, and this host's lvm.conf."""

    def __init__(self, device, vg_name, system_dir):
        self.device = device
        self.vg = vg_name
        self.system_dir = system_dir
        self.config = lvm.build_lvm_config([device], False, METADATA_ONLY)

    def write_lvm_conf(self, text):
        (self.system_dir / 'lvm.conf').write_text(text)

    def confined_lvm_conf(self, read_only=False):
        """The lvm.conf that etc/cinder-shared-lvm recommends."""
        self.write_lvm_conf(
            'devices {\n global_filter = [ "a|^%s$|", "r|.*|" ]\n'
            ' obtain_device_list_from_udev = 0\n hints = "none"\n}\n'
            'activation {\n auto_activation_volume_list = []\n}\n'
            'global {\n metadata_read_only = %d\n}\n'
            % (self.device, 1 if read_only else 0))

    def cli(self, *argv):
        """(exit code, stdout, stderr) of the CLI with the real executor."""
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv) + ['--vg', self.vg, '--devices',
                                      self.device, '--lvm-extra-config',
                                      METADATA_ONLY],
                        stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    def lvm(self, command, *args, check=True):
        return run('lvm', command, '--config', self.config, *args,
                   check=check)


@pytest.fixture
def host(tmp_path, monkeypatch):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    system_dir = tmp_path / 'lvm'
    system_dir.mkdir()
    (system_dir / 'lvm.conf').write_text('')
    monkeypatch.setenv('LVM_SYSTEM_DIR', str(system_dir))
    # NOTE: pytest keeps descriptors open that LVM would warn about.
    monkeypatch.setenv('LVM_SUPPRESS_FD_WARNINGS', '1')
    image = tmp_path / 'lun.img'
    with open(image, 'wb') as f:
        f.truncate(IMAGE_SIZE)
    result = run('losetup', '-f', '--show', str(image), check=False)
    if result.returncode:
        pytest.skip('no free loop device: %s' % result.stderr.strip())
    host = Host(result.stdout.strip(), 'cslvm-cli-%s' % uuid.uuid4().hex[:8],
                system_dir)
    try:
        yield host
    finally:
        host.lvm('vgremove', '-f', host.vg, check=False)
        host.lvm('pvremove', '-ff', '-y', host.device, check=False)
        run('losetup', '-d', host.device, check=False)


def _prepare(host, *extra):
    code, out, err = host.cli('prepare', '--json', *extra)
    assert code == 0, err
    return json.loads(out)


def test_prepare_creates_vg_sized_and_without_autoactivation(host):
    data = _prepare(host, '--expected-volumes', '20000')
    assert data['metadata_size_mib'] == 47
    pvs = host.lvm('pvs', '--noheadings', '--nosuffix', '--units', 'b',
                   '-o', 'vg_name,pv_mda_size', host.device).stdout.split()
    assert pvs[0] == host.vg
    assert int(pvs[1]) >= 47 * MIB
    vgs = host.lvm('vgs', '--noheadings', '-o', 'vg_uuid,vg_autoactivation',
                   host.vg).stdout.split()
    assert vgs == [data['vg_uuid']]          # autoactivation field empty


def _vg_uuid(host):
    return host.lvm('vgs', '--noheadings', '-o', 'vg_uuid',
                    host.vg).stdout.strip()


def test_prepare_twice_succeeds_and_changes_nothing(host):
    first = _prepare(host)
    code, out, err = host.cli('prepare')
    assert (code, err) == (0, '')
    assert out.startswith('Already prepared: VG %s (%s)'
                          % (host.vg, first['vg_uuid']))
    second = _prepare(host, '--expected-volumes', '50000')
    assert second['already_prepared'] is True
    assert second['metadata_size_mib'] == first['metadata_size_mib']
    assert _vg_uuid(host) == first['vg_uuid']


def test_prepare_refuses_a_pv_of_another_vg(host):
    host.lvm('pvcreate', host.device)
    host.lvm('vgcreate', 'cslvm-other-%s' % host.vg[-8:], host.device)
    try:
        code, _out, err = host.cli('prepare')
        assert code == 1
        assert 'LVM physical volume (of VG cslvm-other-' in err
        assert '--force' in err
    finally:
        host.lvm('vgremove', '-f', 'cslvm-other-%s' % host.vg[-8:],
                 check=False)


def test_check_json_into_a_closed_pipe_prints_no_traceback(host):
    _prepare(host)
    host.confined_lvm_conf()
    read_end, write_end = os.pipe()
    os.close(read_end)          # the reader is gone before the first write
    try:
        proc = subprocess.run(
            [sys.executable, '-m', 'cinder_shared_lvm.cmd.main', 'check',
             '--role', 'writer', '--json', '--vg', host.vg, '--devices',
             host.device, '--lvm-extra-config', METADATA_ONLY],
            stdout=write_end, stderr=subprocess.PIPE, text=True,
            timeout=120)
    finally:
        os.close(write_end)
    assert proc.stderr == ''
    assert proc.returncode == 0


def test_prepare_force_reinitialises(host):
    host.lvm('pvcreate', host.device)
    data = _prepare(host, '--force')
    assert data['overwritten_signatures'] == [host.device]
    assert data['vg_uuid']


def test_prepare_refuses_bad_vg_name(host):
    err = io.StringIO()
    code = cli.main(['prepare', '--vg=-x', '--devices', host.device,
                     '--lvm-extra-config', METADATA_ONLY], stderr=err)
    assert code == 2 and 'Invalid VG name' in err.getvalue()
    # blkid's exit 2: still no signature at all on the device
    assert run('blkid', '-p', host.device, check=False).returncode == 2


def test_status_shows_cinder_objects(host):
    _prepare(host)
    vol, snap = str(uuid.uuid4()), str(uuid.uuid4())
    for name in ('volume-' + vol, '_snapshot-' + snap, 'scratch'):
        host.lvm('lvcreate', '-an', '-Zn', '--setautoactivation', 'n',
                 '-L', '8m', '-n', name, host.vg)
    code, out, err = host.cli('status', '--json')
    assert code == 0, err
    data = json.loads(out)
    kinds = {e['name']: (e['kind'], e['id'], e['size_bytes'], e['active'])
             for e in data['lvs']}
    assert kinds == {'volume-' + vol: ('volume', vol, 8 * MIB, False),
                     '_snapshot-' + snap: ('snapshot', snap, 8 * MIB, False),
                     'scratch': ('unmanaged', None, 8 * MIB, False)}
    assert 90 < data['metadata_free_percent'] <= 100


def test_status_table_from_the_real_entry_point(host):
    _prepare(host)
    host.lvm('lvcreate', '-an', '-Zn', '-L', '4m', '-n', 'volume-' +
             str(uuid.uuid4()), host.vg)
    result = run(sys.executable, '-m', 'cinder_shared_lvm.cmd.main',
                 'status', '--vg', host.vg, '--devices', host.device,
                 '--lvm-extra-config', METADATA_ONLY, check=False,
                 env=dict(os.environ))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith('VG %s (' % host.vg)
    assert lines[3].split()[1:2] == ['volume']


def test_check_passes_on_a_confined_writer(host):
    _prepare(host)
    host.confined_lvm_conf()
    code, out, _err = host.cli('check', '--role', 'writer')
    assert code == 0, out
    assert [line.split()[:2] for line in out.splitlines()] == [
        ['PASS', 'device'], ['PASS', 'vg-visible'],
        ['PASS', 'metadata-space'], ['PASS', 'scan-confined'],
        ['PASS', 'autoactivation'], ['PASS', 'caching-daemon'],
        ['PASS', 'lvmlockd'], ['PASS', 'hints'],
        ['PASS', 'udev-device-list'], ['PASS', 'metadata-read-only']]


def test_check_passes_on_a_read_only_reader(host):
    _prepare(host)
    host.confined_lvm_conf(read_only=True)
    code, out, _err = host.cli('check', '--role', 'reader')
    assert code == 0, out


def test_check_fails_on_an_unconfined_host(host):
    _prepare(host)
    host.write_lvm_conf('devices {\n hints = "all"\n}\n')
    host.lvm('vgchange', '--setautoactivation', 'y', host.vg)
    code, out, _err = host.cli('check', '--role', 'reader', '--json')
    assert code == 1
    status = {c['check']: c['status'] for c in json.loads(out)['checks']}
    assert status['vg-visible'] == 'PASS'
    for name in ('scan-confined', 'hints', 'autoactivation',
                 'metadata-read-only'):
        assert status[name] == 'FAIL', name


def test_check_fails_without_the_vg(host):
    host.confined_lvm_conf()
    code, out, _err = host.cli('check', '--role', 'writer')
    assert code == 1
    assert 'FAIL  vg-visible' in out


def test_cleanup_with_nothing_active(host):
    _prepare(host)
    host.lvm('lvcreate', '-an', '-Zn', '-L', '4m', '-n', 'scratch', host.vg)
    code, out, _err = host.cli('cleanup')
    assert code == 0
    assert out.startswith('nothing to do')
