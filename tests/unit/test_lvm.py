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

"""Unit tests of the LVM command layer, against a recording executor.

They pin the exact argv of every method and the ``--config`` that every
command carries (safety rule 1, 2 and 8).
"""

import pytest
from oslo_concurrency import processutils
from os_brick.local_dev import lvm as brick_lvm

from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm
from tests.unit import fakes

VG = 'cinder-shared'
DEV = '/dev/disk/by-id/wwn-0x600a.1'
GIB = 1 << 30
LV_FIELDS = 'lv_name,lv_uuid,lv_size,lv_attr,origin,lv_tags'
VG_FIELDS = ('vg_name,vg_uuid,vg_size,vg_free,lv_count,vg_extent_size,'
             'vg_mda_size,vg_mda_free,vg_autoactivation')
REPORT = ('--noheadings', '--nosuffix', '--units', 'b', '--separator', '|')
LVS_VG = ('lvs',) + REPORT + ('-o', LV_FIELDS, VG)
VGS = ('vgs',) + REPORT + ('-o', VG_FIELDS, '--readonly', VG)
UUID = 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z'

VG_ROW = '  cinder-shared|%s|%d|%d|3|4194304|1044480|520192|\n' % (
    UUID, 100 * GIB, 80 * GIB)
LV_ROWS = ('  volume-a|uuid-a|%d|owi-a-----||cinder,x=1\n'
           '  volume-b|uuid-b|%d|-wi-ao----||\n'
           '  _snapshot-c|uuid-c|%d|swi-------|volume-a|\n'
           % (10 * GIB, 5 * GIB, 10 * GIB))


def lvs_of(name):
    return ('lvs',) + REPORT + ('-o', LV_FIELDS, '%s/%s' % (VG, name))


@pytest.fixture
def fake():
    return fakes.FakeExecutor()


def make(fake, role=lvm.WRITER, **kwargs):
    kwargs.setdefault('check_vg', False)
    return lvm.SharedLVM(VG, [DEV], role=role, executor=fake,
                         root_helper='sudo', **kwargs)


@pytest.fixture
def writer(fake):
    return make(fake)


@pytest.fixture
def reader(fake):
    return make(fake, lvm.READER)


# -- the --config every command carries (rule 2) ---------------------------

def test_config_confines_scanning_to_the_shared_devices():
    conf = lvm.build_lvm_config([DEV, '/dev/mapper/mpatha'], False)
    filters = ('["a|^/dev/disk/by\\\\-id/wwn\\\\-0x600a\\\\.1$|",'
               '"a|^/dev/mapper/mpatha$|","r|.*|"]')
    assert 'devices { filter=%s ' % filters in conf
    assert ' global_filter=%s ' % filters in conf
    for setting in ('obtain_device_list_from_udev=0', 'use_devicesfile=0',
                    'hints="none"', 'scan_lvs=0'):
        assert setting in conf
    assert 'metadata_read_only' not in conf
    assert 'backup=0' not in conf


def test_config_of_a_reader_is_read_only():
    conf = lvm.build_lvm_config([DEV], True)
    assert 'global { metadata_read_only=1 }' in conf
    assert 'backup { backup=0 archive=0 }' in conf


def test_config_appends_extra_text():
    conf = lvm.build_lvm_config([DEV], True, 'global { activation=0 } ')
    assert conf.endswith('global { activation=0 } ')


def test_config_with_no_devices_accepts_nothing():
    conf = lvm.build_lvm_config([], False)
    assert 'filter=["r|.*|"]' in conf


def test_config_without_a_device_list_sets_no_filter():
    conf = lvm.build_lvm_config(None, True)
    assert 'filter' not in conf and 'hints="none"' in conf


def test_config_escapes_quotes_and_backslashes():
    conf = lvm.build_lvm_config(['/dev/a"b\\c'], False)
    assert '"a|^/dev/a\\"b\\\\\\\\c$|"' in conf


def test_every_command_carries_the_config_and_prefix(fake, writer):
    writer.create_volume('volume-1', '1g')
    writer.list_lvs()
    writer.activate_lv('volume-1')
    for argv, kwargs in fake.calls:
        assert argv[:2] == ('env', 'LC_ALL=C')
        assert argv[3] == '--config' and argv[4] == writer.lvm_config
        assert kwargs == {'root_helper': 'sudo', 'run_as_root': True}


