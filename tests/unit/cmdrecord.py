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

"""Record every host command the unit tests issue, for test_rootwrap.

The rootwrap test checks that the shipped filters let through every
command that cinder-volume runs as root, so it needs those commands. This
module wraps ``fakes.FakeExecutor`` (the one executor seam of the unit
tests) and ``lvm.SharedLVM`` for the whole session and records

* every argv, with where it runs (``scope``, from the code that issued it)
  and the test's ``tmp_path`` (the image tests put image_utils' temporary
  file there, where a deployment has image_conversion_dir), and
* every VG, with its devices and ``--config``, that the code under test
  was configured with: the deployment the filters are generated for.

``conftest.py`` installs it. With ``SHARED_LVM_RECORD_COMMANDS=<path>`` the
record is written to that JSON file at the end of the session, so that
test_rootwrap can run the suite in a subprocess when it runs on its own.
"""

import json
import sys

from cinder_shared_lvm import lvm
from tests.unit import fakes

# The JSON file to write the record to at the end of a session.
RECORD_ENV = 'SHARED_LVM_RECORD_COMMANDS'

# Where a command runs. Only ROOTWRAP commands pass through
# cinder-rootwrap; the others never reach it.
ROOTWRAP = 'rootwrap'
NOT_ROOT = 'not-root'                  # run_as_root false: runs as cinder
OPERATOR_CLI = 'operator-cli'          # cinder-shared-lvm, run as root
OS_BRICK_PRIVSEP = 'os-brick-privsep'  # compute host, connector props

# NOTE: os-brick calls get_connector_properties without an executor, so the
# connector falls back to os-brick's privsep execute on every host (only
# the test rig's remote executor replaces it); visible_vgs is its helper.
# The Nova side runs on compute hosts, which have no cinder-rootwrap.
_PRIVSEP_FUNCTIONS = frozenset(('get_connector_properties', 'visible_vgs'))
_PRIVSEP_MODULES = ('cinder_shared_lvm.nova',)
_CLI_MODULES = ('cinder_shared_lvm.cmd',)


def scope_of_caller(kwargs: dict) -> str:
    """Where the command runs, from the package's outermost frame.

    NOTE: the outermost frame is the entry point (a driver method, a
    connector method, a CLI command): the connector calls helpers of the
    CLI's modules, and the CLI calls the LVM layer.
    """
    if not kwargs.get('run_as_root'):
        return NOT_ROOT
    entry = None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get('__name__', '').startswith(
                'cinder_shared_lvm'):
            entry = frame
        frame = frame.f_back
    if entry is None:
        return ROOTWRAP
    module = entry.f_globals['__name__']
    if module.startswith(_CLI_MODULES):
        return OPERATOR_CLI
    if (module.startswith(_PRIVSEP_MODULES) or
            entry.f_code.co_name in _PRIVSEP_FUNCTIONS):
        return OS_BRICK_PRIVSEP
    return ROOTWRAP


class Recorder(object):

    def __init__(self):
        self.calls = []        # {'nodeid', 'argv', 'scope', 'tmp'}
        # (vg, (device, ...), lvm --config, lock manager)
        self.backends = set()
        self.nodeid = None
        self.tmp_path = None

    def start_test(self, nodeid: str, tmp_path=None) -> None:
        self.nodeid = nodeid
        self.tmp_path = tmp_path

    def record(self, argv: list, scope: str) -> None:
        self.calls.append({'nodeid': self.nodeid, 'argv': argv,
                           'scope': scope, 'tmp': self.tmp_path})

    def dump(self, path: str) -> None:
        with open(path, 'w') as out:
            json.dump({'calls': self.calls,
                       'backends': sorted([vg, list(devs), conf, manager]
                                          for vg, devs, conf, manager in
                                          self.backends)}, out)


RECORD = Recorder()
_installed = []


def install() -> None:
    """Wrap FakeExecutor.__call__ and SharedLVM.__init__ (once)."""
    if _installed:
        return
    call = fakes.FakeExecutor.__call__
    init = lvm.SharedLVM.__init__

    def recording_call(self, *argv, **kwargs):
        RECORD.record([str(a) for a in argv], scope_of_caller(kwargs))
        return call(self, *argv, **kwargs)

    def recording_init(self, *args, **kwargs):
        # NOTE: also when the constructor's own vgs fails: that command
        # was recorded and belongs to this VG.
        try:
            init(self, *args, **kwargs)
        finally:
            if getattr(self, 'lvm_config', None) is not None:
                RECORD.backends.add((self.vg_name, tuple(self.devices),
                                     self.lvm_config,
                                     getattr(self, 'lock_manager', None)))

    fakes.FakeExecutor.__call__ = recording_call
    lvm.SharedLVM.__init__ = recording_init
    _installed.append((call, init))
