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
  in the VM. cinder-backup accepts a file-like ``path`` from a connector
  (os-brick's RBD connector returns one) and uses it without ``open()``.

Run: ``python -m tests.services.rig_backup --config-file cinder.conf``.
"""

# NOTE: Cinder's monkey patching must come before everything else, as in
# cinder.cmd.backup (which cinder_shared_lvm.backup imports first).
from cinder_shared_lvm import backup  # noqa: I100,I202  (must come first)

import io  # noqa: E402
import os  # noqa: E402

from cinder_shared_lvm import brick_registration  # noqa: E402
from cinder_shared_lvm import connector  # noqa: E402
from rig import remote_execute  # noqa: E402

RIG_CONNECTOR = 'tests.services.rig_backup.RigBackupConnector'
_ALIGN = 4096
# NOTE: seen on the rig: a 32 MiB dd read through one agent request came
# back short (the VM has 384 MiB and a tmpfs); 4 MiB pieces did not.
PIECE = 4 * 1024 * 1024


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

    def __init__(self, execute, path: str):
        super(RemoteDevice, self).__init__()
        self._execute = execute
        self.path = path
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
        out, _err = self._execute(
            'dd', 'if=%s' % self.path, 'bs=1M', 'skip=%d' % self._pos,
            'count=%d' % size, 'iflag=%s' % flags, 'status=none',
            binary=True)
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
        self._execute('dd', 'of=%s' % self.path, 'bs=1M',
                      'seek=%d' % self._pos, 'oflag=%s' % oflag,
                      'conv=notrunc,fsync', 'status=none',
                      process_input=data, binary=True)
        self._pos += len(data)

    def flush(self):
        return None


class RigBackupConnector(connector.SharedLVMConnector):
    """The shared_lvm connector, with the device handed out as RemoteDevice.

    Attach and detach are the production connector's, run on the rig host.
    """

    def connect_volume(self, connection_properties: dict) -> dict:
        device = super(RigBackupConnector, self).connect_volume(
            connection_properties)
        return dict(device, path=RemoteDevice(self._execute, device['path']))


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
