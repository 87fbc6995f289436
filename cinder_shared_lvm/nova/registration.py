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

"""Register the ``shared_lvm`` volume type with Nova's libvirt driver.

Nova has no plugin point for volume drivers: ``LibvirtDriver`` looks each
``driver_volume_type`` up in the module-level dict
``nova.virt.libvirt.driver.VOLUME_DRIVERS`` the first time a volume of that
type is attached, and caches the driver it builds. Adding our entry to that
dict before the first ``shared_lvm`` attach is therefore enough; the
``nova-compute-shared-lvm`` console script (``cinder_shared_lvm.nova.cmd``)
does it before nova-compute starts.
"""

import threading

from oslo_log import log as logging

from cinder_shared_lvm import brick_registration
from cinder_shared_lvm import contract

LOG = logging.getLogger(__name__)

DRIVER_VOLUME_TYPE = contract.DRIVER_VOLUME_TYPE
VOLUME_DRIVER_PATH = ('cinder_shared_lvm.nova.volume.'
                      'LibvirtSharedLVMVolumeDriver')

_lock = threading.Lock()


def register() -> None:
    """Register the volume driver with Nova and the connector with os-brick.

    Idempotent. Call it before nova-compute attaches a ``shared_lvm``
    volume.
    """
    from nova.virt.libvirt import driver as libvirt_driver

    brick_registration.register()
    with _lock:
        drivers = libvirt_driver.VOLUME_DRIVERS
        current = drivers.get(DRIVER_VOLUME_TYPE)
        if current == VOLUME_DRIVER_PATH:
            return
        if current is not None:
            LOG.warning('Replacing volume driver %s for driver_volume_type '
                        '%s with %s', current, DRIVER_VOLUME_TYPE,
                        VOLUME_DRIVER_PATH)
        drivers[DRIVER_VOLUME_TYPE] = VOLUME_DRIVER_PATH
        LOG.debug('Registered libvirt volume driver %s for %s',
                  VOLUME_DRIVER_PATH, DRIVER_VOLUME_TYPE)


def is_registered() -> bool:
    from nova.virt.libvirt import driver as libvirt_driver

    return (brick_registration.is_registered() and
            libvirt_driver.VOLUME_DRIVERS.get(DRIVER_VOLUME_TYPE) ==
            VOLUME_DRIVER_PATH)
