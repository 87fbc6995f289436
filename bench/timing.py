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

"""Interleaved timing: every figure is a ratio measured in one run.

This machine is shared and noisy, so driver and raw trials alternate (in
random order within each round) and the ratio is taken from medians of the
same run, never across runs.
"""

import random
import statistics
import threading
import time


def clock(func, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    func(*args, **kwargs)
    return time.perf_counter() - t0


def interleave(cases: dict, rounds: int, seed: int = 6) -> dict:
    """Run ``cases[name](i)`` for every name in each of *rounds* rounds.

    :param cases: name -> callable(round index) returning seconds (a
                  callable may time only part of what it does)
    :returns: name -> list of seconds
    """
    rng = random.Random(seed)
    out = {name: [] for name in cases}
    names = list(cases)
    for i in range(rounds):
        rng.shuffle(names)
        for name in names:
            out[name].append(cases[name](i))
    return out


def summary(samples: list) -> dict:
    return {'median_s': round(statistics.median(samples), 5),
            'min_s': round(min(samples), 5),
            'max_s': round(max(samples), 5),
            'n': len(samples)}


def ratio(num: list, den: list) -> float:
    return round(statistics.median(num) / statistics.median(den), 3)


def parallel(funcs) -> float:
    """Wall seconds of running every callable of *funcs* at once, each in
    a thread of its own; the first error is raised after all finish."""
    errors = []

    def run(func):
        try:
            func()
        except Exception as err:  # noqa
            errors.append(err)
    threads = [threading.Thread(target=run, args=(f,)) for f in funcs]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return wall