# -- construction ----------------------------------------------------------

def test_construction_reads_the_vg(fake):
    fake.add(('vgs',), (VG_ROW, ''))
    fake.add(('lvs',), (LV_ROWS, ''))
    vg = make(fake, check_vg=True)
    assert fake.commands == [VGS, LVS_VG]
    assert vg.vg_uuid == UUID
    assert vg.vg_size == 100.0 and vg.vg_free_space == 80.0
    assert vg.vg_lv_count == 3
    assert vg.vg_extent_size == 4194304
    assert vg.vg_mda_size == 1044480 and vg.vg_mda_free == 520192
    assert vg.vg_autoactivation == ''
    # snapshots do not count as provisioned volumes
    assert vg.vg_provisioned_capacity == 15.0


def test_construction_vg_absent(fake):
    fake.add(('vgs',), fakes.pe_error(5, 'Volume group "x" not found'))
    with pytest.raises(exception.VolumeGroupNotFound, match=DEV):
        make(fake, check_vg=True)


def test_construction_without_devices_is_refused(fake):
    with pytest.raises(exception.SharedLVMError, match='shared_lvm_devices'):
        lvm.SharedLVM(VG, [], executor=fake)
    assert fake.calls == []


def test_construction_with_unknown_role_is_refused(fake):
    with pytest.raises(ValueError):
        lvm.SharedLVM(VG, [DEV], role='admin', executor=fake)


@pytest.mark.parametrize('name', ['; rm -rf /', '-x', '..', '', None])
def test_construction_with_hostile_vg_name_runs_nothing(fake, name):
    with pytest.raises(exception.InvalidName):
        lvm.SharedLVM(name, [DEV], executor=fake)
    assert fake.calls == []


# -- reports ---------------------------------------------------------------

def test_vg_report(fake, writer):
    fake.add(('vgs',), (VG_ROW + '  other|x|1|1|0|1|1|1|enabled\n', ''))
    row = writer.vg_report()
    assert row['vg_uuid'] == UUID and row['vg_mda_free'] == '520192'
    assert fake.commands == [VGS]


def test_vg_report_absent_vg_is_none(fake, writer):
    fake.add(('vgs',), fakes.pe_error(5, 'not found'))
    assert writer.vg_report() is None


def test_list_lvs_parses_state_and_tags(fake, writer):
    fake.add(('lvs',), (LV_ROWS, ''))
    lvs = writer.list_lvs()
    assert fake.commands == [LVS_VG]
    assert [lv['name'] for lv in lvs] == ['volume-a', 'volume-b',
                                          '_snapshot-c']
    a, b, c = lvs
    assert a == {'name': 'volume-a', 'uuid': 'uuid-a', 'size_bytes': 10 * GIB,
                 'attr': 'owi-a-----', 'origin': None, 'is_snapshot': False,
                 'has_snapshots': True, 'active': True, 'open': False,
                 'tags': ['cinder', 'x=1']}
    assert b['active'] and b['open'] and not b['has_snapshots']
    assert c['is_snapshot'] and c['origin'] == 'volume-a'
    assert not c['active']


def test_list_lvs_does_not_pass_readonly(fake, writer):
    # NOTE: lvs --readonly never asks device-mapper, so it would report
    # every LV inactive and closed, and a detach would do nothing.
    writer.list_lvs()
    writer.get_lv('volume-a')
    assert all('--readonly' not in c for c in fake.commands)


def test_list_lvs_of_the_vg_fails_on_exit_5(fake, writer):
    fake.add(('lvs',), fakes.pe_error(5, 'Volume group not found'))
    with pytest.raises(exception.LVMCommandFailed):
        writer.list_lvs()


def test_get_lv(fake, writer):
    fake.add(('lvs',), ('  volume-b|uuid-b|5|-wi-ao----||\n', ''))
    assert writer.get_lv('volume-b')['uuid'] == 'uuid-b'
    assert fake.commands == [lvs_of('volume-b')]


