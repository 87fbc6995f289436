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

"""cinder-backup on the rig: ``cinder-backup-shared-lvm`` plus the rig's I/O.

A real deployment runs ``cinder-backup-shared-lvm`` on a host that sees the
shared LUN; the connector activates the LV there and cinder-backup opens
``/dev/<vg>/<lv>`` itself (doc/source/backup.rst). On this machine the host
kernel has no device-mapper, so the LV can only be active inside the rig's
``cinder-node`` VM. This launcher therefore runs the same service with two
rig-only differences, and nothing else:

* every host command of the ``shared_lvm`` connector (``vgs`` for the
  connector properties, ``lvs``/``lvchange`` to attach and detach) runs on
  ``$CSLVM_RIG_HOST`` through the rig executor, as cinder-volume's do;
* the attached device that cinder-backup reads (backup) or writes (restore)
  is a file-like object whose reads and writes are ``dd`` runs on that LV
  in the VM, to or from a file on the rig's 9p share. cinder-backup
  accepts a file-like ``path`` from a connector (os-brick's RBD connector
  returns one) and uses it without ``open()``.

Run: ``python -m tests.services.rig_backup --config-file cinder.conf``.
"""

# NOTE: Cinder's monkey patching must come before everything else, as in
# cinder.cmd.backup (which cinder_shared_lvm.backup imports first).
from cinder_shared_lvm import backup  # noqa: I100,I202  (must come first)

import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

from cinder_shared_lvm import brick_registration  # noqa: E402
from cinder_shared_lvm import connector  # noqa: E402
from rig import remote_execute  # noqa: E402

RIG_CONNECTOR = 'tests.services.rig_backup.RigBackupConnector'
_ALIGN = 4096
# NOTE: the data goes through a file on the rig's 9p share (mounted at the
# same path in every VM), 32 MiB per dd: measured under load here, 9p moved
# about 10 MB/s and the base64 command channel 0.45 MB/s.
PIECE = 32 * 1024 * 1024


class RemoteDevice(io.RawIOBase):
    """A block device on a rig host, read and written with ``dd`` there.

    It is what cinder-backup's chunked drivers need: ``read``, ``write``,
    ``seek``, ``tell``, ``flush``; ``fileno`` raises ``IOError`` (they
    skip ``fsync`` then; every write here is already synchronous).

    NOTE: these methods run in eventlet's native thread pool (cinder wraps
    the device in ``tpool.Proxy``), so they must not log (eventlet issue
    432, see cinder/backup/chunkeddriver.py); the rig executor logs at
    debug level only, which the launcher turns off.
    """

    def __init__(self, execute, path: str, share_dir: str):
        super(RemoteDevice, self).__init__()
        self._execute = execute
        self.path = path
        fd, self._piece = tempfile.mkstemp(prefix='backup-io-', dir=share_dir)
        os.close(fd)
        out, _err = execute('blockdev', '--getsize64', path)
        self.size = int(out.strip())
        self._pos = 0

    def __repr__(self):
        return '<RemoteDevice %s (%d bytes)>' % (self.path, self.size)

    def readable(self):
        return True

    def writable(self):
        return True

    def seekable(self):
        return True

    def fileno(self):
        raise IOError('%s is on a rig host, not in this process' % self.path)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos,
                os.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError('negative seek position %d' % (base + offset))
        self._pos = base + offset
        return self._pos

    @staticmethod
    def _direct(offset: int, length: int) -> bool:
        return offset % _ALIGN == 0 and length % _ALIGN == 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self._pos
        size = max(0, min(size, self.size - self._pos))
        parts = []
        while size:
            part = self._read_piece(min(size, PIECE))
            parts.append(part)
            size -= len(part)
        return b''.join(parts)

    def _read_piece(self, size: int) -> bytes:
        flags = 'skip_bytes,count_bytes' + (
            ',direct' if self._direct(self._pos, size) else '')
        self._execute('dd', 'if=%s' % self.path, 'of=%s' % self._piece,
                      'bs=1M', 'skip=%d' % self._pos, 'count=%d' % size,
                      'iflag=%s' % flags, 'status=none')
        with open(self._piece, 'rb') as f:
            out = f.read()
        if len(out) != size:
            raise IOError('short read of %s at %d: %d of %d bytes' % (
                self.path, self._pos, len(out), size))
        self._pos += size
        return out

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[:len(data)] = data
        return len(data)

    def write(self, data) -> int:
        data = memoryview(bytes(data))
        if self._pos + len(data) > self.size:
            raise IOError('write past the end of %s (%d + %d > %d)' % (
                self.path, self._pos, len(data), self.size))
        for start in range(0, len(data), PIECE):
            self._write_piece(data[start:start + PIECE].tobytes())
        return len(data)

    def _write_piece(self, data: bytes) -> None:
        oflag = 'seek_bytes' + (
            ',direct' if self._direct(self._pos, len(data)) else '')
        with open(self._piece, 'wb') as f:
            f.write(data)
        self._execute('dd', 'if=%s' % self._piece, 'of=%s' % self.path,
                      'bs=1M', 'seek=%d' % self._pos, 'oflag=%s' % oflag,
                      'conv=notrunc,fsync', 'status=none')
        self._pos += len(data)

    def flush(self):
        return None

    def close(self):
        if os.path.exists(self._piece):
            os.unlink(self._piece)
        super(RemoteDevice, self).close()


class RigBackupConnector(connector.SharedLVMConnector):
    """The shared_lvm connector, with the device handed out as RemoteDevice.

    Attach and detach are the production connector's, run on the rig host.
    """

    def connect_volume(self, connection_properties: dict) -> dict:
        device = super(RigBackupConnector, self).connect_volume(
            connection_properties)
        # NOTE: the rig's executor itself, not self._execute: os-brick's
        # Executor decodes every output as UTF-8 with errors ignored, which
        # silently shrank a 4 MiB read of random data to 2 236 377 bytes.
        return dict(device, path=RemoteDevice(remote_execute.execute,
                                              device['path'], share_dir()))


def share_dir() -> str:
    with open(os.environ['CSLVM_RIG_STATE']) as f:
        return json.load(f)['share_dir']


def register_rig_connector() -> None:
    """Point os-brick's ``shared_lvm`` protocol at ``RigBackupConnector``."""
    brick_registration.register()
    connector.set_default_executor(remote_execute.execute)
    for mapping in brick_registration._mappings():
        mapping[brick_registration.PROTOCOL] = RIG_CONNECTOR


def main():
    import logging
    # See RemoteDevice: no debug logging from the thread pool.
    logging.getLogger('rig').setLevel(logging.INFO)
    register_rig_connector()
    return backup.backup.main()


if __name__ == '__main__':
    main()
