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

"""cinder-rootwrap filters for the commands cinder-volume runs as root.

cinder-volume runs this driver's host commands through Cinder's root helper
(``sudo cinder-rootwrap /etc/cinder/rootwrap.conf``). A filter that names
only the executable (``CommandFilter``, ``EnvFilter``) lets the cinder user
pass any argument: ``--config`` with an executable LVM setting, ``dd`` to
any disk, ``tee`` to any file. So every filter here is a ``RegExpFilter``
that pins every argument of one argv shape the project runs, and the VG,
its devices (through the exact ``--config`` string, see
``lvm.build_lvm_config``) and image_conversion_dir are pinned too. Those
are known only on the deployment, so the file is generated from it
(``cinder-shared-lvm rootwrap-filters``); ``etc/cinder-shared-lvm/``
ships the output for the default VG as a sample.

Compute hosts need no filters: os-brick runs the connector's commands
through its privsep daemon.

To allow a new argv shape, add ONE entry to ``LVM_SHAPES`` (an LVM command:
the arguments after ``--config <config>``) or to ``HOST_SHAPES`` (any other
command). A shape is a tuple of tokens:

* a plain string is that argument, literally;
* a ``P`` is a regular expression for one argument (see the ``P`` objects
  below, or add one: it must never match a path outside the shared VG);
* ``Opt(token, ...)`` is an optional group of arguments, and
  ``Rep((token, ...), low, high)`` repeats a group *low* to *high* times:
  a RegExpFilter matches one exact argument count, so these expand to one
  filter line per count.

The unit test tests/unit/test_rootwrap.py loads the generated file with
oslo.rootwrap's own matcher: every command the unit tests record must
match it, and its hostile commands must not.
"""

import collections
import itertools
import re
from typing import Iterable, List

from cinder_shared_lvm import exception
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm

DEFAULT_IMAGE_CONVERSION_DIR = '/var/lib/cinder/conversion'

# uuid: the VG's UUID (vgs -o vg_uuid), to pin dm UUIDs to the VG; None
# leaves them pinned to LVM's form only. lock_manager: the backend's
# shared_lvm_lock_manager; only 'lvmlockd' adds the shapes of that mode.
Backend = collections.namedtuple('Backend', 'vg devices uuid lock_manager',
                                 defaults=(None, lockd.NONE))
_VG_UUID_RE = re.compile(
    r'^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}\Z')


class P(object):
    """A regular expression for one argument; ``{vg}``, ``{vg_dm}`` and
    ``{image_dir}`` are replaced by the backend's escaped values."""

    def __init__(self, regex: str):
        self.regex = regex


class Opt(object):
    def __init__(self, *tokens):
        self.tokens = tokens


class Rep(object):
    def __init__(self, tokens: tuple, low: int, high: int):
        self.tokens, self.low, self.high = tokens, low, high


# -- argument patterns ------------------------------------------------------
# NOTE: patterns may not contain a ',' (oslo.rootwrap splits filter lines on
# commas), not even in a {m,n} quantifier, and lose leading and trailing
# blanks: use \x2c, \x20 and + or *. Lengths are LVM's to check.

_RESERVED = '|'.join(re.escape(s) for s in lvm._RESERVED_LV_SUBSTRINGS)
# lvm.validate_name for LVs: LVM's characters, no leading '-', not '.' or
# '..', no name LVM reserves for its internal LVs.
_LV = (r'(?!snapshot|pvmove|\.\.?\Z)(?![A-Za-z0-9+_.-]*(?:%s))'
       r'[A-Za-z0-9+_.][A-Za-z0-9+_.-]*' % _RESERVED)
# device-mapper's name of an LV: every '-' of the LV name doubled, so a
# single '-' can only be the layer suffix.
_LV_DM = r'(?!snapshot|pvmove|-)(?:[A-Za-z0-9+_.]|--)+'