def test_get_lv_absent_is_none(fake, writer):
    fake.add(('lvs',), fakes.pe_error(5, 'Failed to find logical volume'))
    assert writer.get_lv('volume-b') is None
    assert writer.get_volume('volume-b') is None
    assert not writer.lv_has_snapshot('volume-b')
    assert not writer.lv_is_open('volume-b')
    assert not writer._lv_is_active('volume-b')


def test_state_helpers(fake, writer):
    fake.add(lvs_of('volume-a'), ('  volume-a|u|1|owi-a-----||\n', ''))
    fake.add(lvs_of('volume-b'), ('  volume-b|u|1|-wi-ao----||\n', ''))
    assert writer.lv_has_snapshot('volume-a')
    assert writer._lv_is_active('volume-a')
    assert not writer.lv_is_open('volume-a')
    assert writer.lv_is_open('volume-b')


def test_get_volumes_in_os_brick_shape(fake, writer):
    fake.add(('lvs',), (LV_ROWS, ''))
    assert writer.get_volumes()[1] == {'vg': VG, 'name': 'volume-b',
                                       'size': '5.00'}
    fake.add(('lvs',), ('  volume-b|u|%d|-wi-------||\n' % GIB, ''))
    assert writer.get_volume('volume-b') == {'vg': VG, 'name': 'volume-b',
                                             'size': '1.00'}
    assert fake.commands[-1] == lvs_of('volume-b')


def test_snapshots_of(fake, writer):
    fake.add(('lvs',), (LV_ROWS, ''))
    assert writer.snapshots_of('volume-a') == ['_snapshot-c']
    assert writer.snapshots_of('volume-b') == []
    assert writer.snapshots_of('volume-b', lvs=[]) == []
    assert len(fake.calls) == 2


def test_get_physical_volumes(fake, writer):
    fake.add(('pvs',), ('  cinder-shared|%s|100|20\n  other|/dev/sdz|1|1\n'
                        % DEV, ''))
    assert writer.get_physical_volumes() == [
        {'vg': VG, 'name': DEV, 'size': '100', 'available': '20'}]
    assert fake.commands == [('pvs',) + REPORT + (
        '-o', 'vg_name,pv_name,pv_size,pv_free', '--readonly')]


def test_unparsable_report_lines_are_skipped(fake, writer):
    fake.add(('lvs',), ('garbage\n\n  volume-b|u|1|-wi-------||\n'
                        '  a|b|c\n', ''))
    assert [lv['name'] for lv in writer.list_lvs()] == ['volume-b']


def test_empty_report(fake, writer):
    fake.add(('lvs',), (None, ''))
    assert writer.list_lvs() == []


def test_visible_vgs(fake):
    fake.add(('vgs',), ('  a|uuid-a\n  b|uuid-b\n junk\n', ''))
    assert lvm.visible_vgs(fake, 'sudo', [DEV]) == [
        {'name': 'a', 'uuid': 'uuid-a'}, {'name': 'b', 'uuid': 'uuid-b'}]
    argv, kwargs = fake.calls[0]
    assert fakes.strip_config(argv) == (
        'vgs', '--noheadings', '--separator', '|', '-o', 'vg_name,vg_uuid',
        '--readonly')
    assert fakes.config_of(argv) == lvm.build_lvm_config([DEV], True)
    assert kwargs == {'root_helper': 'sudo', 'run_as_root': True}


# -- metadata writes -------------------------------------------------------

def test_create_volume(fake, writer):
    writer.create_volume('volume-1', '10g', tags=('cinder', 'id=1'))
    assert fake.commands == [(
        'lvcreate', '-n', 'volume-1', '-L', '10g', '--addtag', 'cinder',
        '--addtag', 'id=1', '-an', '-Zn', '--setautoactivation', 'n',
        '--yes', VG)]


@pytest.mark.parametrize('kwargs', [{'lv_type': 'thin'},
                                    {'mirror_count': 1}])
def test_create_volume_refuses_thin_and_mirrors(fake, writer, kwargs):
    with pytest.raises(exception.SharedLVMError):
        writer.create_volume('volume-1', '1g', **kwargs)
    assert fake.calls == []


def test_create_snapshot_with_size(fake, writer):
    writer.create_lv_snapshot('_snapshot-1', 'volume-1', size_str='2g',
                              tags=('cinder',))
    assert fake.commands == [(
        'lvcreate', '-s', '-n', '_snapshot-1', '-L', '2g', '--addtag',
        'cinder', '--yes', VG + '/volume-1')]


