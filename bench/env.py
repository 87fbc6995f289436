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

"""Process setup shared by every benchmark section.

Import this module first: with eventlet patching off, ``cinder.tests.unit``
must be imported before ``cinder.objects`` (design.rst, testing).
"""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault('OS_CINDER_DISABLE_EVENTLET_PATCHING', 'true')

import cinder.tests.unit  # noqa: E402,F401  (must come first)
from cinder import coordination  # noqa: E402
from oslo_config import cfg  # noqa: E402

CONF = cfg.CONF
_LOCK_DIR = None


def start_coordinator() -> str:
    """Cinder's coordinator (tooz file backend) for the driver's VG lock."""
    global _LOCK_DIR
    if not coordination.COORDINATOR.started:
        _LOCK_DIR = tempfile.mkdtemp(prefix='cslvm-bench-locks-')
        CONF.set_override('backend_url', 'file://%s' % _LOCK_DIR,
                          group='coordination')
        coordination.COORDINATOR.start()
        atexit.register(shutil.rmtree, _LOCK_DIR, True)
    return _LOCK_DIR


def in_process_privsep() -> None:
    """Run cinder's privsep entrypoints in this process (no sudo here)."""
    import cinder.privsep
    cinder.privsep.sys_admin_pctxt.set_client_mode(False)
