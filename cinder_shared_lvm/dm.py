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

"""What device-mapper really maps on this host for a shared VG, by dm UUID.

``lvs`` is not the authority for what a host maps (doc/source/design.rst,
"LVM facts the code relies on"):
its active flag (``lv_attr`` character 5 = ``a``) is set only for a live,
current table. A device that is suspended (``s``), has no table (``d``,
``XX``) or an inactive table only (``i``), or whose table is stale (the LV
was extended on another host and not refreshed here) is not shown as
active, yet the kernel keeps it and its extents mapped. After the LV is
removed, LVM no longer knows it at all, and those extents are reused by
the next LV. Detach, ``cinder-shared-lvm cleanup`` and the driver's
startup recovery therefore decide from device-mapper.

LVM gives each device the dm UUID ``LVM-<vg uuid><lv uuid>`` (both without
dashes), plus ``-real`` for the origin layer of an LV that has COW
snapshots and ``-cow`` for a snapshot's exception store. A *family* here is
what the kernel ties together: the devices of one LV (its top device and
layers) and every device that uses one of them (an origin's snapshots use
its ``-real``), i.e. a connected component of the dependency graph among
the VG's devices.

Only these fixed commands run (each through the caller's executor, as
root)::

    dmsetup info -c --noheadings --separator | \
            -o name,uuid,devno,open,attr,devnos_used
    dmsetup remove -u <dm uuid>
    dmsetup wipe_table <dm name>              (forced removal, open device)
    dmsetup remove --deferred -u <dm uuid>    (forced removal, open device)

It imports oslo only: the compute-side connector uses it.
"""

import collections
import re
from typing import Callable, Iterable, Optional

from oslo_concurrency import processutils
from oslo_log import log as logging

from cinder_shared_lvm import exception

LOG = logging.getLogger(__name__)

INFO_FIELDS = ('name', 'uuid', 'devno', 'open', 'attr', 'devnos_used')
INFO_ARGV = ('dmsetup', 'info', '-c', '--noheadings', '--separator', '|',
             '-o', ','.join(INFO_FIELDS))
LAYERS = ('', '-real', '-cow')

# LVM-<32 vg><32 lv>[-real|-cow]; nothing else is ever removed here.
_DM_UUID_RE = re.compile(
    r'^LVM-([A-Za-z0-9]{32})([A-Za-z0-9]{32})(-real|-cow)?\Z')
_LVM_UUID_RE = re.compile(r'^[A-Za-z0-9]{6}(-?[A-Za-z0-9]{4}){5}-?'
                          r'[A-Za-z0-9]{6}\Z')
_DEVNO_RE = re.compile(r'^[0-9]+:[0-9]+\Z')
_NAME_RE = re.compile(r'^[A-Za-z0-9+_.-]{1,127}\Z')


class DMCommandFailed(exception.SharedLVMError):
    message = "%(command)s failed on %(host)s: %(stderr)s"


class DMRemoveFailed(exception.SharedLVMError):
    message = ("Removing the device-mapper devices of %(what)s on %(host)s "
               "failed at %(command)s: %(stderr)s. Removed: %(removed)s. "
               "Still mapped here: %(left)s. Retry the detach or run "
               "cinder-shared-lvm cleanup on this host.")


class DMDeviceBusy(exception.DeviceBusy):
    message = ("%(what)s is still open on %(host)s (dm device and openers: "
               "%(devices)s); refusing to remove it. Stop its user or "
               "detach with force.")


class Device(collections.namedtuple(
        'Device', 'name uuid devno open attr uses vg_uuid lv_uuid layer')):
    """One dm device of an LVM VG, as ``dmsetup info`` reported it.

    ``attr`` is dmsetup's: ``L`` live table, ``I`` inactive table, ``s``
    suspended, ``r``/``w`` read-only/writable. ``uses`` lists the devnos
    it maps onto; ``open`` counts every opener, dm holders included.
    """

    @property
    def live(self) -> bool:
        return 'L' in self.attr

    @property
    def suspended(self) -> bool:
        return 's' in self.attr

    def state(self) -> str:
        """A few words for a log line: what lvs would not have shown."""
        words = []
        if self.suspended:
            words.append('suspended')
        if not self.live:
            words.append('no live table')
        if 'I' in self.attr:
            words.append('inactive table loaded')
        return ', '.join(words) or 'live'


