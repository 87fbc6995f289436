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

"""Fixtures of the services suite: real Cinder services around the rig.

Run it with::

    .venv/bin/python -m pytest tests/services -m services -q

It boots its own two-host rig (cinder-node, compute-1) unless
``CSLVM_RIG_STATE`` names a running one (``python -m rig up
--detach``). It skips with the reason when not root or when RabbitMQ,
MariaDB or the venv's cinder services are missing
(``tests/services/apt-packages.txt``, installed by tools/setup-env.sh).

This process imports no cinder: the services and the ``cinder`` CLI run
as subprocesses, and the checks read the VG with the project's LVM layer.
"""

import os

import pytest

from rig import fixtures as rigfixtures
from tests.services import stack


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.services)


@pytest.fixture(scope='session')
def services_rig_state():
    """State file of a rig with cinder-node and compute-1."""
    reason = stack.skip_reason()
    if reason:
        pytest.skip(reason)
    state = os.environ.get('CSLVM_RIG_STATE')
    if state:
        yield state
        return
    # NOTE: two small extra shared LUNs (/dev/vdb, /dev/vdc) for the
    # backend with several VGs (test_pools_services.py).
    rig = rigfixtures.boot_rig(hosts=('cinder-node', 'compute-1'),
                               extra_luns=('6G', '6G'))
    try:
        yield rig.state_file
    finally:
        rig.close()
