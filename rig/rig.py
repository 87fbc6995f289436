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

"""The rig: N qemu VMs that share one sparse raw image as their LUN."""

import atexit
import json
import logging
import os
import re
import shutil
import signal
import threading
import time

from rig import channel
from rig import executor
from rig import image
from rig import vm as vmmod

LOG = logging.getLogger(__name__)

RUN_ROOT = os.environ.get('CSLVM_RIG_ROOT', '/tmp/cslvm-rig')
DEFAULT_HOSTS = ('cinder-node', 'compute-1', 'compute-2')
BOOT_TIMEOUT = 120.0


class RigError(Exception):
    pass


def parse_size(size):
    """'20G' / '512M' / 1024 -> bytes."""
    if isinstance(size, int):
        return size
    m = re.fullmatch(r'(\d+)([KMGT]?)i?B?', str(size).strip(), re.I)
    if not m:
        raise ValueError('bad size %r' % size)
    return int(m.group(1)) * 1024 ** ' KMGT'.index(m.group(2).upper() or ' ')


def _proc_start_time(pid):
    """Kernel start time of ``pid`` (tells a live owner from a reused pid)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_alive(rundir):
    try:
        with open(os.path.join(rundir, 'owner.json')) as f:
            owner = json.load(f)
    except (OSError, ValueError):
        return False
    return _proc_start_time(owner['pid']) == owner['start']


def reap_stale(root=RUN_ROOT):
    """Kill the VMs and remove the state of runs whose owner is gone.

    A test run killed half-way (SIGKILL, a CI timeout) cannot clean up
    after itself; the next run does it here.
    """
    if not os.path.isdir(root):
        return []
    reaped = []
    for name in os.listdir(root):
        rundir = os.path.join(root, name)
        if not os.path.isdir(rundir) or owner_alive(rundir):
            continue
        # A run that is still writing owner.json is younger than a minute.
        if not os.path.exists(os.path.join(rundir, 'owner.json')) and \
                time.time() - os.path.getmtime(rundir) < 60:
            continue
        hosts = os.path.join(rundir, 'hosts')
        for host in os.listdir(hosts) if os.path.isdir(hosts) else ():
            vmmod.kill_pidfile(os.path.join(hosts, host, 'qemu.pid'),
                               'cslvm-rig-' + host)
        shutil.rmtree(rundir, ignore_errors=True)
        reaped.append(rundir)
    return reaped


class RigHost(executor.Executor):
    """One VM of the rig; ``execute`` has processutils.execute's signature."""

    def __init__(self, rig, name, vm):
        self.rig = rig
        self.name = name
        self.vm = vm
        self.pool = channel.ChannelPool(vm.channel_paths)
        self.boot_id = None
        self.lun_attached = True

    def _call(self, script, stdin, timeout):
        return self.pool.call(script, stdin, timeout)

    def start(self):
        """Launch qemu without waiting (see ``wait_ready``)."""
        self.vm.start()
        self.lun_attached = True

    def wait_ready(self, timeout=BOOT_TIMEOUT):
        deadline = time.monotonic() + timeout
        try:
            self.vm.wait_pidfile(deadline)
            self.boot_id = self.pool.connect(deadline)
        except (channel.ChannelError, vmmod.VMError) as exc:
            raise RigError('%s did not boot: %s\n--- console ---\n%s' % (
                self.name, exc, self.vm.console()[-3000:]))

    def boot(self, timeout=BOOT_TIMEOUT):
        """Power on (again), re-attaching the same LUN; wait for the agents."""
        if self.is_up():
            raise RigError('%s is already running' % self.name)
        self.start()
        self.wait_ready(timeout)

    def power_off(self):
        """Hard power-off (SIGKILL qemu): simulates a host crash."""
        self.pool.close()
        self.vm.kill()

    def reboot(self, timeout=BOOT_TIMEOUT):
        self.power_off()
        self.boot(timeout)

    def is_up(self):
        return self.vm.running()

    def detach_lun(self, index=0):
        """Hot-remove a shared LUN from this host only (path failure).

        :param index: 0 for the LUN, 1.. for ``extra_luns``
        """
        self.vm.detach(self.rig.disks[index])
        if index == 0:
            self.lun_attached = False

    def attach_lun(self, index=0):
        """Hot-add a LUN removed by ``detach_lun`` (same image, serial)."""
        self.vm.attach(self.rig.disks[index])
        if index == 0:
            self.lun_attached = True

    def device_for_serial(self, serial=vmmod.LUN_SERIAL, timeout=30):
        """/dev/vdX of the disk with ``serial``, asked of the guest."""
        deadline = time.monotonic() + timeout
        while True:
            out, _ = self.shell(
                'for d in /sys/block/vd*; do [ "$(cat $d/serial 2>/dev/null)"'
                ' = "%s" ] && echo /dev/${d##*/}; done; true' % serial)
            if out.strip():
                return out.split()[0]
            if time.monotonic() > deadline:
                raise RigError('%s: no disk with serial %s'
                               % (self.name, serial))
            time.sleep(0.2)

    def console(self):
        """The guest's serial console (kernel messages, init errors)."""
        return self.vm.console()

    def __repr__(self):
        return '<RigHost %s>' % self.name


