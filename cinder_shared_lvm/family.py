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

"""One serialisation point per snapshot family, and the VG metadata lock.

A *snapshot family* is an origin LV and its COW snapshots; a plain LV is a
family of one. LVM activates and deactivates a family as a whole, and the
kernel of whichever host has it active writes its COW stores, so a family
may be active on one host only (doc/source/safety.rst, rule 5). Whether an
operation may touch a family therefore depends on state that other
requests change: the volume's attachments, this host's activations, the
family's membership. Each operation takes the family's lock, *then*
re-reads that state and decides (doc/source/operations.rst).

Locks (Cinder's coordination, so they hold across every service that
shares the coordination backend):

* ``shared-lvm-<vg>-family-<origin LV>``: every operation that reads or
  changes a family's state, for as long as it decides and acts;
* ``shared-lvm-<vg>``: the VG's metadata, only around metadata writes;
* ``shared-lvm-<vg>-copy-<new LV>``: held by the service that copies into
  a new LV, from before its lvcreate until it is complete or removed, so
  that a starting service can tell a live copy from a dead one
  (cluster.py);
* ``shared-lvm-<vg>-active-<family>``: held, never waited for, by the
  process whose host has the family active for copies (``ActiveUse``).

Order: copy, then family, then VG, never the other way; at most one family per
operation (a new LV that the operation itself creates is reachable by no
other request, as Cinder accepts no action on a volume in ``creating``).
Both locks are re-entrant within one thread, so a helper may take the lock
its caller already holds.
"""

import collections
import contextlib
import threading
from typing import Iterable

from cinder import coordination
from oslo_log import log as logging
import tenacity
import tooz

from cinder_shared_lvm import driver_exception as exc

LOG = logging.getLogger(__name__)

_held = threading.local()


def _held_locks() -> collections.Counter:
    if not hasattr(_held, 'locks'):
        _held.locks = collections.Counter()
    return _held.locks


def family_lock_name(vg: str, origin: str) -> str:
    return 'shared-lvm-%s-family-%s' % (vg, origin)


def vg_lock_name(vg: str) -> str:
    return 'shared-lvm-%s' % vg


def active_lock_name(vg: str, family: str) -> str:
    return 'shared-lvm-%s-active-%s' % (vg, family)


class LockOrderError(exc.SharedLVMDriverError):
    """A family lock asked for under a VG lock: a bug, never a wait."""
    message = ("Internal lock order violation: %(reason)s. Nothing was "
               "changed.")


@contextlib.contextmanager
def coordination_lock(name: str, timeout: int, on_timeout):
    """Take a coordination lock within *timeout* s; re-entrant per thread."""
    held = _held_locks()
    if held[name]:
        held[name] += 1
        try:
            yield
        finally:
            held[name] -= 1
        return
    lock = coordination.COORDINATOR.get_lock(name)
    if not _acquire(lock, name, timeout):
        raise on_timeout()
    held[name] += 1
    try:
        yield
    finally:
        held[name] -= 1
        if not held[name]:
            del held[name]
        _release(lock, name)


def _acquire(lock, name: str, blocking) -> bool:
    """lock.acquire, with a backend that does not answer (etcd down)
    turned into a clear refusal instead of tooz's connection error."""
    try:
        return lock.acquire(blocking=blocking)
    except tenacity.RetryError:
        # NOTE: tooz's etcd3 lock (tooz 9.1) lets its retry library's
        # RetryError out when a blocking acquire times out, where the
        # file driver returns False: both are a timeout.
        return False
    except tooz.ToozError as err:
        LOG.error('Coordination backend failed taking lock %s: %s', name, err)
        raise exc.CoordinationUnavailable(lock=name, reason=err) from err


def _release(lock, name: str) -> None:
    """Release *lock*; if the backend is gone, its lease frees it."""
    try:
        lock.release()
    except tooz.ToozError as err:
        LOG.warning('Could not release lock %s (%s); the coordination '
                    "backend frees it when this service's lease expires",
                    name, err)


def lock_is_held_elsewhere(name: str) -> bool:
    """True when another thread, process or service holds lock *name*
    (tried without waiting, and released again at once)."""
    if _held_locks()[name]:
        return False
    lock = coordination.COORDINATOR.get_lock(name)
    if not _acquire(lock, name, False):
        return True
    _release(lock, name)
    return False


def holds_vg_lock(vg: str) -> bool:
    return bool(_held_locks()[vg_lock_name(vg)])


def holds_family_lock(vg: str, origin: str) -> bool:
    return bool(_held_locks()[family_lock_name(vg, origin)])


