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

"""``prepare``: turn the shared LUN(s) into the shared VG, once.

Idempotent: run again on devices that already hold exactly this VG, it
changes nothing, says "already prepared" and exits 0, so that automation
(Ansible and the like) can run it on every deploy. Devices that hold
anything else are refused unless ``--force``.

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
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm

BYTES_PER_LV = 600
LVS_PER_VOLUME = 2          # the volume and one snapshot
COPIES = 2                  # old and new metadata, both in the buffer
HEADROOM = 1 << 20          # label, mda header, VG and PV sections
MIN_METADATA_MIB = 16
LEASES_BEGIN_MIB = 67        # lvmlockd's lockspace, GL and VG leases
LOCK_LV_MIB = 256            # what vgcreate --shared makes (measured)
DEFAULT_EXPECTED_VOLUMES = 10000
MIB = 1 << 20
PV_SIGNATURE = 'an LVM physical volume'


def metadata_size_mib(expected_volumes: int) -> int:
    """``--metadatasize`` in MiB for *expected_volumes* Cinder volumes."""
    needed = (expected_volumes * LVS_PER_VOLUME * BYTES_PER_LV * COPIES +
              HEADROOM)
    return max(MIN_METADATA_MIB, int(math.ceil(needed / float(MIB))))


def lock_area_mib(expected_volumes: int) -> int:
    """Size in MiB of the sanlock lock LV (``lvmlock``) for the volumes.

    lvmlockd keeps one 1 MiB lease per LV (sanlock's alignment on 512-byte
    sectors), after 67 MiB of lockspace, global and VG leases
    (lvmlockd-sanlock.c). Sized like the metadata area: a volume and one
    LV more (a copy-mode snapshot or a copy in flight).
    """
    return LEASES_BEGIN_MIB + expected_volumes * LVS_PER_VOLUME


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
    parser.add_argument('--lock-manager', choices=lockd.LOCK_MANAGERS,
                        default=lockd.NONE,
                        help='lvmlockd: create a shared VG (vgcreate '
                             '--shared, sanlock leases on the LUN) and size '
                             'its lock LV for --expected-volumes; needs '
                             'sanlock and lvmlockd running here and a '
                             'unique local/host_id on every host '
                             '(default: %(default)s)')
    parser.add_argument('--force', action='store_true',
                        help='overwrite existing signatures on the devices '
                             '(DESTROYS what they hold)')
    parser.set_defaults(func=run, default_role=lvm.WRITER)
    return parser


#: prepare always runs as the writer; --role stays accepted (a test checks
#: that a reader is refused) but is not offered in its help.
ROLE_HELP = argparse.SUPPRESS


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
    if args.lock_manager == lockd.LVMLOCKD:
        _refuse_small_for_locks(sizes, mib, args.expected_volumes)
    found = _signatures(ctx)
    if found and not args.force:
        owners = _pv_owners(ctx, shared) if PV_SIGNATURE in found.values() \
            else {}
        if _holds_this_vg(ctx, found, owners):
            return _outcome(shared, args, mib, [], already=True)
        _refuse(found, owners)
    signatures = sorted(found)
    pv_args = ['--metadatasize', '%dm' % mib]
    if args.force:
        # NOTE: -ff is what pvcreate needs to re-initialise a PV that
        # belongs to a VG; --yes answers its wipe prompts.
        pv_args += ['-ff', '--yes']
    shared_vg = args.lock_manager == lockd.LVMLOCKD
    if shared_vg:
        # NOTE: pvcreate needs lvmlockd's global lock, which exists only
        # once the first sanlock VG does (lvmlockd(8)): vgcreate
        # initialises the PVs itself, with the same options.
        vg_args = ['--shared'] + pv_args
    else:
        ctx.run_lvm(shared, 'pvcreate', *pv_args, *ctx.devices)
        vg_args = []
    try:
        # NOTE: --setautoactivation n keeps every compute host from
        # activating the VG's LVs at boot or on udev events (rule 3).
        ctx.run_lvm(shared, 'vgcreate', *vg_args, '--setautoactivation',
                    'n', ctx.vg, *ctx.devices)
        if shared_vg:
            _size_lock_lv(ctx, shared, args.expected_volumes)
    except exception.LVMCommandFailed as err:
        raise common.CLIError('%s. The devices are PVs now: fix the cause, '
                              'then run prepare again with --force.' % err)
    return _outcome(shared, args, mib, signatures)


def _size_lock_lv(ctx: common.Context, shared, expected_volumes: int) -> None:
    """Grow the lock LV now, while the VG is empty.

    NOTE: lvmlockd grows it by itself (global/sanlock_lv_extend) when an
    lvcreate finds no free lease, but then it needs free extents at that
    moment, and that lvcreate waits for it.
    """
    wanted = lock_area_mib(expected_volumes)
    if wanted > LOCK_LV_MIB:
        ctx.run_lvm(shared, 'lvextend', '-L', '%dm' % wanted,
                    '%s/lvmlock' % shared.vg_name)


def _device_size(ctx: common.Context, device: str) -> int:
    """Size of a block device, asked of the host (design.rst: one executor)."""
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


def _refuse_small_for_locks(sizes: dict, mib: int, volumes: int) -> None:
    locks = lock_area_mib(volumes)
    if sum(sizes.values()) < (len(sizes) * mib + locks + 8) * MIB:
        raise common.CLIError(
            'the devices hold less than the %d MiB lock LV that %d volumes '
            'need (plus the metadata areas). Nothing was changed.'
            % (locks, volumes))


def _signatures(ctx: common.Context) -> dict:
    """{device: what it holds} for the devices that hold something."""
    found = {dev: _signature(ctx, dev) for dev in ctx.devices}
    return {dev: sig for dev, sig in found.items() if sig}


def _pv_owners(ctx: common.Context, shared: lvm.SharedLVM) -> dict:
    """{PV: (its VG name or '', the VG's missing PV count)}.

    Scanning is confined to ``--devices``, so every PV listed is one of
    them.
    """
    out, _err = ctx.run_lvm(shared, 'pvs', '--noheadings', '--separator',
                            '|', '-o', 'pv_name,vg_name,vg_missing_pv_count',
                            '--readonly')
    rows = [line.strip().split('|') for line in out.splitlines()
            if line.strip()]
    return {row[0]: (row[1], row[2] if len(row) > 2 else '')
            for row in rows if len(row) >= 2}


def _holds_this_vg(ctx: common.Context, found: dict, owners: dict) -> bool:
    """Every device is a PV, and they make up the whole VG --vg."""
    return (len(found) == len(ctx.devices) == len(owners) and
            set(found.values()) == {PV_SIGNATURE} and
            all(vg == ctx.vg and missing in ('', '0')
                for vg, missing in owners.values()))


def _refuse(found: dict, owners: dict) -> None:
    vgs = sorted({vg for vg, _missing in owners.values()})
    held = '; '.join('%s already holds %s' % item for item in found.items())
    if vgs:
        held += ' (of VG %s)' % ', '.join(vg or '(none)' for vg in vgs)
    raise common.CLIError(
        'Refusing to prepare: %s. Nothing was changed. If the data on them '
        'is not needed, run again with --force.' % held)


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
        return PV_SIGNATURE
    if fields.get('TYPE'):
        return 'a %s signature' % fields['TYPE']
    if fields.get('PTTYPE'):
        return 'a partition table (%s)' % fields['PTTYPE']
    return ''


def _outcome(shared, args, mib: int, overwritten: list,
             already: bool = False) -> common.Outcome:
    row = shared.vg_report() or {}
    if already:
        # What the VG has, not what this run would have made.
        mib = int(row.get('vg_mda_size') or 0) // MIB
    data = {'vg': shared.vg_name, 'vg_uuid': row.get('vg_uuid'),
            'devices': shared.devices, 'expected_volumes':
            args.expected_volumes, 'metadata_size_mib': mib,
            'size_bytes': int(row.get('vg_size') or 0),
            'overwritten_signatures': overwritten,
            'already_prepared': already,
            'lock_manager': args.lock_manager}
    lines = ['%s VG %s (%s) on %s' % (
                 'Already prepared:' if already else 'Created',
                 shared.vg_name, data['vg_uuid'] or 'uuid unknown',
                 ', '.join(shared.devices)),
             'size %s, metadata area %d MiB per PV%s, autoactivation %s' % (
                 common.human_size(data['size_bytes']), mib,
                 '' if already else ' (sized for %d volumes)'
                 % args.expected_volumes,
                 'on' if row.get('vg_autoactivation') == 'enabled'
                 else 'off')]
    if args.lock_manager == lockd.LVMLOCKD and not already:
        lines.append('shared VG (lvmlockd, sanlock) with a %d MiB lock LV; '
                     'give every host a unique local/host_id and run '
                     '"vgchange --lockstart %s" on each' % (
                         max(LOCK_LV_MIB,
                             lock_area_mib(args.expected_volumes)),
                         shared.vg_name))
    wanted = metadata_size_mib(args.expected_volumes)
    if already and mib < wanted:
        lines.append('WARN: the metadata area is smaller than the %d MiB '
                     'that %d volumes need; see the operator guide, '
                     '"Growing the VG"' % (wanted, args.expected_volumes))
    return common.Outcome(0, data, lines)
