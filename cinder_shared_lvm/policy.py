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

"""Which operation is allowed in which volume state (safety rules 5, 6, 8).

Every check here is called by the driver under the family's lock
(``family.family_locked``), on state re-read under that lock (``Fresh``),
and *before* it changes any metadata; each raises an error that says why
and what to do. Keeping them in one module keeps the state table
(doc/source/operations.rst) and the code in step.

Terms:

* *attached*: the volume has an attachment that is not detached, or its
  attach status says so;
* *snapshot family*: an origin LV that has COW snapshots. A family may be
  active on one host only, because the kernel of whichever host has the
  origin active writes the COW store.
"""

from typing import Iterable, Optional

from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import family
from cinder_shared_lvm import lockd
from cinder_shared_lvm import lvm

# Attachment states in which some host has, or is about to have, the LV
# active. 'reserved' is an attach in progress; 'error_detaching' may still
# be attached.
ACTIVE_ATTACH_STATES = frozenset(('attached', 'attaching', 'reserved',
                                  'detaching', 'error_detaching'))

# An attach in flight: Cinder records the attachment's host only after
# initialize_connection returns, so until then it has no host.
IN_FLIGHT_ATTACH_STATES = frozenset(('reserved', 'attaching'))

ACTIVATION_SHARED = 'shared'
ACTIVATION_EXCLUSIVE = 'exclusive'

DETACH_FIRST = 'Detach the volume first, then retry.'


class Fresh(object):
    """A volume as re-read under its family lock.

    The volume object a request carries was loaded before the request
    waited for the lock; its attachments may be stale by then. The policy
    decides on the attachments read afresh (``attachments``), and on the
    carried ``attach_status`` as well, which can only add refusals.
    """

    def __init__(self, volume, attachments):
        self.id = volume.id
        self.name = volume.name
        self.multiattach = bool(getattr(volume, 'multiattach', False))
        self.attach_status = getattr(volume, 'attach_status', None)
        self.volume_attachment = list(attachments)


def _attachments(volume) -> list:
    return list(getattr(volume, 'volume_attachment', None) or [])


def _attachment_host(attachment) -> Optional[str]:
    connector = attachment.connector or {}
    return attachment.attached_host or connector.get('host') or None


def is_attached(volume) -> bool:
    """True when any host has (or is getting) the volume attached."""
    if volume.attach_status in ACTIVE_ATTACH_STATES:
        return True
    return any(a.attach_status in ACTIVE_ATTACH_STATES
               for a in _attachments(volume))


def attached_hosts(volume) -> set:
    """Hosts that the volume is attached to, where Cinder knows them."""
    return {_attachment_host(a) for a in _attachments(volume)
            if a.attach_status in ACTIVE_ATTACH_STATES and
            _attachment_host(a)}


def hostless_attaches(volume) -> int:
    """Attaches in flight whose host Cinder does not know yet."""
    return sum(1 for a in _attachments(volume)
               if a.attach_status in IN_FLIGHT_ATTACH_STATES and
               not _attachment_host(a))


def other_attaches(volume, host: str) -> tuple:
    """(other hosts, hostless attaches) that an attach to *host* must
    count as other hosts.

    One hostless attachment is presumed to be this very request (Cinder
    reserves it before calling initialize_connection), unless an in-flight
    attachment already names *host*; every other one may be on any host.
    """
    hostless = hostless_attaches(volume)
    own_named = any(a.attach_status in IN_FLIGHT_ATTACH_STATES and
                    _attachment_host(a) == host
                    for a in _attachments(volume))
    if not own_named and hostless:
        hostless -= 1
    return attached_hosts(volume) - {host}, hostless


def _describe(volume) -> str:
    return 'volume %s (LV %s)' % (volume.id, volume.name)


def check_not_attached(operation: str, volume, reason: str,
                       error=exc.OperationRefused) -> None:
    """Refuse *operation* while *volume* is attached anywhere.

    :param reason: why the operation is unsafe on an attached volume
    """
    if is_attached(volume):
        hosts = ', '.join(sorted(attached_hosts(volume))) or 'a host'
        raise error(operation=operation, resource=_describe(volume),
                    reason='it is attached to %s and %s' % (hosts, reason),
                    action=DETACH_FIRST)


