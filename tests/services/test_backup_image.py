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
