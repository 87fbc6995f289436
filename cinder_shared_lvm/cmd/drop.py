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

"""``drop-lockspace``: clear this host's stale lockspace of the VG.

lvmlockd mode. When sanlock loses the LUN on a running host it runs
``lvmlockctl --kill <vg>``: new locks are refused there, and the leases
expire on the LUN. lvmlockd keeps the dead lockspace until ``lvmlockctl
--drop <vg>`` (lvmlockd(8)), which is safe only once nothing of the VG is
mapped here: a device still mapped could write after another host took
its lease. So this refuses while device-mapper maps any LV of the VG on
this host, and says what to run first. Another host's lockspace needs no
clearing: its lease expires by itself (doc/source/admin/lvmlockd.rst).
"""

from cinder_shared_lvm.cmd import common
from cinder_shared_lvm.cmd import status
from cinder_shared_lvm import dm
from cinder_shared_lvm import lvm


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        'drop-lockspace', parents=parents,
        help='lvmlockd mode: clear this host\'s killed lockspace of the VG',
        description='After sanlock lost the LUN here and ran "lvmlockctl '
                    '--kill", clear the stale lockspace with "lvmlockctl '
                    '--drop". Refused while any LV of the VG is still '
                    'mapped on this host (run "cinder-shared-lvm cleanup '
                    '--force" first). Nothing is needed for another host: '
                    'its leases expire on their own.')
    parser.set_defaults(func=run, default_role=lvm.READER)
    return parser


def run(ctx: common.Context, args) -> common.Outcome:
    row, _lvs = status.load(ctx)
    devices = dm.inventory(ctx.execute, ctx.root_helper)
    mapped = [f.names for f in dm.families(devices, row['vg_uuid'])]
    if mapped:
        raise common.CLIError(
            'VG %s still has LVs mapped on this host (%s): dropping its '
            'lockspace now would let another host take their leases while '
            'they can still write. Run "cinder-shared-lvm cleanup --force" '
            'here first. Nothing was changed.' % (
                ctx.vg, '; '.join(', '.join(n) for n in mapped)))
    ctx.run('lvmlockctl', '--drop', ctx.vg)
    return common.Outcome(0, {'vg': ctx.vg, 'dropped': True}, [
        'Dropped the lockspace of VG %s on this host; run "vgchange '
        '--lockstart %s" once the LUN is back' % (ctx.vg, ctx.vg)])
