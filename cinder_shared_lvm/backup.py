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

"""``cinder-backup-shared-lvm``: cinder-backup that can attach shared_lvm.

Use it in place of ``cinder-backup`` (same arguments, same config files),
on a host that sees the shared LUN: typically the cinder-volume host(s).

cinder-backup attaches the volume (or its temporary clone) itself, through
os-brick: it asks os-brick for this host's connector properties, sends them
to cinder-volume's ``initialize_connection`` and connects with the connector
that the answer's ``driver_volume_type`` names. Stock cinder-backup knows no
``shared_lvm`` connector, so its properties carry no ``shared_lvm_vgs`` and
the driver refuses the attach. Registering the connector before the service
starts fixes both (doc/source/backup.rst).
"""

# NOTE: cinder.cmd.backup applies Cinder's monkey patching when it is
# imported, and that must happen before anything else imports eventlet-aware
# modules, so it is the first import here.
from cinder.cmd import backup  # noqa: I100,I202  (must come first)

from cinder_shared_lvm import brick_registration  # noqa: E402


def main():
    brick_registration.register()
    return backup.main()


if __name__ == '__main__':
    main()
