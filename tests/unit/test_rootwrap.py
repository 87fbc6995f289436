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

"""The rootwrap filters, checked with oslo.rootwrap's own matcher.

cinder-rootwrap decides with ``oslo_rootwrap.wrapper.load_filters`` and
``match_filter``; these tests call exactly those on the generated and the
shipped filter files (issue 9, hole 13):

* every command that the unit tests record, and that cinder-volume runs
  through its root helper, must match;
* no command of the hostile table may match.
"""

import glob
import json
import os
import subprocess
import sys

from oslo_rootwrap import filters as rw_filters
from oslo_rootwrap import wrapper
import pytest

from cinder_shared_lvm.cmd import filters as filters_cmd
from cinder_shared_lvm.cmd import main
from cinder_shared_lvm import exception
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm
from cinder_shared_lvm import rootwrap_filters as rf
from tests.unit import cmdrecord
from tests.unit import fakes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, filters_cmd.SAMPLE_PATH)
VG = filters_cmd.SAMPLE_VG
DEVICES = list(filters_cmd.SAMPLE_DEVICES)
WRITER_CONF = lvm.build_lvm_config(DEVICES, False)
READER_CONF = lvm.build_lvm_config(DEVICES, True)
IMAGE_DIR = rf.DEFAULT_IMAGE_CONVERSION_DIR
REPORT = ['--noheadings', '--nosuffix', '--units', 'b', '--separator', '|']
LV_FIELDS = 'lv_name,lv_uuid,lv_size,lv_attr,origin,lv_tags'
LV = 'volume-1e5177e7-95e5-4a0f-b170-e45f4b469f6a'
UUID = 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z'
DM = 'cinder--shared-volume--1e5177e7--95e5--4a0f--b170--e45f4b469f6a'
COPY = ['count=1073741824', 'bs=1M', 'iflag=count_bytes', 'conv=fdatasync']
EXEC_DIRS = os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin').split(':')


def load(text, directory):
    """Filters of one file, as cinder-rootwrap loads its rootwrap.d."""
    directory.mkdir()
    (directory / 'shared-lvm.filters').write_text(text)
    loaded = wrapper.load_filters([str(directory)])
    # NOTE: load_filters always adds oslo.rootwrap's own privsep-helper
    # filter; everything else must come from our file.
    assert len(loaded) > 1
    return loaded


def matching_filter(loaded, argv):
    """The filter cinder-rootwrap would run *argv* with, or None."""
    try:
        return wrapper.match_filter(loaded, list(argv), exec_dirs=EXEC_DIRS)
    except wrapper.FilterMatchNotExecutable as err:
        # A filter matched; only the binary is missing on this machine.
        return err.match
    except wrapper.NoFilterMatched:
        return None


def lvm_argv(cmd, *args, config=WRITER_CONF):
    return ['env', 'LC_ALL=C', cmd, '--config', config] + list(args)


@pytest.fixture(scope='module')
def shipped(tmp_path_factory):
    with open(SAMPLE) as sample:
        return load(sample.read(),
                    tmp_path_factory.mktemp('shipped') / 'rootwrap.d')


# -- the shipped sample -------------------------------------------------------

def test_shipped_sample_is_the_generators_output():
    with open(SAMPLE) as sample:
        assert sample.read() == filters_cmd.sample_text(), (
            'regenerate it: %s --output %s' % (
                rf.command_line(rf.Backend(VG, DEVICES), IMAGE_DIR),
                filters_cmd.SAMPLE_PATH))


def test_shipped_filters_pin_every_argument(shipped):
    ours = [f for f in shipped if f.name != 'privsep-helper']
    assert ours
    for filt in ours:
        assert type(filt) is rw_filters.RegExpFilter, filt.name
        assert filt.run_as == 'root'
        assert filt.args[0] == filt.exec_path + '\\Z', filt.name
        assert all(arg.endswith('\\Z') for arg in filt.args), filt.name


def test_old_filter_file_is_gone():
    etc = os.path.join(ROOT, 'etc', 'cinder-shared-lvm')
    assert sorted(os.path.basename(p) for p in glob.glob(
        os.path.join(etc, '*.filters*'))) == [os.path.basename(SAMPLE)]


