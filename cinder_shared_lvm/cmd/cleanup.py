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

"""``cleanup``: remove what this host maps of the VG but nothing uses.

What a compute host needs after a crash or a failed detach: LVs left
active keep a stale table (another host may resize or delete them) and
block rule 5 for snapshot families. Activation state is local to this
host, not metadata, so a reader may do it.

Two passes. First LVM: deactivate the LVs that ``lvs`` shows active and
not open. Then device-mapper, which is what the kernel really maps: every
remaining device of the VG, found by its dm UUID (``LVM-<vg uuid><lv
uuid>`` and its ``-real``/``-cow`` layers), that nothing here holds open.
That second pass catches what ``lvs`` does not show as active (suspended,
tableless, inactive-only or stale devices) and devices of LVs that were
deleted while mapped here (cinder_shared_lvm.dm).
"""

import socket

from cinder_shared_lvm.cmd import common
from cinder_shared_lvm.cmd import status
from cinder_shared_lvm import dm
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        'cleanup', parents=parents,
        help='remove LVs of the VG that are mapped here but not open',
        description='Deactivate every LV of the shared VG that is active on '
                    'this host and that nothing here holds open, then remove '
                    'every device-mapper device of the VG that is still '
                    'mapped here and not open (what lvs does not show, and '
                    'devices of LVs deleted while mapped here). Open LVs '
                    '(and the whole snapshot family of one) are skipped '
                    'and reported unless --force. Exit 1 if a removal '
                    'failed.')
    parser.add_argument('--dry-run', action='store_true',
                        help='only report what would be removed')
    parser.add_argument('--force', action='store_true',
                        help='also remove families held open here: their '
                             'devices then fail all I/O at once and go at '
                             'their last close')
    parser.set_defaults(func=run, default_role=lvm.READER)
    return parser


def plan(lvs: list) -> tuple:
    """([[LV to deactivate, LVs it takes down]], {skipped LV: open LVs}).

    A COW snapshot is active exactly when its origin is, and deactivating
    the origin takes the snapshots down with it; so a snapshot family is
    one unit, held by whichever member is open.
    """
    by_name = {lv['name']: lv for lv in lvs}
    fams = status.families(lvs)
    todo, busy = [], {}
    for lv in lvs:
        if lv['origin'] in by_name or not lv['active']:
            continue            # a snapshot goes with its origin
        members = [lv] + [by_name[s] for s in fams.get(lv['name'], [])]
        names = [m['name'] for m in members]
        held_by = [m['name'] for m in members if m['open']]
        if held_by:
            busy.update(dict.fromkeys(names, held_by))
        else:
            todo.append(names)
    return todo, busy


def _uuid_map(lvs: list) -> dict:
    """{LV UUID without dashes: LV name}, for LVs with a well-formed UUID."""
    result = {}
    for lv in lvs:
        try:
            result[dm.lvm_uuid(lv['uuid'])] = lv['name']
        except ValueError:
            pass
    return result


def run(ctx: common.Context, args) -> common.Outcome:
    row, lvs = status.load(ctx)
    todo, busy = plan(lvs)
    done, failed = [], []
    shared = ctx.shared_lvm()
    force = getattr(args, 'force', False)
    for names in todo:
        if args.dry_run:
            done += names
            continue
        try:
            shared.deactivate_lv(names[0])
            done += names
        except exception.LVMCommandFailed as err:
            # NOTE: an LV opened after our lvs (a new attach) fails here
            # with "in use"; that is the right outcome, reported as such.
            failed.append({'lv': names[0], 'error': str(err)})
    by_uuid = _uuid_map(lvs)
    by_name = {name: uuid for uuid, name in by_uuid.items()}
    # Families already reported by the LVM pass are not reported again:
    # those skipped as open (unless forced), and in a dry run those that
    # would have been deactivated.
    keep = [by_name[n] for n in busy if n in by_name] if not force else []
    if args.dry_run:
        keep += [by_name[n] for names in todo for n in names
                 if n in by_name]
    report = dm.remove_leftovers(ctx.execute, ctx.root_helper,
                                 row['vg_uuid'], keep=keep, force=force,
                                 host=socket.gethostname(),
                                 lv_names=by_uuid, dry_run=args.dry_run)
    failed += [{'lv': ', '.join(f['devices']), 'error': f['error']}
               for f in report['failed']]
    data = {'vg': ctx.vg, 'dry_run': args.dry_run, 'deactivated': done,
            'skipped_open': sorted(busy) if not force else [],
            'held_open_by': busy if not force else {},
            'removed_dm': [n for names in report['removed'] for n in names],
            'deferred_dm': report['deferred'],
            'skipped_open_dm': report['skipped_open'],
            'failed': failed}
    return common.Outcome(1 if failed else 0, data, _lines(data))


def _lines(data: dict) -> list:
    dry = data['dry_run']
    verb = 'would deactivate' if dry else 'deactivated'
    lines = ['%s %s' % (verb, name) for name in data['deactivated']]
    lines += ['skipped %s: %s open on this host' % (
        name, ', '.join(data['held_open_by'][name]))
        for name in data['skipped_open']]
    verb = 'would remove' if dry else 'removed'
    lines += ['%s dm device %s%s' % (
        verb, name, ' (deferred: open, now failing all I/O)'
        if name in data['deferred_dm'] else '')
        for name in data['removed_dm']]
    lines += ['skipped dm device %s: open %d time(s) on this host' % kv
              for kv in sorted(data['skipped_open_dm'].items())]
    lines += ['FAILED %s: %s' % (f['lv'], f['error'])
              for f in data['failed']]
    return lines or ['nothing to do: nothing of VG %s is mapped here'
                     % data['vg']]
