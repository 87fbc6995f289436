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

"""Several VGs as pools of one backend (``shared_lvm_volume_groups``).

Why: every LVM command reads the whole metadata of its VG, so one VG is
linear in its LV count, and LVM's VG lock serialises its writes. Measured
on loop devices (``bench/pools.py``), an ``lvcreate`` among 40,000 LVs
took 27x the 10-LV figure, and 6.8x in one of 4 VGs of 10,000 when the
filter admits that VG's own device only (9.9x when it admits all 4: LVM's
label scan reads every admitted device); 16 parallel creates ran 6.4x
faster spread over the 4 VGs than in one.

How: the backend's driver routes each request to a *pool driver*, a
``SharedLVMDriver`` of its own for one VG, with that VG's devices only,
its own VG lock (``shared-lvm-<vg>``) and family locks. A volume's pool is
the ``#pool`` part of its host, which the scheduler chose from the pools
in the stats. A family never spans VGs: a snapshot lives in its volume's
VG. A clone or volume from a snapshot whose source is in another pool is a
copy between the VGs: the source's pool driver leases and reads it, the
target's pool driver creates and writes the new LV.
"""

import functools
from typing import Dict, List, Optional

from cinder import objects
from cinder.volume import volume_utils

from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exception
from cinder_shared_lvm import lvm


def configured_vgs(configuration) -> List[str]:
    """The backend's VGs: the list option, else the single VG."""
    many = [vg for vg in (configuration.safe_get('shared_lvm_volume_groups')
                          or []) if vg]
    return many or [configuration.shared_lvm_volume_group]


def is_multi_pool(configuration) -> bool:
    return bool(configuration.safe_get('shared_lvm_volume_groups'))


def devices_by_vg(execute, root_helper: str, devices: List[str],
                  vgs: List[str]) -> Dict[str, List[str]]:
    """Which of *devices* holds which VG (``lvm.devices_by_vg``); refuse a
    VG that none of them holds, before anything is set up."""
    try:
        return lvm.devices_by_vg(devices, vgs, executor=execute,
                                 root_helper=root_helper)
    except lvm_exception.VolumeGroupNotFound as err:
        raise exc.InvalidRequest(
            reason='%s (shared_lvm_volume_groups). Add their shared PVs to '
                   'shared_lvm_devices, or run "cinder-shared-lvm prepare" '
                   'for them' % err)


def pool_of(resource) -> Optional[str]:
    """The pool (``host#pool``) of a volume, or of a snapshot's volume."""
    if isinstance(resource, objects.Snapshot):
        resource = resource.volume
    host = getattr(resource, 'host', None)
    return volume_utils.extract_host(host, 'pool') if host else None


def _first_resource(args):
    for arg in args:
        if isinstance(arg, (objects.Volume, objects.Snapshot)):
            return arg
    return None


def routed(func):
    """Run *func* on the pool driver of the first volume or snapshot
    argument when the backend has several pools; as is otherwise."""
    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        if not self.pool_drivers:
            return func(self, *args, **kwargs)
        target = self.pool_driver(_first_resource(args))
        return getattr(target, func.__name__)(*args, **kwargs)
    return wrapper
