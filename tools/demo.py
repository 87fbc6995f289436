"""Run the shared-LVM volume lifecycle on the embedded two-host rig.

Boots cinder-node, compute-1 and compute-2 (qemu VMs sharing one sparse
image as their LUN), runs every step of tests/functional/lifecycle.py with
the real SharedLVMDriver and SharedLVMConnector, and prints a table: step,
host, result, time. Exit status 0 only if every step passed.
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
from tests.rig import fixtures as rigfixtures  # noqa: E402
from tests.rig import rig as rigmod  # noqa: E402

WIDTHS = (28, 21, 6, 8)


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


def main():
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
        try:
            passed, total = run_steps(state)
        finally:
            world.remove_vg()
    say('')
    if passed == total:
        say('All %d steps passed. Checksums verified: %s' % (
            total, ', '.join('%s=%s...' % (k, v[:12])
                             for k, v in sorted(state.sums.items()))))
        say('Every VM, socket and image of the rig has been removed.')
        return 0
    say('%d of %d steps passed.' % (passed, total))
    return 1


if __name__ == '__main__':
    sys.exit(main())