def test_every_shape_of_the_table_is_generated():
    text = rf.generate([rf.Backend(VG, DEVICES)])
    names = [line.split(':', 1)[0] for line in text.splitlines()
             if line and not line.startswith(('#', '['))]
    assert len(names) == len(set(names)), 'configparser drops duplicates'
    for index, (which, cmd, _args) in enumerate(rf.LVM_SHAPES):
        assert 'b0_lvm%d_%s_writer_0' % (index, cmd) in names
        assert ('b0_lvm%d_%s_reader_0' % (index, cmd) in names) == (
            which == rf.BOTH)
    for index, shape in enumerate(rf.HOST_SHAPES):
        assert 'b0_host%d_%s_0' % (index, shape[0]) in names


def test_positive_examples_match(shipped):
    """A known-good twin of the hostile commands below, per family."""
    good = [
        lvm_argv('lvremove', '-f', '%s/%s' % (VG, LV)),
        lvm_argv('lvremove', '-f', '--select',
                 'lv_name="%s" && lv_role!={origin}' % LV, VG),
        lvm_argv('lvs', *REPORT, '-o', LV_FIELDS, VG, config=READER_CONF),
        lvm_argv('lvcreate', '-n', LV, '-L', '1g', '--addtag', 'a',
                 '--addtag', 'b', '--addtag', 'c', '-an', '-Zn',
                 '--setautoactivation', 'n', '--yes', VG),
        ['dd', 'if=/dev/zero', 'of=/dev/mapper/%s-cow' % DM] + COPY,
        ['ionice', '-c3', 'dd', 'if=/dev/zero', 'of=/dev/%s/%s' % (VG, LV)]
        + COPY,
        ['dd', 'count=0', 'if=/dev/%s/%s' % (VG, LV),
         'of=/dev/%s/x' % VG, 'oflag=direct'],
        ['qemu-img', 'convert', '-O', 'raw', '/dev/%s/%s' % (VG, LV),
         IMAGE_DIR + '/shared_lvm_upload_1_abc'],
        ['tee', '-a', '/sys/class/scsi_host/host12/scan'],
        ['dmsetup', 'remove', '--force', '--deferred', DM + '-real'],
        ['dmsetup', 'remove', DM],
        ['dmsetup', 'info', '-c', '--noheadings', '--separator', '|', '-o',
         'name,uuid,open,attr'],
        ['dmsetup', 'table', DM],
        ['dmsetup', 'wipe_table', DM],
        ['dmsetup', 'remove', '--deferred', '-u', 'LVM-' + 'a1' * 32 + '-cow'],
        ['blockdev', '--flushbufs', '/dev/mapper/' + DM],
        lvm_argv('vgchange', '--addtag', 'cslvm-writer=cinder:b1', VG),
        ['blockdev', '--flushbufs', '/dev/%s/%s' % (VG, LV)],
    ]
    for argv in good:
        assert matching_filter(shipped, argv) is not None, argv


# -- hostile commands ---------------------------------------------------------

def _exe_config(text):
    return WRITER_CONF + text


