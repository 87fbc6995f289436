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

"""The devstack plugin, as far as it runs without devstack.

Devstack itself cannot run on the build machines (it wants a whole
OpenStack node). These tests run shellcheck on the plugin, and run the
plugin's cinder.conf function in bash with devstack's ``iniset``/``iniget``
stood in for, then check the section it writes against the sample that
oslo-config-generator made (etc/cinder-shared-lvm/cinder.conf.sample).
"""

import os
import re
import shutil
import subprocess

import pytest

from cinder_shared_lvm import contract

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PLUGIN = os.path.join(REPO, 'devstack', 'plugin.sh')
SETTINGS = os.path.join(REPO, 'devstack', 'settings')
SAMPLE = os.path.join(REPO, 'etc', 'cinder-shared-lvm', 'cinder.conf.sample')
# Cinder's own backend options that the section sets besides ours.
CINDER_BACKEND_OPTIONS = {'volume_driver', 'volume_backend_name'}

# devstack's iniset/iniget, reduced to what the plugin calls: each iniset
# appends "section<TAB>key<TAB>value" to a record file, and the last record
# of a key wins (a python3 per call took seconds on a loaded machine).
INI_STUBS = r'''
function iniset { printf '%s\t%s\t%s\n' "$2" "$3" "$4" >> "$1"; }
function iniget {
    awk -F '\t' -v s="$2" -v k="$3" '$1 == s && $2 == k {v = $3}
        END {print v}' "$1"
}
function is_service_enabled { return 1; }
'''


def _generated(tmp_path, existing=(), env=None):
    """{section: {key: value}} that configure_shared_lvm_cinder writes
    on top of *existing* (section, key, value) records."""
    records = tmp_path / 'cinder.conf.records'
    records.write_text(''.join('\t'.join(r) + '\n' for r in existing))
    script = INI_STUBS + 'source %s\nsource %s\n' \
        'configure_shared_lvm_cinder /dev/disk/by-id/wwn-0x600a\n' % (
            SETTINGS, PLUGIN)
    subprocess.run(['bash', '-c', script], check=True, capture_output=True,
                   text=True, timeout=60,
                   env=dict(os.environ, CINDER_CONF=str(records),
                            DATA_DIR=str(tmp_path), **(env or {})))
    conf = {}
    for line in records.read_text().splitlines():
        section, key, value = line.split('\t')
        conf.setdefault(section, {})[key] = value
    return conf


def _sample_options():
    with open(SAMPLE) as sample:
        return set(re.findall(r'^#(shared_lvm_\w+) =', sample.read(), re.M))


def test_generated_section_uses_only_options_of_the_sample(tmp_path):
    conf = _generated(tmp_path)
    section = conf['shared-lvm']
    assert set(section) - CINDER_BACKEND_OPTIONS <= _sample_options()
    assert section['volume_driver'] == \
        'cinder_shared_lvm.driver.SharedLVMDriver'
    assert section['volume_backend_name'] == 'shared-lvm'
    assert section['shared_lvm_volume_group'] == 'cinder-shared'
    assert contract.device_path_problem(section['shared_lvm_devices']) \
        is None
    assert section['shared_lvm_snapshot_mode'] in ('cow', 'copy')
    assert conf['DEFAULT']['enabled_backends'] == 'shared-lvm'
    assert conf['DEFAULT']['default_volume_type'] == 'shared-lvm'


def test_backend_added_to_existing_backends_once(tmp_path):
    no_default = {'SHARED_LVM_DEFAULT_TYPE': 'False'}
    first = _generated(tmp_path, [('DEFAULT', 'enabled_backends',
                                   'lvmdriver-1')], env=no_default)
    records = [(s, k, v) for s, keys in first.items()
               for k, v in keys.items()]
    again = _generated(tmp_path, records, env=no_default)
    assert again['DEFAULT']['enabled_backends'] == 'lvmdriver-1,shared-lvm'
    assert 'default_volume_type' not in again['DEFAULT']


def test_shellcheck_is_clean():
    if not shutil.which('shellcheck'):
        pytest.skip('no shellcheck (Debian package shellcheck)')
    result = subprocess.run(['shellcheck', '-x', PLUGIN, SETTINGS],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout
