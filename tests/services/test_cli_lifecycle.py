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

"""Cinder's real services, driven only by the ``cinder`` CLI.

One lifecycle (``lifecycle.py``) checks every CLI result against the LVs
of the shared VG; the rows it returns are what the demo prints.
"""

from tests.services import lifecycle

STEPS = ('cinder-shared-lvm prepare', 'start services',
         'cinder type-create x2 + type-key', 'cinder create',
         'cinder snapshot-create', 'cinder create --snapshot-id',
         'cinder create --source-volid', 'cinder extend', 'cinder retype',
         'cinder manage', 'cinder unmanage', 'cinder get-pools --detail',
         'cinder attachment-create + connect',
         'disconnect + cinder attachment-delete', 'cinder snapshot-delete',
         'cinder delete', 'stop services, remove VG')


def test_cli_lifecycle(services_rig_state, capsys):
    lines = []
    rows = lifecycle.run(services_rig_state, progress=lines.append)
    with capsys.disabled():
        print()
        for step, host, result, seconds in rows:
            print('%-38s %-12s %-60s %6.1fs' % (
                step, host, result, seconds))
    assert tuple(r[0] for r in rows) == STEPS