# (id, argv, accepted by the filter file this project shipped before)
HOSTILE = [
    ('shell through env', ['env', 'LC_ALL=C', 'env', 'sh', '-c', 'id'],
     True),
    ('shell as the env command', ['env', 'LC_ALL=C', 'sh', '-c', 'id'],
     False),
    ('another binary named lvs',
     ['env', 'LC_ALL=C', '/tmp/lvs', '--config', WRITER_CONF, *REPORT, '-o',
      LV_FIELDS, VG], False),
    ('env setting PATH',
     ['env', 'LC_ALL=C', 'PATH=/tmp', 'lvs', '--config', WRITER_CONF,
      *REPORT, '-o', LV_FIELDS, VG], False),
    ('tee to sudoers', ['tee', '-a', '/etc/sudoers.d/x'], True),
    ('tee out of sysfs',
     ['tee', '-a', '/sys/class/scsi_host/host0/../../../../etc/passwd'],
     True),
    ('dmsetup create',
     ['dmsetup', 'create', 'evil', '--table', '0 8 linear /dev/sda 0'],
     True),
    ('dmsetup remove of another VG',
     ['dmsetup', 'remove', '--force', 'other--vg-volume--1'], True),
    ('dmsetup remove of a device named like ours after a dash',
     ['dmsetup', 'remove', 'cinder--shared--x-y'], True),
    ('dmsetup remove in the VG named cinder-shared-',
     ['dmsetup', 'remove', 'cinder--shared---x'], True),
    ('dmsetup table with keys', ['dmsetup', 'table', '--showkeys'], True),
    ('dmsetup suspend', ['dmsetup', 'suspend', DM], True),
    ('dmsetup remove by UUID with force',
     ['dmsetup', 'remove', '--force', '-u', 'LVM-' + 'a1' * 32], True),
    ('dmsetup wipe_table of another VG',
     ['dmsetup', 'wipe_table', 'vg0-root'], True),
    ('vgchange activating the VG', lvm_argv('vgchange', '-ay', VG), False),
    ('blockdev on a local disk', ['blockdev', '--setrw', '/dev/sda'], True),
    ('blockdev flush of a path out of the VG',
     ['blockdev', '--flushbufs', '/dev/%s/../sda' % VG], True),
    ('dd to a disk outside the VG', ['dd', 'if=/dev/zero', 'of=/dev/sda']
     + COPY, True),
    ('dd over the shared PV itself',
     ['dd', 'if=/dev/zero', 'of=%s' % DEVICES[0]] + COPY, True),
    ('dd out of the VG by ..',
     ['dd', 'if=/dev/zero', 'of=/dev/%s/../sda' % VG] + COPY, True),
    ('dd of a host file into an LV',
     ['dd', 'if=/etc/shadow', 'of=/dev/%s/%s' % (VG, LV)] + COPY, True),
    ('dd over an origin\'s -real layer',
     ['dd', 'if=/dev/zero', 'of=/dev/mapper/%s-real' % DM] + COPY, True),
    ('dd with an extra operand',
     ['dd', 'if=/dev/zero', 'of=/dev/%s/%s' % (VG, LV), 'seek=1'] + COPY,
     True),
    ('ionice running another binary',
     ['ionice', '-c3', '/tmp/dd', 'if=/dev/zero',
      'of=/dev/%s/%s' % (VG, LV)] + COPY, False),
    ('ionice running a shell', ['ionice', '-c3', 'sh', '-c', 'id'], False),
    ('lvremove of another VG', lvm_argv('lvremove', '-f', 'other/volume-1'),
     True),
    ('lvremove of the whole VG', lvm_argv('lvremove', '-f', VG), True),
    ('lvremove --select of every LV',
     lvm_argv('lvremove', '-f', '--select', 'lv_name=~.*', VG), True),
    ('lvremove --select of an origin (its snapshots go with it)',
     lvm_argv('lvremove', '-f', '--select', 'lv_name="%s"' % LV, VG), True),
    ('lvremove --select widened with ||',
     lvm_argv('lvremove', '-f', '--select',
              'lv_name="%s" && lv_role!={origin} || lv_size>0' % LV, VG),
     True),
    ('lvremove --select with a quote in the name',
     lvm_argv('lvremove', '-f', '--select',
              'lv_name="a" || lv_name="b" && lv_role!={origin}', VG), True),
    ('lvremove --select of another VG',
     lvm_argv('lvremove', '-f', '--select',
              'lv_name="%s" && lv_role!={origin}' % LV, 'other'), True),
    ('lvremove with a trailing newline',
     lvm_argv('lvremove', '-f', '%s/%s\n' % (VG, LV)), True),
    ('a metadata write with the read-only config',
     lvm_argv('lvremove', '-f', '%s/%s' % (VG, LV), config=READER_CONF),
     True),
    ('vgremove', lvm_argv('vgremove', '-f', VG), False),
    ('--config with thin_check_executable',
     lvm_argv('lvs', *REPORT, '-o', LV_FIELDS, VG, config=_exe_config(
         'global { thin_check_executable="/tmp/x" } ')), True),
    ('--config with fsadm_executable',
     lvm_argv('lvextend', '-L', '2g', '%s/%s' % (VG, LV),
              config=_exe_config('global { fsadm_executable="/tmp/x" } ')),
     True),
    ('--config with dmeventd executable',
     lvm_argv('lvchange', '-ay', '--yes', '%s/%s' % (VG, LV),
              config=_exe_config('dmeventd { executable="/tmp/x" } ')),
     True),
    ('--config with lvresize_fs_helper_executable',
     lvm_argv('lvextend', '-L', '2g', '%s/%s' % (VG, LV),
              config=_exe_config('global { lvresize_fs_helper_executable='
                                 '"/tmp/x" } ')), True),
    ('--config for other devices',
     lvm_argv('lvs', *REPORT, '-o', LV_FIELDS, VG,
              config=lvm.build_lvm_config(['/dev/sda'], False)), True),
    ('a second --config',
     lvm_argv('lvs', '--config', 'global { thin_check_executable="/x" }',
              *REPORT, '-o', LV_FIELDS, VG), True),
    ('lvextend with a filesystem resize',
     lvm_argv('lvextend', '-r', '-L', '2g', '%s/%s' % (VG, LV)), True),
    ('lvcreate of a thin pool',
     lvm_argv('lvcreate', '-T', '-L', '1g', '%s/pool' % VG), True),
    ('lvchange of an LV in another VG',
     lvm_argv('lvchange', '-ay', '--yes', 'other/volume-1'), True),
    ('lvchange of an LVM-internal LV',
     lvm_argv('lvchange', '-ay', '--yes', '%s/pool_tmeta' % VG), True),
    ('qemu-img writing /etc',
     ['qemu-img', 'convert', '-O', 'raw', '/dev/%s/%s' % (VG, LV),
      '/etc/shadow'], True),
    ('qemu-img reading a host file onto an LV',
     ['qemu-img', 'convert', '-O', 'raw', '-t', 'none', '-f', 'raw',
      '/etc/shadow', '/dev/%s/%s' % (VG, LV)], True),
    ('qemu-img out of image_conversion_dir by ..',
     ['qemu-img', 'convert', '-O', 'raw', '/dev/%s/%s' % (VG, LV),
      IMAGE_DIR + '/../../../../etc/cron.d/x'], True),
    ('qemu-img with a backing file option',
     ['qemu-img', 'convert', '-O', 'qcow2', '-o', 'backing_file=/etc/shadow',
      '/dev/%s/%s' % (VG, LV), IMAGE_DIR + '/x'], True),
    ('qemu-img with another input format',
     ['qemu-img', 'convert', '-O', 'raw', '-t', 'none', '-f', 'luks',
      IMAGE_DIR + '/x', '/dev/%s/%s' % (VG, LV)], True),
]