LV = P(_LV)
LV_REF = P('{vg}/' + _LV)                      # vg/lv
LV_PATH = P('/dev/{vg}/' + _LV)                # the LV's udev link
# The layers of a snapshot family: the origin's '-real' and a snapshot's
# '-cow'. Removing them is part of detaching a family (safety rule 7).
DM_LAYER_NAME = P('{vg_dm}-' + _LV_DM + '(?:-real|-cow)?')
DM_PATH = P('/dev/mapper/{vg_dm}-' + _LV_DM)
# NOTE: LVM's dm UUID is LVM-<VG UUID><LV UUID>, without dashes. Without
# the VG's UUID it is pinned to LVM's form only, so no --force goes with it.
DM_UUID = P(r'LVM-{vg_uuid}[A-Za-z0-9]{32}(?:-real|-cow)?')
TAG = P(r'[A-Za-z0-9_+./=!:&#][A-Za-z0-9_+./=!:&#-]*')
SIZE = P(r'[1-9][0-9]*[bkmgtBKMGT]?')
FIELDS = P(r'[a-z_]+(?:\x2c[a-z_]+)*')   # report columns
# lvm.SharedLVM.delete_unless_origin's selection: one LV by name, never
# an origin (an origin's lvremove would remove its snapshots too).
LV_UNLESS_ORIGIN = P(r'lv_name="%s"\x20&&\x20lv_role!=\{origin\}' % _LV)
CHUNK = P(r'(?:4|8|16|32|64|128|256|512)k')   # COW chunk size
YES_NO = P(r'y|n')
ACTIVATE = P(r'-a(?:y|ey|n)')

# dd (cinder.volume.volume_utils.copy_volume and the O_DIRECT probe):
# read zeros, an LV or its dm device; write an LV, its dm device or a
# snapshot's COW store (volume_clear of a snapshot), never '-real'. Any
# shared VG of this host on either side: a clone between two pools of a
# backend (pools.py) copies from one VG into another.
DD_IF = P(r'if=(?:/dev/zero|/dev/{any_vg}/%s|/dev/mapper/{any_vg_dm}-%s)'
          % (_LV, _LV_DM))
DD_OF = P(r'of=(?:/dev/{any_vg}/%s|/dev/mapper/{any_vg_dm}-%s(?:-cow)?)'
          % (_LV, _LV_DM))
DD_IF_LV = P(r'if=/dev/{vg}/' + _LV)
DD_COUNT = P(r'count=[0-9]+')
DD_BS = P(r'bs=[1-9][0-9]*[kKMG]?')
DD_IFLAG = P(r'iflag=count_bytes(?:\x2cdirect)?')
DD_LAST = P(r'oflag=direct|conv=fdatasync')
DD_PROBE = P(r'iflag=direct|oflag=direct')
IONICE = P(r'-c[0-3]')
# qemu-img convert: a temporary file of image_conversion_dir (one level,
# no '..'), and the formats that the driver's image checks accept.
IMAGE_FILE = P(r'{image_dir}/(?!\.\.?\Z)[A-Za-z0-9_.-]+')
IMAGE_FORMAT = P(r'raw|qcow2|vmdk|vpc|vhdx|vdi')
SCSI_SCAN = P(r'/sys/class/scsi_host/host[0-9]+/scan')

_REPORT = ('--noheadings', '--nosuffix', '--units', 'b', '--separator', '|')

WRITER, BOTH = 'writer', 'both'

