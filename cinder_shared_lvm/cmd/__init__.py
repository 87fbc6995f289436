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

"""The ``cinder-shared-lvm`` operator CLI: prepare, check, status, cleanup.

Entry point: ``cinder_shared_lvm.cmd.main:main``. Every host command goes
through one injectable executor, and every LVM command is built by
``cinder_shared_lvm.lvm.SharedLVM``, so the unit tests assert exact argv.
"""

import warnings

# NOTE: os-brick imports oslo.privsep, which imports eventlet, which warns
# on every import that it is deprecated. The CLI never uses eventlet; an
# operator would read the warning as a problem with their host.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
