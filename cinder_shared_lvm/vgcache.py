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

"""The VG figures a create checks, without reading the VG every time.

Every create, snapshot and extend checks free space and the free share of
the metadata area before it writes. Reading them (``vgs``) costs as much
as the ``lvcreate`` itself in a small VG, and doubled the cost of a create
(doc/source/benchmarks.rst). A report a few seconds old, debited with this
driver's own allocations since, answers the same question: another
cinder-volume service can only have taken a few seconds' worth more, LVM
still refuses an allocation that does not fit (cleanly, nothing created),
and a check that would refuse is always decided on a fresh report.
"""

import threading
import time
from typing import Callable, Optional

# NOTE: a thick LV costs LVM about 300-600 bytes of text metadata, kept
# twice while it writes; debiting 4 KiB per write keeps the estimate on
# the safe side.
METADATA_BYTES_PER_WRITE = 4096


class RecentVGReport(object):
    """The last ``SharedLVM.vg_report()`` row, debited with own writes.

    :param max_age: seconds a report stays usable; 0 disables reuse
    :param clock: monotonic clock (tests pass a fake one)
    """

    def __init__(self, max_age: float, clock: Callable = time.monotonic):
        self.max_age = max_age
        self._clock = clock
        self._row = None
        self._taken_at = 0.0
        self._lock = threading.Lock()

    def store(self, row: dict) -> None:
        with self._lock:
            self._row = dict(row)
            self._taken_at = self._clock()

    def invalidate(self) -> None:
        with self._lock:
            self._row = None

    def get(self) -> Optional[dict]:
        """A copy of the report if it is recent enough, else None."""
        with self._lock:
            if self._row is None or self.max_age <= 0:
                return None
            if self._clock() - self._taken_at > self.max_age:
                self._row = None
                return None
            return dict(self._row)

    def debit(self, need_bytes: int) -> None:
        """Account for an allocation this driver is about to make."""
        with self._lock:
            if self._row is None:
                return
            self._row['vg_free'] = int(self._row['vg_free']) - need_bytes
            self._row['vg_mda_free'] = (int(self._row['vg_mda_free']) -
                                        METADATA_BYTES_PER_WRITE)