class Family(object):
    """The dm devices of one snapshot family on this host.

    :ivar devices: in removal order: no device comes before one that uses
                   it (top devices and snapshots, then ``-real``/``-cow``)
    :ivar lv_uuids: the LVs' UUIDs, without dashes
    :ivar open_by: {dm name: openers outside the family}; non-empty means
                   something on this host (a guest, a user) holds it
    """

    def __init__(self, devices: list):
        self.devices = _removal_order(devices)
        self.lv_uuids = sorted({d.lv_uuid for d in devices})
        self.vg_uuid = devices[0].vg_uuid
        self.open_by = {}
        for dev in devices:
            held = sum(1 for d in devices if dev.devno in d.uses)
            if dev.open > held:
                self.open_by[dev.name] = dev.open - held

    @property
    def names(self) -> list:
        return [d.name for d in self.devices]

    def __repr__(self):
        return 'Family(%s)' % ', '.join(
            '%s[%s]' % (d.name, d.state()) for d in self.devices)


def lvm_uuid(uuid: str) -> str:
    """An LVM UUID as dm uses it: 32 characters, no dashes."""
    if not isinstance(uuid, str) or not _LVM_UUID_RE.match(uuid):
        raise ValueError('%r is not an LVM UUID' % (uuid,))
    return uuid.replace('-', '')


def dm_uuid(vg_uuid: str, lv_uuid: str, layer: str = '') -> str:
    """``LVM-<vg><lv><layer>``, the dm UUID LVM gives an LV's device."""
    if layer not in LAYERS:
        raise ValueError('unknown LVM layer %r' % layer)
    return 'LVM-%s%s%s' % (lvm_uuid(vg_uuid), lvm_uuid(lv_uuid), layer)


def _run(execute: Callable, root_helper, *argv) -> tuple:
    return execute(*argv, root_helper=root_helper, run_as_root=True)


# What dmsetup prints when the kernel has no device-mapper driver.
NO_DM_KERNEL = 'Failure to communicate with kernel device-mapper driver'


def inventory(execute: Callable, root_helper=None,
              host: str = 'this host') -> list:
    """Every LVM dm device on this host, whatever its state.

    :raises DMCommandFailed: dmsetup failed
    """
    try:
        out, _err = _run(execute, root_helper, *INFO_ARGV)
    except processutils.ProcessExecutionError as err:
        if NO_DM_KERNEL in (err.stderr or ''):
            # NOTE: a kernel without device-mapper maps nothing: no LV
            # can be active here (LVM then works for metadata only).
            LOG.debug('No device-mapper in the kernel on %s', host)
            return []
        raise DMCommandFailed(
            command=' '.join(INFO_ARGV), host=host,
            stderr=(err.stderr or '').strip()) from err
    if isinstance(out, bytes):
        out = out.decode('utf-8', 'replace')
    devices = []
    for line in (out or '').splitlines():
        line = line.strip()
        # NOTE: with no device at all dmsetup prints "No devices found"
        # on stdout and exits 0.
        if not line or line == 'No devices found':
            continue
        values = line.split('|')
        if len(values) != len(INFO_FIELDS):
            LOG.warning('Ignoring unparsable dmsetup line %r', line)
            continue
        name, uuid, devno, opened, attr, uses = values
        match = _DM_UUID_RE.match(uuid)
        if not match or not _NAME_RE.match(name):
            continue            # not an LV's device (multipath, crypt...)
        devices.append(Device(
            name, uuid, devno, int(opened) if opened.isdigit() else 0,
            attr, tuple(u for u in uses.split(',') if _DEVNO_RE.match(u)),
            match.group(1), match.group(2), match.group(3) or ''))
    return devices


