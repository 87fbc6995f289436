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

"""An executor for ``shared_lvm_executor``: run commands on a rig VM.

A real ``cinder-volume`` (or ``cinder-backup``) process builds the driver
from cinder.conf, without ``execute=``. With::

    [rig1]
    shared_lvm_executor = rig.remote_execute.execute

and ``CSLVM_RIG_STATE`` (the rig's state file) in the service's
environment, every host command of the driver and of the ``shared_lvm``
connector runs on the rig host ``$CSLVM_RIG_HOST`` (default
``cinder-node``) through the rig's mux socket.
"""

import os
import threading

_lock = threading.Lock()
_hosts = {}


def _host():
    state = os.environ['CSLVM_RIG_STATE']
    name = os.environ.get('CSLVM_RIG_HOST', 'cinder-node')
    with _lock:
        if (state, name) not in _hosts:
            from rig import RigClient
            _hosts[(state, name)] = RigClient(state).host(name)
        return _hosts[(state, name)]


def execute(*cmd, **kwargs):
    """``processutils.execute``'s signature, run on the rig host."""
    return _host().execute(*cmd, **kwargs)
