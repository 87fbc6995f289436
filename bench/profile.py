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

"""Where a create + delete pair spends its time at N=1 (issue: speed).

cProfile runs the driver's ``create_volume`` + ``delete_volume`` on the
metadata-only host VG (``bench.hostlvm``) and splits the wall time into:

* ``commands``: inside the executor (the LVM processes themselves);
* ``locks``: acquiring the family and VG locks (tooz's file driver here);
* ``database``: re-reading the attachments (``_read_attachments``);
* ``python``: everything else, i.e. the driver's own cost.

Each share is a fraction of the same profiled run, so it needs no second
machine-noise-prone run to compare against.
"""

import cProfile
import pstats

from bench import hostlvm

# category: the (file suffix, function name) pairs whose cumulative time
# is the category's. None of them calls another of them.
SEAMS = {
    'commands': (('oslo_concurrency/processutils.py', 'execute'),),
    'locks': (('tooz/drivers/file.py', 'acquire'),
              ('tooz/drivers/file.py', 'release')),
    'database': (('tests/cinder_objects.py', 'attachments_of'),),
}


def _cumulative(stats: pstats.Stats, suffix: str, name: str,
                column: int = 3) -> float:
    """Sum of one pstats column (3: cumulative time, 1: calls)."""
    total = 0.0
    for (path, _line, func), row in stats.stats.items():
        if func == name and path.endswith(suffix):
            total += row[column]
    return total


def profile_pairs(drv, ctx, pairs: int) -> dict:
    profiler = cProfile.Profile()
    volumes = [hostlvm._volume(ctx, i) for i in range(pairs)]
    profiler.enable()
    for vol in volumes:
        drv.create_volume(vol)
        drv.delete_volume(vol)
    profiler.disable()
    stats = pstats.Stats(profiler)
    wall = stats.total_tt
    out = {'pairs': pairs, 'wall_s': round(wall, 4)}
    spent = 0.0
    for category, seams in SEAMS.items():
        seconds = sum(_cumulative(stats, suffix, name)
                      for suffix, name in seams)
        spent += seconds
        out[category] = {'s': round(seconds, 4),
                         'share': round(seconds / wall, 3)}
    out['commands']['run'] = int(_cumulative(
        stats, *SEAMS['commands'][0], column=1))
    out['python'] = {'s': round(wall - spent, 4),
                     'share': round((wall - spent) / wall, 3)}
    return out


def run(pairs: int = 30, progress=print) -> dict:
    reason = hostlvm.skip_reason()
    if reason:
        return {'skipped': reason}
    hostlvm.env.start_coordinator()
    hvg = hostlvm.HostVG(image_size='8G', progress=progress)
    try:
        drv, ctx = hostlvm.make_driver(hvg)
        hvg.populate(10)
        profile_pairs(drv, ctx, 3)          # warm caches and imports
        out = profile_pairs(drv, ctx, pairs)
    finally:
        hvg.close()
        hostlvm.reset_overrides()
    progress('profile N=1: %d create+delete pairs, %.2fs: %d commands '
             '%.0f%%, locks %.0f%%, database %.0f%%, python %.0f%%' % (
                 pairs, out['wall_s'], out['commands']['run'],
                 100 * out['commands']['share'],
                 100 * out['locks']['share'],
                 100 * out['database']['share'],
                 100 * out['python']['share']))
    return out


if __name__ == '__main__':
    import json
    print(json.dumps(run(), indent=1))
