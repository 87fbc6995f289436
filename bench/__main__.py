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

"""``python -m bench``: run every benchmark and refresh the docs.

Writes doc/source/benchmarks/results.json, results.rst (tables) and
benchmarks.png. ``--quick`` runs small sizes only (a smoke test).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

from bench import env

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, 'doc', 'source', 'benchmarks')


def _cmd(*argv):
    try:
        return subprocess.run(list(argv), capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception:  # noqa
        return ''


def machine() -> dict:
    cpu = ''
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    with open('/proc/meminfo') as f:
        mem_gib = int(f.readline().split()[1]) / (1 << 20)
    lvm_version = _cmd('lvm', 'version').splitlines()[:1]
    info = {'cpu': cpu, 'cores': os.cpu_count(),
            'memory_gib': round(mem_gib, 1),
            'kernel': platform.release(),
            'lvm': lvm_version[0].split(':', 1)[-1].strip()
            if lvm_version else '',
            'qemu': (_cmd('qemu-system-x86_64', '--version').splitlines()
                     or [''])[0],
            'python': platform.python_version(),
            'loadavg_at_start': os.getloadavg()}
    info['summary'] = ('%d-core %s, %.0f GiB, Linux %s, LVM %s, rig: qemu '
                       'TCG' % (info['cores'], cpu, mem_gib, info['kernel'],
                                info['lvm']))
    return info


def _section(results: dict, key: str, run) -> None:
    """results[key] = run(); a failure is recorded there and the other
    sections still run."""
    try:
        results[key] = run()
    except Exception as err:  # noqa
        import traceback
        traceback.print_exc()
        results[key] = {'error': '%s: %s' % (type(err).__name__, err)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog='python -m bench')
    parser.add_argument('--quick', action='store_true',
                        help='small sizes, short runs (smoke test)')
    parser.add_argument('--skip-rig', action='store_true')
    parser.add_argument('--skip-host', action='store_true')
    parser.add_argument('--out', default=OUT_DIR)
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    os.makedirs(args.out, exist_ok=True)

    def progress(msg):
        print('[%6.0fs] %s' % (time.monotonic() - t0, msg), flush=True)

    env.start_coordinator()
    results = {'date': datetime.datetime.now(datetime.timezone.utc)
               .strftime('%Y-%m-%d %H:%M UTC'),
               'machine': machine(), 'quick': args.quick}
    from bench import counts
    progress('counting commands per operation')
    results['counts'] = counts.measure()
    if not args.skip_host:
        from bench import hostlvm
        progress('metadata-only LVM on a loop device')
        points = (10, 1000, 5000) if args.quick else (
            10, 1000, 2000, 5000, 10000, 20000, 30000, 40000)
        _section(results, 'host', lambda: hostlvm.run(
            points=points, rounds=3 if args.quick else 7, progress=progress))
        from bench import pools
        per_pool = 1000 if args.quick else 10000
        progress('%d VGs of %d LVs against one of %d' % (
            pools.POOLS, per_pool, pools.POOLS * per_pool))
        _section(results, 'pools', lambda: pools.run(
            per_pool=per_pool, rounds=3 if args.quick else 5,
            progress=progress))
        from bench import profile
        progress('profile of N=1 on the loop device')
        _section(results, 'profile', lambda: profile.run(progress=progress))
    if not args.skip_rig:
        from bench import rigbench
        progress('rig')
        try:
            if args.quick:
                results['rig'] = rigbench.run(
                    progress, sizes=(10, 1000), rounds=2, levels=(1, 4),
                    fio_runtime=3, fio_rounds=1)
            else:
                results['rig'] = rigbench.run(
                    progress, sizes=(10, 1000, 5000), rounds=3,
                    levels=(1, 4, 16), fio_runtime=5, fio_rounds=2,
                    copy_gb=4)
        except Exception as err:  # noqa
            import traceback
            traceback.print_exc()
            results['rig_error'] = 'rig: %s: %s' % (type(err).__name__, err)
    if not args.skip_rig:
        from bench import lockd
        progress('lvmlockd mode against the default mode, on the rig')
        _section(results, 'lvmlockd', lambda: lockd.run(
            rounds=3 if args.quick else 5, progress=progress))
    results['duration_s'] = round(time.monotonic() - t0, 1)
    with open(os.path.join(args.out, 'results.json'), 'w') as f:
        json.dump(results, f, indent=1, sort_keys=True)
    from bench import report
    with open(os.path.join(args.out, 'results.rst'), 'w') as f:
        f.write(report.render(results))
    try:
        from bench import plot
        plot.plot(results, os.path.join(args.out, 'benchmarks.png'))
    except ImportError as err:
        progress('no plot (%s): pip install -r bench/requirements.txt'
                 % err)
    progress('wrote %s' % args.out)
    return 0


if __name__ == '__main__':
    sys.exit(main())