# -- the table --------------------------------------------------------------
# LVM commands: (configs, command, arguments after "--config <config>").
# WRITER: metadata writes, with the writer's config only; BOTH: reports
# and activation, also with the read-only config of the connector that
# the driver uses on this host (driver._connect_device).
LVM_SHAPES = (
    (BOTH, 'vgs', _REPORT + ('-o', FIELDS, '--readonly', P('{vg}'))),
    (BOTH, 'lvs', _REPORT + ('-o', FIELDS, P('{vg}'))),
    (BOTH, 'lvs', _REPORT + ('-o', FIELDS, LV_REF)),
    (BOTH, 'vgs', ('--noheadings', '-o', FIELDS, '--readonly', P('{vg}'))),
    (BOTH, 'pvs', _REPORT + ('-o', FIELDS, '--readonly')),
    (WRITER, 'vgchange', (P('--addtag|--deltag'), TAG, P('{vg}'))),
    (WRITER, 'lvcreate', ('-n', LV, '-L', SIZE, Rep(('--addtag', TAG), 0, 4),
                          '-an', '-Zn', '--setautoactivation', 'n', '--yes',
                          P('{vg}'))),
    (WRITER, 'lvcreate', ('-s', '-n', LV, '-L', SIZE, Opt('-c', CHUNK),
                          Rep(('--addtag', TAG), 0, 4), '--yes', LV_REF)),
    (WRITER, 'lvremove', ('-f', LV_REF)),
    (WRITER, 'lvremove', ('-f', '--select', LV_UNLESS_ORIGIN, P('{vg}'))),
    (WRITER, 'lvextend', ('-L', SIZE, LV_REF)),
    (WRITER, 'lvrename', (P('{vg}'), LV, LV)),
    (WRITER, 'lvconvert', ('--merge', '--interval', '1', LV_REF)),
    (WRITER, 'lvchange', ('--setautoactivation', YES_NO, LV_REF)),
    (WRITER, 'lvchange', ('--addtag', TAG, LV_REF)),
    (WRITER, 'lvchange', ('--deltag', TAG, LV_REF)),
    (BOTH, 'lvchange', (ACTIVATE, '--yes', LV_REF)),
    (BOTH, 'lvchange', ('--refresh', LV_REF)),
)

# The lvmlockd mode's extra commands (lockd.py): a shared activation of a
# plain LV (the connector, for multi-attach), and starting the VG's
# lockspace at setup. Without lvmlockd, -asy would be a plain local -ay,
# and --lockstart has nothing to start: neither is let through then.
LVMLOCKD_SHAPES = (
    (BOTH, 'lvchange', ('-asy', '--yes', LV_REF)),
    (WRITER, 'vgchange', ('--lockstart', P('{vg}'))),
)
# ...and reading which lockspaces lvmlockd has joined (lockd.py).
LVMLOCKD_HOST_SHAPES = (('lvmlockctl', '--info'),)

_DD_COPY = ('dd', DD_IF, DD_OF, DD_COUNT, DD_BS, DD_IFLAG, Opt(DD_LAST))

# Other commands, run as given.
HOST_SHAPES = (
    _DD_COPY,
    ('ionice', IONICE) + _DD_COPY,           # volume_clear_ionice
    ('dd', 'count=0', DD_IF, DD_OF, DD_PROBE),    # O_DIRECT probe
    ('dd', DD_IF_LV, 'of=/dev/null', 'bs=4096', 'count=1', 'iflag=direct'),
    ('qemu-img', 'convert', '-O', 'raw', '-t', 'none', '-f', IMAGE_FORMAT,
     IMAGE_FILE, LV_PATH),
    ('qemu-img', 'convert', '-O', 'raw', LV_PATH, IMAGE_FILE),
    ('blockdev', '--getsize64', LV_PATH),
    ('blockdev', '--flushbufs', LV_PATH),
    ('blockdev', '--flushbufs', DM_PATH),
    ('tee', '-a', SCSI_SCAN),                # stdin is "- - -"
    ('dmsetup', 'remove', Opt('--force'), Opt('--deferred'), DM_LAYER_NAME),
    ('dmsetup', 'remove', Opt('--deferred'), '-u', DM_UUID),
    ('dmsetup', 'wipe_table', DM_LAYER_NAME),
    ('dmsetup', 'info', '-c', '--noheadings', '--separator', '|', '-o',
     FIELDS, Opt(DM_LAYER_NAME)),
    ('dmsetup', 'info', '-c', '--noheadings', '--separator', '|', '-o',
     FIELDS, '-u', DM_UUID),
    ('dmsetup', 'table', Opt(DM_LAYER_NAME)),
    ('dmsetup', 'status', Opt(DM_LAYER_NAME)),
)

