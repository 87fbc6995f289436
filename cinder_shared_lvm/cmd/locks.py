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

"""Who holds which LV lock, read from the sanlock leases on the LUN.

``status --locks`` (lvmlockd mode). lvmlockd keeps each LV's lease at the
offset in the LV's lock args (``lvs -o lv_lock_args``: ``1.0.0:<offset>``)
of the hidden ``lvmlock`` LV, and each host's lockspace lease at the start
of it, named ``<uuid>.<hostname>``. ``sanlock direct dump`` reads them
from the disk, so one host sees every host's locks (measured formats:
doc/source/lvmlockd-facts.rst). Read-only: nothing here takes or frees a
lease.
"""

from oslo_concurrency import processutils

from cinder_shared_lvm.cmd import common

LEASE_AREA = 1 << 20        # sanlock's 1 MiB alignment (512-byte sectors)


def parse_dump(text: str) -> list:
    """Rows of ``sanlock direct dump``: dicts of offset, resource,
    timestamp and owner (host_id); the header is skipped."""
    rows = []
    for line in (text or '').splitlines():
        fields = line.split()
        if len(fields) < 6 or not fields[0].isdigit():
            continue
        rows.append({'offset': int(fields[0]), 'resource': fields[2],
                     'timestamp': int(fields[3]), 'owner': int(fields[4])})
    return rows


def host_names(text: str) -> dict:
    """{host_id: hostname} from the lockspace leases (``<uuid>.<name>``,
    cut at sanlock's 48 characters)."""
    return {row['owner']: row['resource'].partition('.')[2] or
            row['resource'] for row in parse_dump(text) if row['owner']}


def holder(text: str) -> int:
    """host_id that holds the lease dumped in *text*, or 0 when free (a
    released lease keeps its last owner with timestamp 0)."""
    for row in parse_dump(text):
        if row['timestamp'] and row['owner']:
            return row['owner']
    return 0


def lock_offset(lock_args: str):
    """The lease offset in an LV's lock args, or None (a COW snapshot has
    none: it shares its origin's lock)."""
    tail = (lock_args or '').rpartition(':')[2]
    return int(tail) if tail.isdigit() else None


def holders(ctx, shared) -> dict:
    """{LV name: 'host (host_id N)' or 'free' or 'origin's'}."""
    out, _err = ctx.run_lvm(shared, 'lvs', '--noheadings', '--separator',
                            '|', '-o', 'lv_name,lv_lock_args', ctx.vg)
    lock_lv = '/dev/mapper/%s-lvmlock' % ctx.vg.replace('-', '--')
    names = host_names(_dump(ctx, lock_lv, 0))
    result = {}
    for line in out.splitlines():
        name, _sep, args = line.strip().partition('|')
        offset = lock_offset(args)
        if not name:
            continue
        if offset is None:
            result[name] = "origin's"
            continue
        owner = holder(_dump(ctx, lock_lv, offset))
        result[name] = ('%s (host_id %d)' % (names.get(owner, '?'), owner)
                        if owner else 'free')
    return result


def _dump(ctx, lock_lv: str, offset: int) -> str:
    try:
        out, _err = ctx.run('sanlock', 'direct', 'dump',
                            '%s:%d:%d' % (lock_lv, offset, LEASE_AREA))
    except processutils.ProcessExecutionError as err:
        raise common.CLIError(
            'cannot read the sanlock leases on %s (is this VG shared, and '
            'its lockspace started here?): %s' % (
                lock_lv, common.last_line(err)))
    return out
