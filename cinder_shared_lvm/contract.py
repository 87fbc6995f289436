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

"""The names both sides of the connection agree on, in one place.

The cinder-volume side (driver), the compute side (connector, Nova volume
driver) and the operator CLI all read these. This module imports the
standard library only, so that every side, with or without Cinder, Nova or
os-brick installed, can use it. doc/source/design.rst describes the
contract these names make up.
"""

import re
from typing import Optional

#: The release of the driver and of the package (setup.py reads it).
VERSION = '1.0.0'
#: The CI that tests this driver: the project's own .ci/run. Cinder prints
#: it in its driver list; it is not the stock LVM driver's CI.
CI_WIKI_NAME = 'Cinder_Shared_LVM_CI'

#: ``driver_volume_type`` of the connection info (Cinder and Nova).
DRIVER_VOLUME_TYPE = 'shared_lvm'
#: os-brick's protocol name (its connector factory upper-cases the name).
PROTOCOL = 'SHARED_LVM'
#: Where os-brick finds the compute side.
CONNECTOR_PATH = 'cinder_shared_lvm.connector.SharedLVMConnector'

#: ``activation`` in the connection data: ``shared`` (-asy semantics, a
#: plain LV several hosts may map) or ``exclusive`` (a snapshot family,
#: which must be active on one host only; design.rst rule 5).
ACTIVATION_SHARED = 'shared'
ACTIVATION_EXCLUSIVE = 'exclusive'
ACTIVATION_MODES = (ACTIVATION_SHARED, ACTIVATION_EXCLUSIVE)

#: LV tag of a snapshot made by copying (shared_lvm_snapshot_mode = copy).
COPY_SNAPSHOT_TAG = 'shared_lvm_snapshot_copy'
#: LV tag of an LV whose data is still being copied in; startup reports
#: any LV that still carries it after a crash.
INCOMPLETE_TAG = 'cslvm-incomplete'

# LVM reserves LV names that start with "snapshot", so Cinder's LVM drivers
# store snapshot-<id> as _snapshot-<id>.
_RESERVED_PREFIX = 'snapshot'
_ESCAPE = '_'


def snapshot_lv_name(cinder_name: str) -> str:
    """The LV name of a Cinder snapshot name (``snapshot-<id>``)."""
    if cinder_name.startswith(_RESERVED_PREFIX):
        return _ESCAPE + cinder_name
    return cinder_name


def cinder_snapshot_name(lv_name: str) -> str:
    """The inverse of :func:`snapshot_lv_name`."""
    if lv_name.startswith(_ESCAPE + _RESERVED_PREFIX):
        return lv_name[len(_ESCAPE):]
    return lv_name


def dm_name(vg: str, lv: str) -> str:
    """device-mapper's name for vg/lv: each '-' doubled, joined by '-'."""
    return '%s-%s' % (vg.replace('-', '--'), lv.replace('-', '--'))


# The one device-path rule, for the CLI, cinder.conf, nova.conf and the
# connection data alike. The characters are udev's own whitelist for the
# names it creates (/dev/disk/by-id, by-path, multipath aliases): letters,
# digits and "#+-.:=@_". Anything else is left out on purpose:
# - ',' separates paths in shared_lvm_devices and --devices, so a path with
#   one could be configured but never named;
# - '|' and '"' would end the LVM filter string the path goes into;
# - spaces, quotes, '$', '\' and '*' mean something to a shell, to LVM's
#   regex, or to a rootwrap filter.
# NOTE: \Z, not $: '$' also matches before a trailing newline.
DEVICE_PATH_RE = re.compile(r'^/dev/[A-Za-z0-9#+\-.:=@_/]{1,4090}\Z')


def device_path_problem(path) -> Optional[str]:
    """Why *path* is not an acceptable shared PV path, or None if it is."""
    if not isinstance(path, str) or not DEVICE_PATH_RE.match(path):
        return ('not an absolute path under /dev/ made of letters, digits '
                'and #+-.:=@_/')
    parts = path.split('/')[2:]
    if any(part in ('', '.', '..') for part in parts):
        return 'empty, "." and ".." path components are not allowed'
    return None
