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

"""Two-or-more-host shared-LUN rig: qemu VMs that see one LUN.

    from rig import Rig
    with Rig(hosts=('cinder-node', 'compute-1'), lun_size='20G') as rig:
        out, err = rig.host('compute-1').execute('lvs')

See rig/README.md.
"""

from rig.executor import HostDown  # noqa: F401
from rig.mux import RemoteHost, RigClient  # noqa: F401
from rig.rig import Rig, RigError, RigHost, reap_stale  # noqa: F401
