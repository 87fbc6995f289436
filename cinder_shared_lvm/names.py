"""Names the driver's modules share: tags, the snapshot-name escape, and
the decorator that turns LVM-layer errors into Cinder's."""

import functools

from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import exception as lvm_exception

DRIVER_VOLUME_TYPE = 'shared_lvm'
COPY_SNAPSHOT_TAG = 'shared_lvm_snapshot_copy'
# An LV whose data is still being copied in (clone, volume from snapshot,
# copy-mode snapshot). The tag comes with the lvcreate and goes when the
# copy is done, so a crash mid-copy leaves an LV that startup can name.
INCOMPLETE_TAG = 'cslvm-incomplete'


def lvm_errors(func):
    """Turn errors of the LVM layer into Cinder exceptions, same message."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (lvm_exception.InvalidName,
                lvm_exception.InvalidSize) as err:
            raise exc.InvalidValue(reason=str(err)) from err
        except lvm_exception.SharedLVMError as err:
            raise exc.SharedLVMDriverError(reason=str(err)) from err
    return wrapper


def snapshot_lv_name(snapshot) -> str:
    """LV of a snapshot: LVM reserves names starting with 'snapshot'."""
    name = snapshot.name
    return '_' + name if name.startswith('snapshot') else name
