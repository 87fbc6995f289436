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

"""``status``: the shared VG's LVs, what Cinder object each one is, and
whether it is active or open on this host."""

import re
from typing import Optional

from cinder_shared_lvm.cmd import common
from cinder_shared_lvm.cmd import locks
from cinder_shared_lvm import contract
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

_UUID = r'[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-' \
        r'[0-9a-fA-F]{12}'
# Cinder's LVM naming: volume_name_template "volume-%s"; a snapshot is
# "snapshot-%s", stored under the contract's escaped LV name.
_NAME_PATTERNS = (
    ('volume', re.compile(r'^volume-(%s)\Z' % _UUID)),
    ('snapshot', re.compile(r'^%s(%s)\Z' % (
        re.escape(contract.snapshot_lv_name('snapshot-')), _UUID))))


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        'status', parents=parents,
        help='list the VG\'s LVs with their Cinder IDs and local state',
        description='List every LV of the shared VG: the Cinder volume or '
                    'snapshot it holds (other LVs are "unmanaged"), its '
                    'size, its snapshot family, and whether it is active '
                    'or open on this host.')
    parser.add_argument('--locks', action='store_true',
                        help='lvmlockd mode: also show which host holds '
                             'each LV\'s lock, read from the sanlock leases '
                             'on the LUN (sanlock direct dump)')
    parser.set_defaults(func=run, default_role=lvm.READER)
    return parser


def classify(lv_name: str) -> tuple:
    """('volume'|'snapshot'|'unmanaged', Cinder ID or None)."""
    for kind, pattern in _NAME_PATTERNS:
        match = pattern.match(lv_name)
        if match:
            return kind, match.group(1).lower()
    return 'unmanaged', None


def families(lvs: list) -> dict:
    """{origin LV name: [its COW snapshots' names]}, for origins only."""
    result = {}
    for lv in lvs:
        if lv['origin']:
            result.setdefault(lv['origin'], []).append(lv['name'])
    return result


def load(ctx: common.Context) -> tuple:
    """(vgs row, LVs) of the VG; raise if the VG is not visible."""
    shared = ctx.shared_lvm()
    row = shared.vg_report()
    if row is None:
        raise exception.VolumeGroupNotFound(vg=ctx.vg, devices=ctx.devices)
    return row, shared.list_lvs()


def run(ctx: common.Context, args) -> common.Outcome:
    row, lvs = load(ctx)
    entries = [_entry(lv) for lv in lvs]
    data = {'vg': ctx.vg, 'vg_uuid': row['vg_uuid'],
            'size_bytes': int(row['vg_size']),
            'free_bytes': int(row['vg_free']),
            'metadata_size_bytes': int(row['vg_mda_size']),
            'metadata_free_bytes': int(row['vg_mda_free']),
            # percent of the usable half: see common.metadata_free_percent
            'metadata_free_percent': round(
                common.metadata_free_percent(row), 1),
            'lvs': entries, 'families': families(lvs)}
    if getattr(args, 'locks', False):
        held = locks.holders(ctx, ctx.shared_lvm())
        for entry in entries:
            entry['lock'] = held.get(entry['name'], 'free')
    return common.Outcome(0, data, _lines(data))


def _entry(lv: dict) -> dict:
    kind, cinder_id = classify(lv['name'])
    return {'name': lv['name'], 'kind': kind, 'id': cinder_id,
            'size_bytes': lv['size_bytes'], 'origin': lv['origin'],
            'active': lv['active'], 'open': lv['open'], 'tags': lv['tags']}


def _lines(data: dict) -> list:
    lines = ['VG %s (%s): %s, %s free, metadata area %.1f%% free' % (
        data['vg'], data['vg_uuid'], common.human_size(data['size_bytes']),
        common.human_size(data['free_bytes']),
        data['metadata_free_percent'])]
    if not data['lvs']:
        return lines + ['no LVs']
    with_locks = 'lock' in data['lvs'][0]
    rows = [(e['name'], e['kind'], e['id'] or '-',
             common.human_size(e['size_bytes']), e['origin'] or '-',
             _yes(e['active']), _yes(e['open'])) +
            ((e['lock'],) if with_locks else ()) for e in data['lvs']]
    lines += [''] + common.table(
        ['LV', 'CINDER', 'ID', 'SIZE', 'ORIGIN', 'ACTIVE', 'OPEN'] +
        (['LOCK HELD BY'] if with_locks else []), rows)
    for origin, snaps in sorted(data['families'].items()):
        lines.append('family %s -> %s' % (origin, ', '.join(sorted(snaps))))
    return lines


def _yes(flag: Optional[bool]) -> str:
    return 'yes' if flag else 'no'
