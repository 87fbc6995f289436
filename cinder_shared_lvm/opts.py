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

"""Configuration options of the shared-LVM backend.

The options live in each backend's section of cinder.conf (they are
registered with ``configuration.append_config_values``), so two shared-LVM
backends in one cinder.conf keep separate values.
"""

import itertools

from oslo_config import cfg

SNAPSHOT_MODE_COW = 'cow'
SNAPSHOT_MODE_COPY = 'copy'

shared_lvm_opts = [
    cfg.StrOpt('shared_lvm_volume_group',
               default='cinder-shared',
               help='Name of the LVM volume group that lives on the shared '
                    'LUN. Every host (cinder-volume and nova-compute) sees '
                    'this VG. Create it with "cinder-shared-lvm prepare".'),
    cfg.ListOpt('shared_lvm_devices',
                default=[],
                help='Paths of the shared physical volume(s) that hold the '
                     'VG, for example /dev/disk/by-id/wwn-0x600... or '
                     '/dev/mapper/mpatha. Every LVM command is confined to '
                     'these devices, so LVM never scans local disks or '
                     'sees a stale path. Use a name that is the same on '
                     'every host; compute hosts use it too unless they '
                     'override it. Required.'),
    cfg.ListOpt('shared_lvm_volume_groups',
                default=[],
                help='Several VGs for this backend, one per shared LUN, '
                     'each reported to the scheduler as a pool named after '
                     'the VG. Every LVM command reads the whole metadata of '
                     'its VG, so one VG slows down linearly with its LV '
                     'count; several VGs bound that cost by the LVs of one '
                     '(doc/source/benchmarks.rst) and let their metadata '
                     'writes run in parallel. shared_lvm_devices then lists '
                     'the PVs of all of them; each VG\'s commands see only '
                     'its own. Empty (the default): the one VG '
                     'shared_lvm_volume_group, in one pool named after '
                     'volume_backend_name.'),
    cfg.StrOpt('shared_lvm_snapshot_mode',
               default=SNAPSHOT_MODE_COW,
               choices=[(SNAPSHOT_MODE_COW,
                         'Thick LVM copy-on-write snapshots: instant, but '
                         'an origin and its snapshots may be active on one '
                         'host only, so such a volume cannot be '
                         'multi-attached or live-migrated.'),
                        (SNAPSHOT_MODE_COPY,
                         'A snapshot is a full, independent copy of the '
                         'volume: slower to create, but the volume stays a '
                         'plain LV that may be attached on several hosts.')],
               help='How volume snapshots are made. Change it to copy '
                    'when volumes that have snapshots must still be '
                    'multi-attached or live-migrated.'),
    cfg.IntOpt('shared_lvm_snapshot_size_percent',
               default=100, min=1, max=100,
               help='Size of a copy-on-write snapshot\'s store as a '
                    'percentage of its origin. At 100 a snapshot can never '
                    'overflow; lower values save space but a snapshot that '
                    'fills up becomes invalid.'),
    cfg.StrOpt('shared_lvm_snapshot_chunk_size',
               default='64k',
               choices=['4k', '8k', '16k', '32k', '64k', '128k', '256k',
                        '512k'],
               help='Chunk size of copy-on-write snapshots (lvcreate -c). '
                    'Reading a snapshot (a volume from it, an upload, a '
                    'backup) is split into chunks: with LVM\'s default of '
                    '4k, a 1 GiB O_DIRECT read of a snapshot took 19 s '
                    'against 1.7 s at 64k and 1.0 s at 512k on the test rig '
                    '(doc/source/benchmarks.rst). A larger chunk makes the '
                    'first write to each chunk of the origin copy more. '
                    'Applies to snapshots created from now on.'),
    cfg.IntOpt('shared_lvm_min_free_metadata_percent',
               default=5, min=0, max=90,
               help='Refuse to create LVs when less than this percentage of '
                    'the VG metadata area is free, so LVM never fails half '
                    'way through a metadata write. Stats warn below twice '
                    'this value.'),
    cfg.StrOpt('shared_lvm_executor',
               default='',
               help='Dotted path of a callable with the signature of '
                    'oslo_concurrency.processutils.execute that runs every '
                    'host command of this backend (LVM, dd, blockdev) and '
                    'of the shared_lvm connector in this process. Empty '
                    '(the default) runs them here through Cinder\'s root '
                    'helper, as usual. Set it only to run the commands '
                    'through a remote agent, for example the test rig\'s '
                    '"rig.remote_execute.execute".'),
    cfg.BoolOpt('shared_lvm_cleanup_incomplete_on_startup',
                default=False,
                help='At startup, remove LVs whose copy never finished '
                     '(tagged cslvm-incomplete by a clone, a volume from a '
                     'snapshot or a copy-mode snapshot when this service '
                     'stopped mid-copy). By default they are only reported. '
                     'Enable only when no other cinder-volume service '
                     'manages the VG: its copies in flight carry the tag '
                     'too.'),
    cfg.IntOpt('shared_lvm_vg_report_max_age',
               default=10, min=0,
               help='Seconds for which a create, snapshot or extend may '
                    'check free space against the last VG report, debited '
                    'with this service\'s own allocations since, instead '
                    'of reading the VG again. A check that would refuse '
                    'always reads the VG afresh, and LVM itself refuses '
                    'an allocation that does not fit. 0 reads the VG '
                    'before every allocation.'),
    cfg.StrOpt('shared_lvm_lock_manager',
               default='none', choices=[
                   ('none', 'the driver\'s own locks only (Cinder\'s '
                            'coordination); LVM on every host runs without '
                            'lvmlockd'),
                   ('lvmlockd', 'the VG is shared (vgcreate --shared, '
                                'sanlock leases on the LUN): LVM itself '
                                'refuses a second host\'s activation of a '
                                'locked LV and serialises metadata writes')],
               help='Who else enforces the locks. With lvmlockd every host '
                    'of the VG (this one and each compute host) needs '
                    'sanlock and lvmlockd running, global/use_lvmlockd=1 '
                    'and its own local/host_id (1-2000, unique among the '
                    'hosts of the VG) in lvm.conf, and the VG\'s lockspace '
                    'started (vgchange --lockstart; the driver starts it '
                    'on this host). Compute hosts set [shared_lvm] '
                    'lock_manager = lvmlockd in nova.conf. See '
                    'doc/source/admin/lvmlockd.rst.'),
    cfg.IntOpt('shared_lvm_lockstart_timeout',
               default=180, min=1,
               help='With shared_lvm_lock_manager = lvmlockd: seconds to '
                    'wait at startup for the VG\'s lockspace to start on '
                    'this host (sanlock needs tens of seconds to join a '
                    'lockspace; about 25 s measured). Past it the driver '
                    'fails to start, with an error naming the VG; restart '
                    'cinder-volume once sanlock and lvmlockd run. A pool '
                    'whose lockspace stops later reports backend_state '
                    'down.'),
    cfg.IntOpt('shared_lvm_lock_timeout',
               default=300, min=1,
               help='Seconds to wait for the VG metadata lock shared by all '
                    'cinder-volume services that manage this VG.'),
]


def list_opts():
    """Entry point for oslo-config-generator."""
    return [('backend', itertools.chain(shared_lvm_opts))]
