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

"""The LVM layer and the connector against real LVM, metadata only.

What the unit tests pin as argv, these prove LVM 2.03.16 accepts: the
``--config`` text, the report fields and the argv of every metadata write.
"""

import re

import pytest
from oslo_concurrency import processutils

from cinder_shared_lvm import connector
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

pytestmark = pytest.mark.hostlvm

MIB = 1 << 20
UUID_RE = re.compile(r'^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$')


class Recorder(object):
    """The real executor, recording each command name."""

    def __init__(self):
        self.names = []

    def __call__(self, *argv, **kwargs):
        args = [a for a in argv if a not in ('env', 'LC_ALL=C')]
        self.names.append(args[0])
        return processutils.execute(*argv, **kwargs)


def test_reads_back_the_vg(shared_vg):
    vg = shared_vg.lvm()
    vg.update_volume_group_info()
    assert UUID_RE.match(vg.vg_uuid)
    assert 200 < vg.vg_size * 1024 < 256
    assert vg.vg_free_space == vg.vg_size
    assert vg.vg_lv_count == 0
    assert vg.vg_extent_size == 4 * MIB
    assert 0 < vg.vg_mda_free < vg.vg_mda_size
    # created with --setautoactivation n (rule 3): the field is empty
    assert vg.vg_autoactivation == ''
    assert vg.get_physical_volumes() == [{
        'vg': shared_vg.vg_name, 'name': shared_vg.device,
        'size': str(int(vg.vg_size * (1 << 30))),
        'available': str(int(vg.vg_free_space * (1 << 30)))}]


def test_create_extend_rename_tag_remove(shared_vg):
    vg = shared_vg.lvm()
    vg.create_volume('volume-1', '8m', tags=('cinder', 'id=1'))
    lv = vg.get_lv('volume-1')
    assert UUID_RE.match(lv['uuid'])
    assert lv['size_bytes'] == 8 * MIB
    assert lv['tags'] == ['cinder', 'id=1']
    assert not lv['active'] and not lv['open']
    assert not lv['is_snapshot'] and not lv['has_snapshots']

    vg.extend_volume('volume-1', '16m')
    assert vg.get_lv('volume-1')['size_bytes'] == 16 * MIB

    vg.rename_volume('volume-1', 'volume-2')
    assert vg.get_lv('volume-1') is None
    renamed = vg.get_lv('volume-2')
    assert renamed['uuid'] == lv['uuid']

    vg.add_tag('volume-2', 'attached')
    vg.del_tag('volume-2', 'cinder')
    assert vg.get_lv('volume-2')['tags'] == ['attached', 'id=1']

    vg.update_volume_group_info()
    assert vg.vg_lv_count == 1 and vg.vg_provisioned_capacity == 0.02
    assert vg.get_volumes() == [{'vg': shared_vg.vg_name,
                                 'name': 'volume-2', 'size': '0.02'}]

    vg.delete('volume-2')
    assert vg.get_lv('volume-2') is None
    assert vg.list_lvs() == []


def test_lvs_come_without_autoactivation(shared_vg):
    vg = shared_vg.lvm()
    vg.create_volume('volume-1', '4m')
    out = shared_vg.run_lvm(
        'lvs', '--noheadings', '-o', 'lv_autoactivation',
        '%s/volume-1' % shared_vg.vg_name).stdout
    assert out.strip() == ''


def test_metadata_area_fills_as_lvs_are_added(shared_vg):
    vg = shared_vg.lvm()
    vg.update_volume_group_info()
    before = vg.vg_mda_free
    for i in range(10):
        vg.create_volume('volume-%d' % i, '4m')
    vg.update_volume_group_info()
    assert vg.vg_lv_count == 10
    assert vg.vg_mda_free < before


def test_errors_carry_lvm_stderr(shared_vg):
    vg = shared_vg.lvm()
    vg.create_volume('volume-1', '4m')
    with pytest.raises(exception.LVMCommandFailed) as err:
        vg.create_volume('volume-1', '4m')
    assert 'already exists' in str(err.value)
    with pytest.raises(exception.LVMCommandFailed) as err:
        vg.create_volume('volume-big', '10g')
    assert 'insufficient free space' in str(err.value)


def test_missing_lv_and_missing_vg(shared_vg):
    vg = shared_vg.lvm()
    assert vg.get_lv('volume-none') is None
    other = lvm.SharedLVM('cslvm-absent', [shared_vg.device],
                          check_vg=False, extra_config='global { '
                          'activation=0 } ')
    assert other.vg_report() is None
    assert other.get_lv('volume-1') is None
    with pytest.raises(exception.VolumeGroupNotFound):
        other.update_volume_group_info()


