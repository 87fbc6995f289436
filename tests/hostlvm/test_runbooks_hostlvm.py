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

"""The operator guide's LVM runbooks, run as written on real LVM.

doc/source/admin/grow.rst (pvresize, vgextend) and doc/source/admin/
backup.rst (vgcfgbackup off the host, vgcfgrestore) give commands for the
cinder-volume host. These tests run the same commands on loop devices,
metadata only (this kernel has no device-mapper), with only
``global { activation=0 }`` added.
"""

import io
import json
import os
import shutil
import uuid

import pytest

from cinder_shared_lvm.cmd import main as cli
from tests.hostlvm.util import run

pytestmark = pytest.mark.hostlvm

METADATA_ONLY = 'global { activation=0 }'
MIB = 1 << 20


class Lun(object):
    """A sparse image behind a loop device: one LUN the SAN presents."""

    def __init__(self, path, size):
        self.path = path
        with open(path, 'wb') as f:
            f.truncate(size)
        self.device = run('losetup', '-f', '--show', str(path)).stdout.strip()

    def grow(self, size):
        """The array grows the LUN; the host rescans it (losetup -c)."""
        with open(self.path, 'r+b') as f:
            f.truncate(size)
        run('losetup', '-c', self.device)


def lvm(*argv, check=True):
    """An LVM command as the runbook gives it, plus metadata-only."""
    return run(argv[0], '--config', METADATA_ONLY, *argv[1:], check=check)


@pytest.fixture
def site(tmp_path, monkeypatch):
    if os.geteuid() != 0 or not shutil.which('losetup'):
        pytest.skip('needs root, losetup and LVM')
    system_dir = tmp_path / 'lvm'
    system_dir.mkdir()
    (system_dir / 'lvm.conf').write_text('')
    monkeypatch.setenv('LVM_SYSTEM_DIR', str(system_dir))
    monkeypatch.setenv('LVM_SUPPRESS_FD_WARNINGS', '1')
    luns = []
    vg = 'cslvm-runbook-%s' % uuid.uuid4().hex[:8]

    def new_lun(size=96 * MIB):
        luns.append(Lun(tmp_path / ('lun%d.img' % len(luns)), size))
        return luns[-1]

    first = new_lun()
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(['prepare', '--json', '--vg', vg, '--devices',
                     first.device, '--expected-volumes', '100',
                     '--lvm-extra-config', METADATA_ONLY],
                    stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    try:
        yield vg, first, new_lun, json.loads(out.getvalue())
    finally:
        devices = ','.join(lun.device for lun in luns)
        lvm('vgremove', '--devices', devices, '-f', vg, check=False)
        for lun in luns:
            lvm('pvremove', '--devices', lun.device, '-ff', '-y', lun.device,
                check=False)
            run('losetup', '-d', lun.device, check=False)


def vg_size(vg, devices):
    """(VG size in bytes, PV count) as the cinder-volume host sees it."""
    out = lvm('vgs', '--devices', devices, '--noheadings', '--nosuffix',
              '--units', 'b', '-o', 'vg_size,pv_count', vg).stdout.split()
    return int(out[0]), int(out[1])


def test_grow_the_lun_then_pvresize(site):
    vg, first, _new_lun, _prepared = site
    before, _count = vg_size(vg, first.device)
    first.grow(160 * MIB)
    lvm('pvresize', '--devices', first.device, first.device)
    after, count = vg_size(vg, first.device)
    assert count == 1
    assert after - before >= 60 * MIB


def test_vgextend_with_a_second_lun(site):
    vg, first, new_lun, prepared = site
    second = new_lun()
    both = '%s,%s' % (first.device, second.device)
    before, _count = vg_size(vg, first.device)
    # The runbook: the new PV gets the metadata area of the first one.
    lvm('pvcreate', '--devices', second.device, '--metadatasize',
        '%dm' % prepared['metadata_size_mib'], second.device)
    lvm('vgextend', '--devices', both, vg, second.device)
    after, count = vg_size(vg, both)
    assert count == 2 and after > before
    # Seen through the first LUN alone, the VG is incomplete: this is why
    # every host gets the new path before the vgextend.
    partial = lvm('vgs', '--devices', first.device, '--noheadings', '-o',
                  'vg_missing_pv_count', vg, check=False)
    assert partial.stdout.strip() == '1'


def test_vgcfgbackup_off_host_then_restore(site, tmp_path):
    vg, first, _new_lun, _prepared = site
    lvm('lvcreate', '--devices', first.device, '-an', '-Zn', '-L', '8m',
        '-n', 'volume-kept', vg)
    backup_host = tmp_path / 'backup-host'
    backup_host.mkdir()
    saved = backup_host / ('%s.vg' % vg)
    lvm('vgcfgbackup', '--devices', first.device, '-f', str(saved), vg)
    assert 'volume-kept' in saved.read_text()
    # An LV removed by mistake comes back from the off-host copy.
    lvm('lvremove', '--devices', first.device, '-f', '%s/volume-kept' % vg)
    lvm('vgcfgrestore', '--devices', first.device, '--test', '-f',
        str(saved), vg)
    lvm('vgcfgrestore', '--devices', first.device, '-f', str(saved), vg)
    names = lvm('lvs', '--devices', first.device, '--noheadings', '-o',
                'lv_name', vg).stdout.split()
    assert names == ['volume-kept']
