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

"""Let other processes use a running rig.

qemu accepts one client per chardev socket, and the rig process keeps every
channel connected (a virtio-serial agent sees EOF while no host is
attached).  So the rig process also serves ``mux.sock``: each connection
sends one request naming a host, and the rig runs it on a free channel of
that host.  Connections are per call, so any number of processes and threads
can use it (a cinder-volume process, the ``exec`` CLI, a test).

Wire format (lines):
  request:  "C <host> <timeout|0>", b64 script, b64 stdin
            or "P <host> <power_off|boot|detach_lun|attach_lun>"
  reply:    "R <rc> <seconds>", b64 stdout, b64 stderr
            or "X <b64 error message>"
"""

import base64
import glob
import json
import logging
import os
import socket
import socketserver
import threading
import time

from rig import channel
from rig import executor
from rig import rig as rigmod

LOG = logging.getLogger(__name__)

CONTROL_VERBS = ('power_off', 'boot', 'detach_lun', 'attach_lun')


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        rig = self.server.rig
        head = self.rfile.readline().split()
        try:
            if not head or head[1].decode() not in rig.hosts:
                raise channel.ChannelError('unknown host %r' % head[1:2])
            host = rig.hosts[head[1].decode()]
            if head[0] == b'P':
                verb = head[2].decode()
                if verb not in CONTROL_VERBS:
                    raise channel.ChannelError('bad verb %s' % verb)
                getattr(host, verb)()
                self.wfile.write(b'R 0 0\n\n\n')
                return
            timeout = int(head[2]) or None
            script = base64.b64decode(self.rfile.readline())
            stdin = base64.b64decode(self.rfile.readline())
            rc, out, err, secs = host.pool.call(script, stdin, timeout)
            self.wfile.write(b'R %d %.3f\n%s\n%s\n' % (
                rc, secs, base64.b64encode(out), base64.b64encode(err)))
        except (BrokenPipeError, ConnectionResetError):
            # The client went away before its reply (it timed out, or its
            # process was stopped): nobody is left to tell.
            LOG.debug('mux client gone before its reply: %r', head)
        except Exception as exc:
            try:
                self.wfile.write(b'X %s\n' % base64.b64encode(
                    ('%s: %s' % (type(exc).__name__, exc)).encode()))
            except (BrokenPipeError, ConnectionResetError):
                LOG.debug('mux client gone before its error: %r', head)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    # A storm of clients connects at once; the default backlog of 5 makes
    # connect() fail with EAGAIN on a unix socket.
    request_queue_size = 256


class MuxServer:
    def __init__(self, rig, path):
        self.rig = rig
        self.path = path
        self.server = None

    def start(self):
        self.server = _Server(self.path, _Handler)
        self.server.rig = self.rig
        threading.Thread(target=self.server.serve_forever, daemon=True,
                         name='rig-mux').start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _request(path, head, body=b'', timeout=None):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout((timeout or channel.DEFAULT_TIMEOUT) +
                        2 * channel.GRACE)
        for _ in range(100):
            try:
                sock.connect(path)
                break
            except BlockingIOError:  # backlog full: the rig is busy
                time.sleep(0.05)
        else:
            sock.connect(path)
        sock.sendall(head + b'\n' + body)
        rfile = sock.makefile('rb')
        first = rfile.readline().split()
        if not first:
            raise channel.ChannelError('rig closed the connection')
        if first[0] == b'X':
            raise channel.ChannelError(base64.b64decode(first[1]).decode())
        out = base64.b64decode(rfile.readline().strip())
        err = base64.b64decode(rfile.readline().strip())
        return int(first[1]), out, err, float(first[2])
    except OSError as exc:
        raise channel.ChannelError('rig mux %s: %s' % (path, exc))
    finally:
        sock.close()


class RemoteHost(executor.Executor):
    """A rig host seen from another process; same ``execute`` as RigHost."""

    def __init__(self, client, name):
        self.client = client
        self.name = name

    def _call(self, script, stdin, timeout):
        head = b'C %s %d' % (self.name.encode(),
                             int(round(timeout)) if timeout else 0)
        body = base64.b64encode(script) + b'\n' + \
            base64.b64encode(stdin) + b'\n'
        return _request(self.client.mux_path, head, body, timeout)

    def _control(self, verb):
        _request(self.client.mux_path,
                 b'P %s %s' % (self.name.encode(), verb.encode()),
                 timeout=rigmod.BOOT_TIMEOUT)

    def power_off(self):
        self._control('power_off')

    def boot(self):
        self._control('boot')

    def detach_lun(self):
        self._control('detach_lun')

    def attach_lun(self):
        self._control('attach_lun')

    def __repr__(self):
        return '<RemoteHost %s>' % self.name


def _label(path):
    try:
        with open(path) as f:
            return json.load(f).get('label')
    except (OSError, ValueError):
        return None


def find_state(root=rigmod.RUN_ROOT, label=None):
    """State file of the newest live rig under ``root`` (or None).

    :param label: only rigs started with this label ('cli' for ``up``)
    """
    env = os.environ.get('CSLVM_RIG_STATE')
    if env:
        return env
    live = [p for p in glob.glob(os.path.join(root, '*', 'state.json'))
            if rigmod.owner_alive(os.path.dirname(p)) and
            (label is None or _label(p) == label)]
    return max(live, key=os.path.getmtime) if live else None


class RigClient:
    """Use a rig that another process runs.

    :param state_file: the rig's state.json; default: $CSLVM_RIG_STATE, or
        the newest live rig under /tmp/cslvm-rig
    """

    def __init__(self, state_file=None):
        state_file = state_file or find_state()
        if not state_file:
            raise rigmod.RigError('no running rig found (python -m rig '
                                  'up --detach starts one)')
        with open(state_file) as f:
            self.state = json.load(f)
        self.state_file = state_file
        self.mux_path = self.state['mux']
        self.lun_path = self.state['lun_path']
        self.share_dir = self.state['share_dir']
        self.hosts = {n: RemoteHost(self, n) for n in self.state['hosts']}

    def host(self, name):
        return self.hosts[name]

    def __iter__(self):
        return iter(self.hosts.values())
