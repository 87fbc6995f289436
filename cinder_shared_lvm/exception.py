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

"""Errors of the LVM layer and the connector.

They derive from os-brick's exceptions only, so that a compute host can use
them without Cinder installed. The driver turns them into Cinder exceptions.
"""

from os_brick import exception as brick_exception


class SharedLVMError(brick_exception.BrickException):
    message = "Shared LVM error: %(reason)s"

    def __init__(self, message=None, **kwargs):
        # NOTE: operators read these messages: a list of devices reads
        # "/dev/a, /dev/b", not "['/dev/a', '/dev/b']".
        kwargs = {key: ', '.join(str(v) for v in value)
                  if isinstance(value, (list, tuple)) else value
                  for key, value in kwargs.items()}
        super().__init__(message, **kwargs)


class InvalidName(SharedLVMError, brick_exception.InvalidParameterValue):
    message = ("Invalid %(kind)s name %(name)r: %(reason)s. Nothing was "
               "changed.")


class InvalidSize(SharedLVMError, brick_exception.InvalidParameterValue):
    message = "Invalid size %(size)r for %(name)s: %(reason)s."


class ReadOnlyRole(SharedLVMError):
    message = ("Refusing %(command)s on VG %(vg)s: this host runs LVM as a "
               "read-only reader; only the cinder-volume host may change "
               "the shared VG's metadata.")


class VolumeGroupNotFound(SharedLVMError):
    message = ("Volume group %(vg)s is not visible through devices "
               "%(devices)s on this host. Check that the shared LUN is "
               "presented here and that the devices filter names it.")


class LVNotFound(SharedLVMError):
    message = "Logical volume %(vg)s/%(lv)s does not exist."


class LVMCommandFailed(SharedLVMError):
    message = ("LVM command %(command)s failed for %(target)s (exit code "
               "%(exit_code)s): %(stderr)s")


class LockedByOtherHost(LVMCommandFailed):
    message = ("LVM command %(command)s for %(target)s was refused by "
               "lvmlockd: another host holds its lock (%(stderr)s). Detach "
               "it there first; if that host crashed, its lease expires "
               "after sanlock's timeout (doc/source/admin/lvmlockd.rst). "
               "Nothing was changed.")


class LockspaceNotStarted(LVMCommandFailed):
    message = ("LVM command %(command)s for %(target)s failed: the VG's "
               "lockspace is not started on this host (%(stderr)s). Check "
               "that sanlock and lvmlockd run here, then run \"vgchange "
               "--lockstart <vg>\". Nothing was changed.")


class DeviceBusy(SharedLVMError):
    message = ("Logical volume %(path)s is still open on this host; refusing "
               "to deactivate it. Stop its user or detach with force.")


class InvalidConnectionInfo(SharedLVMError,
                            brick_exception.InvalidParameterValue):
    message = "Refusing connection info: %(reason)s."


class DeviceNotReady(SharedLVMError):
    message = ("Device %(path)s did not appear within %(timeout)s seconds "
               "after activation.")
