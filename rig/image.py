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

"""Build (and cache) the kernel and initramfs that every rig VM boots.

The host kernel has no device-mapper, so real LVM activation only happens
inside qemu guests.  The guest is tiny: Debian's own kernel package plus an
initramfs holding busybox, the host's LVM/dm/qemu-img/fio binaries with the
libraries ``ldd`` reports, a handful of kernel modules and the rig's init and
agent scripts.  Building takes tens of seconds, so the result is cached under
``.rig-cache/`` keyed by a hash of every input.
"""

import fcntl
import hashlib
import json
import logging
import lzma
import os
import re
import shutil
import subprocess
import tempfile

LOG = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
CACHE_DIR = os.environ.get('CSLVM_RIG_CACHE',
                           os.path.join(REPO_ROOT, '.rig-cache'))

# Host binaries copied into the guest at their host path.  Tests that need
# more (tgtd, iscsiadm, sanlock, lvmlockd...) pass ``extra_binaries``.
# NOTE: util-linux's blockdev is preferred over busybox's because os-brick
# calls ``blockdev --getsize64`` and ``--flushbufs``.
BASE_BINARIES = (
    'lvm', 'dmsetup', 'blockdev', 'blkid', 'ionice', 'qemu-img', 'fio',
    'sha256sum', 'dd',
    'lsblk', 'sync',
)

# Ready-made extra_binaries sets for later tests.
ISCSI_BINARIES = ('tgtd', 'tgtadm', 'iscsid', 'iscsiadm')
LOCKING_BINARIES = ('sanlock', 'lvmlockd', 'lvmlockctl')

# Kernel modules loaded at boot, in this order, after their modules.dep
# dependencies.  iscsi_tcp/sd_mod are here so that a later test can run the
# stock Cinder iSCSI path inside one VM without rebuilding anything.
BASE_MODULES = (
    'crc32c_generic', 'virtio_pci', 'virtio_blk', 'virtio_console', 'dm-mod',
    'dm-snapshot', 'dm-thin-pool', '9pnet_virtio', '9p',
    'iscsi_tcp', 'sd_mod',
)

# Extra files (host path -> guest path) some tools need at run time.
BASE_FILES = ()

BUSYBOX = '/bin/busybox'


class ImageBuildError(Exception):
    pass


def _run(*cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw).stdout


def _kernel_package():
    """Resolve the ``linux-image-amd64`` metapackage to a real package.

    The metapackage contains no kernel; its one dependency
    ``linux-image-6.1.0-NN-amd64`` does.
    """
    out = _run('apt-cache', 'depends', 'linux-image-amd64')
    m = re.search(r'Depends:\s*(linux-image-[0-9][^\s]*-amd64)\b', out)
    if not m:
        raise ImageBuildError('cannot resolve linux-image-amd64: %s' % out)
    pkg = m.group(1)
    version = _run('apt-cache', 'policy', pkg)
    vm = re.search(r'Candidate:\s*(\S+)', version)
    return pkg, (vm.group(1) if vm else 'unknown')


def _cached_kernels():
    if not os.path.isdir(CACHE_DIR):
        return []
    trees = [os.path.join(CACHE_DIR, d) for d in os.listdir(CACHE_DIR)
             if d.startswith('kernel-')]
    return sorted((t for t in trees if os.path.exists(os.path.join(t,
                                                                   '.done'))),
                  key=os.path.getmtime)


