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

"""Another cinder-volume service, as far as locks go: a process of its own
that takes one of the driver's locks through Cinder's coordinator and
holds it until it is killed.

    python -m tests.etcd.holder <backend_url> copy|active|vg <vg> [<lv>]

Prints ``held`` once it holds the lock.
"""

import contextlib
import sys
import time

from cinder import coordination
from oslo_config import cfg

from cinder_shared_lvm import cluster
from cinder_shared_lvm import family


def main(url, kind, vg, lv=None):
    cfg.CONF([], project='cinder', default_config_files=[])
    cfg.CONF.set_override('backend_url', url, group='coordination')
    coordination.COORDINATOR.start()
    if kind == 'active':
        # a copy's lease: this host has the family active
        family.ACTIVE.acquire(vg, lv, ())
        lock = contextlib.nullcontext()
    elif kind == 'copy':
        lock = cluster.copy_locked(vg, lv, 30)
    else:
        lock = family.vg_locked(vg, 30)
    with lock:
        print('held', flush=True)
        while True:
            time.sleep(1)


if __name__ == '__main__':
    main(*sys.argv[1:])
