"""``nova-compute-shared-lvm``: nova-compute with ``shared_lvm`` volumes.

Use it in place of ``nova-compute`` (same arguments, same config files).
"""

# NOTE: nova.cmd.compute applies Nova's monkey patching when it is imported,
# and that must happen before anything else imports Nova or oslo modules,
# so it is the first import here.
from nova.cmd import compute  # noqa: I100,I202  (must come first)

from cinder_shared_lvm.nova import registration  # noqa: E402


def main():
    registration.register()
    return compute.main()


if __name__ == '__main__':
    main()
