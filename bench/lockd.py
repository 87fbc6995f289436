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

"""The lvmlockd mode's cost, as a ratio to the default mode, in one run.

One rig whose hosts run sanlock and lvmlockd (tests/functional/
lockd_world.py), two LUNs: a shared (sanlock) VG driven with
``shared_lvm_lock_manager = lvmlockd``, and a local VG driven in the
default mode, on the same hosts, interleaved round by round. Each round
times create, snapshot, delete-snapshot and delete through the driver on
cinder-node, and attach and detach of a plain volume (-asy against -ay)
and of a snapshot family (-aey in both) on compute-1.

``python -m bench.lockd [ROUNDS]``
"""

import json
import sys
import time

from bench import env
from bench import timing
from tests.functional import lockd_world
from tests.functional import world as worldmod

OPERATIONS = ('create', 'snapshot', 'delete_snapshot', 'delete',
              'attach_plain', 'detach_plain', 'attach_family',
              'detach_family')
C1 = 'compute-1'


def _worlds(rig):
    lockd = worldmod.World(rig, vg_name=lockd_world.LOCKD_VG,
                           backend='benchlockd', devices=['/dev/vda'],
                           overrides=lockd_world.LOCKD_OVERRIDES)
    plain = worldmod.World(rig, vg_name='plainvg', backend='benchplain',
                           devices=['/dev/vdb'])
    for w in (lockd, plain):
        w.prepare_vg(expected_volumes=200)
    lockd_world.lockstart_all(rig, (C1,))
    for w in (lockd, plain):
        w.setup_driver()
    return {'lvmlockd': lockd, 'none': plain}


def _round(w) -> dict:
    """Seconds of each operation, one volume's life."""
    t = {}
    vol = w.volume(1)
    t['create'] = timing.clock(w.driver.create_volume, vol)
    t['attach_plain'] = timing.clock(w.attach, vol, C1)
    t['detach_plain'] = timing.clock(w.detach, vol, C1)
    snap = w.snapshot(vol)
    t['snapshot'] = timing.clock(w.driver.create_snapshot, snap)
    t['attach_family'] = timing.clock(w.attach, vol, C1)
    t['detach_family'] = timing.clock(w.detach, vol, C1)
    t['delete_snapshot'] = timing.clock(w.driver.delete_snapshot, snap)
    t['delete'] = timing.clock(w.driver.delete_volume, vol)
    return t


def run(rounds: int = 5, progress=print) -> dict:
    env.in_process_privsep()
    env.start_coordinator()
    rig = lockd_world.boot(lun_size='6G', extra_luns=('6G',))
    try:
        worlds = _worlds(rig)
        samples = {mode: {op: [] for op in OPERATIONS} for mode in worlds}
        for i in range(rounds):
            # NOTE: alternate which mode goes first: the machine is noisy
            for mode in (('lvmlockd', 'none') if i % 2 else
                         ('none', 'lvmlockd')):
                for op, seconds in _round(worlds[mode]).items():
                    samples[mode][op].append(seconds)
            progress('lvmlockd bench: round %d of %d' % (i + 1, rounds))
    finally:
        rig.close()
    return {'rounds': rounds,
            'note': 'same rig, same hosts (sanlock and lvmlockd running '
                    'on all), a sanlock VG against a local VG',
            'median_s': {mode: {op: timing.summary(s)['median_s']
                                for op, s in ops.items()}
                         for mode, ops in samples.items()},
            'ratio_lvmlockd_to_none': {
                op: timing.ratio(samples['lvmlockd'][op],
                                 samples['none'][op])
                for op in OPERATIONS}}


if __name__ == '__main__':
    started = time.monotonic()
    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
    result['duration_s'] = round(time.monotonic() - started, 1)
    print(json.dumps(result, indent=1, sort_keys=True))