def fetch_kernel(progress=None):
    """Download and unpack the Debian kernel package (cached).

    :returns: (kernel release, unpacked tree path)
    """
    try:
        try:
            pkg, version = _kernel_package()
        except (subprocess.CalledProcessError, ImageBuildError):
            # A fresh machine may have no apt lists yet.
            _run('apt-get', 'update', '-qq')
            pkg, version = _kernel_package()
    except (subprocess.CalledProcessError, ImageBuildError):
        cached = _cached_kernels()
        if not cached:
            raise
        # No apt today (offline): any kernel built before will do.
        tree = cached[-1]
    else:
        tree = os.path.join(CACHE_DIR, 'kernel-%s_%s' % (pkg, version))
    marker = os.path.join(tree, '.done')
    if not os.path.exists(marker):
        if progress:
            progress('rig: downloading %s %s' % (pkg, version))
        os.makedirs(CACHE_DIR, exist_ok=True)
        tmp = tempfile.mkdtemp(dir=CACHE_DIR, prefix='.kernel-')
        try:
            # NOTE: apt-get download as root warns that _apt cannot write
            # the directory; harmless, the file is fetched unsandboxed.
            _run('apt-get', 'download', pkg, cwd=tmp)
            debs = [f for f in os.listdir(tmp) if f.endswith('.deb')]
            if len(debs) != 1:
                raise ImageBuildError('apt-get download gave %s' % debs)
            root = os.path.join(tmp, 'root')
            _run('dpkg-deb', '-x', os.path.join(tmp, debs[0]), root)
            release = os.listdir(os.path.join(root, 'lib', 'modules'))[0]
            # The package ships no modules.dep: depmod writes it at install.
            _run('depmod', '-b', root, release)
            with open(os.path.join(root, '.done'), 'w') as f:
                f.write(release)
            shutil.rmtree(tree, ignore_errors=True)
            os.rename(root, tree)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    with open(marker) as f:
        return f.read().strip(), tree


def _norm(name):
    return name.replace('-', '_')


def resolve_modules(tree, release, names):
    """Return module paths (relative to the modules dir) in load order."""
    moddir = os.path.join(tree, 'lib', 'modules', release)
    deps = {}
    by_name = {}
    with open(os.path.join(moddir, 'modules.dep')) as f:
        for line in f:
            path, _, rest = line.partition(':')
            deps[path] = rest.split()
            base = os.path.basename(path).split('.ko')[0]
            by_name[_norm(base)] = path
    builtin = set()
    bpath = os.path.join(moddir, 'modules.builtin')
    if os.path.exists(bpath):
        with open(bpath) as f:
            builtin = {_norm(os.path.basename(x).split('.ko')[0])
                       for x in f.read().split()}
    order = []

    def visit(path):
        if path in order:
            return
        for dep in deps[path]:
            visit(dep)
        order.append(path)

    for name in names:
        path = by_name.get(_norm(name))
        if path is None:
            if _norm(name) in builtin:
                continue
            raise ImageBuildError('kernel module %s not found' % name)
        visit(path)
    return order


def _which(name):
    if os.path.isabs(name):
        return name
    for d in ('/usr/sbin', '/usr/bin', '/sbin', '/bin'):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    raise ImageBuildError('binary %s not found on the host: install the '
                          'packages in rig/apt-packages.txt' % name)


def _guest_path(path):
    """Host path -> path inside the guest: the binary's real location."""
    return os.path.realpath(path)


def _libraries(binary):
    out = subprocess.run(['ldd', binary], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True).stdout
    libs = []
    for line in out.splitlines():
        m = re.search(r'(?:=>\s*)?(/\S+)\s+\(0x', line)
        if m:
            libs.append(m.group(1))
    return libs


