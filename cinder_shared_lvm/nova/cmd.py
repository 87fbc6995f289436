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
