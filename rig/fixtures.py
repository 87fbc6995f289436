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

"""pytest helpers for tests that need the rig.

A conftest.py (or a test module) makes the fixtures available with::

    from rig.fixtures import rig, rig_hosts  # noqa: F401

``rig`` is session-scoped: the VMs boot once (about 10 s for three hosts)
and every functional test shares them, so tests must clean up the LVs and
VGs they create.  ``rig_hosts`` can be overridden by a conftest to boot
other host names.
"""

import os
import shutil

import pytest

from rig import rig as rigmod

DEFAULT_LUN_SIZE = os.environ.get('CSLVM_RIG_LUN_SIZE', '20G')


def skip_reason():
    """Why the rig cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return 'the rig needs root (qemu, 9p with security_model=none)'
    for tool in ('qemu-system-x86_64', 'apt-get', 'dpkg-deb', 'cpio',
                 'depmod'):
        if not shutil.which(tool):
            return ('%s is missing: install rig/apt-packages.txt '
                    '(tools/setup-env.sh)' % tool)
    if not os.path.exists('/bin/busybox'):
        return '/bin/busybox is missing: apt-get install busybox-static'
    if os.environ.get('CSLVM_SKIP_RIG'):
        return 'CSLVM_SKIP_RIG is set'
    return None


def require_rig():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)


def boot_rig(hosts=rigmod.DEFAULT_HOSTS, lun_size=DEFAULT_LUN_SIZE, **kw):
    """Boot a rig or skip the test with the reason it cannot run."""
    require_rig()
    return rigmod.Rig(hosts=hosts, lun_size=lun_size, **kw).start()


@pytest.fixture(scope='session')
def rig_hosts():
    return rigmod.DEFAULT_HOSTS


@pytest.fixture(scope='session')
def rig(rig_hosts):
    """A running rig shared by the whole session; torn down at the end."""
    # NOTE: a second, small shared LUN (/dev/vdb on every host) for the
    # tests of several VGs as pools (tests/functional/test_pools.py).
    r = boot_rig(hosts=rig_hosts, extra_luns=('12G',))
    try:
        yield r
    finally:
        r.close()
