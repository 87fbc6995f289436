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

"""Real LVM on a loop device on this machine, metadata only.

The kernel here has no device-mapper (design.rst, testing), so every
command runs with ``global { activation=0 }``: VG and LV metadata work,
activation, snapshots and data I/O do not. Tests skip cleanly where they
cannot run: not root, no ``losetup`` or ``lvm``, or no free loop device.
"""

import os
import shutil
import uuid

import pytest

from cinder_shared_lvm import lvm
from tests.hostlvm.util import run

METADATA_ONLY = 'global { activation=0 } '
IMAGE_SIZE = 256 << 20


def pytest_configure(config):
    # setup.cfg registers it too; registering twice is harmless and keeps
    # this directory usable on its own.
    config.addinivalue_line(
        'markers', 'hostlvm: real LVM on a loop device on this machine '
                   '(metadata only, root)')


def _skip_reason():
    if os.geteuid() != 0:
        return 'needs root for losetup and LVM'
    for tool in ('losetup', 'lvm', 'pvcreate', 'vgcreate'):
        if not shutil.which(tool):
            return 'no %s binary on this machine' % tool
    if run('losetup', '-f', check=False).returncode:
        return 'no free loop device'
    return None


class SharedVG(object):
    """A throw-away VG on a loop device, set up as the cinder host would."""

    def __init__(self, vg_name, device, alias=None):
        self.vg_name = vg_name
        self.device = device
        self.alias = alias
        self.config = lvm.build_lvm_config([device], False, METADATA_ONLY)

    def lvm(self, role=lvm.WRITER, devices=None, executor=None):
        return lvm.SharedLVM(self.vg_name, devices or [self.device],
                             role=role, executor=executor,
                             check_vg=False, extra_config=METADATA_ONLY)

    def run_lvm(self, command, *args, config=None, check=True):
        """An LVM command with this VG's (or the given) --config."""
        return run(command, '--config', config or self.config, *args,
                   check=check)


@pytest.fixture
def shared_vg(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    image = tmp_path / 'shared-lun.img'
    with open(image, 'wb') as f:
        f.truncate(IMAGE_SIZE)          # sparse
    token = uuid.uuid4().hex[:8]
    vg_name = 'cslvm-test-%s' % token
    device = alias = None
    try:
        result = run('losetup', '-f', '--show', str(image), check=False)
        if result.returncode:
            pytest.skip('no free loop device: %s' % result.stderr.strip())
        device = result.stdout.strip()
        # A second name with '-' and '.' in it proves the filter's regex
        # escaping survives LVM's config parser.
        alias = '/dev/cslvm-test-%s.pv' % token
        os.symlink(device, alias)
        vg = SharedVG(vg_name, device, alias)
        vg.run_lvm('pvcreate', device)
        vg.run_lvm('vgcreate', '--setautoactivation', 'n', vg_name, device)
        yield vg
    finally:
        _teardown(vg_name, device, alias, image)


def _teardown(vg_name, device, alias, image):
    """Undo everything, whatever state a failed test left behind."""
    if device:
        config = lvm.build_lvm_config([device], False, METADATA_ONLY)
        run('vgremove', '--config', config, '-f', vg_name, check=False)
        run('pvremove', '--config', config, '-ff', '-y', device, check=False)
        run('losetup', '-d', device, check=False)
    if alias and os.path.islink(alias):
        os.unlink(alias)
    if os.path.exists(image):
        os.unlink(image)
