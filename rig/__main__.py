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

"""Command line for the rig.

  python -m rig up [--hosts a b c] [--lun-size 20G] [--detach]
  python -m rig exec HOST -- cmd args...
  python -m rig status
  python -m rig down
"""

import argparse
import json
import os
import signal
import stat
import subprocess
import sys
import time

from oslo_concurrency import processutils

from rig import mux
from rig import rig as rigmod


def cmd_up(args):
    if args.detach:
        return _up_detached(args)
    rig = rigmod.Rig(hosts=args.hosts, lun_size=args.lun_size,
                     memory=args.memory, progress=print, label='cli')
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with rig:
        print('rig: state file %s' % rig.state_file, flush=True)
        print('rig: export CSLVM_RIG_STATE=%s' % rig.state_file, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print('rig: shutting down')
    return 0


def _up_detached(args):
    """Run ``up`` in a new session and return once its rig is ready."""
    argv = [sys.executable, '-m', 'rig', 'up', '--hosts'] + \
        list(args.hosts) + ['--lun-size', args.lun_size,
                            '--memory', str(args.memory)]
    os.makedirs(rigmod.RUN_ROOT, exist_ok=True)
    log = os.path.join(rigmod.RUN_ROOT, 'up-%d.log' % os.getpid())
    with open(log, 'wb') as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                start_new_session=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            print(open(log).read(), file=sys.stderr)
            return 1
        with open(log) as f:
            text = f.read()
        if 'state file ' in text:
            state = text.split('state file ')[1].split()[0]
            print(state)
            os.unlink(log)
            return 0
        time.sleep(0.2)
    proc.kill()
    return 1


def _stdin_is_data():
    """True when stdin is a pipe or file; a tty or /dev/null is not read."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def cmd_exec(args):
    client = mux.RigClient(args.state)
    cmd = args.cmd[1:] if args.cmd[:1] == ['--'] else args.cmd
    if not cmd:
        print('exec: no command', file=sys.stderr)
        return 2
    stdin = sys.stdin.buffer.read() if _stdin_is_data() else None
    if args.host not in client.hosts:
        print('exec: no host %s' % args.host, file=sys.stderr)
        return 2
    try:
        rc, out, err = client.host(args.host).run(
            *cmd, process_input=stdin, timeout=args.timeout)
    except processutils.ProcessExecutionError as exc:
        print(exc.stderr, file=sys.stderr)  # HostDown
        return 255
    sys.stdout.buffer.write(out)
    sys.stderr.buffer.write(err)
    return rc


def cmd_status(args):
    state = args.state or mux.find_state()
    if not state:
        print('no running rig')
        return 1
    client = mux.RigClient(state)
    print(json.dumps(client.state, indent=2))
    for host in client:
        try:
            out, _ = host.execute('uptime', timeout=10)
            print('%s: %s' % (host.name, out.strip()))
        except processutils.ProcessExecutionError as exc:
            print('%s: down (%s)' % (host.name, exc.stderr))
    return 0


def cmd_down(args):
    # Only rigs that ``up`` started: never pull a test session's VMs away.
    state = args.state or mux.find_state(label='cli')
    reaped = rigmod.reap_stale()
    if not state:
        print('no running rig%s' % (' (reaped %d stale)' % len(reaped)
                                    if reaped else ''))
        return 0
    with open(state) as f:
        owner = json.load(f)['owner']
    os.kill(owner, signal.SIGTERM)
    rundir = os.path.dirname(state)
    for _ in range(300):
        if not os.path.exists(rundir):
            print('rig: down')
            return 0
        time.sleep(0.1)
    # The owner ignored SIGTERM: kill it; the reaper removes the rest.
    os.kill(owner, signal.SIGKILL)
    time.sleep(0.5)
    rigmod.reap_stale()
    print('rig: down (forced)')
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(prog='python -m rig')
    p.add_argument('--state', help='state.json of a running rig')
    sub = p.add_subparsers(dest='command', required=True)
    up = sub.add_parser('up', help='boot a rig (foreground unless --detach)')
    up.add_argument('--hosts', nargs='+', default=list(rigmod.DEFAULT_HOSTS))
    up.add_argument('--lun-size', default='20G')
    up.add_argument('--memory', type=int, default=384)
    up.add_argument('--detach', action='store_true')
    up.set_defaults(func=cmd_up)
    ex = sub.add_parser('exec', help='run a command on a host')
    ex.add_argument('host')
    ex.add_argument('--timeout', type=float)
    ex.add_argument('cmd', nargs=argparse.REMAINDER)
    ex.set_defaults(func=cmd_exec)
    st = sub.add_parser('status', help='show the running rig')
    st.set_defaults(func=cmd_status)
    down = sub.add_parser('down', help='stop the running rig')
    down.set_defaults(func=cmd_down)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == '__main__':
    sys.exit(main())
