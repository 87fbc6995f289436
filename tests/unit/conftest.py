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

"""Cinder fixtures for the unit tests.

Import order matters (design.rst, testing): with eventlet patching off,
``cinder.tests.unit`` must be imported before ``cinder.objects``, or
oslo.service raises BackendAlreadySelected.
"""

import os

os.environ.setdefault('OS_CINDER_DISABLE_EVENTLET_PATCHING', 'true')

import cinder.tests.unit  # noqa: E402,F401  (must come first)
from cinder.tests.unit import fake_constants as fake  # noqa: E402
from cinder.tests.unit import fake_snapshot  # noqa: E402

from unittest import mock  # noqa: E402

from cinder import context  # noqa: E402
from cinder import coordination  # noqa: E402
from cinder.volume import volume_utils  # noqa: E402
from oslo_config import cfg  # noqa: E402
import pytest  # noqa: E402

from tests import cinder_objects  # noqa: E402

CONF = cfg.CONF


@pytest.fixture(scope='session', autouse=True)
def coordinator(tmp_path_factory):
    """Cinder's coordinator with tooz's file backend in a temp dir."""
    lock_dir = tmp_path_factory.mktemp('locks')
    CONF.set_override('backend_url', 'file://%s' % lock_dir,
                      group='coordination')
    coordination.COORDINATOR.start()
    yield coordination.COORDINATOR
    coordination.COORDINATOR.stop()
    CONF.clear_override('backend_url', group='coordination')


@pytest.fixture(autouse=True)
def no_local_odirect_probe():
    """copy_volume probes O_DIRECT with a local dd; never run it here."""
    with mock.patch.object(volume_utils, 'check_for_odirect_support',
                           return_value=False):
        yield


@pytest.fixture
def ctx():
    return context.RequestContext(fake.USER_ID, fake.PROJECT_ID,
                                  is_admin=True)


@pytest.fixture
def make_volume(ctx):
    """Build a Volume object; ``attached_to=['host1']`` adds attachments."""
    def _make(attached_to=(), attach_status='attached', **updates):
        updates.setdefault('id', fake.VOLUME_ID)
        vol = cinder_objects.volume(ctx, **updates)
        cinder_objects.set_attachments(ctx, vol, [
            cinder_objects.attachment(ctx, vol, host, attach_status,
                                      id=fake.ATTACHMENT_ID)
            for host in attached_to])
        return vol
    return _make


@pytest.fixture
def make_snapshot(ctx):
    def _make(volume, **updates):
        updates.setdefault('id', fake.SNAPSHOT_ID)
        updates.setdefault('volume_size', volume.size)
        snap = fake_snapshot.fake_snapshot_obj(
            ctx, volume=volume, volume_id=volume.id, **updates)
        # NOTE: _from_db_object rebuilds the volume without attachments,
        # which would then be lazy-loaded from a database; keep ours.
        snap.volume = volume
        return snap
    return _make


BACKEND = 'backend1'

DEFAULT_OVERRIDES = {'shared_lvm_devices': ['/dev/sdb'],
                     'shared_lvm_volume_group': 'cinder-shared',
                     'volume_clear': 'none',
                     'volume_backend_name': 'shared1'}


@pytest.fixture
def fake_vg():
    from tests.unit import fakes
    return fakes.FakeVG()


@pytest.fixture
def executor(fake_vg):
    from tests.unit import fakes
    return fakes.FakeExecutor(fake_vg.rules())


@pytest.fixture
def make_driver(executor):
    """Build a set-up SharedLVMDriver on section [backend1].

    Options are set with CONF.set_override in the backend's group, as an
    operator's cinder.conf would; the executor is reset after setup.
    """
    from cinder.volume import configuration
    from cinder.volume import driver as cinder_driver
    from cinder_shared_lvm import driver as shared_driver
    overridden = []

    def _make(setup=True, **overrides):
        conf = configuration.Configuration(cinder_driver.volume_opts,
                                           config_group=BACKEND)
        drv = shared_driver.SharedLVMDriver(
            configuration=conf, execute=executor, host='cinder@' + BACKEND)
        # NOTE: no database here: the volume objects' own attachments
        # stand in for the rows the driver re-reads under its locks
        # (test_driver_locks.py tests the database read itself).
        drv._read_attachments = cinder_objects.attachments_of
        # ...and every LV named like Cinder's has its record there.
        drv._record_exists = cinder_objects.record_exists
        for key, value in dict(DEFAULT_OVERRIDES, **overrides).items():
            CONF.set_override(key, value, group=BACKEND)
            overridden.append(key)
        if setup:
            drv.do_setup(None)
            drv.check_for_setup_error()
            executor.reset()
        return drv

    yield _make
    for key in overridden:
        CONF.clear_override(key, group=BACKEND)


@pytest.fixture
def drv(make_driver):
    return make_driver()


# -- command recording for test_rootwrap.py ---------------------------------
# Every command the unit tests run through FakeExecutor is recorded (see
# tests/unit/cmdrecord.py); test_rootwrap checks each one against the
# generated rootwrap filters, so that test runs after every other one.

RECORDED_TEST = 'tests/unit/test_rootwrap.py::test_every_recorded_command'


def pytest_configure(config):
    from tests.unit import cmdrecord
    cmdrecord.install()
    config.shared_lvm_deselected = False


def pytest_deselected(items):
    # NOTE: -k, -m or --lf ran only part of the suite: its record is
    # incomplete, and test_rootwrap records a full run of its own.
    if items:
        items[0].config.shared_lvm_deselected = True


def pytest_collection_modifyitems(session, config, items):
    last = [i for i in items if i.nodeid.startswith(RECORDED_TEST)]
    items[:] = [i for i in items if i not in last] + last


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    # Before any fixture: the driver fixtures run commands in their setup.
    from tests.unit import cmdrecord
    cmdrecord.RECORD.start_test(item.nodeid)


@pytest.fixture(autouse=True)
def record_tmp_path(request):
    if 'tmp_path' in request.fixturenames:
        from tests.unit import cmdrecord
        cmdrecord.RECORD.tmp_path = str(request.getfixturevalue('tmp_path'))
    yield


def pytest_sessionfinish(session, exitstatus):
    from tests.unit import cmdrecord
    path = os.environ.get(cmdrecord.RECORD_ENV)
    if path:
        cmdrecord.RECORD.dump(path)
