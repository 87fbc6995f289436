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

"""Unit tests of the operator CLI against the recording executor.

Each test runs ``main(argv, execute=fake)`` and asserts the exact commands
issued (``--config`` stripped and checked on its own), the exit code and
what the operator reads.
"""

import io
import json

from oslo_concurrency import processutils
import pytest

from cinder_shared_lvm.cmd import check
from cinder_shared_lvm.cmd import cleanup
from cinder_shared_lvm.cmd import main as cli
from cinder_shared_lvm.cmd import prepare
from cinder_shared_lvm.cmd import status
from cinder_shared_lvm import contract
from tests.unit import fakes

VG = 'cinder-shared'
DEV = '/dev/disk/by-id/wwn-0x600a'
DEV2 = '/dev/mapper/mpathb'
GIB = 1 << 30
MIB = 1 << 20
VG_UUID = 'teUu06-itZS-6kR9-vCtX-LzeM-WiRK-0hq57z'
VOL_A = '0f3a7e44-3c0b-4f2a-9d4e-6f1b2c3d4e5a'
VOL_B = '1b2c3d4e-5f60-4718-89ab-cdef01234567'
SNAP_C = '2c3d4e5f-6071-4829-9abc-def012345678'

REPORT = ('--noheadings', '--nosuffix', '--units', 'b', '--separator', '|')
VG_FIELDS = ('vg_name,vg_uuid,vg_size,vg_free,lv_count,vg_extent_size,'
             'vg_mda_size,vg_mda_free,vg_autoactivation')
LV_FIELDS = 'lv_name,lv_uuid,lv_size,lv_attr,origin,lv_tags'
VGS = ('vgs',) + REPORT + ('-o', VG_FIELDS, '--readonly', VG)
LVS = ('lvs',) + REPORT + ('-o', LV_FIELDS, VG)
LVMCONFIG = ('lvmconfig', '--type', 'full') + check.LVMCONFIG_KEYS
DMINFO = ('dmsetup', 'info', '-c', '--noheadings', '--separator', '|', '-o',
          'name,uuid,devno,open,attr,devnos_used')
COMMON = ['--vg', VG, '--devices', DEV]


def vg_row(mda_size=32 * MIB, mda_free=16 * MIB - 4096, auto=''):
    return ('  %s|%s|%d|%d|4|4194304|%d|%d|%s\n'
            % (VG, VG_UUID, 100 * GIB, 60 * GIB, mda_size, mda_free, auto))


def lv_rows(open_b=False, open_snap=False):
    """volume A (origin, active) + its snapshot C, volume B, one other."""
    return ''.join([
        '  volume-%s|u-a|%d|owi-a-----||\n' % (VOL_A, 10 * GIB),
        '  _snapshot-%s|u-c|%d|swi-a%s----|volume-%s|\n'
        % (SNAP_C, 10 * GIB, 'o' if open_snap else '-', VOL_A),
        '  volume-%s|u-b|%d|-wi-a%s----||\n'
        % (VOL_B, 5 * GIB, 'o' if open_b else '-'),
        '  scratch|u-d|%d|-wi-------||\n' % GIB])


GOOD_CONFIG = '\n'.join([
    'global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]',
    'filter=["a|.*|"]', 'hints="none"', 'obtain_device_list_from_udev=0',
    'use_lvmetad=0', 'use_lvmlockd=0', 'metadata_read_only=0',
    'auto_activation_volume_list=[]']) + '\n'


