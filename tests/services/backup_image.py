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

"""Backups and images of shared_lvm volumes through the real services.

``BackupImageChecks`` drives the ``cinder`` and ``glance`` CLIs against a
``Stack(keystone=True, glance=True, backup=True)`` and checks every result
by content: sha256 sums of whole volumes read on a compute host (the LV
attached there as Nova would), of Glance's stored image and of the
downloaded image.

The steps (``run(..., thorough=False)`` is the CI smoke subset):

1. a qcow2 image with random data into Glance; ``cinder create
   --image-id``; the volume's first 8 MiB are the image's data;
2. ``cinder backup-create`` (full, posix driver);
3. new data written on the compute host; ``cinder backup-create
   --incremental``;
4. ``cinder backup-restore`` of the incremental backup into a new
   volume, whose sha256 equals the source's;
5. ``cinder upload-to-image`` (raw), ``glance image-download``: the
   file's sha256 equals the volume's;
6. thorough only: restore of the full backup (the pre-write content), and
   ``cinder backup-create --force`` of the volume while it is attached
   (Cinder backs up a temporary clone), restored and compared.
"""

import hashlib
import os
import subprocess
import time

from rig import RigClient
from tests.services import lifecycle
from tests.services import stack as stackmod

IMAGE_DATA_MIB = 8
WRITE_OFFSET_MIB = 64