def _inputs(binaries, modules, files, kernel_tree):
    """Everything the image depends on, to key the cache."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(HERE)):
        if name.endswith(('.sh', '.conf')) or name == 'image.py':
            with open(os.path.join(HERE, name), 'rb') as f:
                h.update(name.encode() + b'\0' + f.read())
    h.update(kernel_tree.encode())
    h.update(json.dumps([list(binaries), list(modules), list(files)]).encode())
    for b in list(binaries) + [BUSYBOX] + [src for src, _ in files]:
        st = os.stat(_which(b))
        h.update(('%s %d %d' % (b, st.st_size, st.st_mtime)).encode())
    return h.hexdigest()[:16]


def _copy(src, root, dest=None):
    dest = os.path.join(root, (dest or src).lstrip('/'))
    if os.path.lexists(dest):
        return
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    shutil.copy2(os.path.realpath(src), dest)


def _populate(root, release, tree, binaries, modules, files):
    # Mirror the host's merged-/usr links (/lib -> usr/lib...) so that a
    # library reached by two names is stored once.
    os.makedirs(root)
    for d in ('bin', 'sbin', 'lib', 'lib64'):
        host = os.path.join('/', d)
        if os.path.islink(host):
            target = os.readlink(host)
            os.makedirs(os.path.join(root, target.lstrip('/')),
                        exist_ok=True)
            os.symlink(target, os.path.join(root, d))
    for d in ('bin', 'sbin', 'usr/bin', 'usr/sbin', 'proc', 'sys', 'dev',
              'tmp', 'run', 'etc/lvm', 'etc/rig', 'root', 'var', 'mnt'):
        if not os.path.lexists(os.path.join(root, d)):
            os.makedirs(os.path.join(root, d))
    os.symlink('/run', os.path.join(root, 'var', 'run'))
    os.symlink('/run/lock', os.path.join(root, 'var', 'lock'))

    # Real binaries first, at their host path; libraries at the path ldd
    # names, plus the dynamic loader by its canonical /lib64 name.
    libs = set()
    for name in binaries:
        src = _which(name)
        dest = _guest_path(src)
        _copy(src, root, dest)
        libs.update(_libraries(src))
    for lib in sorted(libs):
        _copy(lib, root)
    for src, dest in files:
        _copy(src, root, dest)

    # busybox applets fill the gaps; a real binary of the same name wins
    # because PATH lists /usr before /bin.
    _copy(BUSYBOX, root, '/bin/busybox')
    applets = _run(BUSYBOX, '--list').split()
    for applet in applets:
        link = os.path.join(root, 'bin', applet)
        if applet != 'busybox' and not os.path.lexists(link):
            os.symlink('/bin/busybox', link)

    if any(os.path.basename(b) == 'lvm' for b in binaries):
        lvm = _guest_path(_which('lvm'))
        out = subprocess.run([_which('lvm'), 'help'], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True).stdout
        for cmd in re.findall(r'^\s+([a-z][a-z]+)\s', out, re.M):
            if cmd.startswith(('lv', 'pv', 'vg')) and cmd != 'lvm':
                link = os.path.join(root, os.path.dirname(lvm).lstrip('/'),
                                    cmd)
                if not os.path.lexists(link):
                    os.symlink('lvm', link)

    # Modules, decompressed: busybox insmod cannot read .ko.xz.
    moddir = os.path.join(tree, 'lib', 'modules', release)
    order = []
    for rel in resolve_modules(tree, release, modules):
        dest_rel = re.sub(r'\.(xz|zst|gz)$', '', rel)
        dest = os.path.join(root, 'lib', 'modules', release, dest_rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        src = os.path.join(moddir, rel)
        if rel.endswith('.xz'):
            with lzma.open(src) as fi, open(dest, 'wb') as fo:
                shutil.copyfileobj(fi, fo)
        elif rel.endswith(('.zst', '.gz')):
            tool = 'zstd' if rel.endswith('.zst') else 'gzip'
            with open(dest, 'wb') as fo:
                subprocess.run([tool, '-dc', src], stdout=fo, check=True)
        else:
            shutil.copy2(src, dest)
        order.append('/lib/modules/%s/%s' % (release, dest_rel))
    with open(os.path.join(root, 'etc', 'rig', 'modules'), 'w') as f:
        f.write('\n'.join(order) + '\n')

    for name, dest in (('init.sh', 'init'), ('agent.sh', 'etc/rig/agent.sh'),
                       ('lvm.conf', 'etc/lvm/lvm.conf')):
        shutil.copy2(os.path.join(HERE, name), os.path.join(root, dest))
        os.chmod(os.path.join(root, dest), 0o755)
    with open(os.path.join(root, 'etc', 'passwd'), 'w') as f:
        # iscsid rejects its client unless root has an entry.
        f.write('root:x:0:0:root:/root:/bin/sh\n')
    with open(os.path.join(root, 'etc', 'group'), 'w') as f:
        f.write('root:x:0:\n')


def _extract_vmlinux(bzimage, config, dest):
    """Unpack the ELF kernel out of a bzImage so qemu can boot it via PVH.

    Under TCG the bzImage's own xz decompressor takes over a second per
    boot; a PVH-capable (CONFIG_PVH) vmlinux starts at once.

    :returns: True when ``dest`` was written
    """
    with open(config) as f:
        if 'CONFIG_PVH=y' not in f.read():
            return False
    with open(bzimage, 'rb') as f:
        data = f.read()
    start = data.find(b'\xfd7zXZ\x00')
    if start < 0:
        return False
    elf = lzma.LZMADecompressor().decompress(data[start:])
    if not elf.startswith(b'\x7fELF'):
        return False
    with open(dest, 'wb') as f:
        f.write(elf)
    return True


def build(extra_binaries=(), extra_modules=(), extra_files=(),
          progress=None):
    """Return (kernel path, initramfs path), building them if needed.

    :param extra_binaries: more host binaries (names or absolute paths)
    :param extra_modules: more kernel module names
    :param extra_files: (host path, guest path) pairs to copy verbatim
    """
    os.makedirs(CACHE_DIR, exist_ok=True)
    # Two test processes starting at once must not build over each other.
    with open(os.path.join(CACHE_DIR, '.lock'), 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(extra_binaries, extra_modules, extra_files, progress)


def _build(extra_binaries, extra_modules, extra_files, progress):
    release, tree = fetch_kernel(progress)
    binaries = tuple(BASE_BINARIES) + tuple(extra_binaries)
    modules = tuple(BASE_MODULES) + tuple(extra_modules)
    files = tuple(BASE_FILES) + tuple(tuple(x) for x in extra_files)
    key = _inputs(binaries, modules, files, tree)
    out = os.path.join(CACHE_DIR, 'image-%s' % key)
    kernel = os.path.join(out, 'vmlinuz')
    initrd = os.path.join(out, 'initrd.cpio')
    if os.path.exists(initrd):
        os.utime(out)  # most recently used: kept by _prune
        return kernel, initrd
    if progress:
        progress('rig: building initramfs %s' % key)
    tmp = tempfile.mkdtemp(dir=CACHE_DIR, prefix='.image-')
    try:
        root = os.path.join(tmp, 'root')
        _populate(root, release, tree, binaries, modules, files)
        names = _run('find', '.', cwd=root)
        with open(os.path.join(tmp, 'initrd.cpio'), 'wb') as fo:
            # Uncompressed: under TCG the kernel would spend seconds
            # inflating a compressed archive on every boot.
            subprocess.run(['cpio', '--quiet', '-o', '-H', 'newc',
                            '--owner', '0:0'], input=names.encode(),
                           stdout=fo, cwd=root, check=True)
        bzimage = os.path.join(tree, 'boot', 'vmlinuz-%s' % release)
        config = os.path.join(tree, 'boot', 'config-%s' % release)
        if not _extract_vmlinux(bzimage, config,
                                os.path.join(tmp, 'vmlinuz')):
            shutil.copy2(bzimage, os.path.join(tmp, 'vmlinuz'))
        shutil.rmtree(root)
        shutil.rmtree(out, ignore_errors=True)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _prune()
    return kernel, initrd


def _prune(keep=4):
    """Drop all but the ``keep`` most recently used images (~100 MiB each).

    Several can be live: a test that adds lvmlockd gets its own image.
    """
    images = sorted((os.path.join(CACHE_DIR, d) for d in os.listdir(CACHE_DIR)
                     if d.startswith('image-')), key=os.path.getmtime)
    for old in images[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