def is_lock_lv(name: str) -> bool:
    """True for a shared VG's hidden ``lvmlock`` LV (lvmlockd mode).

    sanlock keeps every lease of the VG on it: removing its dm device
    would make this host lose them all (and sanlock's watchdog reset it).
    In a dm name '-' inside a VG or LV name is doubled, so only an LV
    named exactly ``lvmlock`` ends with a single '-lvmlock'.
    """
    return name.endswith('-lvmlock') and not name.endswith('--lvmlock')


def families(devices: Iterable[Device], vg_uuid: str) -> list:
    """The VG's devices grouped into families (connected by use); the
    lock LV of the lvmlockd mode is never one of them."""
    vg = lvm_uuid(vg_uuid)
    members = [d for d in devices
               if d.vg_uuid == vg and not is_lock_lv(d.name)]
    parent = {d.uuid: d.uuid for d in members}

    def find(key):
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a, b):
        parent[find(a)] = find(b)

    by_lv, by_devno = {}, {d.devno: d for d in members}
    for dev in members:
        if dev.lv_uuid in by_lv:
            union(dev.uuid, by_lv[dev.lv_uuid].uuid)
        by_lv[dev.lv_uuid] = dev
        for used in dev.uses:
            if used in by_devno:
                union(dev.uuid, by_devno[used].uuid)
    groups = collections.OrderedDict()
    for dev in sorted(members, key=lambda d: d.name):
        groups.setdefault(find(dev.uuid), []).append(dev)
    return [Family(devs) for devs in groups.values()]


def family_of(devices: Iterable[Device], vg_uuid: str,
              lv_uuid: str) -> Optional[Family]:
    """The family that holds a device of LV *lv_uuid*, or None."""
    lv = lvm_uuid(lv_uuid)
    for fam in families(devices, vg_uuid):
        if lv in fam.lv_uuids:
            return fam
    return None


def _removal_order(devices: list) -> list:
    """Users before what they use; among equals tops, then layers."""
    left = sorted(devices, key=lambda d: (LAYERS.index(d.layer), d.name))
    ordered = []
    while left:
        free = [d for d in left
                if not any(d.devno in o.uses for o in left if o is not d)]
        # NOTE: a cycle cannot happen in dm; keep going if it ever does.
        nxt = free[0] if free else left[0]
        ordered.append(nxt)
        left.remove(nxt)
    return ordered