def run(argv, fake):
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(argv, execute=fake, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def host(config=GOOD_CONFIG, vgs=None, lvs=None, size=200 * GIB,
         blkid=''):
    """A FakeExecutor that answers like a well-set-up host."""
    fake = fakes.FakeExecutor()
    fake.add(('blockdev', '--getsize64'), ('%d\n' % size, ''))
    fake.add(('blkid',), (blkid, ''))
    fake.add(('lvmconfig',), (config, ''))
    fake.add(('vgs',), (vg_row() if vgs is None else vgs, ''))
    fake.add(('lvs',), (lv_rows() if lvs is None else lvs, ''))
    return fake


# -- prepare ------------------------------------------------------------------

@pytest.mark.parametrize('volumes, mib', [(1, 16), (5000, 16),
                                          (10000, 24), (100000, 230)])
def test_metadata_size_formula(volumes, mib):
    assert prepare.metadata_size_mib(volumes) == mib


def test_prepare_runs_pvcreate_and_vgcreate_confined():
    fake = host(vgs='')
    code, out, _err = run(['prepare'] + COMMON + ['--devices', DEV + ',' +
                                                  DEV2], fake)
    assert code == 0
    assert fake.commands == [
        ('blockdev', '--getsize64', DEV), ('blockdev', '--getsize64', DEV2),
        ('blkid', '-p', '-o', 'export', DEV),
        ('blkid', '-p', '-o', 'export', DEV2),
        ('pvcreate', '--metadatasize', '24m', DEV, DEV2),
        ('vgcreate', '--setautoactivation', 'n', VG, DEV, DEV2),
        VGS]
    pvcreate_argv = fake.calls[4][0]
    assert pvcreate_argv[:2] == ('env', 'LC_ALL=C')
    conf = fakes.config_of(pvcreate_argv)
    assert 'a|^/dev/disk/by\\\\-id/wwn\\\\-0x600a$|' in conf
    assert '"r|.*|"' in conf and 'metadata_read_only' not in conf
    assert fake.calls[4][1]['run_as_root'] is True
    assert 'Created VG cinder-shared' in out


def test_prepare_expected_volumes_sizes_metadata():
    fake = host()
    code, _out, _err = run(['prepare', '--expected-volumes', '100000'] +
                           COMMON, fake)
    assert code == 0
    assert ('pvcreate', '--metadatasize', '230m', DEV) in fake.commands


def test_prepare_json():
    code, out, _err = run(['prepare', '--json'] + COMMON, host())
    assert code == 0
    data = json.loads(out)
    assert data['vg_uuid'] == VG_UUID
    assert data['metadata_size_mib'] == 24
    assert data['overwritten_signatures'] == []


@pytest.mark.parametrize('blkid, shown', [
    ('DEVNAME=%s\nTYPE=LVM2_member\n' % DEV, 'LVM physical volume'),
    ('DEVNAME=%s\nTYPE=ext4\nUSAGE=filesystem\n' % DEV, 'ext4'),
    ('DEVNAME=%s\nPTTYPE=gpt\n' % DEV, 'partition table (gpt)')])
def test_prepare_refuses_device_with_signature(blkid, shown):
    fake = host(blkid=blkid)
    code, _out, err = run(['prepare'] + COMMON, fake)
    assert code == 1
    assert shown in err and '--force' in err and 'Nothing was changed' in err
    assert 'pvcreate' not in fake.names()


def test_prepare_force_overwrites_signature():
    fake = host(blkid='TYPE=LVM2_member\n')
    code, out, _err = run(['prepare', '--force', '--json'] + COMMON, fake)
    assert code == 0
    assert ('pvcreate', '--metadatasize', '24m', '-ff', '--yes',
            DEV) in fake.commands
    assert json.loads(out)['overwritten_signatures'] == [DEV]


PV_BLKID = 'DEVNAME=%s\nTYPE=LVM2_member\n' % DEV


def test_prepare_twice_is_already_prepared():
    fake = host(blkid=PV_BLKID)
    fake.add(('pvs',), ('  %s|%s|0\n' % (DEV, VG), ''))
    code, out, err = run(['prepare'] + COMMON, fake)
    assert (code, err) == (0, '')
    assert out.startswith('Already prepared: VG %s (%s) on %s\n'
                          % (VG, VG_UUID, DEV))
    assert 'metadata area 32 MiB per PV, autoactivation off' in out
    assert not {'pvcreate', 'vgcreate'} & set(fake.names())
    assert ('pvs', '--noheadings', '--separator', '|', '-o',
            'pv_name,vg_name,vg_missing_pv_count', '--readonly') \
        in fake.commands


def test_prepare_already_prepared_json_and_small_metadata_warning():
    fake = host(blkid=PV_BLKID, vgs=vg_row(mda_size=16 * MIB))
    fake.add(('pvs',), ('  %s|%s|0\n' % (DEV, VG), ''))
    code, out, _err = run(['prepare', '--expected-volumes', '100000'] +
                          COMMON, fake)
    assert code == 0
    assert 'WARN: the metadata area is smaller than the 230 MiB' in out
    code, out, _err = run(['prepare', '--json'] + COMMON, fake)
    data = json.loads(out)
    assert data['already_prepared'] is True
    assert data['metadata_size_mib'] == 16


@pytest.mark.parametrize('pvs, shown', [
    ('  %s|other-vg|0\n' % DEV, 'of VG other-vg'),        # another VG
    ('  %s||\n' % DEV, 'of VG (none)'),                   # a bare PV
    ('  %s|%s|1\n' % (DEV, VG), 'of VG %s' % VG)])         # a PV missing
def test_prepare_refuses_a_different_vg(pvs, shown):
    fake = host(blkid=PV_BLKID)
    fake.add(('pvs',), (pvs, ''))
    code, _out, err = run(['prepare'] + COMMON, fake)
    assert code == 1
    assert shown in err and '--force' in err and '[' not in err
    assert 'pvcreate' not in fake.names()


def test_prepare_refuses_when_only_some_devices_hold_the_vg():
    fake = host(blkid=PV_BLKID)
    fake.add(lambda argv: argv[:1] == ('blkid',) and argv[-1] == DEV2,
             ('', ''))
    fake.add(('pvs',), ('  %s|%s|0\n' % (DEV, VG), ''))
    code, _out, err = run(['prepare', '--vg', VG, '--devices',
                           DEV + ',' + DEV2], fake)
    assert code == 1 and 'Refusing to prepare' in err


def test_prepare_asks_blkid_to_probe_not_cache():
    fake = host()
    run(['prepare'] + COMMON, fake)
    call = [c for c in fake.calls if c[0][0] == 'blkid'][0]
    # exit 2 is blkid's "nothing found", the answer we hope for
    assert call[1]['check_exit_code'] == [0, 2]
    assert '-p' in call[0]


def test_prepare_refuses_missing_device():
    fake = host()
    fake.add(('blockdev',), fakes.pe_error(1, 'blockdev: cannot open '
                                              '/dev/x: No such file'))
    code, _out, err = run(['prepare'] + COMMON, fake)
    assert code == 1
    assert 'not a usable block device' in err and 'No such file' in err
    assert fake.names() == ['blockdev']


def test_prepare_refuses_device_too_small():
    fake = host(size=20 * MIB)
    code, _out, err = run(['prepare'] + COMMON, fake)
    assert code == 1 and 'smaller than the 24 MiB' in err
    assert 'pvcreate' not in fake.names()


@pytest.mark.parametrize('argv', [
    ['--vg=-rf', '--devices', DEV],
    ['--vg', 'a b', '--devices', DEV],
    ['--vg', '..', '--devices', DEV],
    ['--vg', VG, '--devices', 'sdb'],
    ['--vg', VG, '--devices', '/dev/../etc/passwd'],
    ['--vg', VG, '--devices', '/dev/sdb;reboot'],
    ['--vg', VG, '--devices', '/tmp/disk.img'],
    ['--vg', VG, '--devices', ','],
    ['--vg', VG, '--devices', DEV + ',' + DEV],
    ['--vg', VG],
])
def test_prepare_refuses_bad_input_and_runs_nothing(argv):
    fake = host()
    code, _out, err = run(['prepare'] + argv, fake)
    assert code == 2
    assert 'error:' in err
    assert fake.calls == []


def test_prepare_refuses_reader_role():
    fake = host()
    code, _out, err = run(['prepare', '--role', 'reader'] + COMMON, fake)
    assert code == 2 and 'writer' in err
    assert fake.calls == []


@pytest.mark.parametrize('value', ['0', '-3', 'many'])
def test_prepare_expected_volumes_must_be_positive(value, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(['prepare', '--expected-volumes', value] + COMMON,
                 execute=host())
    assert exc.value.code == 2
    assert 'positive integer' in capsys.readouterr().err


def test_prepare_vgcreate_failure_says_how_to_recover():
    fake = host()
    fake.add(('vgcreate',), fakes.pe_error(5, '  VG name exists\n'))
    code, _out, err = run(['prepare'] + COMMON, fake)
    assert code == 1
    assert 'VG name exists' in err and 'again with --force' in err


def test_prepare_reports_pvcreate_failure():
    fake = host()
    fake.add(('pvcreate',), fakes.pe_error(5, '  Cannot use /dev/x: '
                                              'device is partitioned\n'))
    code, out, err = run(['prepare', '--json'] + COMMON, fake)
    assert code == 1
    assert 'pvcreate failed' in err and 'device is partitioned' in err
    assert 'error' in json.loads(out)
    assert 'vgcreate' not in fake.names()


# -- check --------------------------------------------------------------------

def _checks(out):
    return {c['check']: c for c in json.loads(out)['checks']}


def test_check_writer_all_pass():
    fake = host()
    code, out, _err = run(['check', '--role', 'writer'] + COMMON, fake)
    assert code == 0, out
    assert 'FAIL' not in out
    assert out.splitlines()[0].startswith('PASS  device')
    assert fake.commands == [LVMCONFIG, VGS,
                             ('blockdev', '--getsize64', DEV)]
    # the host's own config: no project --config on lvmconfig
    assert fakes.config_of(fake.calls[0][0]) is None
    assert fake.calls[0][1]['check_exit_code'] == [0, 5]


def test_check_passes_test_only_extra_config_to_lvmconfig():
    fake = host()
    run(['check', '--role', 'writer', '--lvm-extra-config',
         'global { activation=0 }'] + COMMON, fake)
    assert fakes.config_of(fake.calls[0][0]) == 'global { activation=0 }'
    assert fakes.config_of(fake.calls[1][0]).endswith(
        'global { activation=0 }')


def test_check_reader_needs_metadata_read_only():
    fake = host()
    code, out, _err = run(['check', '--role', 'reader', '--json'] + COMMON,
                          fake)
    assert code == 1
    result = _checks(out)['metadata-read-only']
    assert result['status'] == 'FAIL'
    assert 'metadata_read_only=0, want 1' in result['detail']
    # the reader's own vgs runs read-only
    assert 'metadata_read_only=1' in fakes.config_of(fake.calls[1][0])


def test_check_reader_with_local_vgs_only_warns():
    code, out, _err = run(['check', '--role', 'reader', '--local-vgs',
                           '--json'] + COMMON, host())
    assert code == 0
    assert _checks(out)['metadata-read-only']['status'] == 'WARN'


def test_check_reader_passes_with_read_only():
    fake = host(config=GOOD_CONFIG.replace('metadata_read_only=0',
                                           'metadata_read_only=1'))
    code, out, _err = run(['check', '--role', 'reader'] + COMMON, fake)
    assert code == 0, out


def test_check_writer_fails_when_read_only():
    fake = host(config=GOOD_CONFIG.replace('metadata_read_only=0',
                                           'metadata_read_only=1'))
    code, out, _err = run(['check', '--role', 'writer', '--json'] + COMMON,
                          fake)
    assert code == 1
    assert _checks(out)['metadata-read-only']['status'] == 'FAIL'


@pytest.mark.parametrize('old, new, name, status', [
    ('global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]',
     'global_filter=["a|.*|"]', 'scan-confined', 'FAIL'),
    ('global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]',
     'global_filter=["r|/dev/sda|"]', 'scan-confined', 'FAIL'),
    ('global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]',
     'global_filter=["a/wwn-0x600a/","r/^.*$/"]', 'scan-confined', 'PASS'),
    ('global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]',
     'global_filter="r|.*|"', 'scan-confined', 'WARN'),
    ('global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]\n'
     'filter=["a|.*|"]',
     'global_filter=["a|.*|"]\n'
     'filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]',
     'scan-confined', 'WARN'),
    ('global_filter=["a|^/dev/disk/by-id/wwn-0x600a$|","r|.*|"]',
     'global_filter=["r|wwn|","r|.*|"]', 'scan-confined', 'WARN'),
    ('hints="none"', 'hints="all"', 'hints', 'FAIL'),
    ('obtain_device_list_from_udev=0', 'obtain_device_list_from_udev=1',
     'udev-device-list', 'FAIL'),
    ('use_lvmetad=0', 'use_lvmetad=1', 'caching-daemon', 'FAIL'),
    ('use_lvmetad=0\n', '', 'caching-daemon', 'PASS'),
    ('use_lvmlockd=0', 'use_lvmlockd=1', 'lvmlockd', 'WARN'),
])
def test_check_host_config(old, new, name, status):
    config = GOOD_CONFIG.replace(old, new)
    assert config != GOOD_CONFIG
    code, out, _err = run(['check', '--role', 'writer', '--json'] + COMMON,
                          host(config=config))
    assert _checks(out)[name]['status'] == status, out
    assert code == (1 if status == 'FAIL' else 0)


def test_check_lvmlockd_expected_but_off():
    code, out, _err = run(['check', '--role', 'writer', '--lvmlockd',
                           '--json'] + COMMON, host())
    assert code == 1
    assert _checks(out)['lvmlockd']['status'] == 'FAIL'


@pytest.mark.parametrize('auto_list, vg_flag, status', [
    ('auto_activation_volume_list=[]', 'enabled', 'PASS'),
    ('', '', 'PASS'),
    ('', 'enabled', 'FAIL'),
    ('auto_activation_volume_list=["cinder-shared"]', 'enabled', 'FAIL'),
    ('auto_activation_volume_list=["cinder-shared/volume-x"]', 'enabled',
     'FAIL'),
    ('auto_activation_volume_list=["@boot"]', 'enabled', 'FAIL'),
    ('auto_activation_volume_list=["rootvg"]', 'enabled', 'PASS'),
])
def test_check_autoactivation(auto_list, vg_flag, status):
    config = GOOD_CONFIG.replace('auto_activation_volume_list=[]', auto_list)
    fake = host(config=config, vgs=vg_row(auto=vg_flag))
    code, out, _err = run(['check', '--role', 'writer', '--json'] + COMMON,
                          fake)
    assert _checks(out)['autoactivation']['status'] == status, out


def test_check_vg_not_visible():
    fake = host(vgs='')
    code, out, _err = run(['check', '--role', 'writer'] + COMMON, fake)
    assert code == 1
    assert ('FAIL  vg-visible          VG cinder-shared is not visible '
            'through /dev/disk/by-id/wwn-0x600a') in out
    assert 'FAIL  metadata-space      unknown' in out


def test_check_vg_command_error_is_shown():
    fake = host()
    fake.add(('vgs',), fakes.pe_error(3, '  Cannot process volume group'))
    code, out, _err = run(['check', '--role', 'writer'] + COMMON, fake)
    assert code == 1 and 'Cannot process volume group' in out


def test_check_missing_device():
    fake = host()
    fake.add(('blockdev',), fakes.pe_error(1, 'blockdev: cannot open'))
    code, out, _err = run(['check', '--role', 'writer'] + COMMON, fake)
    assert code == 1
    assert 'FAIL  device' in out and 'cannot open' in out


@pytest.mark.parametrize('free, status', [
    (16 * MIB - 4096, 'PASS'), (int(1.5 * MIB), 'WARN'),
    (512 * 1024, 'FAIL')])
def test_check_metadata_space(free, status):
    fake = host(vgs=vg_row(mda_free=free))
    code, out, _err = run(['check', '--role', 'writer', '--json'] + COMMON,
                          fake)
    result = _checks(out)['metadata-space']
    assert result['status'] == status
    assert code == (1 if status == 'FAIL' else 0)


def test_check_metadata_floor_from_config_file(tmp_path):
    conf = tmp_path / 'cinder.conf'
    conf.write_text('[shared]\nshared_lvm_volume_group = %s\n'
                    'shared_lvm_devices = %s\n'
                    'shared_lvm_min_free_metadata_percent = 20\n'
                    % (VG, DEV))
    fake = host(vgs=vg_row(mda_free=2 * MIB))    # 12.5 % free
    code, out, _err = run(['check', '--role', 'writer', '--json',
                           '--config-file', str(conf), '--backend',
                           'shared'], fake)
    assert code == 1
    assert 'minimum 20%' in _checks(out)['metadata-space']['detail']


def test_check_needs_role():
    fake = host()
    code, _out, err = run(['check'] + COMMON, fake)
    assert code == 2 and '--role' in err
    assert fake.calls == []


@pytest.mark.parametrize('raw, value', [
    ('0', 0), ('"none"', 'none'), ('[]', []),
    ('["a|^/dev/x$|","r|.*|"]', ['a|^/dev/x$|', 'r|.*|']),
    ('["a|\\"q\\"|"]', ['a|"q"|'])])
def test_parse_lvmconfig_value(raw, value):
    assert check.parse_value(raw) == value


def test_filter_verdict_first_match_wins():
    patterns = ['r|/dev/sdb|', 'a|/dev/sd.*|', 'r|.*|']
    assert check.filter_verdict(patterns, '/dev/sda')
    assert not check.filter_verdict(patterns, '/dev/sdb')
    assert not check.filter_verdict(patterns, '/dev/vda')
    assert check.filter_verdict(None, '/dev/vda')
    assert check.filter_verdict(['r|[bad|'], '/dev/vda')


# -- status -------------------------------------------------------------------

@pytest.mark.parametrize('name, kind, cinder_id', [
    ('volume-%s' % VOL_A, 'volume', VOL_A),
    ('volume-%s' % VOL_A.upper(), 'volume', VOL_A),
    ('_snapshot-%s' % SNAP_C, 'snapshot', SNAP_C),
    ('snapshot-%s' % SNAP_C, 'unmanaged', None),
    ('volume-%s-x' % VOL_A, 'unmanaged', None),
    ('volume-1234', 'unmanaged', None),
    ('scratch', 'unmanaged', None)])
def test_classify(name, kind, cinder_id):
    assert status.classify(name) == (kind, cinder_id)


def test_status_table():
    fake = host()
    code, out, _err = run(['status'] + COMMON, fake)
    assert code == 0
    assert fake.commands == [VGS, LVS]
    # reader by default: status never needs to write
    assert 'metadata_read_only=1' in fakes.config_of(fake.calls[1][0])
    lines = out.splitlines()
    assert lines[0] == ('VG cinder-shared (%s): 100.00 GiB, 60.00 GiB free, '
                        'metadata area 100.0%% free' % VG_UUID)
    assert lines[2].split() == ['LV', 'CINDER', 'ID', 'SIZE', 'ORIGIN',
                                'ACTIVE', 'OPEN']
    assert lines[3].split() == ['volume-' + VOL_A, 'volume', VOL_A, '10.00',
                                'GiB', '-', 'yes', 'no']
    assert lines[4].split() == ['_snapshot-' + SNAP_C, 'snapshot', SNAP_C,
                                '10.00', 'GiB', 'volume-' + VOL_A, 'yes',
                                'no']
    assert lines[6].split() == ['scratch', 'unmanaged', '-', '1.00', 'GiB',
                                '-', 'no', 'no']
    assert lines[7] == 'family volume-%s -> _snapshot-%s' % (VOL_A, SNAP_C)


def test_status_json():
    code, out, _err = run(['status', '--json'] + COMMON, host(
        lvs=lv_rows(open_b=True)))
    assert code == 0
    data = json.loads(out)
    assert data['families'] == {'volume-' + VOL_A: ['_snapshot-' + SNAP_C]}
    vol_b = [e for e in data['lvs'] if e['id'] == VOL_B][0]
    assert vol_b == {'name': 'volume-' + VOL_B, 'kind': 'volume',
                     'id': VOL_B, 'size_bytes': 5 * GIB, 'origin': None,
                     'active': True, 'open': True, 'tags': []}
    assert data['metadata_free_percent'] == 100.0
    assert data['metadata_size_bytes'] == 32 * MIB
    assert data['metadata_free_bytes'] == 16 * MIB - 4096


def test_status_empty_vg():
    code, out, _err = run(['status'] + COMMON, host(lvs=''))
    assert code == 0 and out.splitlines()[-1] == 'no LVs'


def test_status_vg_not_visible():
    fake = host(vgs='')
    code, out, err = run(['status', '--json'] + COMMON, fake)
    assert code == 1
    assert 'is not visible through devices' in err
    assert json.loads(out)['error']
    assert fake.names() == ['vgs']


# -- cleanup ------------------------------------------------------------------

def test_cleanup_deactivates_unused_lvs():
    fake = host()
    code, out, _err = run(['cleanup'] + COMMON, fake)
    assert code == 0
    # the origin takes its snapshot down; scratch is not active
    assert fake.commands == [
        VGS, LVS,
        ('lvchange', '-an', '--yes', '%s/volume-%s' % (VG, VOL_A)),
        ('lvchange', '-an', '--yes', '%s/volume-%s' % (VG, VOL_B)),
        DMINFO]
    assert out.splitlines() == [
        'deactivated volume-' + VOL_A, 'deactivated _snapshot-' + SNAP_C,
        'deactivated volume-' + VOL_B]
    assert 'metadata_read_only=1' in fakes.config_of(fake.calls[2][0])


def test_cleanup_skips_open_lv_and_open_family():
    fake = host(lvs=lv_rows(open_b=True, open_snap=True))
    code, out, _err = run(['cleanup', '--json'] + COMMON, fake)
    assert code == 0
    assert 'lvchange' not in fake.names()
    data = json.loads(out)
    assert data['deactivated'] == []
    assert data['skipped_open'] == sorted([
        '_snapshot-' + SNAP_C, 'volume-' + VOL_A, 'volume-' + VOL_B])
    assert data['held_open_by']['volume-' + VOL_A] == [
        '_snapshot-' + SNAP_C]


def test_cleanup_dry_run_changes_nothing():
    fake = host()
    code, out, _err = run(['cleanup', '--dry-run'] + COMMON, fake)
    assert code == 0
    assert fake.names() == ['vgs', 'lvs', 'dmsetup']
    assert out.splitlines()[0] == 'would deactivate volume-' + VOL_A


def test_cleanup_reports_failure_and_goes_on():
    fake = host()
    fake.add(('lvchange', '-an', '--yes', '%s/volume-%s' % (VG, VOL_A)),
             fakes.pe_error(5, '  Logical volume in use.'))
    code, out, _err = run(['cleanup'] + COMMON, fake)
    assert code == 1
    assert out.splitlines() == [
        'deactivated volume-' + VOL_B,
        'FAILED volume-%s: LVM command lvchange failed for %s/volume-%s '
        '(exit code 5): Logical volume in use.' % (VOL_A, VG, VOL_A)]


def test_cleanup_nothing_active():
    code, out, _err = run(['cleanup'] + COMMON, host(
        lvs='  scratch|u|%d|-wi-------||\n' % GIB))
    assert code == 0
    assert out == 'nothing to do: nothing of VG cinder-shared is mapped ' \
        'here\n'


def test_cleanup_plan_treats_snapshot_family_as_one():
    lvs = [{'name': 'o', 'origin': None, 'active': True, 'open': False},
           {'name': 's', 'origin': 'o', 'active': True, 'open': False}]
    assert cleanup.plan(lvs) == ([['o', 's']], {})


# -- common options -----------------------------------------------------------

def _conf(tmp_path, body):
    path = tmp_path / 'cinder.conf'
    path.write_text('[DEFAULT]\nlogging_context_format_string = %(asctime)s'
                    '\n\n' + body)
    return str(path)


def test_config_file_backend_section(tmp_path):
    conf = _conf(tmp_path, '[lvm-1]\nshared_lvm_volume_group = vg1\n'
                           'shared_lvm_devices = %s, %s\n' % (DEV, DEV2))
    fake = host(vgs=vg_row().replace(VG, 'vg1'))
    code, _out, _err = run(['status', '--config-file', conf, '--backend',
                            'lvm-1'], fake)
    assert code == 0
    assert fake.commands[0][-1] == 'vg1'
    config = fakes.config_of(fake.calls[0][0])
    assert 'mpathb' in config and 'wwn' in config


def test_nova_conf_shared_lvm_section(tmp_path):
    conf = _conf(tmp_path, '[shared_lvm]\ndevices = %s\n' % DEV2)
    fake = host()
    code, _out, _err = run(['status', '--config-file', conf, '--backend',
                            'shared_lvm'], fake)
    assert code == 0
    assert fake.commands[0][-1] == VG       # the option's default VG name
    assert 'mpathb' in fakes.config_of(fake.calls[0][0])


def test_options_override_config_file(tmp_path):
    conf = _conf(tmp_path, '[lvm-1]\nshared_lvm_devices = %s\n' % DEV2)
    fake = host()
    run(['status', '--config-file', conf, '--backend', 'lvm-1', '--devices',
         DEV], fake)
    assert 'mpathb' not in fakes.config_of(fake.calls[0][0])
    assert fake.commands[0][-1] == VG       # the option's default VG name


@pytest.mark.parametrize('extra, message', [
    (['--backend', 'nope'], 'No [nope] section in '),
    (['--backend', 'empty'], 'give --vg and --devices'),
    ([], '--config-file (or --config-dir) and --backend go together')])
def test_config_file_errors(tmp_path, extra, message):
    conf = _conf(tmp_path, '[empty]\n')
    fake = host()
    code, _out, err = run(['status', '--config-file', conf] + extra, fake)
    assert code == 2 and message in err
    assert fake.calls == []


def test_missing_config_file_is_bad_input(tmp_path):
    absent = str(tmp_path / 'absent.conf')
    code, _out, err = run(['status', '--config-file', absent, '--backend',
                           'x'], host())
    assert code == 2
    assert err == ('cinder-shared-lvm: error: Cannot read %s: No such file '
                   'or directory\n' % absent)


def test_missing_config_dir_is_bad_input(tmp_path):
    code, _out, err = run(['status', '--config-dir', str(tmp_path / 'no'),
                           '--backend', 'x'], host())
    assert code == 2 and 'Cannot read --config-dir' in err


def test_backend_defaults_fill_what_the_section_leaves_out(tmp_path):
    conf = _conf(tmp_path, '[backend_defaults]\nshared_lvm_volume_group = '
                           'vg-default\nshared_lvm_devices = %s\n\n'
                           '[lvm-1]\nvolume_backend_name = lvm-1\n\n'
                           '[lvm-2]\nshared_lvm_volume_group = vg2\n'
                           % DEV2)
    for backend, vg in (('lvm-1', 'vg-default'), ('lvm-2', 'vg2')):
        fake = host(vgs=vg_row().replace(VG, vg))
        code, _out, err = run(['status', '--config-file', conf,
                               '--backend', backend], fake)
        assert (code, err) == (0, '')
        assert fake.commands[0][-1] == vg
        assert 'mpathb' in fakes.config_of(fake.calls[0][0])


def test_config_dir_read_after_config_file_in_name_order(tmp_path):
    conf = _conf(tmp_path, '[lvm-1]\nshared_lvm_volume_group = vg-file\n'
                           'shared_lvm_devices = %s\n' % DEV)
    conf_dir = tmp_path / 'cinder.conf.d'
    conf_dir.mkdir()
    (conf_dir / '10-vg.conf').write_text(
        '[lvm-1]\nshared_lvm_volume_group = vg-10\n')
    (conf_dir / '20-vg.conf').write_text(
        '[lvm-1]\nshared_lvm_volume_group = vg-20\n')
    (conf_dir / '30-ignored.conf.orig').write_text(
        '[lvm-1]\nshared_lvm_volume_group = vg-orig\n')
    fake = host(vgs=vg_row().replace(VG, 'vg-20'))
    code, _out, err = run(['status', '--config-file', conf, '--config-dir',
                           str(conf_dir), '--backend', 'lvm-1'], fake)
    assert (code, err) == (0, '')
    assert fake.commands[0][-1] == 'vg-20'
    assert 'wwn' in fakes.config_of(fake.calls[0][0])


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(['--version'], execute=host())
    assert exc.value.code == 0
    assert capsys.readouterr().out == 'cinder-shared-lvm %s\n' % (
        contract.VERSION)


def test_errors_name_devices_without_python_reprs():
    fake = host(vgs='')
    code, _out, err = run(['status', '--vg', VG, '--devices',
                           DEV + ',' + DEV2], fake)
    assert code == 1
    assert 'devices %s, %s on this host' % (DEV, DEV2) in err
    assert '[' not in err and "'" not in err


class _ClosedPipe(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(32, 'Broken pipe')


def test_closed_stdout_is_not_an_error():
    err = io.StringIO()
    code = cli.main(['status', '--json'] + COMMON, execute=host(),
                    stdout=_ClosedPipe(), stderr=err)
    assert (code, err.getvalue()) == (0, '')


@pytest.mark.parametrize('command', ['prepare', 'check', 'status',
                                     'cleanup'])
def test_test_only_options_not_in_help(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, '--help'], execute=host())
    help_text = capsys.readouterr().out
    assert '--lvm-extra-config' not in help_text
    assert ('--role' in help_text) == (command != 'prepare')


def test_not_root_without_root_helper():
    fake = fakes.FakeExecutor([(('vgs',), processutils.NoRootWrapSpecified(
        message='Command requested root, but did not specify a root '
                'helper.'))])
    code, _out, err = run(['status'] + COMMON, fake)
    assert code == 1 and '--root-helper' in err


def test_root_helper_reaches_executor():
    fake = host()
    run(['status', '--root-helper', 'sudo'] + COMMON, fake)
    assert {c[1]['root_helper'] for c in fake.calls} == {'sudo'}


@pytest.mark.parametrize('command', ['prepare', 'check', 'status',
                                     'cleanup'])
def test_help_for_each_subcommand(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, '--help'], execute=host())
    assert exc.value.code == 0
    help_text = capsys.readouterr().out
    assert 'usage: cinder-shared-lvm %s' % command in help_text
    assert '--json' in help_text and '--devices' in help_text


def test_missing_command_is_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([], execute=host())
    assert exc.value.code == 2


# -- check --lvmlockd: the lvmlockd mode's host -----------------------------

LOCKD_CONFIG = GOOD_CONFIG.replace('use_lvmlockd=0', 'use_lvmlockd=1') + \
    'host_id=3\n'
LOCKD_INFO = 'VG %s lock_type=sanlock abc\nLS sanlock lvm_%s\n' % (VG, VG)
DAEMON = 'daemon 3f9c2b1e-host\nuse_watchdog=0\nhigh_priority=0\n'


def lockd_host(config=LOCKD_CONFIG, info=LOCKD_INFO, daemon=DAEMON):
    fake = host(config=config)
    fake.add(('lvmlockctl', '--info'), info if isinstance(
        info, Exception) else (info, ''))
    fake.add(('sanlock', 'client', 'status', '-D'), daemon if isinstance(
        daemon, Exception) else (daemon, ''))
    return fake


def _lockd_checks(fake):
    code, out, _err = run(['check', '--role', 'reader', '--lvmlockd',
                           '--json'] + COMMON, fake)
    checks = _checks(out)
    return code, {name: checks[name]['status'] for name in (
        'lvmlockd', 'sanlock-daemon', 'lvmlockd-daemon', 'host-id',
        'lockspace', 'watchdog')}, checks


def test_check_lvmlockd_on_a_good_host_passes_and_names_the_watchdog():
    code, status, checks = _lockd_checks(lockd_host(
        config=LOCKD_CONFIG.replace('metadata_read_only=0',
                                    'metadata_read_only=1')))
    assert status == {'lvmlockd': 'PASS', 'sanlock-daemon': 'PASS',
                      'lvmlockd-daemon': 'PASS', 'host-id': 'PASS',
                      'lockspace': 'PASS', 'watchdog': 'WARN'}
    assert '-w 0' in checks['watchdog']['detail']
    assert code == 0


def test_check_lvmlockd_with_wdmd_passes_the_watchdog():
    _code, status, checks = _lockd_checks(lockd_host(
        daemon=DAEMON.replace('use_watchdog=0', 'use_watchdog=1')))
    assert status['watchdog'] == 'PASS'
    assert 'wdmd' in checks['watchdog']['detail']


@pytest.mark.parametrize('change, failed', [
    (dict(config=LOCKD_CONFIG.replace('host_id=3\n', '')), 'host-id'),
    (dict(config=LOCKD_CONFIG.replace('host_id=3', 'host_id=2001')),
     'host-id'),
    (dict(config=LOCKD_CONFIG.replace('host_id=3', 'host_id=0')), 'host-id'),
    (dict(info=''), 'lockspace'),
    (dict(info=LOCKD_INFO.replace('sanlock', 'dlm')), 'lockspace'),
    (dict(info=fakes.pe_error(255, 'Cannot connect to lvmlockd.')),
     'lvmlockd-daemon'),
    (dict(daemon=fakes.pe_error(1, '')), 'sanlock-daemon'),
    (dict(daemon=fakes.pe_error(1, '')), 'watchdog'),
    (dict(daemon='daemon x\n'), 'watchdog'),
])
def test_check_lvmlockd_fails_what_is_missing(change, failed):
    code, status, checks = _lockd_checks(lockd_host(**change))
    assert status[failed] == 'FAIL', checks[failed]
    assert code == 1


def test_check_without_lvmlockd_asks_no_lock_daemon():
    fake = lockd_host(config=GOOD_CONFIG)
    run(['check', '--role', 'writer'] + COMMON, fake)
    assert not [c for c in fake.commands
                if c[0] in ('sanlock', 'lvmlockctl')]


# -- prepare --lock-manager lvmlockd ----------------------------------------

@pytest.mark.parametrize('volumes, mib', [(1, 69), (10000, 20067)])
def test_lock_area_formula(volumes, mib):
    assert prepare.lock_area_mib(volumes) == mib


def test_prepare_lvmlockd_makes_a_shared_vg_and_sizes_its_lock_lv():
    fake = host(vgs='')
    code, out, _err = run(['prepare', '--lock-manager', 'lvmlockd',
                           '--expected-volumes', '1000'] + COMMON, fake)
    assert code == 0, out
    # no pvcreate: it would need the global lock that this VG creates
    assert 'pvcreate' not in fake.names()
    assert ('vgcreate', '--shared', '--metadatasize', '16m',
            '--setautoactivation', 'n', VG, DEV) in fake.commands
    assert fake.commands[-2] == ('lvextend', '-L', '2067m',
                                 '%s/lvmlock' % VG)
    assert 'local/host_id' in out and '--lockstart %s' % VG in out


def test_prepare_lvmlockd_keeps_the_default_lock_lv_when_it_is_enough():
    fake = host(vgs='')
    code, _out, _err = run(['prepare', '--lock-manager', 'lvmlockd',
                            '--expected-volumes', '50'] + COMMON, fake)
    assert code == 0
    assert 'lvextend' not in fake.names()


def test_prepare_lvmlockd_refuses_devices_too_small_for_the_locks():
    fake = host(vgs='', size=2 * GIB)
    code, _out, err = run(['prepare', '--lock-manager', 'lvmlockd',
                           '--expected-volumes', '10000'] + COMMON, fake)
    assert code == 1
    assert 'lock LV' in err and 'Nothing was changed' in err
    assert not [c for c in fake.commands if fakes.is_metadata_write(c)]


def test_prepare_in_the_default_mode_makes_a_local_lock_type_vg():
    fake = host(vgs='')
    run(['prepare'] + COMMON, fake)
    assert not [c for c in fake.commands if '--shared' in c]


# -- status --locks: the sanlock leases on the LUN ---------------------------

# As measured on the rig (doc/source/lvmlockd-facts.rst).
DUMP_HEADER = ('  offset                            lockspace             '
               '                            resource  timestamp  own  gen '
               'lver\n')
HOSTS_DUMP = DUMP_HEADER + (
    '00000000    lvm_cinder-shared  64e7d8ce-f19a-11f1-851e-4b54d2e9ec60.'
    'cinder-nod 0000000187 0001 0001\n'
    '00000512    lvm_cinder-shared   66ee59e0-f19a-11f1-9684-11335fbeba95.'
    'compute-1 0000000131 0002 0001\n')
LOCK_LV = '/dev/mapper/cinder--shared-lvmlock'


def lease(offset, owner, timestamp):
    return DUMP_HEADER + ('%08d    lvm_cinder-shared   WbZa7d-h13m-xCHJ-SPtM-'
                          'VFjV-Ke7o-Zc1giL %010d %04d 0001 2\n'
                          % (offset, timestamp, owner))


def locks_host():
    fake = host()
    fake.add(('lvs', '--noheadings', '--separator', '|', '-o',
              'lv_name,lv_lock_args'), (
        '  volume-%s|1.0.0:75497472\n  _snapshot-%s|\n'
        '  volume-%s|1.0.0:76546048\n  scratch|1.0.0:77594624\n'
        % (VOL_A, SNAP_C, VOL_B), ''))
    dump = ('sanlock', 'direct', 'dump')
    fake.add(dump + ('%s:0:1048576' % LOCK_LV,), (HOSTS_DUMP, ''))
    fake.add(dump + ('%s:75497472:1048576' % LOCK_LV,),
             (lease(75497472, 2, 145), ''))
    fake.add(dump + ('%s:76546048:1048576' % LOCK_LV,),
             (lease(76546048, 1, 0), ''))
    fake.add(dump + ('%s:77594624:1048576' % LOCK_LV,),
             (lease(77594624, 0, 0), ''))
    return fake


def test_status_locks_names_the_host_that_holds_each_lv():
    code, out, _err = run(['status', '--locks', '--json'] + COMMON,
                          locks_host())
    assert code == 0
    held = {e['name']: e['lock'] for e in json.loads(out)['lvs']}
    assert held == {'volume-' + VOL_A: 'compute-1 (host_id 2)',
                    '_snapshot-' + SNAP_C: "origin's",
                    'volume-' + VOL_B: 'free',     # released: timestamp 0
                    'scratch': 'free'}


def test_status_locks_writes_nothing():
    fake = locks_host()
    run(['status', '--locks'] + COMMON, fake)
    assert not [c for c in fake.commands if fakes.is_metadata_write(c)]
    assert [c[:3] for c in fake.commands if c[0] == 'sanlock'] == [
        ('sanlock', 'direct', 'dump')] * 4


def test_status_locks_on_a_local_vg_says_why_it_cannot():
    fake = locks_host()
    fake.add(('sanlock',), fakes.pe_error(1, 'open error -2'))
    code, _out, err = run(['status', '--locks'] + COMMON, fake)
    assert code == 1 and 'is this VG shared' in err


def test_status_without_locks_reads_no_lease():
    fake = locks_host()
    run(['status'] + COMMON, fake)
    assert 'sanlock' not in fake.names()


# -- drop-lockspace: after lvmlockctl --kill ---------------------------------

def _dm_line(name, lv_uuid_32, opened=0):
    vg32 = VG_UUID.replace('-', '')
    return '%s|LVM-%s%s|253:%d|%d|L--w|8:0\n' % (
        name, vg32, lv_uuid_32, len(name), opened)


LOCK_LV_DM = _dm_line('cinder--shared-lvmlock', 'k' * 32, 1)


def test_drop_lockspace_clears_a_killed_lockspace_when_nothing_is_mapped():
    fake = host()
    fake.add(DMINFO, (LOCK_LV_DM, ''))
    code, out, _err = run(['drop-lockspace'] + COMMON, fake)
    assert code == 0, out
    assert fake.commands[-1] == ('lvmlockctl', '--drop', VG)
    assert '--lockstart' in out


def test_drop_lockspace_refuses_while_an_lv_is_mapped_here():
    fake = host()
    fake.add(DMINFO, (LOCK_LV_DM + _dm_line(
        'cinder--shared-volume--' + VOL_A.replace('-', '--'), 'a' * 32),
        ''))
    code, _out, err = run(['drop-lockspace'] + COMMON, fake)
    assert code == 1
    assert 'cleanup --force' in err and 'Nothing was changed' in err
    assert 'lvmlockctl' not in fake.names()