class Rig:
    """Boot hosts that share one LUN; use as a context manager.

    :param hosts: host names (also the guests' hostnames)
    :param lun_size: size of the shared LUN (sparse), e.g. '20G'
    :param extra_luns: sizes of more shared disks (serial SHAREDLUN2, ...)
    :param private_disk_size: if set, each host also gets its own disk
        (serial PRIVATE)
    :param memory: MiB per VM
    :param channels: agent channels per VM = concurrent commands per host
    :param extra_binaries: more host binaries for the initramfs
    :param extra_modules: more kernel modules to load at boot
    :param progress: callable(str) for progress messages
    :param label: stored in the state file ('cli' for ``up``: ``down``
        stops only those, never a test session's rig)
    """

    def __init__(self, hosts=DEFAULT_HOSTS, lun_size='20G', extra_luns=(),
                 private_disk_size=None, memory=384, channels=4,
                 extra_binaries=(), extra_modules=(), extra_files=(),
                 progress=None, root=RUN_ROOT, boot_timeout=BOOT_TIMEOUT,
                 mux=True, label=None):
        self.host_names = tuple(hosts)
        self.lun_size = parse_size(lun_size)
        self.extra_luns = [parse_size(s) for s in extra_luns]
        self.private_disk_size = (parse_size(private_disk_size)
                                  if private_disk_size else None)
        self.memory = memory
        self.channels = channels
        self.image_args = (tuple(extra_binaries), tuple(extra_modules),
                           tuple(extra_files))
        self.progress = progress or (lambda msg: LOG.info(msg))
        self.root = root
        self.boot_timeout = boot_timeout
        self.use_mux = mux
        self.label = label
        self.hosts = {}
        self.disks = []
        self.dir = None
        self.mux = None
        self.boot_seconds = None
        self._closed = False
        self._old_sigterm = None

    # -- paths -----------------------------------------------------------

    @property
    def lun_path(self):
        return self.disks[0].path

    @property
    def share_dir(self):
        return os.path.join(self.dir, 'share')

    @property
    def state_file(self):
        return os.path.join(self.dir, 'state.json')

    def host(self, name):
        return self.hosts[name]

    def __iter__(self):
        return iter(self.hosts.values())

    # -- lifecycle -------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self):
        t0 = time.monotonic()
        reaped = reap_stale(self.root)
        if reaped:
            self.progress('rig: reaped %d stale run(s)' % len(reaped))
        kernel, initrd = image.build(*self.image_args, progress=self.progress)
        os.makedirs(self.root, exist_ok=True)
        self.dir = os.path.join(self.root, '%d-%d' % (
            os.getpid(), int(time.time() * 1000) % 10 ** 9))
        os.makedirs(os.path.join(self.dir, 'hosts'))
        os.makedirs(self.share_dir)
        with open(os.path.join(self.dir, 'owner.json'), 'w') as f:
            json.dump({'pid': os.getpid(),
                       'start': _proc_start_time(os.getpid())}, f)
        self._install_cleanup()
        try:
            self._make_disks()
            for name in self.host_names:
                hdir = os.path.join(self.dir, 'hosts', name)
                os.makedirs(hdir)
                disks = list(self.disks)
                if self.private_disk_size:
                    path = os.path.join(hdir, 'private.img')
                    with open(path, 'wb') as f:
                        f.truncate(self.private_disk_size)
                    disks.append(vmmod.Disk(
                        'private0', path, 'PRIVATE', shared=False,
                        direct=vmmod.supports_o_direct(path)))
                vm = vmmod.VM(name, hdir, kernel, initrd, disks,
                              self.share_dir, self.channels, self.memory)
                self.hosts[name] = RigHost(self, name, vm)
            self.progress('rig: booting %s' % ', '.join(self.host_names))
            # All qemus start at once; agents are awaited in parallel.
            for host in self.hosts.values():
                host.start()
            self._parallel(lambda h: h.wait_ready(self.boot_timeout))
            if self.use_mux:
                from rig import mux
                self.mux = mux.MuxServer(self, os.path.join(self.dir,
                                                            'mux.sock'))
                self.mux.start()
            self._write_state()
        except BaseException:
            self.close()
            raise
        self.boot_seconds = time.monotonic() - t0
        self.progress('rig: %d hosts up in %.1fs (%s)' % (
            len(self.hosts), self.boot_seconds, self.dir))
        return self

    def _make_disks(self):
        sizes = [self.lun_size] + self.extra_luns
        for i, size in enumerate(sizes):
            path = os.path.join(self.dir, 'lun%d.img' % i)
            with open(path, 'wb') as f:
                f.truncate(size)  # sparse: costs no disk until written
            serial = vmmod.LUN_SERIAL + ('' if i == 0 else str(i + 1))
            # NOTE: without O_DIRECT (tmpfs) qemu writes through the host
            # page cache, which all VMs share: still coherent, just slower
            # to fail if the host crashed, which the rig never simulates.
            self.disks.append(vmmod.Disk('lun%d' % i, path, serial,
                                         direct=vmmod.supports_o_direct(path)))

    def _parallel(self, fn):
        errors = []

        def run(host):
            try:
                fn(host)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(h,))
                   for h in self.hosts.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]

    def _write_state(self):
        state = {
            'dir': self.dir, 'owner': os.getpid(), 'label': self.label,
            'lun_path': self.lun_path, 'share_dir': self.share_dir,
            'mux': self.mux.path if self.mux else None,
            'hosts': {n: {'dir': h.vm.dir, 'pidfile': h.vm.pidfile,
                          'channels': h.vm.channel_paths}
                      for n, h in self.hosts.items()},
        }
        tmp = self.state_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(state, f, indent=2)
        os.rename(tmp, self.state_file)

    def _install_cleanup(self):
        atexit.register(self.close)
        if threading.current_thread() is threading.main_thread():
            def on_term(signum, frame):
                # Unwind through __exit__/finally so everything is removed.
                # KeyboardInterrupt, not SystemExit: pytest stops the whole
                # session on it (and tears fixtures down) instead of
                # failing one test and going on.
                raise KeyboardInterrupt('SIGTERM')
            self._old_sigterm = signal.signal(signal.SIGTERM, on_term)

    def close(self):
        """Kill every VM and remove all state; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self.mux is not None:
            self.mux.stop()
        for host in self.hosts.values():
            try:
                host.power_off()
            except Exception:
                LOG.exception('rig: power_off %s', host.name)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        if self._old_sigterm is not None:
            try:
                signal.signal(signal.SIGTERM, self._old_sigterm)
            except ValueError:
                pass
        try:
            atexit.unregister(self.close)
        except Exception:
            pass

    def dm_tables(self):
        """{host: {dm name: table}} for every running host."""
        return {h.name: h.dm_tables() for h in self if h.is_up()}
