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

"""Creates reuse a recent VG report; refusals always read the VG afresh."""

from cinder.tests.unit import fake_constants as fake
import pytest

from cinder_shared_lvm import driver_exception as exc
from cinder_shared_lvm import vgcache
from tests.unit import fakes
from tests.unit.fakes import vgs

VG = 'cinder-shared'
GiB = 1 << 30
ROW = {'vg_name': VG, 'vg_free': 10 * GiB, 'vg_mda_size': 1 << 20,
       'vg_mda_free': 1 << 19}


class Clock(object):
    now = 100.0

    def __call__(self):
        return self.now


def test_report_is_reused_until_it_is_too_old():
    clock = Clock()
    cache = vgcache.RecentVGReport(10, clock=clock)
    assert cache.get() is None
    cache.store(ROW)
    clock.now += 10
    assert cache.get()['vg_free'] == 10 * GiB
    clock.now += 0.1
    assert cache.get() is None


def test_debit_takes_space_and_metadata_off_the_report():
    cache = vgcache.RecentVGReport(10, clock=Clock())
    cache.store(ROW)
    cache.debit(GiB)
    row = cache.get()
    assert row['vg_free'] == 9 * GiB
    assert row['vg_mda_free'] == (1 << 19) - vgcache.METADATA_BYTES_PER_WRITE
    assert ROW['vg_free'] == 10 * GiB, 'the stored row must be a copy'


def test_zero_max_age_never_reuses():
    cache = vgcache.RecentVGReport(0, clock=Clock())
    cache.store(ROW)
    assert cache.get() is None


def _second_volume(make_volume):
    return make_volume(id=fake.VOLUME2_ID, size=1)


def test_second_create_skips_the_vg_read(drv, executor, make_volume):
    drv.create_volume(make_volume(size=1))
    executor.reset()
    drv.create_volume(_second_volume(make_volume))
    assert [c[0] for c in executor.commands] == ['lvcreate']


def test_a_refusal_is_decided_on_a_fresh_report(drv, executor, fake_vg,
                                                make_volume):
    drv.create_volume(make_volume(size=1))
    fake_vg.free = 0            # another service took the rest meanwhile
    executor.reset()
    # more than the recent report's 99 GiB: decided on a fresh read
    with pytest.raises(exc.OperationRefused, match='free'):
        drv.create_volume(make_volume(id=fake.VOLUME2_ID, size=100))
    assert executor.commands == [vgs(VG)]
    assert not any(fakes.is_metadata_write(c) for c in executor.commands)


def test_a_failed_lvcreate_forgets_the_report(drv, executor, make_volume):
    drv.create_volume(make_volume(size=1))
    executor.add(('lvcreate',), fakes.pe_error(
        5, 'Volume group "cinder-shared" has insufficient free space'))
    with pytest.raises(Exception):
        drv.create_volume(_second_volume(make_volume))
    executor.reset()
    executor.rules.pop(0)
    drv.create_volume(make_volume(id=fake.VOLUME3_ID, size=1))
    assert [c[0] for c in executor.commands] == ['vgs', 'lvcreate']
