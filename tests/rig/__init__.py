"""Two-or-more-host shared-LUN rig: qemu VMs that see one LUN.

    from tests.rig import Rig
    with Rig(hosts=('cinder-node', 'compute-1'), lun_size='20G') as rig:
        out, err = rig.host('compute-1').execute('lvs')

See tests/rig/README.md.
"""

from tests.rig.executor import HostDown  # noqa: F401
from tests.rig.mux import RemoteHost, RigClient  # noqa: F401
from tests.rig.rig import Rig, RigError, RigHost, reap_stale  # noqa: F401