def test_create_snapshot_with_a_chunk_size(fake, writer):
    writer.create_lv_snapshot('_snapshot-1', 'volume-1', size_str='2g',
                              chunk_size='64k')
    assert fake.commands == [(
        'lvcreate', '-s', '-n', '_snapshot-1', '-L', '2g', '-c', '64k',
        '--yes', VG + '/volume-1')]


@pytest.mark.parametrize('chunk', ['3k', '1m', '1024k', '64K', '64k;id',
                                   '-64k', '', 64])
def test_a_bad_chunk_size_runs_nothing(fake, writer, chunk):
    with pytest.raises(exception.InvalidSize):
        writer.create_lv_snapshot('_snapshot-1', 'volume-1', size_str='2g',
                                  chunk_size=chunk or '0k')
    assert fake.calls == []


def test_create_snapshot_sized_like_its_origin(fake, writer):
    fake.add(('lvs',), ('  volume-1|u|%d|-wi-------||\n' % GIB, ''))
    writer.create_lv_snapshot('_snapshot-1', 'volume-1')
    assert fake.commands == [
        lvs_of('volume-1'),
        ('lvcreate', '-s', '-n', '_snapshot-1', '-L', '%db' % GIB,
         '--yes', VG + '/volume-1')]


def test_create_snapshot_of_missing_origin(fake, writer):
    fake.add(('lvs',), fakes.pe_error(5, 'Failed to find'))
    with pytest.raises(exception.LVNotFound):
        writer.create_lv_snapshot('_snapshot-1', 'volume-1')
    assert fake.names() == ['lvs']


@pytest.mark.parametrize('call,argv', [
    (lambda v: v.delete('volume-1'), ('lvremove', '-f', VG + '/volume-1')),
    (lambda v: v.extend_volume('volume-1', '12g'),
     ('lvextend', '-L', '12g', VG + '/volume-1')),
    (lambda v: v.rename_volume('volume-1', 'volume-2'),
     ('lvrename', VG, 'volume-1', 'volume-2')),
    (lambda v: v.revert('_snapshot-1'),
     ('lvconvert', '--merge', '--interval', '1', VG + '/_snapshot-1')),
    (lambda v: v.add_tag('volume-1', 'cinder'),
     ('lvchange', '--addtag', 'cinder', VG + '/volume-1')),
    (lambda v: v.del_tag('volume-1', 'cinder'),
     ('lvchange', '--deltag', 'cinder', VG + '/volume-1')),
], ids=['delete', 'extend', 'rename', 'revert', 'add_tag', 'del_tag'])
def test_write_argv(fake, writer, call, argv):
    call(writer)
    assert fake.commands == [argv]


WRITES = {
    'create_volume': lambda v: v.create_volume('volume-1', '1g'),
    'create_lv_snapshot': lambda v: v.create_lv_snapshot(
        '_snapshot-1', 'volume-1', size_str='1g'),
    'delete': lambda v: v.delete('volume-1'),
    'extend_volume': lambda v: v.extend_volume('volume-1', '2g'),
    'rename_volume': lambda v: v.rename_volume('volume-1', 'volume-2'),
    'revert': lambda v: v.revert('_snapshot-1'),
    'add_tag': lambda v: v.add_tag('volume-1', 'x'),
    'del_tag': lambda v: v.del_tag('volume-1', 'x'),
}


@pytest.mark.parametrize('call', list(WRITES.values()), ids=list(WRITES))
def test_reader_refuses_every_write_and_runs_nothing(fake, reader, call):
    with pytest.raises(exception.ReadOnlyRole, match=VG):
        call(reader)
    assert fake.calls == []


# -- activation (either role) ----------------------------------------------

@pytest.mark.parametrize('role', [lvm.WRITER, lvm.READER])
def test_activation_argv(fake, role):
    vg = make(fake, role)
    vg.activate_lv('volume-1')
    vg.activate_lv('volume-1', exclusive=True)
    vg.refresh_lv('volume-1')
    vg.deactivate_lv('volume-1')
    ref = VG + '/volume-1'
    # NOTE: LVM 2.03.16 refuses "-ay --refresh" in one command.
    assert fake.commands == [('lvchange', '-ay', '--yes', ref),
                             ('lvchange', '-aey', '--yes', ref),
                             ('lvchange', '--refresh', ref),
                             ('lvchange', '-an', '--yes', ref)]