def check_connector(connector, vg_name: str, vg_uuid: str,
                    lock_manager: str = lockd.NONE) -> str:
    """Return the connector's host, or refuse a host that cannot see the VG.

    :param connector: os-brick connector properties of the compute host
    :param lock_manager: with lvmlockd, the host must also have started
                         the VG's lockspace
    """
    host = connector.get('host') if isinstance(connector, dict) else None
    # NOTE: a string: a list or dict here used to fail later as a
    # TypeError (unhashable) when the volume was a snapshot family.
    if not host or not isinstance(host, str):
        raise exc.ConnectorRefused(
            operation='connect', resource='a host to VG %s' % vg_name,
            reason='the connector has no host name (a string)',
            action='Check the caller\'s connector properties.')
    seen = connector.get('shared_lvm_vgs') or []
    # NOTE: a list, not any container: 'uuid in some_string' is a substring
    # test, so a forged string containing the UUID would pass.
    if not isinstance(seen, (list, tuple)) or vg_uuid not in seen:
        raise exc.ConnectorRefused(
            operation='connect', resource='host %s' % connector['host'],
            reason='the host does not see VG %s (uuid %s)' % (
                vg_name, vg_uuid),
            action='Present the shared LUN to that host and install '
                   'cinder-shared-lvm there (its connector reports the '
                   'VGs it sees in shared_lvm_vgs).')
    if lock_manager == lockd.LVMLOCKD:
        _check_lockspace_started(connector, vg_name, vg_uuid)
    return connector['host']


def _check_lockspace_started(connector: dict, vg_name: str,
                             vg_uuid: str) -> None:
    """Refuse a host that cannot take the VG's locks (lvmlockd mode):
    its activation would fail after Cinder recorded the attachment."""
    started = connector.get('shared_lvm_lockspaces')
    if isinstance(started, (list, tuple)) and vg_uuid in started:
        return
    raise exc.ConnectorRefused(
        operation='connect', resource='host %s' % connector['host'],
        reason='the host has not started the lockspace of VG %s (uuid %s), '
               'which the lvmlockd mode needs' % (vg_name, vg_uuid),
        action='On that host run sanlock and lvmlockd, run "vgchange '
               '--lockstart %s", and set [shared_lvm] lock_manager = '
               'lvmlockd in nova.conf (its connector then reports the '
               'started lockspaces in shared_lvm_lockspaces).' % vg_name)


def activation_for(volume, lv: dict, host: str) -> str:
    """Activation mode for attaching *volume* to *host*, or refuse.

    A plain LV may be active on several hosts (multi-attach, live
    migration); a snapshot family on one host only (rule 5).
    """
    if not lv['has_snapshots']:
        return ACTIVATION_SHARED
    others, hostless = other_attaches(volume, host)
    if others or hostless:
        where = sorted(others) + (
            ['%d attach(es) in progress whose host is not known yet'
             % hostless] if hostless else [])
        raise exc.OperationRefused(
            operation='attach', resource='%s to host %s' % (
                _describe(volume), host),
            reason='it has snapshots and is already attached to %s; an '
                   'origin with COW snapshots may be active on one host '
                   'only' % ', '.join(where),
            action='Detach it from the other host first (live migration '
                   'and multi-attach across hosts need a volume without '
                   'snapshots), or delete its snapshots.')
    return ACTIVATION_EXCLUSIVE


def check_create_snapshot(volume) -> None:
    """Refuse a snapshot of an attached volume, in either snapshot mode."""
    check_not_attached(
        'snapshot', volume,
        'a COW snapshot would be bypassed by the attached host\'s kernel, '
        'and a copy would not be point-in-time')


def check_family_change(operation: str, origin, lv: Optional[dict],
                        error=exc.OperationRefused) -> None:
    """Refuse a change to a snapshot family while its origin is attached.

    Used for delete-snapshot, create-from-snapshot and revert of COW
    snapshots, and for extending an origin that has snapshots.

    :param lv: the report of the snapshot (or origin) LV; a plain LV
               (copy-mode snapshot, origin without snapshots) passes
    """
    if lv is None or not (lv['is_snapshot'] or lv['has_snapshots']):
        return
    check_not_attached(
        operation, origin,
        'its COW store is written by that host\'s kernel; only the host '
        'that has the origin active may touch the snapshot family',
        error=error)


