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

"""One qemu process: start, hard power-off, and QMP for disk hot-plug."""

import json
import os
import signal
import socket
import subprocess
import threading
import time

QEMU = 'qemu-system-x86_64'
LUN_ID = 'lun0'
LUN_SERIAL = 'SHAREDLUN'


class VMError(Exception):
    pass


class Disk:
    """A raw image attached as virtio-blk with a fixed serial.

    ``shared`` disks are opened by several qemus at once: image locking off
    and ``share-rw`` on, like one FC LUN zoned to many hosts.  O_DIRECT
    keeps each VM's writes out of the host page cache's reordering.
    """

    def __init__(self, dev_id, path, serial, shared=True, direct=True):
        self.dev_id = dev_id
        self.path = path
        self.serial = serial
        self.shared = shared
        self.direct = direct

    def blockdev_args(self):
        return {
            'driver': 'raw', 'node-name': self.dev_id + '-node',
            'cache': {'direct': self.direct, 'no-flush': False},
            'file': {'driver': 'file', 'filename': self.path,
                     'locking': 'off', 'aio': 'threads'},
        }

    def device_args(self):
        return {'driver': 'virtio-blk-pci', 'id': self.dev_id,
                'drive': self.dev_id + '-node', 'serial': self.serial,
                'share-rw': self.shared}


def supports_o_direct(path):
    """tmpfs (a CI's /tmp, say) refuses O_DIRECT; qemu would then fail."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_DIRECT)
    except OSError:
        return False
    os.close(fd)
    return True


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still "exists"; treat it as dead.
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def read_pid(pidfile):
    try:
        with open(pidfile) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def kill_pidfile(pidfile, marker):
    """SIGKILL the qemu named by ``pidfile`` if its cmdline has ``marker``.

    The marker check guards against a recycled pid naming another process.
    """
    pid = read_pid(pidfile)
    if not pid or not _pid_alive(pid):
        return False
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            if marker.encode() not in f.read():
                return False
        os.kill(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        return False
    for _ in range(200):
        if not _pid_alive(pid):
            break
        time.sleep(0.01)
    return True


class VM:
    def __init__(self, name, rundir, kernel, initrd, disks, share_dir,
                 channels=4, memory=384, append=''):
        self.name = name
        self.dir = rundir
        self.kernel = kernel
        self.initrd = initrd
        self.disks = list(disks)
        self.share_dir = share_dir
        self.channels = channels
        self.memory = memory
        self.append = append
        self.pidfile = os.path.join(rundir, 'qemu.pid')
        self.console_log = os.path.join(rundir, 'console.log')
        self.qmp_path = os.path.join(rundir, 'qmp.sock')
        self.channel_paths = [os.path.join(rundir, 'ch%d.sock' % i)
                              for i in range(channels)]
        self.proc = None
        self._qmp = None
        self._qmp_lock = threading.RLock()

    def argv(self):
        cmdline = ('console=ttyS0 panic=-1 quiet loglevel=4 mitigations=off '
                   'rig.host=%s rig.share=%s %s'
                   % (self.name, self.share_dir, self.append)).strip()
        args = [
            QEMU, '-name', 'cslvm-rig-' + self.name,
            '-M', 'pc,accel=tcg', '-m', str(self.memory), '-smp', '1',
            '-nodefaults', '-no-user-config', '-display', 'none',
            '-vga', 'none', '-no-reboot', '-nic', 'none',
            '-kernel', self.kernel, '-initrd', self.initrd,
            '-append', cmdline,
            '-serial', 'file:' + self.console_log,
            '-pidfile', self.pidfile,
            '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path,
            '-virtfs', 'local,path=%s,mount_tag=share,security_model=none'
                       % self.share_dir,
            '-device', 'virtio-serial-pci,id=vser',
        ]
        for i, path in enumerate(self.channel_paths):
            args += ['-chardev', 'socket,id=ch%d,path=%s,server=on,wait=off'
                     % (i, path),
                     '-device', 'virtserialport,chardev=ch%d,name=rig.%d'
                     % (i, i)]
        for disk in self.disks:
            args += ['-blockdev', json.dumps(disk.blockdev_args()),
                     '-device', json.dumps(disk.device_args())]
        return args

    def start(self):
        """Launch qemu; returns at once (the rig waits for agents)."""
        # Remove the last boot's sockets and logs first: a stale socket or
        # READY line would make us talk to nothing.
        for path in [self.pidfile, self.console_log, self.qmp_path] + \
                self.channel_paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        with open(os.path.join(self.dir, 'qemu.stderr'), 'wb') as err:
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=err,
                start_new_session=True)  # Ctrl-C goes to us, not to qemu

    def wait_pidfile(self, deadline):
        while read_pid(self.pidfile) is None:
            if self.proc.poll() is not None:
                raise VMError('qemu for %s exited (%s): %s' % (
                    self.name, self.proc.returncode, self.stderr()))
            if time.monotonic() > deadline:
                raise VMError('qemu for %s wrote no pidfile' % self.name)
            time.sleep(0.02)

    def stderr(self):
        try:
            with open(os.path.join(self.dir, 'qemu.stderr')) as f:
                return f.read()[-2000:]
        except OSError:
            return ''

    def console(self):
        try:
            with open(self.console_log, errors='replace') as f:
                return f.read()
        except OSError:
            return ''

    @property
    def pid(self):
        return read_pid(self.pidfile)

    def running(self):
        pid = self.pid
        return bool(pid) and _pid_alive(pid)

    def kill(self):
        """Hard power-off: SIGKILL, like pulling the plug."""
        self.qmp_close()
        kill_pidfile(self.pidfile, 'cslvm-rig-' + self.name)
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None

    # -- QMP -------------------------------------------------------------

    def qmp_close(self):
        if self._qmp is not None:
            self._qmp[0].close()
            self._qmp = None

    def _qmp_conn(self):
        if self._qmp is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(30)
            sock.connect(self.qmp_path)
            rfile = sock.makefile('rb')
            rfile.readline()  # greeting
            self._qmp = (sock, rfile, [])
            self.qmp('qmp_capabilities')
        return self._qmp

    def qmp(self, command, **arguments):
        sock, rfile, events = self._qmp_conn()
        msg = {'execute': command}
        if arguments:
            msg['arguments'] = arguments
        sock.sendall(json.dumps(msg).encode() + b'\n')
        while True:
            reply = json.loads(rfile.readline())
            if 'event' in reply:
                events.append(reply)
                continue
            if 'error' in reply:
                raise VMError('%s: %s' % (command, reply['error']))
            return reply.get('return')

    def wait_event(self, name, timeout=30, **match):
        sock, rfile, events = self._qmp_conn()
        deadline = time.monotonic() + timeout
        while True:
            for ev in list(events):
                data = ev.get('data', {})
                if ev['event'] == name and all(data.get(k) == v
                                               for k, v in match.items()):
                    events.remove(ev)
                    return ev
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise VMError('no %s event within %ss' % (name, timeout))
            sock.settimeout(remaining)
            events.append(json.loads(rfile.readline()))

    def detach(self, disk):
        """Hot-unplug a disk (ACPI eject): the guest sees it vanish."""
        with self._qmp_lock:
            self.qmp('device_del', id=disk.dev_id)
            self.wait_event('DEVICE_DELETED', device=disk.dev_id)

    def attach(self, disk):
        with self._qmp_lock:
            self.qmp('device_add', **disk.device_args())
