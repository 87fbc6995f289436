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

"""The generated filters through the real oslo-rootwrap, on real LVM.

tests/unit/test_rootwrap.py proves with oslo.rootwrap's matcher which
argv match; this runs the commands through the ``oslo-rootwrap`` program
itself, as Cinder's root helper does: a match must reach LVM with its
``--config`` intact, and a refusal must stop before any command runs
(exit code 99, "Unauthorized command").
"""

import os
import shlex
import sys

import pytest
from oslo_concurrency import processutils

from cinder_shared_lvm import exception
from cinder_shared_lvm import lvm
from cinder_shared_lvm import rootwrap_filters

pytestmark = pytest.mark.hostlvm

ROOTWRAP_REFUSED = 99     # oslo.rootwrap's RC_UNAUTHORIZED


@pytest.fixture
def root_helper(shared_vg, tmp_path):
    program = os.path.join(os.path.dirname(sys.executable), 'oslo-rootwrap')
    if not os.access(program, os.X_OK):
        pytest.skip('no oslo-rootwrap next to %s' % sys.executable)
    filters = tmp_path / 'rootwrap.d'
    filters.mkdir()
    (filters / 'shared-lvm.filters').write_text(rootwrap_filters.generate(
        [rootwrap_filters.Backend(shared_vg.vg_name, [shared_vg.device])]))
    conf = tmp_path / 'rootwrap.conf'
    conf.write_text('[DEFAULT]\nfilters_path=%s\n'
                    'exec_dirs=/sbin,/usr/sbin,/bin,/usr/bin\n'
                    'use_syslog=False\n' % filters)
    return [program, str(conf)]


def through(helper):
    """An executor that always goes through *helper*.

    NOTE: processutils drops root_helper when the caller is root already,
    as these tests are; Cinder's service user is not.
    """
    def execute(*argv, **kwargs):
        kwargs.pop('root_helper', None)
        kwargs.pop('run_as_root', None)
        return processutils.execute(*helper, *argv, **kwargs)
    return execute


def _layer(shared_vg, root_helper):
    # NOTE: no extra config: the filters pin the driver's own --config.
    return lvm.SharedLVM(shared_vg.vg_name, [shared_vg.device],
                         executor=through(root_helper),
                         root_helper=shlex.join(root_helper),
                         check_vg=False)


def test_reports_run_through_rootwrap(shared_vg, root_helper):
    vg = _layer(shared_vg, root_helper)
    assert vg.vg_report()['vg_name'] == shared_vg.vg_name
    assert vg.list_lvs() == []


def test_a_write_reaches_lvm(shared_vg, root_helper):
    vg = _layer(shared_vg, root_helper)
    try:
        vg.create_volume('volume-1', '8m', tags=('cinder',))
    except exception.LVMCommandFailed as err:
        # NOTE: this kernel may lack device-mapper, and then LVM itself
        # refuses lvcreate; what matters is that rootwrap let it through.
        assert err.kwargs['exit_code'] != ROOTWRAP_REFUSED, err
        assert 'device-mapper' in str(err)
    else:
        assert [lv['name'] for lv in vg.list_lvs()] == ['volume-1']


def test_the_one_command_delete_reaches_lvm(shared_vg, root_helper):
    """lvremove --select (SharedLVM.delete_unless_origin) passes the
    generated filters with its selection pinned."""
    shared_vg.lvm().create_volume('volume-1', '8m')
    vg = _layer(shared_vg, root_helper)
    try:
        removed = vg.delete_unless_origin('volume-1')
    except exception.LVMCommandFailed as err:
        assert err.kwargs['exit_code'] != ROOTWRAP_REFUSED, err
        assert 'device-mapper' in str(err)
    else:
        assert removed and vg.list_lvs() == []


def _refused(root_helper, *argv):
    with pytest.raises(processutils.ProcessExecutionError) as err:
        through(root_helper)(*argv, process_input='')
    assert err.value.exit_code == ROOTWRAP_REFUSED, err.value
    assert 'Unauthorized command' in err.value.stderr


def test_a_shell_through_env_stops_at_rootwrap(root_helper):
    _refused(root_helper, 'env', 'LC_ALL=C', 'env', 'id')


def test_tee_outside_sysfs_stops_at_rootwrap(root_helper, tmp_path):
    target = tmp_path / 'written-as-root'
    _refused(root_helper, 'tee', '-a', str(target))
    assert not target.exists()


def test_dmsetup_create_stops_at_rootwrap(root_helper, shared_vg):
    name = 'cslvm-evil-%s' % shared_vg.vg_name[-8:]
    try:
        _refused(root_helper, 'dmsetup', 'create', name, '--notable')
    finally:
        processutils.execute('dmsetup', 'remove', name,
                             check_exit_code=False)


def test_an_executable_setting_stops_at_rootwrap(shared_vg, root_helper):
    config = lvm.build_lvm_config([shared_vg.device], False,
                                  'global { fsadm_executable="/bin/id" } ')
    _refused(root_helper, 'env', 'LC_ALL=C', 'vgs', '--config', config,
             shared_vg.vg_name)
