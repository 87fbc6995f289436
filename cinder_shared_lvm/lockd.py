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

"""The lvmlockd mode: locks that the shared LUN itself enforces.

With ``shared_lvm_lock_manager = lvmlockd`` the VG is a shared VG
(``vgcreate --shared``, lock type sanlock): sanlock keeps leases on the
LUN, lvmlockd takes the VG lock for each metadata write and an LV lock for
each activation. Another host's activation of a locked LV, or an
``lvchange -ay`` typed by hand on a compute host, is then refused by LVM
itself, underneath the driver's own policy (doc/source/safety.rst).

What this module knows, all measured on the rig with LVM 2.03.16
(doc/source/lvmlockd-facts.rst):

* ``-ay`` on a shared VG means ``-aey``; a plain LV that several hosts use
  at once (multi-attach, live migration) needs ``-asy``;
* lvmlockd does not enforce "one host per snapshot family" on its own: it
  let an origin with a snapshot be active ``-asy`` on two hosts. So a
  family is always activated ``-aey``;
* a host must have started the VG's lockspace (``vgchange --lockstart``)
  before it can activate anything in it.

Only the LVM layer (lvm.py) runs these commands; this module builds their
arguments and reads their answers.
"""

import re
from typing import Optional

NONE = 'none'
LVMLOCKD = 'lvmlockd'
LOCK_MANAGERS = (NONE, LVMLOCKD)

# stderr of an LVM command that lvmlockd refused because another host
# holds the lock. Measured on the rig (LVM 2.03.16;
# doc/source/lvmlockd-facts.rst), for -aey, -asy, -ay, lvextend, lvreduce,
# lvrename, lvremove and lvcreate -s of an LV active elsewhere:
# "  LV locked by other host: <vg>/<lv>". "lock failed: held by other
# host" is LVM's text for a VG or global lock that stays taken through
# lvmlockd's retries ("VG <vg> lock failed: held by other host.").
_REFUSED_BY_OTHER_HOST = re.compile(
    r'LV locked by other host|lock failed: held by other host')
# ...and because this host's lockspace is not started (measured): every
# command that needs the VG lock says only "  Cannot access VG <vg> due to
# failed lock." (rc 5); lvchange -an says "  LV <vg>/<lv> lock failed:
# lockspace is inactive" (rc 0). The first line also follows "WARNING:
# lvmlockd process is not running." and, after lvmlockctl --kill, "VG <vg>
# lock skipped: storage failed for sanlock leases": in each case this host
# cannot lock until its lockspace is (re)started.
_LOCKSPACE_NOT_STARTED = re.compile(
    r'Cannot access VG \S+ due to failed lock|'
    r'lock failed: lockspace is inactive')


def check_lock_manager(value: Optional[str]) -> str:
    """*value*, or 'none' for None; ValueError for anything else."""
    value = value or NONE
    if value not in LOCK_MANAGERS:
        raise ValueError('lock manager %r is not one of %s'
                         % (value, ', '.join(LOCK_MANAGERS)))
    return value


def activation_mode(lock_manager: str, exclusive: bool) -> str:
    """The ``lvchange -a`` mode: ``ey``, ``sy`` or ``y``.

    Without a lock manager ``-ay`` activates on this host only and
    ``-aey`` is the same with the intent spelled out. With lvmlockd ``-ay``
    would mean exclusive, so a shared activation must say ``-asy``.
    """
    if exclusive:
        return 'ey'
    return 'sy' if lock_manager == LVMLOCKD else 'y'


def refused_by_other_host(stderr: Optional[str]) -> bool:
    """True when lvmlockd refused because another host holds the lock."""
    return bool(stderr) and bool(_REFUSED_BY_OTHER_HOST.search(stderr))


def lockspace_not_started(stderr: Optional[str]) -> bool:
    """True when LVM refused because this host's lockspace is not up."""
    return bool(stderr) and bool(_LOCKSPACE_NOT_STARTED.search(stderr))


# ``lvmlockctl --info`` (LVM 2.03.16, measured on the rig): per lockspace a
# "VG <name> lock_type=<type> <uuid>" line, then "LS <type> lvm_<name>".
# lvmlockctl(8) calls the format primitive and subject to change. A
# lockspace whose start failed keeps both lines, with "REM:" (being
# removed) before its name on the LS line: only a bare name is started.
_INFO_LOCKSPACE = re.compile(
    r'^VG\s+(\S+)\s+lock_type=(\S+).*\n^LS\s+\S+\s+(\S+)', re.MULTILINE)


def started_lockspaces(info: Optional[str]) -> dict:
    """{VG name: lock type} of the lockspaces that ``lvmlockctl --info``
    shows as started (joined) on this host."""
    return {name: lock_type
            for name, lock_type, ls_name in _INFO_LOCKSPACE.findall(
                info or '')
            if ls_name == 'lvm_' + name}
