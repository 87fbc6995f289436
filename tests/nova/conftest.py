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

"""Nova-side tests: they need a Python process without Cinder in it.

Cinder and Nova both register ``state_path`` with oslo.config, so one
process cannot import both (``DuplicateOptError``). These tests therefore
run on their own::

    PYTHONPATH=. .venv/bin/python -m pytest tests/nova -q -p no:cacheprovider

Any other run (``pytest tests``, which imports Cinder for tests/unit)
leaves this directory out: ``pytest_ignore_collect`` below ignores it
unless a command-line argument names tests/nova or something inside it.
"""

import copy
import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))


def _asked_for_us(config) -> bool:
    for arg in config.args:
        path = os.path.abspath(str(arg).split('::', 1)[0])
        if path == _HERE or path.startswith(_HERE + os.sep):
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    path = str(collection_path)
    if path != _HERE and not path.startswith(_HERE + os.sep):
        return None
    if not _asked_for_us(config):
        return True
    if 'cinder' in sys.modules:
        raise pytest.UsageError(
            'tests/nova cannot run in a process that has imported cinder '
            '(oslo.config DuplicateOptError: state_path); run them alone: '
            'pytest tests/nova')
    return None


@pytest.fixture
def restore_registries():
    """Put os-brick's and Nova's module-level registries back afterwards."""
    from nova.virt.libvirt import driver as libvirt_driver
    from os_brick import initiator
    from os_brick.initiator import connector as brick_connector

    from cinder_shared_lvm import brick_registration

    mappings = brick_registration._mappings()
    saved_maps = [(m, copy.copy(m)) for m in mappings]
    conn_list = brick_connector._get_connector_list()
    saved_list = list(conn_list)
    saved_drivers = dict(libvirt_driver.VOLUME_DRIVERS)
    had_const = hasattr(initiator, 'SHARED_LVM')
    yield
    for mapping, saved in saved_maps:
        mapping.clear()
        mapping.update(saved)
    conn_list[:] = saved_list
    libvirt_driver.VOLUME_DRIVERS.clear()
    libvirt_driver.VOLUME_DRIVERS.update(saved_drivers)
    if not had_const and hasattr(initiator, 'SHARED_LVM'):
        del initiator.SHARED_LVM


@pytest.fixture
def connector_importable():
    """Skip when cinder_shared_lvm.connector has not landed yet."""
    from oslo_utils import importutils

    from cinder_shared_lvm import brick_registration
    try:
        return importutils.import_class(brick_registration.CONNECTOR_PATH)
    except ImportError as err:
        pytest.skip('SharedLVMConnector is not importable: %s' % err)


@pytest.fixture
def nova_conf():
    """nova.conf.CONF with overrides cleared after the test."""
    import nova.conf

    conf = nova.conf.CONF
    yield conf
    conf.reset()
    conf.clear_override('virt_type', group='libvirt')
    conf.clear_override('use_default_aio_mode_for_volumes', group='libvirt')
    conf.clear_override('disk_cachemodes', group='libvirt')
    conf.clear_override('num_volume_scan_tries', group='libvirt')
    if 'shared_lvm' in conf:
        conf.clear_override('devices', group='shared_lvm')