# -- generation -------------------------------------------------------------

# Characters that stand for themselves in a regex and survive
# oslo.rootwrap's split on ',' and strip().
_PLAIN = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
                   '0123456789_-/=:@%!"\'<>&~')
_DEVICE_RE = re.compile(r'^/dev/[A-Za-z0-9_.:+@=#/-]+\Z')
_DIR_RE = re.compile(r'^/[A-Za-z0-9_.+@=/-]+\Z')
# image_conversion_dir receives files that root writes: never a system
# directory, where such a file could replace a configuration or a binary.
_SYSTEM_DIRS = ('/bin', '/boot', '/dev', '/etc', '/lib', '/lib32', '/lib64',
                '/proc', '/root', '/run', '/sbin', '/sys', '/usr',
                '/var/lib/dpkg', '/var/spool')


def literal(text: str) -> str:
    """*text* as a regex that matches exactly it, inside a filter line."""
    out = []
    for char in text:
        if char in _PLAIN:
            out.append(char)
        elif ord(char) < 128:
            # NOTE: hex escapes, not '\,' or '\ ': a filter line is split
            # on ',' and every item stripped before it becomes a regex.
            out.append('\\x%02x' % ord(char))
        else:
            raise ValueError('non-ASCII character in %r' % text)
    return ''.join(out)


def _check_backend(backend: Backend) -> Backend:
    vg = lvm.validate_name(backend.vg, 'VG')
    devices = list(backend.devices or ())
    if not devices:
        raise exception.SharedLVMError(
            reason='no shared devices given for VG %s' % vg)
    for dev in devices:
        if (not isinstance(dev, str) or not _DEVICE_RE.match(dev) or
                '..' in dev.split('/')):
            raise exception.SharedLVMError(
                reason='device %r is not a plain path under /dev' % (dev,))
    if backend.uuid is not None and not (
            isinstance(backend.uuid, str) and _VG_UUID_RE.match(backend.uuid)):
        raise exception.SharedLVMError(
            reason='VG UUID %r is not an LVM UUID' % (backend.uuid,))
    try:
        lock_manager = lockd.check_lock_manager(backend.lock_manager)
    except ValueError as err:
        raise exception.SharedLVMError(reason=str(err))
    return Backend(vg, tuple(devices), backend.uuid, lock_manager)


def check_image_dir(path: str) -> str:
    """Return image_conversion_dir without a trailing '/', else raise."""
    path = (path or '').rstrip('/')
    parts = path.split('/')
    if (not _DIR_RE.match(path or '-') or '..' in parts or '.' in parts or
            '' in parts[1:] or any(path == d or path.startswith(d + '/')
                                   for d in _SYSTEM_DIRS)):
        raise exception.SharedLVMError(
            reason='image_conversion_dir %r must be a plain absolute path '
                   'outside the system directories' % (path,))
    return path


def _expand(tokens: Iterable) -> List[list]:
    """Every flat argv shape that *tokens* stand for."""
    shapes = [[]]
    for token in tokens:
        if isinstance(token, Opt):
            options = [[]] + _expand(token.tokens)
        elif isinstance(token, Rep):
            group = _expand(token.tokens)
            options = []
            for count in range(token.low, token.high + 1):
                for combo in itertools.product(group, repeat=count):
                    options.append([t for part in combo for t in part])
        else:
            options = [[token]]
        shapes = [s + o for s in shapes for o in options]
    return shapes


def _regex(token, values: dict) -> str:
    if isinstance(token, P):
        # NOTE: oslo.rootwrap appends '$' and uses re.match: the group
        # keeps an alternation anchored, and \Z refuses the trailing
        # newline that '$' would let through.
        regex = token.regex
        for key, value in values.items():
            regex = regex.replace('{%s}' % key, value)
        if ',' in regex:
            # NOTE: a ',' (even in a quantifier such as {1,2}) would cut
            # the filter line in two; counted ranges are not used.
            raise ValueError('%r contains a comma' % regex)
        return '(?:%s)\\Z' % regex
    return literal(token) + '\\Z'


