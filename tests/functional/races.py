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

"""The machinery of the race suite (tests/functional/test_races.py).

A *scenario* runs one driver operation and one or two attaches of the same
volume at once, on the rig, with real threads: the operation is held at a
named point (``SharedLVMDriver._pause``) while the attaches run, or an
attach is held after Cinder reserved it while the operation runs.

While it runs, a ``Monitor`` samples every host's device-mapper tables.
A sample fails the scenario if one snapshot family has dm devices on two
hosts while any of them has a snapshot layer (``-real``, ``-cow`` or the
snapshot itself): a COW store would be written by two kernels, or an
origin written past its COW store. Afterwards the data is checked with
checksums, everything is removed, and vgck must be clean with no dm device
left on any host.
"""

import collections
import contextlib
import threading
import time

from cinder_shared_lvm import driver as drvmod
from cinder_shared_lvm import family
from tests.functional import world as worldmod

C1, C2, NODE = 'compute-1', 'compute-2', worldmod.CINDER_NODE
HOSTS = (NODE, C1, C2)
MIB = worldmod.MIB
# How long a request must sit on a family lock to count as waiting.
WAITED_AFTER = 1.5
JOIN = 240


class Pause(object):
    """Hold the thread named *thread* when it reaches *point*.

    Installed as every driver's ``pause_hook``, it also records which
    points each thread has passed, which tells a thread blocked on a
    family lock (it passed ``<op>:before-lock`` but not ``family-locked``)
    from one that is merely slow.
    """

    def __init__(self, point: str, thread: str):
        self.point, self.thread = point, thread
        self.reached = threading.Event()
        self.go = threading.Event()
        self.seen = collections.defaultdict(list)

    def __call__(self, point: str) -> None:
        name = threading.current_thread().name
        self.seen[name].append(point)
        if point == self.point and name == self.thread:
            self.reached.set()
            self.go.wait(JOIN)

    def blocked(self, thread_name: str) -> bool:
        """Passed a before-lock point and has not got the lock since."""
        points = self.seen.get(thread_name, [])
        starts = [i for i, p in enumerate(points)
                  if p.endswith(':before-lock')]
        return bool(starts) and 'family-locked' not in points[starts[-1]:]


class Monitor(object):
    """Samples every host's dm tables until stopped; records violations.

    :param families: {origin LV: set of member LV names}, kept current by
                     the scenario (members that do not exist are harmless)
    """

    def __init__(self, world, families: dict, interval: float = 0.5):
        self.w = world
        self.families = families
        self.interval = interval
        self.samples = 0
        self.violations = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name='monitor')

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(JOIN)
        self.sample()               # one last look, after everything

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def _tables(self) -> dict:
        """{host: [dm LV names of the VG]}, the hosts read at once."""
        prefix = self.w.vg_name.replace('-', '--') + '-'
        out = {}

        def read(host):
            names = [n for n in self.w.node(host).dm_tables()
                     if n.startswith(prefix)]
            out[host] = [n[len(prefix):].replace('--', '-') for n in names]
        readers = [threading.Thread(target=read, args=(h,), daemon=True)
                   for h in HOSTS]
        for thread in readers:
            thread.start()
        for thread in readers:
            thread.join(JOIN)
        return out

    def sample(self) -> None:
        tables = self._tables()
        self.samples += 1
        for origin, members in list(self.families.items()):
            present, layered = set(), False
            for host, devices in tables.items():
                for dev in devices:
                    base, layer = _split_layer(dev)
                    if base in members:
                        present.add(host)
                        layered |= bool(layer) or base != origin
            if len(present) > 1 and layered:
                self.violations.append((self.samples, origin,
                                        sorted(present), tables))


def _split_layer(dm_lv: str) -> tuple:
    for suffix in ('-real', '-cow'):
        if dm_lv.endswith(suffix):
            return dm_lv[:-len(suffix)], suffix
    return dm_lv, ''


class Outcome(object):
    """What one request did: succeeded, refused (error) or waited first."""

    def __init__(self, name: str):
        self.name = name
        self.result = None
        self.error = None
        self.seconds = None
        self.waited = False

    @property
    def kind(self) -> str:
        verb = 'refused' if self.error is not None else 'succeeded'
        return ('waited, then ' + verb) if self.waited else verb

    def describe(self) -> str:
        text = '%s %s' % (self.name, self.kind)
        if self.error is not None:
            text += ' (%s: %s)' % (type(self.error).__name__,
                                   str(self.error).split('. ')[0][:160])
        return text


