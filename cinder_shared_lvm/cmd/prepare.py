"""``prepare``: turn the shared LUN(s) into the shared VG, once.

Metadata area size (``pvcreate --metadatasize``)::

    bytes = N * LVS_PER_VOLUME * BYTES_PER_LV * COPIES + HEADROOM
    MiB   = max(MIN_METADATA_MIB, ceil(bytes / 1 MiB))

N is ``--expected-volumes``. One volume counts as itself plus one
snapshot (a COW snapshot is itself two metadata records, so a volume with
several snapshots uses more; the 600-byte estimate covers that for light
snapshot use). A plain LV measured ~340 bytes of metadata text on LVM
2.03.16; 600 leaves room for tags and extra segments after extends. LVM
writes the new copy of the metadata before it drops the old one, so only
half of the area is usable (COPIES = 2).
"""

import argparse
import math

from oslo_concurrency import processutils

from cinder_shared_lvm.cmd import common
from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm

BYTES_PER_LV = 600
LVS_PER_VOLUME = 2          # the volume and one snapshot
COPIES = 2                  # old and new metadata, both in the buffer
HEADROOM = 1 << 20          # label, mda header, VG and PV sections
MIN_METADATA_MIB = 16
DEFAULT_EXPECTED_VOLUMES = 10000
MIB = 1 << 20


def metadata_size_mib(expected_volumes: int) -> int:
    """``--metadatasize`` in MiB for *expected_volumes* Cinder volumes."""
    needed = (expected_volumes * LVS_PER_VOLUME * BYTES_PER_LV * COPIES +
              HEADROOM)
    return max(MIN_METADATA_MIB, int(math.ceil(needed / float(MIB))))


def add_parser(subparsers, parents):
    parser = subparsers.add_parser(
        'prepare', parents=parents,
        help='create the shared PV(s) and VG (once, on the cinder host)',
        description='Run pvcreate with a metadata area sized for '
                    '--expected-volumes and vgcreate --setautoactivation n, '
                    'both confined to --devices. Refuses a device that '
                    'already carries a signature (PV, filesystem, '
                    'partition table) unless --force.')
    parser.add_argument('--expected-volumes', type=_positive_int,
                        default=DEFAULT_EXPECTED_VOLUMES, metavar='N',
                        help='volumes the VG must hold; sizes the metadata '
                             'area (default: %(default)s)')
    parser.add_argument('--force', action='store_true',
                        help='overwrite existing signatures on the devices '
                             '(DESTROYS what they hold)')
    parser.set_defaults(func=run, default_role=lvm.WRITER)
    return parser


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError('%r is not a positive integer'
                                         % value)
    return number


def run(ctx: common.Context, args) -> common.Outcome:
    if ctx.role != lvm.WRITER:
        raise common.CLIError('prepare writes VG metadata: run it once, on '
                              'the cinder-volume host, as --role writer',
                              exit_code=2)
    shared = ctx.shared_lvm()                    # validates the VG name
    mib = metadata_size_mib(args.expected_volumes)
    sizes = {dev: _device_size(ctx, dev) for dev in ctx.devices}
    _refuse_small(sizes, mib)
    signatures = _refuse_signatures(ctx, args.force)
    pv_args = ['--metadatasize', '%dm' % mib]
    if args.force:
        # NOTE: -ff is what pvcreate needs to re-initialise a PV that
        # belongs to a VG; --yes answers its wipe prompts.
        pv_args += ['-ff', '--yes']
    ctx.run_lvm(shared, 'pvcreate', *pv_args, *ctx.devices)
    try:
        # NOTE: --setautoactivation n keeps every compute host from
        # activating the VG's LVs at boot or on udev events (rule 3).
        ctx.run_lvm(shared, 'vgcreate', '--setautoactivation', 'n', ctx.vg,
                    *ctx.devices)
    except exception.LVMCommandFailed as err:
        raise common.CLIError('%s. The devices are PVs now: fix the cause, '
                              'then run prepare again with --force.' % err)
    return _outcome(shared, args, mib, signatures)


def _device_size(ctx: common.Context, device: str) -> int:
    """Size of a block device, asked of the host (DESIGN.md section 2)."""
    try:
        out, _err = ctx.run('blockdev', '--getsize64', device)
        return int(out.strip())
    except (processutils.ProcessExecutionError, ValueError) as err:
        raise common.CLIError('%s is not a usable block device on this host '
                              '(%s). Nothing was changed.'
                              % (device, common.last_line(err)))


def _refuse_small(sizes: dict, mib: int) -> None:
    # One metadata area plus a few extents; pvcreate's own error says less.
    floor = (mib + 8) * MIB
    small = [d for d, size in sizes.items() if size < floor]
    if small:
        raise common.CLIError(
            '%s: smaller than the %d MiB metadata area plus data space. '
            'Nothing was changed.' % (', '.join(small), mib))


def _refuse_signatures(ctx: common.Context, force: bool) -> list:
    """Devices that hold something; raise unless *force*."""
    found = {dev: _signature(ctx, dev) for dev in ctx.devices}
    found = {dev: sig for dev, sig in found.items() if sig}
    if found and not force:
        raise common.CLIError(
            'Refusing to prepare: %s. Nothing was changed. If the data on '
            'them is not needed, run again with --force.' % '; '.join(
                '%s already holds %s' % item for item in found.items()))
    return sorted(found)


def _signature(ctx: common.Context, device: str) -> str:
    """What blkid finds on *device* ('' for nothing): PV, fs, table."""
    # NOTE: -p probes the device itself, not blkid's cache, which may be
    # older than another host's last write to the shared LUN. Exit code 2
    # means no signature was found.
    out, _err = ctx.run('blkid', '-p', '-o', 'export', device,
                        check_exit_code=[0, 2])
    fields = dict(line.split('=', 1) for line in (out or '').splitlines()
                  if '=' in line)
    if fields.get('TYPE') == 'LVM2_member':
        return 'an LVM physical volume'
    if fields.get('TYPE'):
        return 'a %s signature' % fields['TYPE']
    if fields.get('PTTYPE'):
        return 'a partition table (%s)' % fields['PTTYPE']
    return ''


def _outcome(shared, args, mib: int, overwritten: list) -> common.Outcome:
    row = shared.vg_report() or {}
    data = {'vg': shared.vg_name, 'vg_uuid': row.get('vg_uuid'),
            'devices': shared.devices, 'expected_volumes':
            args.expected_volumes, 'metadata_size_mib': mib,
            'size_bytes': int(row.get('vg_size') or 0),
            'overwritten_signatures': overwritten}
    lines = ['Created VG %s (%s) on %s' % (shared.vg_name,
                                           data['vg_uuid'] or 'uuid unknown',
                                           ', '.join(shared.devices)),
             'size %s, metadata area %d MiB per PV (sized for %d volumes), '
             'autoactivation off' % (common.human_size(data['size_bytes']),
                                     mib, args.expected_volumes)]
    return common.Outcome(0, data, lines)