def test_paths(writer):
    assert writer.lv_ref('volume-1') == VG + '/volume-1'
    assert writer.lv_path('volume-1') == '/dev/%s/volume-1' % VG


# -- names (rule 8) --------------------------------------------------------

HOSTILE = ['; rm -rf /', '$(x)', '`x`', '../x', 'x/y', '-x', '--yes', '.',
           '..', 'a' * 200, 'a' * 128, '', None, 5, b'volume', ['x'],
           'with space', 'new\nline', 'tab\t', 'quo"te', "quo'te", 'a|b',
           'snapshot-x', 'snapshot', 'pvmove0', 'x_tmeta', 'x_rimage_0',
           'vol\u00e9']


@pytest.mark.parametrize('name', HOSTILE, ids=repr)
def test_hostile_lv_names_are_refused(name):
    with pytest.raises(exception.InvalidName):
        lvm.validate_name(name)


@pytest.mark.parametrize('name', ['volume-0f1e', '_snapshot-1', 'a+b.c_d',
                                  'a' * 127, 'V', '.x', 'x.'])
def test_good_names_pass(name):
    assert lvm.validate_name(name) == name


def test_vg_names_may_use_lv_reserved_words():
    assert lvm.validate_name('snapshot-vg', 'VG') == 'snapshot-vg'
    with pytest.raises(exception.InvalidName, match='VG'):
        lvm.validate_name('-vg', 'VG')


@pytest.mark.parametrize('name', HOSTILE, ids=repr)
def test_methods_refuse_hostile_names_and_run_nothing(fake, writer, name):
    for call in (lambda: writer.create_volume(name, '1g'),
                 lambda: writer.create_lv_snapshot(name, 'volume-1',
                                                   size_str='1g'),
                 lambda: writer.create_lv_snapshot('_s-1', name,
                                                   size_str='1g'),
                 lambda: writer.delete(name),
                 lambda: writer.extend_volume(name, '1g'),
                 lambda: writer.rename_volume('volume-1', name),
                 lambda: writer.rename_volume(name, 'volume-1'),
                 lambda: writer.activate_lv(name),
                 lambda: writer.deactivate_lv(name),
                 lambda: writer.refresh_lv(name),
                 lambda: writer.get_lv(name),
                 lambda: writer.add_tag(name, 'x')):
        with pytest.raises(exception.InvalidName):
            call()
    assert fake.calls == []


@pytest.mark.parametrize('tag', ['', '-x', 'a b', '$(x)', 'a;b', None,
                                 'x' * 1025])
def test_hostile_tags_are_refused(fake, writer, tag):
    with pytest.raises(exception.InvalidName):
        writer.add_tag('volume-1', tag)
    with pytest.raises(exception.InvalidName):
        writer.create_volume('volume-1', '1g', tags=(tag,))
    assert fake.calls == []


def test_good_tags_pass():
    for tag in ('cinder', 'id=0f1e', 'a/b:c', 'x' * 1024):
        assert lvm.validate_tag(tag) == tag


def test_invalid_name_says_nothing_changed():
    with pytest.raises(exception.InvalidName, match='Nothing was changed'):
        lvm.validate_name('$(x)')


# -- failures --------------------------------------------------------------

def test_failure_carries_command_target_and_stderr(fake, writer):
    fake.add(('lvcreate',), fakes.pe_error(
        5, '  Volume group "cinder-shared" has insufficient free space\n'))
    with pytest.raises(exception.LVMCommandFailed) as err:
        writer.create_volume('volume-1', '1t')
    msg = str(err.value)
    assert 'lvcreate' in msg and VG + '/volume-1' in msg
    assert 'exit code 5' in msg
    assert msg.endswith('has insufficient free space')
    assert isinstance(err.value.__cause__,
                      processutils.ProcessExecutionError)
    assert len(fake.calls) == 1


def test_segfault_is_retried(fake, writer):
    fake.add(('lvchange',), fakes.in_turn(
        fakes.pe_error(139, 'Segmentation fault'), ('', '')))
    writer.activate_lv('volume-1')
    assert fake.names() == ['lvchange', 'lvchange']


