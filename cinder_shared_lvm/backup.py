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
