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

"""Plumbing shared by the host-LVM tests (not the code under test)."""

import subprocess


def run(*argv, check=True, env=None):
    """Run a command directly; raise with its stderr when it fails."""
    result = subprocess.run(list(argv), capture_output=True, text=True,
                            timeout=120, env=env)
    if check and result.returncode:
        raise RuntimeError('%s failed (%d): %s' % (
            ' '.join(argv), result.returncode, result.stderr.strip()))
    return result