def remove_family(execute: Callable, root_helper, family: Family,
                  force: bool = False, what: str = '',
                  host: str = 'this host') -> dict:
    """Remove every device of *family*, users before what they use.

    Without *force* a family that something here holds open is refused
    before anything is removed. With *force*, each device that something
    outside the family holds open first gets a table that fails all I/O
    (``wipe_table``: this host stops touching the shared LUN now, and the
    layers it used are released), then is removed at its last close
    (``--deferred``). Layers held only by the family go once their users
    are gone.

    :param what: the volume or LV, for messages
    :returns: {'removed': [dm names], 'deferred': [dm names]}
    :raises DeviceBusy: not forced, and the family is open here
    :raises DMRemoveFailed: a command failed; the message names it and
        lists what was removed and what is left, and a retry (a fresh
        inventory) finds what is left as one family again
    """
    what = what or ', '.join(family.names)
    if family.open_by and not force:
        raise DMDeviceBusy(what=what, host=host, devices=', '.join(
            '%s (%d)' % kv for kv in sorted(family.open_by.items())))
    done = {'removed': [], 'deferred': []}
    failed = []                 # [(device, argv, stderr)]
    for dev in family.devices:
        # NOTE: go on past a failure, but never remove a layer that a
        # device we failed to remove still uses: what is left then stays
        # one connected family, which a retry finds again. Stopping at the
        # first failure could orphan a snapshot's -cow, which no longer
        # shows which family it belongs to.
        if any(dev.devno in f.uses for f, _a, _e in failed):
            failed.append((dev, None, None))
            continue
        if force and dev.name in family.open_by:
            # NOTE: measured on the rig (kernel 6.1, dmsetup 1.02.185):
            # "remove --force --deferred" of an open device keeps its live
            # table, and I/O through it still reaches the LUN; only
            # wipe_table stops it. wipe_table takes a name, not -u.
            steps = [('dmsetup', 'wipe_table', dev.name),
                     ('dmsetup', 'remove', '--deferred', '-u', dev.uuid)]
            key = 'deferred'
        else:
            # NOTE: a suspended device is removed as it is; resuming it
            # first would swap in whatever inactive table it holds.
            steps = [('dmsetup', 'remove', '-u', dev.uuid)]
            key = 'removed'
        for argv in steps:
            try:
                _run(execute, root_helper, *argv)
            except processutils.ProcessExecutionError as err:
                failed.append((dev, argv, (err.stderr or '').strip()))
                break
        else:
            done[key].append(dev.name)
    if failed:
        dev, argv, stderr = next(f for f in failed if f[1])
        left = [f[0].name for f in failed]
        LOG.error('Removing dm devices of %(what)s on %(host)s: %(cmd)s '
                  'failed: %(err)s; removed %(done)s, left %(left)s',
                  {'what': what, 'host': host, 'cmd': ' '.join(argv),
                   'err': stderr, 'done': done, 'left': left})
        raise DMRemoveFailed(
            what=what, host=host, command=' '.join(argv), stderr=stderr,
            removed=', '.join(done['removed'] + done['deferred']) or
            'nothing', left=', '.join(left))
    if done['deferred']:
        LOG.warning('dm devices %(devs)s of %(what)s on %(host)s are open; '
                    'they now fail all I/O and disappear at their last '
                    'close', {'devs': ', '.join(done['deferred']),
                              'what': what, 'host': host})
    return done


def vg_leftovers(execute: Callable, root_helper, vg_uuid: str,
                 keep: Iterable[str] = (), host: str = 'this host') -> list:
    """Families of VG *vg_uuid* mapped on this host, minus *keep*.

    :param keep: LV UUIDs (with or without dashes) whose families are in
                 use by this process and must be left alone
    """
    keep = {lvm_uuid(u) for u in keep}
    devices = inventory(execute, root_helper, host)
    return [fam for fam in families(devices, vg_uuid)
            if not keep.intersection(fam.lv_uuids)]


def remove_leftovers(execute: Callable, root_helper, vg_uuid: str,
                     keep: Iterable[str] = (), force: bool = False,
                     host: str = 'this host',
                     lv_names: Optional[dict] = None,
                     dry_run: bool = False) -> dict:
    """Remove every family of the VG on this host that nothing holds open.

    For startup recovery and ``cleanup``: what LVM's deactivation left, or
    what LVM never knew about (an LV removed while mapped here).

    :param force: also remove open families (see ``remove_family``)
    :param lv_names: {LV UUID (no dashes): LV name}, for messages
    :returns: {'removed': [[dm names]], 'deferred': [dm names],
               'skipped_open': {dm name: openers}, 'failed': [{'devices':
               [...], 'error': str}]}
    """
    lv_names = lv_names or {}
    report = {'removed': [], 'deferred': [], 'skipped_open': {},
              'failed': []}
    for fam in vg_leftovers(execute, root_helper, vg_uuid, keep, host):
        what = ', '.join(lv_names.get(u, 'removed LV %s' % u)
                         for u in fam.lv_uuids)
        if fam.open_by and not force:
            report['skipped_open'].update(fam.open_by)
            continue
        if dry_run:
            report['removed'].append(fam.names)
            continue
        LOG.warning('Removing dm devices of %s left on %s: %r', what, host,
                    fam)
        try:
            done = remove_family(execute, root_helper, fam, force=force,
                                 what=what, host=host)
        except exception.SharedLVMError as err:
            report['failed'].append({'devices': fam.names,
                                     'error': str(err)})
            continue
        report['removed'].append(fam.names)
        report['deferred'] += done['deferred']
    return report
