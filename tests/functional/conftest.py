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

"""Fixtures for tests that drive the real driver and connector on the rig.

Import order matters (doc/source/design.rst, "Testing on these
machines"): with eventlet patching off,
``cinder.tests.unit`` must be imported before ``cinder.objects``.
"""

import os

os.environ.setdefault('OS_CINDER_DISABLE_EVENTLET_PATCHING', 'true')

import cinder.tests.unit  # noqa: E402,F401  (must come first)
from oslo_config import cfg  # noqa: E402
import pytest  # noqa: E402

from rig.fixtures import rig, rig_hosts  # noqa: E402,F401

CONF = cfg.CONF


@pytest.fixture(scope='session')
def world_factory(rig, tmp_path_factory):  # noqa: F811
    """Build Worlds on the session's rig (coordinator and image dir set)."""
    from tests.functional import lifecycle
    from tests.functional import world as worldmod
    worldmod.start_coordinator(str(tmp_path_factory.mktemp('locks')))
    # NOTE: cinder's image format inspector runs through privsep, which
    # starts a daemon with sudo; the tests already run as root and this
    # machine has no sudo, so run privileged functions in-process.
    import cinder.privsep
    cinder.privsep.sys_admin_pctxt.set_client_mode(False)

    def _make(**kwargs):
        w = worldmod.World(rig, **kwargs)
        CONF.set_override('image_conversion_dir', lifecycle.share_tmp(w))
        return w
    return _make


@pytest.fixture
def fresh_world(world_factory):
    """A World with a freshly prepared VG, removed afterwards."""
    w = world_factory(vg_name='fvg')
    w.prepare_vg()
    w.setup_driver()
    yield w
    w.rig.host('compute-1').execute('lvchange', '-an', 'fvg',
                                    check_exit_code=False)
    w.rig.host('compute-2').execute('lvchange', '-an', 'fvg',
                                    check_exit_code=False)
    w.remove_vg()