def test_snapshot_needs_device_mapper(shared_vg):
    vg = shared_vg.lvm()
    vg.create_volume('volume-1', '4m')
    try:
        vg.create_lv_snapshot('_snapshot-1', 'volume-1')
    except exception.LVMCommandFailed as err:
        # Anything but the missing kernel target is a real failure.
        if not re.search('device-mapper (kernel driver|target)', str(err)):
            raise
        pytest.skip('COW snapshots need device-mapper, absent here: %s'
                    % err)
    assert vg.snapshots_of('volume-1') == ['_snapshot-1']
    assert vg.lv_has_snapshot('volume-1')


# -- confinement (rule 2) --------------------------------------------------

def test_filter_hides_the_vg_from_other_devices(shared_vg):
    blind = shared_vg.lvm(devices=['/dev/cslvm-no-such-device'])
    assert blind.vg_report() is None
    with pytest.raises(exception.VolumeGroupNotFound):
        blind.update_volume_group_info()


def test_filter_regex_escaping_reaches_lvm(shared_vg):
    # The alias has '-' and '.', which the filter escapes as '\-' and '\.'
    # inside a quoted LVM config string.
    via_alias = shared_vg.lvm(devices=[shared_vg.alias])
    via_alias.update_volume_group_info()
    assert via_alias.get_physical_volumes()[0]['name'] == shared_vg.alias


def test_visible_vgs_and_connector_properties(shared_vg):
    vg = shared_vg.lvm()
    vg.update_volume_group_info()
    seen = lvm.visible_vgs(processutils.execute, None, [shared_vg.device],
                           'global { activation=0 } ')
    assert seen == [{'name': shared_vg.vg_name, 'uuid': vg.vg_uuid}]
    props = connector.SharedLVMConnector.get_connector_properties(
        None, execute=processutils.execute,
        shared_lvm_devices=[shared_vg.device],
        lvm_extra_config='global { activation=0 } ')
    assert props == {'shared_lvm_vgs': [vg.vg_uuid]}


# -- the reader role (rule 1) ----------------------------------------------

def test_reader_reads_but_refuses_writes_before_lvm(shared_vg):
    shared_vg.lvm().create_volume('volume-1', '4m')
    recorder = Recorder()
    reader = shared_vg.lvm(lvm.READER, executor=recorder)
    assert reader.get_lv('volume-1')['size_bytes'] == 4 * MIB
    assert reader.vg_report()['vg_name'] == shared_vg.vg_name
    assert recorder.names == ['lvs', 'vgs']
    for write in (lambda: reader.create_volume('volume-2', '4m'),
                  lambda: reader.extend_volume('volume-1', '8m'),
                  lambda: reader.rename_volume('volume-1', 'volume-3'),
                  lambda: reader.add_tag('volume-1', 'x'),
                  lambda: reader.delete('volume-1')):
        with pytest.raises(exception.ReadOnlyRole):
            write()
    assert recorder.names == ['lvs', 'vgs']
    assert [lv['name'] for lv in shared_vg.lvm().list_lvs()] == ['volume-1']


def test_reader_config_is_what_lvm_runs_with(shared_vg):
    reader = shared_vg.lvm(lvm.READER)
    out = shared_vg.run_lvm(
        'lvmconfig', 'global/metadata_read_only', 'global/activation',
        'devices/hints', 'backup/backup', config=reader.lvm_config).stdout
    assert out.split() == ['metadata_read_only=1', 'activation=0',
                           'hints="none"', 'backup=0']


@pytest.mark.xfail(reason='measured: LVM 2.03.16 accepts metadata writes '
                          'with global/metadata_read_only=1 set by --config '
                          'or lvm.conf, so only the Python guard and the '
                          'compute host\'s rootwrap filters enforce rule 1',
                   strict=False)
def test_lvm_itself_refuses_writes_from_a_reader_config(shared_vg):
    reader = shared_vg.lvm(lvm.READER)
    result = shared_vg.run_lvm(
        'lvcreate', '-n', 'volume-forged', '-L', '4m', '-an', '-Zn',
        shared_vg.vg_name, config=reader.lvm_config, check=False)
    created = shared_vg.lvm().get_lv('volume-forged') is not None
    assert result.returncode != 0 and not created, result.stdout


# -- the connector on real LVM ---------------------------------------------

def _conn_props(shared_vg, lv, **over):
    data = {'vg_name': shared_vg.vg_name, 'lv_name': lv['name'],
            'lv_uuid': lv['uuid'],
            'device_path': '/dev/%s/%s' % (shared_vg.vg_name, lv['name']),
            'devices': [shared_vg.device], 'activation': 'shared'}
    data.update(over)
    return data


def _connector(recorder):
    return connector.SharedLVMConnector(
        None, execute=recorder, device_scan_attempts=1,
        activation_timeout=0, host='hostlvm',
        lvm_extra_config='global { activation=0 } ')