@pytest.mark.parametrize('argv', [h[1] for h in HOSTILE],
                         ids=[h[0] for h in HOSTILE])
def test_hostile_command_is_refused(shipped, argv):
    filt = matching_filter(shipped, argv)
    assert filt is None, 'accepted by %s' % filt.name


def test_hostile_table_is_large_enough():
    assert len(HOSTILE) >= 20
    assert len({h[0] for h in HOSTILE}) == len(HOSTILE)


# The file this project shipped before issue 9, verbatim.
OLD_FILTERS = """[Filters]
env: EnvFilter, env, root, LC_ALL=C
lvs: EnvFilter, env, root, LC_ALL=C, lvs
vgs: EnvFilter, env, root, LC_ALL=C, vgs
pvs: EnvFilter, env, root, LC_ALL=C, pvs
lvcreate: EnvFilter, env, root, LC_ALL=C, lvcreate
lvremove: EnvFilter, env, root, LC_ALL=C, lvremove
lvextend: EnvFilter, env, root, LC_ALL=C, lvextend
lvrename: EnvFilter, env, root, LC_ALL=C, lvrename
lvchange: EnvFilter, env, root, LC_ALL=C, lvchange
lvconvert: EnvFilter, env, root, LC_ALL=C, lvconvert
blockdev: CommandFilter, blockdev, root
dmsetup: CommandFilter, dmsetup, root
dd: CommandFilter, dd, root
qemu-img: CommandFilter, qemu-img, root
tee: CommandFilter, tee, root
"""


def test_the_matcher_caught_the_old_file(tmp_path):
    """The hostile table has teeth: the old file let these through."""
    old = load(OLD_FILTERS, tmp_path / 'old')
    for name, argv, old_accepted in HOSTILE:
        assert (matching_filter(old, argv) is not None) == old_accepted, name


# -- every recorded command ---------------------------------------------------

