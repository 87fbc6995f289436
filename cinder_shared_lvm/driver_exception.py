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

"""Cinder-side errors of the shared-LVM driver.

The LVM layer (``cinder_shared_lvm.exception``) must not depend on Cinder,
because compute hosts use it too. The driver raises these instead: each is a
Cinder exception, so the volume manager records it on the volume, and each
message says why the request failed and what the operator can do.
"""

from cinder import exception


class SharedLVMDriverError(exception.VolumeDriverException):
    message = "%(reason)s"


class InvalidRequest(SharedLVMDriverError):
    message = "Invalid request: %(reason)s. Nothing was changed."


class OperationRefused(SharedLVMDriverError):
    """An operation that would break a safety rule (doc/source/design.rst)."""
    message = ("Refusing to %(operation)s %(resource)s: %(reason)s. "
               "%(action)s Nothing was changed.")


class VolumeBusyRefused(OperationRefused, exception.VolumeIsBusy):
    # NOTE: VolumeIsBusy makes the volume manager put the volume back to
    # 'available' instead of 'error_deleting'.
    pass


class SnapshotBusyRefused(OperationRefused, exception.SnapshotIsBusy):
    # NOTE: SnapshotIsBusy makes the volume manager put the snapshot back
    # to 'available' instead of 'error_deleting'.
    pass


class ConnectorRefused(OperationRefused,
                       exception.InvalidConnectorException):
    pass


class StorageRefused(SharedLVMDriverError, exception.VolumeIsBusy):
    """lvmlockd refused a lock (lvmlockd mode): the storage's own
    refusal, underneath the policy's. LVM's message says what to do and
    that nothing was changed. VolumeIsBusy: a refused delete puts the
    volume back to 'available', as the policy's refusal does."""
    message = "Refusing to %(operation)s: %(reason)s"


class SnapshotStorageRefused(StorageRefused, exception.SnapshotIsBusy):
    pass


class MetadataLockTimeout(SharedLVMDriverError):
    message = ("Could not take the metadata lock %(lock)s of volume group "
               "%(vg)s within %(timeout)s seconds: another cinder-volume "
               "service is changing the VG. Retry later, or raise "
               "shared_lvm_lock_timeout. Nothing was changed.")


class InvalidValue(SharedLVMDriverError):
    """A name or size that the LVM layer refused (same message)."""
    pass


class FamilyActiveElsewhere(SharedLVMDriverError, exception.VolumeIsBusy):
    message = ("Refusing to activate the snapshot family of %(family)s in "
               "VG %(vg)s on this host: another cinder-volume service has "
               "it active on its host for a copy (lock %(lock)s), and a "
               "family may be active on one host only. Retry when that "
               "copy is done. Nothing was changed.")


class CoordinationUnavailable(SharedLVMDriverError):
    message = ("Could not take the lock %(lock)s: the coordination backend "
               "([coordination] backend_url) did not answer: %(reason)s. "
               "Nothing was changed; retry when it is back.")


class FamilyLockTimeout(SharedLVMDriverError):
    message = ("Could not take the lock %(lock)s within %(timeout)s seconds "
               "to %(operation)s: another operation on this volume or its "
               "snapshots is running. Retry when it is done, or raise "
               "shared_lvm_lock_timeout. Nothing was changed.")


class RevertIncomplete(SharedLVMDriverError):
    """A merge happened, but the step after it did not (exactly what)."""
    message = ("Revert of volume %(volume)s to snapshot %(snapshot)s is "
               "incomplete: %(reason)s. %(action)s")