def _lines(name: str, tokens: list, values: dict) -> List[str]:
    out = []
    for index, shape in enumerate(_expand(tokens)):
        exe = shape[0]
        out.append('%s_%d: RegExpFilter, %s, root, %s' % (
            name, index, exe, ', '.join(_regex(t, values) for t in shape)))
    return out


def command_line(backend: Backend, image_conversion_dir: str) -> str:
    """The CLI command that generates the filters of one backend."""
    return ('cinder-shared-lvm rootwrap-filters --vg %s --devices %s%s%s '
            '--image-conversion-dir %s' % (
                backend.vg, ','.join(backend.devices),
                ' --vg-uuid %s' % backend.uuid if backend.uuid else '',
                (' --lock-manager %s' % backend.lock_manager
                 if backend.lock_manager != lockd.NONE else ''),
                image_conversion_dir))


def generate(backends: Iterable[Backend],
             image_conversion_dir: str = DEFAULT_IMAGE_CONVERSION_DIR) -> str:
    """The text of a cinder-rootwrap filter file for *backends*.

    :param backends: shared-LVM backends of this cinder-volume host
    :param image_conversion_dir: Cinder's ``image_conversion_dir``
    """
    backends = [_check_backend(b) for b in backends]
    if not backends:
        raise exception.SharedLVMError(reason='no backend given')
    image_dir = check_image_dir(image_conversion_dir)
    lines = [
        '# cinder-rootwrap filters for cinder-shared-lvm: the commands that',
        '# cinder-volume runs as root, each argument pinned. For',
        '# cinder-volume only: compute hosts need none (os-brick runs the',
        '# connector through privsep). Install in /etc/cinder/rootwrap.d/.',
        '#',
        '# GENERATED for the VG, devices and image_conversion_dir below; do',
        '# not edit. Regenerate after changing any of them with:',
    ]
    lines += ['#   %s' % command_line(b, image_dir) for b in backends]
    lines += ['', '[Filters]']
    any_vg = '(?:%s)' % '|'.join(literal(b.vg) for b in backends)
    any_vg_dm = '(?:%s)' % '|'.join(literal(b.vg.replace('-', '--'))
                                    for b in backends)
    for number, backend in enumerate(backends):
        values = {'vg': literal(backend.vg),
                  'any_vg': any_vg, 'any_vg_dm': any_vg_dm,
                  'vg_uuid': (literal(backend.uuid.replace('-', ''))
                              if backend.uuid else '[A-Za-z0-9]{32}'),
                  'vg_dm': literal(backend.vg.replace('-', '--')),
                  'image_dir': literal(image_dir)}
        writer = ('writer', lvm.build_lvm_config(list(backend.devices),
                                                 False))
        reader = ('reader', lvm.build_lvm_config(list(backend.devices),
                                                 True))
        configs = {WRITER: [writer], BOTH: [writer, reader]}
        lines += ['', '# VG %s on %s' % (backend.vg,
                                         ', '.join(backend.devices))]
        shapes = LVM_SHAPES
        if backend.lock_manager == lockd.LVMLOCKD:
            shapes += LVMLOCKD_SHAPES
        for index, (which, cmd, args) in enumerate(shapes):
            for role, config in configs[which]:
                tokens = ['env', 'LC_ALL=C', cmd, '--config', config]
                lines += _lines('b%d_lvm%d_%s_%s' % (number, index, cmd, role),
                                tokens + list(args), values)
        host_shapes = HOST_SHAPES
        if backend.lock_manager == lockd.LVMLOCKD:
            host_shapes += LVMLOCKD_HOST_SHAPES
        for index, shape in enumerate(host_shapes):
            lines += _lines('b%d_host%d_%s' % (number, index, shape[0]),
                            list(shape), values)
    return '\n'.join(lines) + '\n'