def check_extend_under_lvmlockd(volume, lock_manager: str) -> None:
    """lvmlockd mode: refuse an online extend before LVM does.

    Measured on LVM 2.03.16: lvextend needs the LV's lock exclusively, so
    an LV active on another host (-aey or -asy) is refused with "LV locked
    by other host". Saying so here gives the operator the reason and the
    way out (detach, extend, attach) instead of LVM's bare refusal.
    """
    if lock_manager == lockd.LVMLOCKD:
        check_not_attached(
            'extend', volume,
            'in the lvmlockd mode LVM extends only an LV that no other '
            'host has active (lvextend takes its lock exclusively)')


def check_clone_source(volume) -> None:
    check_not_attached(
        'clone', volume,
        'a copy of a volume in use would not be consistent')


def check_delete(volume, lv: dict) -> None:
    """Refuse to delete an origin that still has snapshots."""
    if lv['has_snapshots']:
        raise exc.VolumeBusyRefused(
            operation='delete', resource=_describe(volume),
            reason='it still has snapshots',
            action='Delete its snapshots first.', volume_name=volume.name)


def copy_users(vg_name: str, names: Iterable[str]) -> set:
    """The LVs of *names* that a data copy is using: on this host, or
    on another cinder-volume service's (its family's active lock)."""
    names = list(names)
    busy = set(family.ACTIVE.read_by_copy(vg_name, names))
    busy.update(n for n in names if family.ACTIVE.users(vg_name, n) or
                family.ACTIVE.active_elsewhere(vg_name, n))
    return busy


def check_not_copying(operation: str, vg_name: str, names: Iterable[str],
                      resource, error=exc.OperationRefused,
                      **kwargs) -> None:
    """Refuse *operation* while a data copy here uses any of *names*.

    "Uses" is either reading the LV (``family.ACTIVE.read_by_copy``) or
    having its family active on this host for a copy (an LV in *names*
    that is a family's unit): an attach would put that family on two
    hosts, and a change would happen under the copy.

    :param names: the LVs the operation changes or activates: the LV
                  itself and, for a snapshot family, its origin
    :param resource: the volume (or a description) for the message
    """
    busy = copy_users(vg_name, names)
    if busy:
        raise error(operation=operation,
                    resource=resource if isinstance(resource, str)
                    else _describe(resource),
                    reason='a copy from %s is running on the cinder-volume '
                           'host, which has it active' % ', '.join(
                               '%s/%s' % (vg_name, n) for n in sorted(busy)),
                    action='Wait for the clone, snapshot, clear or upload '
                           'to finish, then retry.', **kwargs)


def check_size(what: str, size_gb, vg_size_gb: float) -> int:
    """Return *size_gb* as an int, or refuse a size LVM must never see."""
    if isinstance(size_gb, bool) or not isinstance(size_gb, int):
        raise exc.InvalidRequest(reason='size %r of %s is not a whole '
                                 'number of GiB' % (size_gb, what))
    if size_gb <= 0:
        raise exc.InvalidRequest(reason='size %d GiB of %s is not '
                                 'positive' % (size_gb, what))
    if vg_size_gb and size_gb > vg_size_gb:
        raise exc.InvalidRequest(reason='size %d GiB of %s is larger than '
                                 'the whole volume group (%.2f GiB)'
                                 % (size_gb, what, vg_size_gb))
    return size_gb


def check_space(what: str, need_bytes: int, vg: dict,
                min_free_md_percent: int) -> None:
    """Refuse to allocate when the VG or its metadata area is too full.

    :param vg: a ``SharedLVM.vg_report()`` row
    """
    md_free = metadata_free_percent(vg)
    if md_free < min_free_md_percent:
        raise exc.OperationRefused(
            operation='create', resource=what,
            reason='only %.1f%% of the metadata area of VG %s is free '
                   '(minimum %d%%)' % (md_free, vg['vg_name'],
                                       min_free_md_percent),
            action='Delete unused volumes or snapshots, or move the VG to '
                   'PVs with a larger metadata area (pvcreate '
                   '--metadatasize).')
    free = int(vg['vg_free'])
    if need_bytes > free:
        raise exc.OperationRefused(
            operation='create', resource=what,
            reason='it needs %d bytes but VG %s has only %d bytes free'
                   % (need_bytes, vg['vg_name'], free),
            action='Free space in the VG or extend it.')


def metadata_free_percent(vg: dict) -> float:
    return lvm.metadata_free_percent(vg['vg_mda_size'], vg['vg_mda_free'])
