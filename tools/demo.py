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

"""Run the shared-LVM volume lifecycle on the embedded two-host rig.

Boots cinder-node, compute-1 and compute-2 (qemu VMs sharing one sparse
image as their LUN) and runs two parts, each printed as a table of step,
host, result and time:

1. every step of tests/functional/lifecycle.py with the real
   SharedLVMDriver and SharedLVMConnector;
2. real cinder-api, cinder-scheduler and cinder-volume (RabbitMQ, MariaDB)
   loading the driver from cinder.conf, driven only by the ``cinder`` CLI
   (tests/services/lifecycle.py); skip it with ``--no-services``.

Exit status 0 only if every step passed.
"""

import os
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
os.environ.setdefault('OS_CINDER_DISABLE_EVENTLET_PATCHING', 'true')

import cinder.tests.unit  # noqa: E402,F401  (before cinder.objects)
import cinder.privsep  # noqa: E402
from oslo_config import cfg  # noqa: E402

from tests.functional import lifecycle  # noqa: E402
from tests.functional import world as worldmod  # noqa: E402
from rig import fixtures as rigfixtures  # noqa: E402
from rig import rig as rigmod  # noqa: E402

WIDTHS = (36, 19, 6, 7)


def say(text=''):
    print(text, flush=True)


def row(step, host, result, seconds, detail=''):
    cells = (WIDTHS[0], step, WIDTHS[1], host, WIDTHS[2], result,
             WIDTHS[3], seconds, detail)
    say('%-*s %-*s %-*s %*s  %s' % cells)


def run_steps(state):
    """Run each step; stop at the first failure. Returns (passed, total)."""
    row('step', 'host', 'result', 'time', 'what was seen')
    row('-' * WIDTHS[0], '-' * WIDTHS[1], '-' * WIDTHS[2], '-' * WIDTHS[3])
    passed = 0
    for step in lifecycle.STEPS:
        start = time.monotonic()
        try:
            detail = step(state)
            result = 'PASS'
        except Exception as err:
            detail = '%s: %s' % (type(err).__name__, str(err)[:200])
            result = 'FAIL'
        seconds = '%.1fs' % (time.monotonic() - start)
        row(step.__name__, step.host, result, seconds, detail)
        if result == 'FAIL':
            traceback.print_exc()
            break
        passed += 1
    return passed, len(lifecycle.STEPS)


def run_services(rig):
    """Part 2: the cinder CLI against real Cinder services. -> ok?"""
    from tests.services import stack
    reason = stack.skip_reason()
    if reason:
        say('Skipping the Cinder services part: %s' % reason)
        return True
    say('\nPart 2: real Cinder services loading the driver from cinder.conf,'
        ' driven by the cinder CLI')
    try:
        rows = stack.run_cli_lifecycle(
            rig.state_file, progress=lambda line: say('  %s' % line))
        ok = True
    except Exception as err:
        rows = getattr(err, 'rows', [])
        say('  FAILED: %s: %s' % (type(err).__name__, err))
        ok = False
    say('')
    row('step', 'host', 'result', 'time', 'what was seen')
    row('-' * WIDTHS[0], '-' * WIDTHS[1], '-' * WIDTHS[2], '-' * WIDTHS[3])
    for step, host, detail, seconds in rows:
        row(step[:WIDTHS[0]], host, 'PASS', '%.1fs' % seconds, detail)
    return ok


def main(argv):
    reason = rigfixtures.skip_reason()
    if reason:
        say('cannot run the rig here: %s' % reason)
        return 2
    say('Booting the rig: cinder-node, compute-1, compute-2 share one '
        'sparse 20 GiB image as their LUN (qemu, software emulation)...')
    start = time.monotonic()
    rig = rigmod.Rig(hosts=rigmod.DEFAULT_HOSTS, lun_size='20G',
                     progress=lambda line: say('  %s' % line))
    with rig:
        say('Rig up in %.1f s.\n' % (time.monotonic() - start))
        worldmod.start_coordinator(tempfile.mkdtemp(prefix='cslvm-locks-'))
        cinder.privsep.sys_admin_pctxt.set_client_mode(False)
        world = worldmod.World(rig, vg_name='demovg')
        conversion_dir = lifecycle.share_tmp(world)
        cfg.CONF.set_override('image_conversion_dir', conversion_dir)
        state = lifecycle.State(world)
        say('Part 1: the real driver (on cinder-node) and connector (on the '
            'computes)\n')
        try:
            passed, total = run_steps(state)
        finally:
            world.remove_vg()
        services_ok = True
        if passed == total and '--no-services' not in argv:
            services_ok = run_services(rig)
    say('')
    if passed == total and services_ok:
        say('All %d steps passed. Checksums verified: %s' % (
            total, ', '.join('%s=%s...' % (k, v[:12])
                             for k, v in sorted(state.sums.items()))))
        say('Every VM, socket and image of the rig has been removed.')
        return 0
    say('%d of %d driver steps passed; services part %s.' % (
        passed, total, 'passed' if services_ok else 'FAILED'))
    return 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