def _unit_modules():
    here = os.path.dirname(os.path.abspath(__file__))
    return {'tests/unit/' + os.path.basename(p)
            for p in glob.glob(os.path.join(here, 'test_*.py'))
            if not p.endswith('test_rootwrap.py')}


def _record_of_this_session(request):
    """This session's record if it ran the whole unit suite, else None."""
    session = request.session
    ran = {item.nodeid.split('::', 1)[0] for item in session.items}
    if (getattr(request.config, 'shared_lvm_deselected', True) or
            not _unit_modules() <= ran):
        return None
    return {'calls': cmdrecord.RECORD.calls,
            'backends': [[vg, list(devs), conf, manager]
                         for vg, devs, conf, manager in
                         cmdrecord.RECORD.backends]}


def _record_of_a_full_run(tmp_path):
    """Run the unit suite in a subprocess that records its commands."""
    out = tmp_path / 'record.json'
    env = dict(os.environ, OS_CINDER_DISABLE_EVENTLET_PATCHING='true')
    env[cmdrecord.RECORD_ENV] = str(out)
    proc = subprocess.run(
        [sys.executable, '-m', 'pytest', 'tests/unit', '-q',
         '-p', 'no:cacheprovider', '--ignore=tests/unit/test_rootwrap.py'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out) as record:
        return json.load(record)


# Families the unit tests exercise; the record must hold each of them, so
# that a broken recorder fails here instead of passing on nothing.
EXPECTED_FAMILIES = {'vgs', 'lvs', 'lvcreate', 'lvremove', 'lvextend',
                     'lvrename', 'lvconvert', 'lvchange', 'dd', 'ionice',
                     'qemu-img', 'blockdev', 'tee', 'dmsetup'}


def _family(argv):
    return argv[2] if argv[:2] == ['env', 'LC_ALL=C'] else argv[0]


def test_every_recorded_command_matches(request, tmp_path):
    record = (_record_of_this_session(request) or
              _record_of_a_full_run(tmp_path))
    calls = [c for c in record['calls'] if c['scope'] == cmdrecord.ROOTWRAP]
    assert {_family(c['argv']) for c in calls} >= EXPECTED_FAMILIES
    # The connector's discovery is skipped (os-brick runs it through
    # privsep): it only reads which VGs this host sees, lvm.conf's
    # filters to confine that scan, and (lvmlockd mode) which lockspaces
    # lvmlockd has joined.
    assert {_family(c['argv']) for c in record['calls']
            if c['scope'] == cmdrecord.OS_BRICK_PRIVSEP} <= {
                'vgs', 'lvmconfig', 'lvmlockctl'}
    # NOTE: listing /sys/class/scsi_host needs no root; anything else
    # without run_as_root would fail on a real host.
    assert {c['argv'][0] for c in record['calls']
            if c['scope'] == cmdrecord.NOT_ROOT} <= {'ls'}
    # One filter file for every VG the tests configured (a host may serve
    # several), with image_conversion_dir where each test put the image.
    # A VG that some test ran in the lvmlockd mode gets that mode's
    # filters (a superset); test_lvmlockd_shapes_only_in_that_mode checks
    # that the default mode's filters refuse them.
    modes = {}
    for vg, devs, _conf, manager in record['backends']:
        if manager == lockd.LVMLOCKD or (vg, tuple(devs)) not in modes:
            modes[(vg, tuple(devs))] = manager or lockd.NONE
    backends = sorted(modes.items())
    by_dir = {}
    unmatched = []
    for call in calls:
        image_dir = call['tmp'] or IMAGE_DIR
        if image_dir not in by_dir:
            by_dir[image_dir] = load(rf.generate(
                [rf.Backend(vg, devs, None, manager)
                 for (vg, devs), manager in backends],
                image_dir), tmp_path / ('d%d' % len(by_dir)))
        if matching_filter(by_dir[image_dir], call['argv']) is None:
            unmatched.append(call)
    assert not unmatched, (
        '%d of %d commands match no filter; add their shapes to '
        'cinder_shared_lvm/rootwrap_filters.py:\n%s' % (
            len(unmatched), len(calls), _shapes(unmatched)))


def _shapes(calls):
    """One line per distinct argv, its --config named, with a test."""
    seen = {}
    for call in calls:
        argv = list(call['argv'])
        if '--config' in argv:
            at = argv.index('--config') + 1
            argv[at] = ('<reader config>' if 'metadata_read_only' in
                        argv[at] else '<writer config>')
        seen.setdefault(' '.join(argv), call['nodeid'])
    return '\n'.join('%s\n    (%s)' % item for item in sorted(seen.items()))


# -- the generator's input checks ---------------------------------------------

@pytest.mark.parametrize('backend', [
    rf.Backend('-vg', DEVICES),
    rf.Backend('vg$(id)', DEVICES),
    rf.Backend(VG, []),
    rf.Backend(VG, ['sdb']),
    rf.Backend(VG, ['/dev/disk/../sda']),
    rf.Backend(VG, ['/etc/passwd']),
    rf.Backend(VG, ['/dev/sdb|.*']),
    rf.Backend(VG, ['/dev/sdb\n']),
    rf.Backend(VG, DEVICES, 'not-a-uuid'),
    rf.Backend(VG, DEVICES, UUID + '\n'),
    rf.Backend(VG, DEVICES, None, 'dlm'),
    rf.Backend(VG, DEVICES, None, 'lvmlockd;sh'),
])
def test_generator_refuses_bad_backends(backend):
    with pytest.raises(exception.SharedLVMError):
        rf.generate([backend])


@pytest.mark.parametrize('path', [
    '', 'relative/dir', '/', '/etc', '/etc/cinder', '/dev/shm', '/usr/lib',
    '/var/lib/cinder/../../etc', '/var/lib/cinder/./x', '/tmp/a,b',
    '/tmp/a b', '/tmp//x'])
def test_generator_refuses_bad_image_dirs(path):
    with pytest.raises(exception.SharedLVMError):
        rf.generate([rf.Backend(VG, DEVICES)], path)


def test_generator_refuses_no_backend():
    with pytest.raises(exception.SharedLVMError):
        rf.generate([])


def test_literal_survives_the_filter_line_split():
    text = ' a,b | "c" {d} \\e$ '
    regex = rf.literal(text)
    assert ',' not in regex and regex == regex.strip()
    import re
    assert re.match(regex + r'\Z', text)
    assert not re.match(regex + r'\Z', text + 'x')


def test_image_dir_trailing_slash_is_dropped(tmp_path):
    loaded = load(rf.generate([rf.Backend(VG, DEVICES)], '/srv/conv/'),
                  tmp_path / 'd')
    argv = ['qemu-img', 'convert', '-O', 'raw', '/dev/%s/%s' % (VG, LV),
            '/srv/conv/f']
    assert matching_filter(loaded, argv) is not None
    assert matching_filter(loaded, argv[:-1] + ['/srv/conv//f']) is None


def test_vg_uuid_pins_dm_uuids_to_the_vg(tmp_path):
    loaded = load(rf.generate([rf.Backend(VG, DEVICES, UUID)]),
                  tmp_path / 'd')
    ours = 'LVM-%s%s' % (UUID.replace('-', ''), 'b2' * 16)
    other = 'LVM-%s%s' % ('c3' * 16, 'b2' * 16)
    for argv in (['dmsetup', 'remove', '-u', ours],
                 ['dmsetup', 'remove', '--deferred', '-u', ours + '-cow']):
        assert matching_filter(loaded, argv) is not None, argv
    assert matching_filter(loaded, ['dmsetup', 'remove', '--deferred',
                                    '-u', other]) is None
    # Without the VG's UUID, any LVM dm UUID passes (the documented gap).
    assert matching_filter(load(rf.generate([rf.Backend(VG, DEVICES)]),
                                tmp_path / 'e'),
                           ['dmsetup', 'remove', '-u', other]) is not None


LOCKD_ONLY = [
    lvm_argv('lvchange', '-asy', '--yes', '%s/%s' % (VG, LV)),
    lvm_argv('lvchange', '-asy', '--yes', '%s/%s' % (VG, LV),
             config=READER_CONF),
    lvm_argv('vgchange', '--lockstart', VG),
    ['lvmlockctl', '--info'],
]


def test_lvmlockd_shapes_only_in_that_mode(tmp_path):
    default = load(rf.generate([rf.Backend(VG, DEVICES)]), tmp_path / 'd')
    lockd_mode = load(rf.generate([rf.Backend(VG, DEVICES, None,
                                              lockd.LVMLOCKD)]),
                      tmp_path / 'e')
    for argv in LOCKD_ONLY:
        assert matching_filter(default, argv) is None, argv
        assert matching_filter(lockd_mode, argv) is not None, argv


@pytest.mark.parametrize('argv', [
    # the lockspace of another VG, a stop (which would drop every lock of
    # this host at once), a shared start by the read-only config
    lvm_argv('vgchange', '--lockstart', 'other-vg'),
    lvm_argv('vgchange', '--lockstop', VG),
    lvm_argv('vgchange', '--lockstart', VG, config=READER_CONF),
    lvm_argv('vgchange', '--lockstart'),
    lvm_argv('vgchange', '--lockstart', VG, '--lock-opt', 'force'),
    lvm_argv('vgchange', '--locktype', 'none', VG),
    lvm_argv('lvchange', '-asy', '--yes', 'other-vg/' + LV),
    lvm_argv('lvchange', '-asy', '--yes', VG),
    lvm_argv('lvchange', '-asy', '--yes', '%s/%s' % (VG, LV),
             '--lockopt', 'skiplv'),
    ['lvmlockctl', '--kill', VG],
    ['lvmlockctl', '--drop', VG],
    ['sanlock', 'client', 'shutdown', '-f', '1'],
])
def test_lvmlockd_mode_refuses_hostile_commands(tmp_path, argv):
    loaded = load(rf.generate([rf.Backend(VG, DEVICES, None,
                                          lockd.LVMLOCKD)]), tmp_path / 'd')
    assert matching_filter(loaded, argv) is None


def test_lvmlockd_filters_name_their_mode_in_the_regenerate_line():
    text = rf.generate([rf.Backend(VG, DEVICES, None, lockd.LVMLOCKD)])
    assert '--lock-manager lvmlockd' in text
    assert '--lock-manager' not in rf.generate([rf.Backend(VG, DEVICES)])


def test_two_backends_do_not_mix(tmp_path):
    """Each VG's commands carry that VG's own --config."""
    other = ['/dev/mapper/mpathz']
    loaded = load(rf.generate([rf.Backend(VG, DEVICES),
                               rf.Backend('vg2', other)]), tmp_path / 'd')
    mine = lvm_argv('lvremove', '-f', '%s/%s' % (VG, LV))
    assert matching_filter(loaded, mine) is not None
    theirs = lvm_argv('lvremove', '-f', 'vg2/x',
                      config=lvm.build_lvm_config(other, False))
    assert matching_filter(loaded, theirs) is not None
    crossed = lvm_argv('lvremove', '-f', 'vg2/x')
    assert matching_filter(loaded, crossed) is None


def test_a_copy_between_two_pools_and_no_further(tmp_path):
    """dd may read one of this host's VGs and write another (a clone
    between pools), never a VG that no backend names."""
    loaded = load(rf.generate([rf.Backend(VG, DEVICES),
                               rf.Backend('vg2', ['/dev/mapper/mpathz'])]),
                  tmp_path / 'd')
    across = ['dd', 'if=/dev/%s/%s' % (VG, LV), 'of=/dev/vg2/volume-2']
    assert matching_filter(loaded, across + COPY) is not None
    for bad in (['dd', 'if=/dev/vg3/x', 'of=/dev/vg2/volume-2'],
                ['dd', 'if=/dev/%s/%s' % (VG, LV), 'of=/dev/vg3/x'],
                ['dd', 'if=/dev/vg2/x', 'of=/dev/mapper/vg3-x']):
        assert matching_filter(loaded, bad + COPY) is None, bad


# -- the CLI ------------------------------------------------------------------

def test_cli_writes_the_filters(tmp_path):
    out = tmp_path / 'shared-lvm.filters'
    cinder_conf = tmp_path / 'cinder.conf'
    cinder_conf.write_text(
        '[DEFAULT]\nstate_path = /srv/cinder\n'
        '[shared1]\nshared_lvm_volume_group = vg1\n'
        'shared_lvm_devices = /dev/mapper/mpatha,/dev/mapper/mpathb\n')
    stdout = _Stream()
    code = main.main(['rootwrap-filters', '--config-file', str(cinder_conf),
                      '--backend', 'shared1', '--output', str(out)],
                     execute=_no_execute, stdout=stdout, stderr=_Stream())
    assert code == 0
    expected = rf.generate(
        [rf.Backend('vg1', ['/dev/mapper/mpatha', '/dev/mapper/mpathb'])],
        '/srv/cinder/conversion')
    assert out.read_text() == expected
    assert ('rootwrap-filters --vg vg1 --devices /dev/mapper/mpatha,'
            '/dev/mapper/mpathb --image-conversion-dir /srv/cinder/conversion'
            in expected)
    assert str(out) in stdout.text


def test_cli_writes_one_block_per_pool_of_a_multi_vg_backend(tmp_path):
    """shared_lvm_volume_groups: one pvs tells which device holds which
    VG, and each VG's block pins a --config with its own devices only
    (what the driver's pool drivers run)."""
    out = tmp_path / 'shared-lvm.filters'
    cinder_conf = tmp_path / 'cinder.conf'
    cinder_conf.write_text(
        '[DEFAULT]\nstate_path = /srv/cinder\n'
        '[shared1]\nshared_lvm_volume_groups = vga, vgb\n'
        'shared_lvm_devices = /dev/mapper/mpatha,/dev/mapper/mpathb\n')
    ran = []

    def execute(*argv, **kwargs):
        ran.append(fakes.strip_config(argv)[0])
        return ('  vgb|/dev/mapper/mpatha|1|0\n'
                '  vga|/dev/mapper/mpathb|1|0\n', '')
    code = main.main(['rootwrap-filters', '--config-file', str(cinder_conf),
                      '--backend', 'shared1', '--output', str(out)],
                     execute=execute, stdout=_Stream(), stderr=_Stream())
    assert code == 0 and ran == ['pvs']
    assert out.read_text() == rf.generate(
        [rf.Backend('vga', ['/dev/mapper/mpathb']),
         rf.Backend('vgb', ['/dev/mapper/mpatha'])],
        '/srv/cinder/conversion')


def test_cli_wants_one_vg_of_a_multi_vg_backend_for_other_commands(
        tmp_path):
    cinder_conf = tmp_path / 'cinder.conf'
    cinder_conf.write_text(
        '[shared1]\nshared_lvm_volume_groups = vga, vgb\n'
        'shared_lvm_devices = /dev/mapper/mpatha,/dev/mapper/mpathb\n')
    stderr = _Stream()
    code = main.main(['check', '--config-file', str(cinder_conf),
                      '--backend', 'shared1'], execute=_no_execute,
                     stdout=_Stream(), stderr=stderr)
    assert code == 2 and 'give --vg' in stderr.text
    stderr = _Stream()
    code = main.main(['prepare', '--config-file', str(cinder_conf),
                      '--backend', 'shared1', '--vg', 'vgb'],
                     execute=_no_execute, stdout=_Stream(), stderr=stderr)
    assert code == 2 and 'prepare --devices' in stderr.text


def test_cli_prints_to_stdout_and_takes_an_image_dir():
    stdout = _Stream()
    argv = ['rootwrap-filters', '--vg', VG, '--devices', DEVICES[0],
            '--image-conversion-dir', '/srv/conv', '--vg-uuid', UUID]
    assert main.main(argv, execute=_no_execute, stdout=stdout,
                     stderr=_Stream()) == 0
    assert stdout.text == rf.generate([rf.Backend(VG, DEVICES, UUID)],
                                      '/srv/conv')
    assert '--vg-uuid %s' % UUID in stdout.text


@pytest.mark.parametrize('extra', [
    ['--image-conversion-dir', '/etc'],
    ['--lvm-extra-config', 'global { activation=0 }'],
    ['--vg-uuid', 'x$(id)'],
])
def test_cli_refuses_bad_input(extra):
    stderr = _Stream()
    code = main.main(['rootwrap-filters', '--vg', VG, '--devices',
                      DEVICES[0]] + extra, execute=_no_execute,
                     stdout=_Stream(), stderr=stderr)
    assert code == 2
    assert 'Nothing was written' in stderr.text


class _Stream(object):
    def __init__(self):
        self.text = ''

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def _no_execute(*argv, **kwargs):
    raise AssertionError('rootwrap-filters ran %r' % (argv,))