class BackupImageChecks(lifecycle.CliLifecycle):

    def glance(self, *args, check=True, timeout=300):
        t0 = time.monotonic()
        res = self.stack.cli(*args, check=False, timeout=timeout,
                             tool='glance')
        self.commands.append(('glance ' + ' '.join(str(a) for a in args),
                              res.returncode, time.monotonic() - t0))
        if check and res.returncode:
            raise lifecycle.LifecycleError('glance %s failed (rc %d):\n%s%s'
                                           % (' '.join(map(str, args)),
                                              res.returncode, res.stdout,
                                              res.stderr))
        return res

    def volume_sha256(self, vid, host=lifecycle.COMPUTE, mib=None) -> str:
        """sha256 of the volume (its first *mib* MiB), read on *host*.

        The volume is attached there as Nova would attach it.
        """
        handle = self.connect(vid, host)
        try:
            path = handle[3]['path']
            if mib is None:
                out, _err = self.rig.host(host).execute(
                    'sha256sum', path, timeout=900)
            else:
                out, _err = self.rig.host(host).shell(
                    'dd if=%s bs=1M count=%d iflag=direct 2>/dev/null | '
                    'sha256sum' % (path, mib), timeout=900)
        finally:
            self.disconnect(vid, handle)
        return out.split()[0]

    def wait_backup(self, bid, timeout=900) -> dict:
        try:
            return self.wait_status('backup', bid, 'available', timeout)
        except lifecycle.LifecycleError as err:
            raise lifecycle.LifecycleError('%s\ncinder-backup log:\n%s' % (
                err, self.stack.tail('cinder-backup', 60)))

    def backup(self, name, vid, *args) -> str:
        out = stackmod.parse_show(self.cinder(
            'backup-create', '--name', name, *(list(args) + [vid])).stdout)
        self.ids['backup:' + name] = out['id']
        self.wait_backup(out['id'])
        return out['id']

    def restore(self, name, bid) -> str:
        """Restore *bid* into a new volume *name*; its id."""
        out = stackmod.parse_show(self.cinder(
            'backup-restore', '--name', name, bid).stdout)
        vid = self.ids[name] = out['volume_id']
        self.wait_backup(bid)
        self.wait_status('volume', vid, 'available', timeout=900)
        return vid

    # -- the steps -----------------------------------------------------------

    def image_to_volume(self):
        data = os.urandom(IMAGE_DATA_MIB * lifecycle.MIB)
        raw = os.path.join(self.stack.dir, 'image.raw')
        qcow2 = os.path.join(self.stack.dir, 'image.qcow2')
        with open(raw, 'wb') as f:
            f.write(data)
        subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2',
                        raw, qcow2], check=True, capture_output=True)
        out = stackmod.parse_show(self.glance(
            'image-create', '--name', 'cslvm-image', '--disk-format',
            'qcow2', '--container-format', 'bare', '--file', qcow2).stdout)
        self.ids['image:src'] = out['id']
        self.expect(out.get('status') == 'active', out)
        vid = self.create_volume('imgvol', '--image-id', out['id'], '1')
        expect = hashlib.sha256(data).hexdigest()
        got = self.volume_sha256(vid, mib=IMAGE_DATA_MIB)
        self.expect(got == expect, 'the first %d MiB of volume %s differ '
                    'from the image' % (IMAGE_DATA_MIB, vid))
        return 'qcow2 image %s -> volume %s; sha256 of %d MiB matches' % (
            out['id'][:8], vid[:8], IMAGE_DATA_MIB)

    def full_backup(self):
        bid = self.backup('full', self.ids['imgvol'])
        info = self.show('backup', bid)
        self.expect(info.get('is_incremental') == 'False', info)
        return 'backup %s available (posix)' % bid[:8]

    def write_then_incremental(self, thorough=False):
        vid = self.ids['imgvol']
        if thorough:
            # The content the full backup holds, for restore_full.
            self.ids['sha:imgvol'] = self.volume_sha256(vid)
        handle = self.connect(vid)
        try:
            self.rig.host(lifecycle.COMPUTE).execute(
                'dd', 'of=%s' % handle[3]['path'], 'bs=1M',
                'seek=%d' % WRITE_OFFSET_MIB, 'oflag=direct',
                'conv=fsync,notrunc', process_input=os.urandom(
                    lifecycle.MIB))
        finally:
            self.disconnect(vid, handle)
        self.ids['sha:written'] = self.volume_sha256(vid)
        if thorough:
            self.expect(self.ids['sha:written'] != self.ids['sha:imgvol'],
                        'the write changed nothing')
        bid = self.backup('incr', vid, '--incremental')
        info = self.show('backup', bid)
        self.expect(info.get('is_incremental') == 'True', info)
        return '1 MiB written at %d MiB; incremental %s available' % (
            WRITE_OFFSET_MIB, bid[:8])

    def restore_incremental(self):
        vid = self.restore('restored', self.ids['backup:incr'])
        got = self.volume_sha256(vid)
        self.expect(got == self.ids['sha:written'],
                    'restored volume %s differs from the source' % vid)
        return 'volume %s sha256 %s = source' % (vid[:8], got[:12])

    def volume_to_image(self):
        out = stackmod.parse_show(self.cinder(
            'upload-to-image', '--disk-format', 'raw', '--container-format',
            'bare', self.ids['imgvol'], 'cslvm-upload').stdout)
        iid = self.ids['image:upload'] = out['image_id']
        deadline = time.monotonic() + 900
        while True:
            info = stackmod.parse_show(self.glance('image-show',
                                                   iid).stdout)
            if info.get('status') == 'active':
                break
            self.expect(info.get('status') in ('queued', 'saving',
                                               'uploading', 'importing'),
                        'image %s is %s' % (iid, info.get('status')))
            self.expect(time.monotonic() < deadline, 'upload timed out')
            time.sleep(2)
        self.wait_status('volume', self.ids['imgvol'], 'available')
        path = os.path.join(self.stack.dir, 'download.raw')
        self.glance('image-download', '--file', path, iid)
        sha = hashlib.sha256()
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(lifecycle.MIB), b''):
                sha.update(block)
        os.unlink(path)
        self.expect(sha.hexdigest() == self.ids['sha:written'],
                    'downloaded image differs from the volume')
        return 'image %s downloaded; sha256 = volume' % iid[:8]

    def restore_full(self):
        vid = self.restore('restored-full', self.ids['backup:full'])
        got = self.volume_sha256(vid)
        self.expect(got == self.ids['sha:imgvol'],
                    'volume restored from the full backup differs')
        return 'volume %s = content before the write' % vid[:8]

    def in_use_backup(self):
        """``--force`` backup of an attached volume: refused, cleanly.

        The driver refuses the temporary clone of a volume another host
        writes (doc/source/backup.rst); the backup must end in ``error``
        with that reason (Cinder alone would leave it ``creating``), the
        volume must be ``in-use`` again, and nothing may be left behind.
        """
        vid = self.ids['imgvol']
        before = sorted(self.lvs())
        handle = self.connect(vid)
        try:
            self.expect(self.show('volume', vid).get('status') == 'in-use',
                        'volume is not in-use')
            out = stackmod.parse_show(self.cinder(
                'backup-create', '--name', 'inuse', '--force', vid).stdout)
            bid = self.ids['backup:inuse'] = out['id']
            info = self.wait_refused_backup(bid)
            self.expect('attached to' in (info.get('fail_reason') or ''),
                        'backup %s failed for another reason: %s' % (
                            bid, info.get('fail_reason')))
            self.wait_status('volume', vid, 'in-use', timeout=120)
        finally:
            self.disconnect(vid, handle)
        self.expect(sorted(self.lvs()) == before,
                    'the refused backup left LVs: %s' % sorted(
                        set(self.lvs()) ^ set(before)))
        return 'backup %s refused (error: volume attached), volume in-use' \
            % bid[:8]

    def wait_refused_backup(self, bid, timeout=300) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            info = self.show('backup', bid)
            if info.get('status') == 'error':
                return info
            self.expect(info.get('status') in ('creating', 'backing-up'),
                        'backup %s is %s, not refused' % (
                            bid, info.get('status')))
            self.expect(time.monotonic() < deadline,
                        'backup %s still %s after %ds: the refusal did not '
                        'reach it' % (bid, info.get('status'), timeout))
            time.sleep(2)

    def run_checks(self, thorough=False):
        host = stackmod.VOLUME_HOST
        steps = [
            ('cinder type-create x2 + type-key', host, self.types),
            ('glance image-create + cinder create --image-id',
             lifecycle.COMPUTE, self.image_to_volume),
            ('cinder backup-create', host, self.full_backup),
            ('write + cinder backup-create --incremental',
             lifecycle.COMPUTE,
             lambda: self.write_then_incremental(thorough)),
            ('cinder backup-restore (incremental)', lifecycle.COMPUTE,
             self.restore_incremental),
            ('cinder upload-to-image + glance image-download', host,
             self.volume_to_image),
        ]
        if thorough:
            steps += [
                ('cinder backup-restore (full)', lifecycle.COMPUTE,
                 self.restore_full),
                ('cinder backup-create --force (in-use): refused',
                 lifecycle.COMPUTE,
                 self.in_use_backup),
            ]
        for name, where, func in steps:
            self.step(name, where, func)
        return self.rows

    def cleanup(self):
        """Best effort: remove backups, volumes and images of this run."""
        backups = sorted((k for k in self.ids if k.startswith('backup:')),
                         reverse=True)
        for key in backups:
            bid = self.ids.pop(key)
            self.cinder('backup-delete', '--force', bid, check=False)
            try:
                self.wait_gone('backup', bid, timeout=300)
            except lifecycle.LifecycleError:
                pass
        for key in [k for k in self.ids if k.startswith('image:')]:
            self.glance('image-delete', self.ids.pop(key), check=False)
        volumes = [self.ids.pop(k) for k in list(self.ids) if ':' not in k]
        for vid in volumes:
            self.cinder('force-delete', vid, check=False)
        # NOTE: deletes are asynchronous; the caller's check of the VG
        # must see what they left, not what they have not reached yet.
        for vid in volumes:
            try:
                self.wait_gone('volume', vid, timeout=300)
            except lifecycle.LifecycleError as err:
                self.progress('cleanup: %s' % err)


def run(rig_state_file, progress=print, thorough=False):
    """Prepare the VG, boot the stack with backup and Glance, check, stop.

    :returns: list of (step, host, result, seconds)
    """
    client = RigClient(rig_state_file)
    stack = stackmod.Stack(rig_state_file, vg=lifecycle.VG,
                           progress=progress, keystone=True, glance=True,
                           backup=True)
    checks = BackupImageChecks(stack, client, progress=progress)
    started = False
    try:
        checks.step('cinder-shared-lvm prepare', stackmod.VOLUME_HOST,
                    checks.prepare_vg)

        def start():
            stack.start()
            return 'keystone, glance, cinder api/scheduler/volume/backup up'
        checks.step('start services', 'localhost', start)
        started = True
        checks.run_checks(thorough=thorough)
        if started:
            checks.cleanup()
            lvs = checks.lvs()
            checks.expect(not lvs, 'LVs left in the VG: %s' % sorted(lvs))
    finally:
        try:
            if started and checks.ids:
                checks.cleanup()
        finally:
            stack.cleanup()
            lifecycle.remove_vg(client)
    return checks.rows