def test_persistent_segfault_gives_up_after_three_tries(fake, writer):
    fake.add(('lvremove',), fakes.pe_error(139, 'Segmentation fault'))
    with pytest.raises(exception.LVMCommandFailed, match='139'):
        writer.delete('volume-1')
    assert fake.names() == ['lvremove'] * 3


def test_other_failures_are_not_retried(fake, writer):
    fake.add(('lvremove',), fakes.pe_error(5, 'in use'))
    with pytest.raises(exception.LVMCommandFailed):
        writer.delete('volume-1')
    assert len(fake.calls) == 1


# -- os-brick's inherited methods (issue 9, hole 15) -------------------------

# os-brick LVM callables that SharedLVM may inherit: they run no command,
# or they are the executor seam itself.
COMMAND_FREE = {
    '_execute': 'the executor seam: runs what this layer built',
    'set_execute': 'replaces the executor seam',
    'set_root_helper': 'sets what the executor is given',
    'safe_decode': 'decodes command output',
    'make_putils_error_safe': 'decodes an error',
    '_mangle_lv_name': 'string helper',
    'vg_mirror_free_space': 'arithmetic over pv_list',
    'vg_mirror_size': 'arithmetic over vg_free_space',
}

REFUSED = {
    'create_thin_pool': ('pool',),
    '_calculate_thin_pool_size': (),
    '_get_thin_pool_free_space': (VG, 'pool'),
    '_create_vg': (['/dev/sdc'],),
    '_wait_for_volume_deactivation': ('volume-a',),
}
REFUSED_STATIC = {
    'get_lvm_version': ('sudo',),
    'get_lv_info': ('sudo', VG, 'volume-a'),
    'get_all_volume_groups': ('sudo', VG),
    'get_all_physical_volumes': ('sudo', VG),
}


def _brick_callables():
    names = set()
    for cls in brick_lvm.LVM.__mro__[:-1]:     # not object
        for name, value in vars(cls).items():
            if name.startswith('__') and name != '__init__':
                continue
            if callable(value) or isinstance(value, (staticmethod,
                                                     classmethod)):
                names.add(name)
    return names


def test_every_os_brick_method_is_closed_or_command_free():
    names = _brick_callables()
    assert {'create_thin_pool', 'get_lv_info', '_create_vg'} <= names
    left = sorted(n for n in names
                  if n not in vars(lvm.SharedLVM) and n not in COMMAND_FREE)
    assert left == [], ('os-brick methods that SharedLVM inherits: '
                        'override or refuse them (lvm.py, hole 15)')
    # The allowlist names only what os-brick has and SharedLVM inherits.
    assert set(COMMAND_FREE) <= names
    assert not set(COMMAND_FREE) & set(vars(lvm.SharedLVM))


@pytest.mark.parametrize('name', sorted(REFUSED))
def test_refused_method_runs_nothing(fake, writer, name):
    with pytest.raises(exception.SharedLVMError) as err:
        getattr(writer, name)(*REFUSED[name])
    assert name in str(err.value) and 'Nothing was run' in str(err.value)
    assert fake.calls == []


@pytest.mark.parametrize('name', sorted(REFUSED_STATIC))
def test_refused_static_method_runs_nothing(fake, writer, name):
    for target in (writer, lvm.SharedLVM):
        with pytest.raises(exception.SharedLVMError) as err:
            getattr(target, name)(*REFUSED_STATIC[name])
        assert name in str(err.value)
    assert fake.calls == []


def test_vg_exists_and_uuid_go_through_this_layer(fake, writer):
    fake.add(('vgs',), (VG_ROW, ''))
    assert writer._vg_exists() is True
    assert writer._get_vg_uuid() == [UUID]
    assert fake.commands == [VGS, VGS]
    for argv, _kwargs in fake.calls:
        assert fakes.config_of(argv) == writer.lvm_config


def test_vg_exists_false_when_the_vg_is_absent(fake, writer):
    fake.add(('vgs',), fakes.pe_error(5, '  Volume group "x" not found'))
    assert writer._vg_exists() is False
    assert writer._get_vg_uuid() == []
