"""``cleanup``: deactivate the VG's LVs that are active here but unused.

What a compute host needs after a crash or a failed detach: LVs left
active keep a stale table (another host may resize or delete them) and
block rule 5 for snapshot families. Activation state is local to this
host, not metadata, so a reader may do it.
"""

from cinder_shared_lvm.cmd import common
from cinder_shared_lvm.cmd import status
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        'cleanup', parents=parents,
        help='deactivate LVs of the VG that are active here but not open',
        description='Deactivate every LV of the shared VG that is active on '
                    'this host and that nothing here holds open. Open LVs '
                    '(and the whole snapshot family of one) are skipped '
                    'and reported. Exit 1 if a deactivation failed.')
    parser.add_argument('--dry-run', action='store_true',
                        help='only report what would be deactivated')
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


def run(ctx: common.Context, args) -> common.Outcome:
    _row, lvs = status.load(ctx)
    todo, busy = plan(lvs)
    done, failed = [], []
    shared = ctx.shared_lvm()
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
    data = {'vg': ctx.vg, 'dry_run': args.dry_run, 'deactivated': done,
            'skipped_open': sorted(busy),
            'held_open_by': busy, 'failed': failed}
    return common.Outcome(1 if failed else 0, data, _lines(data))


def _lines(data: dict) -> list:
    verb = 'would deactivate' if data['dry_run'] else 'deactivated'
    lines = ['%s %s' % (verb, name) for name in data['deactivated']]
    lines += ['skipped %s: %s open on this host' % (
        name, ', '.join(data['held_open_by'][name]))
        for name in data['skipped_open']]
    lines += ['FAILED %s: %s' % (f['lv'], f['error'])
              for f in data['failed']]
    return lines or ['nothing to do: no LV of VG %s is active here'
                     % data['vg']]
