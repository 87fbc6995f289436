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