def test_connector_attach_reaches_the_device_wait(shared_vg):
    # activation=0 makes lvchange -ay a no-op, so no node ever appears:
    # the connector must give up cleanly and undo its activation.
    vg = shared_vg.lvm()
    vg.create_volume('volume-1', '4m')
    recorder = Recorder()
    with pytest.raises(exception.DeviceNotReady):
        _connector(recorder).connect_volume(
            _conn_props(shared_vg, vg.get_lv('volume-1')))
    assert recorder.names == ['lvs', 'lvchange', 'blockdev', 'lvchange']


def test_connector_refuses_a_recreated_lv(shared_vg):
    vg = shared_vg.lvm()
    vg.create_volume('volume-1', '4m')
    old = vg.get_lv('volume-1')
    vg.delete('volume-1')
    vg.create_volume('volume-1', '4m')
    recorder = Recorder()
    with pytest.raises(exception.InvalidConnectionInfo, match='UUID'):
        _connector(recorder).connect_volume(_conn_props(shared_vg, old))
    assert recorder.names == ['lvs']


def test_connector_missing_lv_and_vg(shared_vg):
    lv = {'name': 'volume-none', 'uuid': None}
    recorder = Recorder()
    conn = _connector(recorder)
    with pytest.raises(exception.LVNotFound):
        conn.connect_volume(_conn_props(shared_vg, lv, lv_uuid=None))
    assert recorder.names == ['lvs', 'vgs']
    with pytest.raises(exception.VolumeGroupNotFound):
        conn.connect_volume({
            'vg_name': 'cslvm-absent', 'lv_name': 'volume-none',
            'device_path': '/dev/cslvm-absent/volume-none',
            'devices': [shared_vg.device], 'activation': 'shared'})


def test_connector_detach_of_inactive_lv_is_a_no_op(shared_vg):
    """Inactive to lvs: the connector still asks device-mapper (a
    suspended or stale device is not 'active' to lvs); this kernel has no
    device-mapper, so nothing is mapped and nothing is removed."""
    vg = shared_vg.lvm()
    vg.create_volume('volume-1', '4m')
    recorder = Recorder()
    _connector(recorder).disconnect_volume(
        _conn_props(shared_vg, vg.get_lv('volume-1')), None)
    assert recorder.names == ['lvs', 'dmsetup']


def _cow_family(shared_vg, tmp_path, origin, snapshot):
    """An origin with a COW snapshot, in the metadata only.

    lvcreate -s needs device-mapper, which this kernel lacks; LVM's text
    format can still say it: a hidden ``snapshotN`` LV joins the origin to
    the COW store. vgcfgrestore writes it, and LVM then reports the pair
    as it reports a real family (attrs 'o' and 's').
    """
    vg = shared_vg.lvm()
    vg.create_volume(origin, '8m')
    vg.create_volume(snapshot, '4m')
    text = tmp_path / 'vg.meta'
    shared_vg.run_lvm('vgcfgbackup', '-f', str(text), shared_vg.vg_name)
    meta = text.read_text()
    end = meta.rindex('\t}\n\n}')     # the end of the logical_volumes block
    meta = meta[:end] + (
        '\t\tsnapshot0 {\n'
        '\t\t\tid = "Snap00-0000-0000-0000-0000-0000-000000"\n'
        '\t\t\tstatus = ["READ"]\n\t\t\tflags = []\n'
        '\t\t\tsegment_count = 1\n'
        '\t\t\tsegment1 {\n\t\t\t\tstart_extent = 0\n'
        '\t\t\t\textent_count = 2\n\t\t\t\ttype = "snapshot"\n'
        '\t\t\t\tchunk_size = 8\n\t\t\t\torigin = "%s"\n'
        '\t\t\t\tcow_store = "%s"\n\t\t\t}\n\t\t}\n' % (origin, snapshot)
    ) + meta[end:]
    text.write_text(meta)
    shared_vg.run_lvm('vgcfgrestore', '-f', str(text), shared_vg.vg_name)
    assert vg.get_lv(origin)['has_snapshots']
    assert vg.get_lv(snapshot)['is_snapshot']
    return vg


def test_delete_unless_origin_never_removes_a_family(shared_vg, tmp_path):
    """The one-command delete's selection, against LVM itself: a plain LV
    and a snapshot go; an origin with snapshots stays, and so do its
    snapshots (a plain ``lvremove`` of it would take them along)."""
    vg = _cow_family(shared_vg, tmp_path, 'volume-o', '_snapshot-s')
    vg.create_volume('volume-p', '4m')

    assert vg.delete_unless_origin('volume-o') is False
    assert vg.get_lv('volume-o')['has_snapshots']
    assert vg.get_lv('_snapshot-s')['is_snapshot']

    assert vg.delete_unless_origin('volume-p') is True
    assert vg.get_lv('volume-p') is None
    assert vg.delete_unless_origin('volume-p') is False   # already gone

    assert vg.delete_unless_origin('_snapshot-s') is True
    assert vg.get_lv('_snapshot-s') is None
    assert not vg.get_lv('volume-o')['has_snapshots']
    assert vg.delete_unless_origin('volume-o') is True
    assert vg.list_lvs() == []