@contextlib.contextmanager
def family_locked(vg: str, origin: str, timeout: int, operation: str):
    """Hold the family lock of *origin* (the volume's LV) for the body.

    :param operation: what the caller does, for the timeout error
    """
    name = family_lock_name(vg, origin)
    if holds_vg_lock(vg) and not _held_locks()[name]:
        raise LockOrderError(reason='%s asked for %s while holding %s' % (
            operation, name, vg_lock_name(vg)))

    def timed_out():
        return exc.FamilyLockTimeout(operation=operation, lock=name,
                                     timeout=timeout)
    with coordination_lock(name, timeout, timed_out):
        yield


@contextlib.contextmanager
def vg_locked(vg: str, timeout: int):
    """Hold the VG metadata lock for the body (metadata writes only)."""
    name = vg_lock_name(vg)

    def timed_out():
        return exc.MetadataLockTimeout(lock=name, vg=vg, timeout=timeout)
    with coordination_lock(name, timeout, timed_out):
        yield


class ActiveUse(object):
    """What this host's data operations have active, per family.

    A copy, clear or upload activates its source on the cinder-volume
    host. LVM brings the whole family up with any member and takes it down
    with any member, so the unit of activation is the family: the first
    user activates it, the last user deactivates it. Before this was
    counted per family, the first of two copies from two snapshots of one
    origin to finish deactivated the family under the second.

    ``readers`` names the LVs that a copy reads, so that an operation that
    would change or remove one of them is refused while it runs.

    Only ever changed under the family's lock, so a count and the LV's
    state on this host agree. The counts live in this process; what other
    services need to know of them, that this host has the family active,
    lives in the coordination backend: the first user takes the lock
    ``shared-lvm-<vg>-active-<family>`` and the last one releases it
    (``active_elsewhere``). It dies with the process (at once with the
    file driver, after its lease with etcd).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._families = collections.Counter()
        self._readers = collections.Counter()
        # {(vg, family): the coordination lock this process holds}
        self._claims = {}

    def acquire(self, vg: str, family: str, reads: Iterable[str]) -> bool:
        """Count one more user; True when it is the family's first.

        :raises: FamilyActiveElsewhere when the first user finds that
                 another service's host has the family active
        """
        if not self.users(vg, family):
            self._claim(vg, family)
        with self._lock:
            self._families[(vg, family)] += 1
            for name in reads:
                self._readers[(vg, name)] += 1
            return self._families[(vg, family)] == 1

    def release(self, vg: str, family: str, reads: Iterable[str]) -> bool:
        """Count one user less; True when it was the family's last."""
        with self._lock:
            for name in reads:
                self._readers[(vg, name)] -= 1
                if self._readers[(vg, name)] <= 0:
                    del self._readers[(vg, name)]
            self._families[(vg, family)] -= 1
            if self._families[(vg, family)] > 0:
                return False
            del self._families[(vg, family)]
            claim = self._claims.pop((vg, family), None)
        if claim is not None:
            _release(claim, active_lock_name(vg, family))
        return True

    def _claim(self, vg: str, family: str) -> None:
        name = active_lock_name(vg, family)
        lock = coordination.COORDINATOR.get_lock(name)
        if not _acquire(lock, name, False):
            raise exc.FamilyActiveElsewhere(vg=vg, family=family, lock=name)
        with self._lock:
            self._claims[(vg, family)] = lock

    def active_elsewhere(self, vg: str, family: str) -> bool:
        """True when another process (another service, on another host)
        has *family* active for a copy."""
        if self.users(vg, family):
            return False
        return lock_is_held_elsewhere(active_lock_name(vg, family))

    def forget_all(self) -> None:
        """What this process's death does: every count and claim goes
        (tests that simulate a crashed cinder-volume call it)."""
        with self._lock:
            claims = list(self._claims.items())
            self._claims.clear()
            self._families.clear()
            self._readers.clear()
        for (vg, family), lock in claims:
            _release(lock, active_lock_name(vg, family))

    def users(self, vg: str, family: str) -> int:
        with self._lock:
            return self._families[(vg, family)]

    def read_by_copy(self, vg: str, names: Iterable[str]) -> list:
        """The LVs among *names* that a running copy reads."""
        with self._lock:
            return sorted(n for n in set(names) if self._readers[(vg, n)])

    def families(self, vg: str) -> set:
        with self._lock:
            return {fam for (v, fam) in self._families if v == vg}


ACTIVE = ActiveUse()
