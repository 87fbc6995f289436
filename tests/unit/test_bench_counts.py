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

"""Pin the commands each operation runs (the benchmark's section 1).

``bench.counts`` counts every command at the executor seam; these are the
figures doc/source/benchmarks.rst publishes. A change that adds a command to
an operation fails here first, with the new list of commands.
"""

import pytest

from bench import counts


@pytest.fixture(scope='module')
def measured():
    return counts.measure(sizes=(10, 1000, 5000))


# operation: (total commands, LVM commands, metadata writes, commands)
EXPECTED = {
    # the first allocation reads the VG; later ones within
    # shared_lvm_vg_report_max_age use that report (vgcache.py)
    'create_volume': (2, 2, 1, ['vgs', 'lvcreate']),
    'create_volume (recent VG report)': (1, 1, 1, ['lvcreate']),
    'create_snapshot': (1, 1, 1, ['lvcreate']),
    # lvremove --select refuses an origin with snapshots itself
    # (lvm.SharedLVM.delete_unless_origin): no read first
    'delete_volume': (1, 1, 1, ['lvremove']),
    'delete_snapshot': (1, 1, 1, ['lvremove']),
    'extend_volume': (2, 2, 1, ['lvs', 'lvextend']),
    'initialize_connection': (1, 1, 0, ['lvs']),
    'terminate_connection': (0, 0, 0, []),
    'get_connector_properties': (1, 1, 0, ['vgs']),
    'connect_volume': (3, 2, 0, ['lvs', 'lvchange -ay --yes', 'blockdev']),
    # the dmsetup info proves no dm device of the family is left (issue 9)
    'disconnect_volume': (4, 2, 0,
                          ['lvs', 'blockdev', 'lvchange -an --yes',
                           'dmsetup']),
    'get_volume_stats(refresh)': (2, 2, 0, ['vgs', 'lvs']),
}


@pytest.mark.parametrize('op', sorted(EXPECTED))
def test_commands_per_operation_whatever_the_lv_count(measured, op):
    total, lvm, writes, names = EXPECTED[op]
    for n_lvs, got in measured['operations'][op].items():
        assert (got['total'], got['lvm'], got['writes'],
                got['commands']) == (total, lvm, writes, names), n_lvs


def test_one_metadata_write_for_create_delete_snapshot(measured):
    for op in ('create_volume', 'delete_volume', 'delete_snapshot',
               'create_snapshot'):
        assert measured['targets'][op]['met'], measured['targets'][op]


def test_connect_volume_runs_at_most_two_lvm_commands(measured):
    assert measured['targets']['connect_volume']['met']


def test_stats_refresh_is_constant_in_the_number_of_lvs(measured):
    assert measured['targets']['get_volume_stats(refresh)']['met']
