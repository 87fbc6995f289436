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

"""Who owns a copy in flight, and whether a coordination backend is shared.

The services of one Cinder cluster write one VG together
(doc/source/admin/active-active.rst); a service that starts must tell a
copy that a dead service left from a copy that a live peer is still
running. Two facts decide it, and neither
lives in one process's memory:

* the **owner tag** ``cslvm-owner=<service>`` that the copy's new LV gets
  in the same ``lvcreate`` as ``cslvm-incomplete`` (no extra command);
  it names the service for the operator and for Cinder's services table;
* the **copy lock** ``shared-lvm-<vg>-copy-<lv>``, a coordination lock
  that the copying service holds from before that ``lvcreate`` until the
  tag is gone or the LV removed. A lock dies with its holder: at once for
  the file driver (fcntl), after the lease's ``lock_timeout`` for etcd.

A starting service takes an incomplete LV only when it can take that LV's
copy lock *and* the owner is not a live service in Cinder's own table
(``services``, the heartbeat that ``cinder-manage service list`` shows):
the second check keeps a copy safe when the coordination backend lost a
live holder's lease (an etcd outage longer than ``lock_timeout``).
"""

import contextlib
import re
from typing import Optional
from urllib import parse

from oslo_log import log as logging

from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import family
from cinder_shared_lvm import lockd

LOG = logging.getLogger(__name__)

OWNER_TAG_PREFIX = 'cslvm-owner='
# LVM tags allow [A-Za-z0-9_+.-/=!:&#]; a service host is host@backend.
_NOT_IN_A_TAG = re.compile(r'[^A-Za-z0-9_+.\-/=!:&#]')

# Incomplete LVs, sorted by what a starting service may do with them.
DEAD = 'dead'           # nobody copies into it: report, or clean up
IN_FLIGHT = 'in-flight'     # its copy lock is held: a live copy
LIVE_OWNER = 'live-owner'   # lock free, but its owner is up: leave it

# Filesystems whose fcntl locks every host sees (tooz's file driver).
SHARED_FILESYSTEMS = frozenset((
    'nfs', 'nfs4', 'cephfs', 'fuse.cephfs', 'glusterfs', 'fuse.glusterfs',
    'gfs2', 'ocfs2', 'lustre', 'gpfs'))
# Coordination backends that live on one host whatever their path.
_HOST_LOCAL_SCHEMES = ('ipc',)


def tag_safe(service: str) -> str:
    """*service* (host@backend) spelled with the characters a tag allows."""
    return _NOT_IN_A_TAG.sub('_', service.replace('@', ':'))


def owner_tag(service: str) -> str:
    return OWNER_TAG_PREFIX + tag_safe(service)


def owner_of(tags) -> Optional[str]:
    """The (tag-safe) service named by an LV's owner tag, or None."""
    for tag in tags:
        if tag.startswith(OWNER_TAG_PREFIX):
            return tag[len(OWNER_TAG_PREFIX):]
    return None


def copy_lock_name(vg: str, lv: str) -> str:
    return 'shared-lvm-%s-copy-%s' % (vg, lv)


@contextlib.contextmanager
def copy_locked(vg: str, lv: str, timeout: int):
    """Hold *lv*'s copy lock while its data is being written."""
    name = copy_lock_name(vg, lv)

    def timed_out():
        return exc.FamilyLockTimeout(operation='copy into %s' % lv,
                                     lock=name, timeout=timeout)
    with family.coordination_lock(name, timeout, timed_out):
        yield


def classify_incomplete(vg: str, lv: dict, me: str, service_is_up) -> str:
    """DEAD, IN_FLIGHT or LIVE_OWNER for an LV tagged incomplete.

    An LV of this service's own (or of no named owner: made before the
    owner tag existed, when one service wrote the VG) is dead once its
    copy lock is free: this service is starting, so the copy belonged to
    its previous life, whose row in Cinder's services table may still
    look up.

    :param me: this service (host@backend)
    :param service_is_up: callable(tag-safe service) -> bool, from
                          Cinder's services table; True when unsure
    """
    if family.lock_is_held_elsewhere(copy_lock_name(vg, lv['name'])):
        return IN_FLIGHT
    owner = owner_of(lv['tags'])
    if owner is None or owner == tag_safe(me):
        return DEAD
    return LIVE_OWNER if service_is_up(owner) else DEAD


def services_up(context, objects_module) -> dict:
    """{tag-safe service: is it up} for every cinder-volume service in
    Cinder's table (its heartbeat within service_down_time)."""
    services = objects_module.ServiceList.get_all_by_binary(
        context, 'cinder-volume')
    return {tag_safe(svc.host): bool(svc.is_up) for svc in services}


def host_local_reason(backend_url: str, mounts: str) -> Optional[str]:
    """Why the coordination backend at *backend_url* is seen by this host
    only, or None when it may be shared.

    Limits: a network backend counts as shared even on 127.0.0.1 (it may
    be a local member or proxy of a cluster); a file:// path counts by the
    filesystem that holds it, so a local path mounted from elsewhere by
    other means is refused, and a shared filesystem whose locks do not
    work across hosts passes.
    """
    url = parse.urlparse(backend_url or '')
    if url.scheme in _HOST_LOCAL_SCHEMES:
        return '%s:// locks are local to one host' % url.scheme
    if url.scheme != 'file':
        return None
    fstype = filesystem_of(url.path, mounts)
    if fstype in SHARED_FILESYSTEMS:
        return None
    return ('file://%s is on a %s filesystem, which other hosts do not '
            'share' % (url.path, fstype or 'local'))


def filesystem_of(path: str, mounts: str) -> Optional[str]:
    """The type of the filesystem that holds *path*, per /proc/mounts."""
    best, fstype = '', None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mount_point = fields[1].replace('\\040', ' ')
        inside = (path == mount_point or mount_point == '/' or
                  path.startswith(mount_point.rstrip('/') + '/'))
        if inside and len(mount_point) >= len(best):
            best, fstype = mount_point, fields[2]
    return fstype


def read_mounts() -> str:
    """This host's mount table (where the service's lock files live)."""
    with open('/proc/mounts') as mounts:
        return mounts.read()


def check_clustered_service(cluster: Optional[str], backend_url: str,
                            lock_manager: str, mounts: str) -> None:
    """Refuse a service in a Cinder cluster whose metadata lock would hold
    on this host only (unless lvmlockd guards the metadata on the LUN)."""
    if not cluster or lock_manager == lockd.LVMLOCKD:
        return
    reason = host_local_reason(backend_url, mounts)
    if reason:
        raise exc.InvalidRequest(
            reason='this cinder-volume service is in cluster %r, but its '
                   'coordination backend is host-local (%s): two services '
                   'of the cluster would write the VG at once. Set '
                   '[coordination] backend_url to a shared service (for '
                   'example etcd3+http://<etcd>:2379), or set '
                   'shared_lvm_lock_manager = lvmlockd' % (cluster, reason))
