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

"""Host side of the agent protocol (see agent.sh for the wire format).

A Channel is one unix socket that qemu wires to one virtio-serial port; the
agent behind it runs one command at a time.  A ChannelPool hands a free
channel to each caller, so one VM runs up to N commands at once.
"""

import base64
import os
import queue
import shlex
import socket
import threading
import time

# Added to the caller's timeout before the host gives up on a reply: the
# agent enforces the timeout itself, this only covers a dead guest.
GRACE = 30.0
# Used when the caller gives no timeout; long enough for a slow qemu-img
# convert under TCG, short enough that a hung guest does not hang CI.
DEFAULT_TIMEOUT = 900.0


class ChannelError(Exception):
    """The channel broke (VM gone, protocol error) or a reply timed out."""


def build_script(cmd, env_variables=None, cwd='/'):
    """Shell script that runs argv ``cmd`` exactly, without a shell parse."""
    lines = ['cd %s || exit 126' % shlex.quote(cwd)]
    for key, value in (env_variables or {}).items():
        lines.append('export %s=%s' % (key, shlex.quote(str(value))))
    args = ' '.join(shlex.quote(str(c)) for c in cmd[1:])
    name = str(cmd[0])
    if '/' in name:
        lines.append('exec %s %s' % (shlex.quote(name), args))
    else:
        # NOTE: Debian's static busybox runs its own applet for a bare
        # name even when PATH has the real binary (FEATURE_PREFER_APPLETS),
        # and busybox dd lacks conv=fdatasync; so find the real one first.
        lines.append('for d in /usr/sbin /usr/bin /sbin /bin; do '
                     '[ -x "$d"/%(n)s ] && exec "$d"/%(n)s %(a)s; done; '
                     'exec %(n)s %(a)s' % {'n': shlex.quote(name),
                                           'a': args})
    return ('\n'.join(lines) + '\n').encode()


def encode_request(req_id, script, stdin=b'', timeout=None):
    secs = 0 if not timeout else max(1, int(round(timeout)))
    return b''.join((
        b'Q %s %d %d\n' % (req_id.encode(), secs, 1 if stdin else 0),
        base64.b64encode(script), b'\n',
        base64.b64encode(stdin or b''), b'\n',
    ))


class Channel:
    """One connected agent port; not thread-safe (the pool serialises)."""

    def __init__(self, path):
        self.path = path
        self.sock = None
        self.rfile = None
        self.boot_id = None

    def connect(self, deadline):
        """Connect and wait for this boot's READY line."""
        while True:
            try:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(self.path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                sock.close()
                if time.monotonic() > deadline:
                    raise ChannelError('no socket %s' % self.path)
                time.sleep(0.05)
        self.sock = sock
        self.rfile = sock.makefile('rb')
        line = self._readline(deadline)
        if not line.startswith(b'READY '):
            raise ChannelError('%s: expected READY, got %r'
                               % (self.path, line))
        self.boot_id = line.split()[1].decode()

    def close(self):
        for obj in (self.rfile, self.sock):
            try:
                if obj is not None:
                    obj.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def _readline(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ChannelError('timed out on %s' % self.path)
        self.sock.settimeout(remaining)
        try:
            line = self.rfile.readline()
        except (socket.timeout, OSError) as exc:
            raise ChannelError('%s: %s' % (self.path, exc or 'timed out'))
        if not line.endswith(b'\n'):
            raise ChannelError('%s: connection closed (VM down?)' % self.path)
        return line.rstrip(b'\n')

    def call(self, script, stdin=b'', timeout=None):
        """Run ``script`` on the agent.

        :returns: (rc, stdout bytes, stderr bytes, seconds)
        :raises ChannelError: the VM died or did not answer in time; the
            channel is then closed, because a late reply would confuse
            the next caller.
        """
        if self.sock is None:
            raise ChannelError('%s is not connected' % self.path)
        req_id = os.urandom(6).hex()
        limit = timeout if timeout else DEFAULT_TIMEOUT
        deadline = time.monotonic() + limit + GRACE
        start = time.monotonic()
        try:
            self.sock.settimeout(limit + GRACE)
            # No timeout -> the agent runs the command without busybox
            # timeout (one fork less); the host-side deadline still holds.
            self.sock.sendall(encode_request(req_id, script, stdin, timeout))
            while True:
                head = self._readline(deadline).split()
                if head[:2] == [b'R', req_id.encode()]:
                    break
            rc = int(head[2])
            out = base64.b64decode(self._readline(deadline))
            err = base64.b64decode(self._readline(deadline))
            tail = self._readline(deadline)
            if tail != b'E ' + req_id.encode():
                raise ChannelError('%s: bad terminator %r' % (self.path, tail))
        except (ChannelError, OSError, ValueError) as exc:
            self.close()
            raise ChannelError(str(exc))
        return rc, out, err, time.monotonic() - start


class ChannelPool:
    """Hands out free channels of one VM; callers block while all are busy."""

    def __init__(self, paths):
        self.paths = list(paths)
        self._free = queue.Queue()
        self._lock = threading.Lock()
        self._channels = []

    def connect(self, deadline):
        """Connect every channel concurrently and wait for all READYs."""
        channels = [Channel(p) for p in self.paths]
        errors = []

        def one(ch):
            try:
                ch.connect(deadline)
            except Exception as exc:  # reported below, in the caller
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(c,)) for c in channels]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            for ch in channels:
                ch.close()
            raise ChannelError(str(errors[0]))
        with self._lock:
            self._channels = channels
            self._free = queue.Queue()
            for ch in channels:
                self._free.put(ch)
        return channels[0].boot_id

    def close(self):
        with self._lock:
            channels, self._channels = self._channels, []
            # Wake any waiter: a None tells it the VM went away.
            for _ in range(64):
                self._free.put(None)
        for ch in channels:
            ch.close()

    def call(self, script, stdin=b'', timeout=None):
        free = self._free
        limit = (timeout or DEFAULT_TIMEOUT) + GRACE
        try:
            ch = free.get(timeout=limit)
        except queue.Empty:
            raise ChannelError('no free channel within %ss' % limit)
        if ch is None or ch.sock is None:
            free.put(ch)
            raise ChannelError('VM is down')
        try:
            return ch.call(script, stdin, timeout)
        finally:
            if ch.sock is not None:
                free.put(ch)
            elif not any(c.sock is not None for c in self._channels):
                free.put(None)  # last channel gone: fail waiters fast