def start(name: str, func, *args) -> tuple:
    """Run func(*args) in a thread named *name*; (thread, Outcome)."""
    outcome = Outcome(name)

    def run():
        began = time.monotonic()
        try:
            outcome.result = func(*args)
        except Exception as err:        # the outcome records it
            outcome.error = err
        outcome.seconds = time.monotonic() - began
    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread, outcome


def wait_or_mark(pause: Pause, threads: list, outcomes: list) -> None:
    """Wait until each thread has finished or sits on a family lock for
    WAITED_AFTER seconds; mark the ones that sit there as waiting."""
    since = {}
    deadline = time.monotonic() + JOIN
    while time.monotonic() < deadline:
        now = time.monotonic()
        pending = False
        for thread, outcome in zip(threads, outcomes):
            if not thread.is_alive():
                continue
            if pause.blocked(thread.name):
                since.setdefault(thread.name, now)
                if now - since[thread.name] >= WAITED_AFTER:
                    outcome.waited = True
                    continue
            else:
                since.pop(thread.name, None)
            pending = True
        if not pending:
            return
        time.sleep(0.1)


def join(threads: list) -> None:
    for thread in threads:
        thread.join(JOIN)
        assert not thread.is_alive(), '%s hung' % thread.name


@contextlib.contextmanager
def paused_drivers(drivers, pause):
    for drv in drivers:
        drv.pause_hook = pause
    try:
        yield
    finally:
        for drv in drivers:
            drv.pause_hook = None
        pause.go.set()


class Data(object):
    """The patterns a scenario writes and the checksums it expects.

    Region A (MiB 0) is written before the scenario and must never change
    anywhere. Region B (MiB 1) holds B0 before; an attach that succeeds
    writes B1 there from its compute host, at once. ``sum_b0``/``sum_b1``
    are the checksums of A and B together.
    """

    def __init__(self, seed: str):
        self.a = worldmod.pattern(seed + '-A', MIB)
        self.b0 = worldmod.pattern(seed + '-B0', MIB)
        self.b1 = worldmod.pattern(seed + '-B1', MIB)
        self.sum_a = worldmod.sha256(self.a)
        self.sum_b0 = worldmod.sha256(self.a + self.b0)
        self.sum_b1 = worldmod.sha256(self.a + self.b1)

    def seed_volume(self, w, lv_name: str) -> None:
        with w.on_node(lv_name, reads=False) as path:
            w.write(NODE, path, self.a + self.b0)

    def sums_on_node(self, w, lv_name: str, family_name: str) -> str:
        """sha256 of regions A and B together (one read: TCG is slow)."""
        with w.on_node(lv_name, family_name, reads=False) as path:
            return w.checksum(NODE, path, 2)


class Attacher(object):
    """One attach as Cinder and Nova do it, then a write and a read-back.

    :param pause: an optional ``Pause`` on ``'attach:reserved'`` (taken in
                  this thread after Cinder's reservation, before
                  initialize_connection)
    """

    def __init__(self, w, volume, host: str, data: Data, pause=None):
        self.w, self.volume, self.host, self.data = w, volume, host, data
        self.pause = pause
        self.path = None
        self.read_a = None

    def __call__(self):
        self.path = self.w.attach(self.volume, self.host,
                                  after_reserve=self._after_reserve)
        self.w.write(self.host, self.path, self.data.b1, offset_mib=1)
        self.read_a = self.w.checksum(self.host, self.path, 1)
        return self.path

    def _after_reserve(self):
        if self.pause is not None:
            self.pause('attach:reserved')


def family_members(w, origin: str) -> set:
    """The origin and whatever LVM now lists as its snapshots."""
    lvs = w.lvs()
    return {origin} | {n for n, lv in lvs.items() if lv['origin'] == origin}


Report = collections.namedtuple('Report', 'scenario outcomes samples')


def summarize(reports: list) -> list:
    """One line per scenario over every run: how often each outcome
    pattern was seen (the error text, which names UUIDs, left out) and
    the monitor's samples in all."""
    by_scenario = collections.OrderedDict()
    for rep in reports:
        name = rep.scenario.split(' #')[0]
        pattern = '; '.join(o.split(' (')[0] for o in rep.outcomes)
        seen = by_scenario.setdefault(name, [collections.Counter(), 0])
        seen[0][pattern] += 1
        seen[1] += rep.samples
    return ['  %-44s %s; monitor %d samples' % (
        name, ' | '.join('%dx %s' % (n, p) for p, n in patterns.items()),
        samples) for name, (patterns, samples) in by_scenario.items()]


def snapshot_lv(snap) -> str:
    return drvmod.snapshot_lv_name(snap)


def no_leases_left(vg: str) -> bool:
    return not family.ACTIVE.families(vg)
