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

"""Names the driver's modules share: tags, the snapshot-name escape, and
the decorator that turns LVM-layer errors into Cinder's."""

import functools

from cinder_shared_lvm import contract
from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exception

DRIVER_VOLUME_TYPE = contract.DRIVER_VOLUME_TYPE
COPY_SNAPSHOT_TAG = contract.COPY_SNAPSHOT_TAG
INCOMPLETE_TAG = contract.INCOMPLETE_TAG


def lvm_errors(func):
    """Turn errors of the LVM layer into Cinder exceptions, same message."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (lvm_exception.InvalidName,
                lvm_exception.InvalidSize) as err:
            raise exc.InvalidValue(reason=str(err)) from err
        except (lvm_exception.LockedByOtherHost,
                lvm_exception.LockspaceNotStarted) as err:
            refused = (exc.SnapshotStorageRefused
                       if func.__name__ == 'delete_snapshot'
                       else exc.StorageRefused)
            raise refused(operation=func.__name__.replace('_', ' '),
                          reason=str(err)) from err
        except lvm_exception.SharedLVMError as err:
            raise exc.SharedLVMDriverError(reason=str(err)) from err
    return wrapper


def snapshot_lv_name(snapshot) -> str:
    """LV of a snapshot: LVM reserves names starting with 'snapshot'."""
    return contract.snapshot_lv_name(snapshot.name)
