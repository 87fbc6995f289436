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

"""Backup/restore (full, incremental) and image <-> volume, by checksum.

The CI smoke subset of the acceptance (doc/source/backup.rst,
doc/source/tempest.rst): Keystone, Glance, cinder-api/scheduler/volume and
cinder-backup (posix driver) against the rig.
"""

from tests.services import backup_image

STEPS = ('cinder-shared-lvm prepare', 'start services',
         'cinder type-create x2 + type-key',
         'glance image-create + cinder create --image-id',
         'cinder backup-create',
         'write + cinder backup-create --incremental',
         'cinder backup-restore (incremental)',
         'cinder upload-to-image + glance image-download')


def test_backup_restore_and_images(services_rig_state, capsys):
    rows = backup_image.run(services_rig_state, progress=lambda line: None)
    with capsys.disabled():
        print()
        for step, host, result, seconds in rows:
            print('%-46s %-12s %-58s %6.1fs' % (step, host, result,
                                                seconds))
    assert tuple(r[0] for r in rows) == STEPS
