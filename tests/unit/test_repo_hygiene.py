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

"""What every file of the repository owes a reader: references that lead
somewhere in the repository, and the license header."""

import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
# The design notes that came before doc/source/design.rst; spelled in two
# parts so that this file does not name them itself.
OLD_DESIGN_NOTES = 'DESIGN' + '.md'
HEADER = 'Licensed under the Apache License, Version 2.0'

# Files being rewritten on another branch (issue 9) that still point at the
# old notes or lack the header; each leaves this list when it is fixed.
PENDING = set()


def _tracked_files():
    try:
        out = subprocess.run(['git', 'ls-files'], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip('not a git checkout')
    return [f for f in out.splitlines()
            if os.path.isfile(os.path.join(REPO, f))]


def _text(path):
    try:
        with open(os.path.join(REPO, path), encoding='utf-8') as f:
            return f.read()
    except UnicodeDecodeError:
        return ''            # images and other binary files


def test_no_file_points_at_the_old_design_notes():
    stale = sorted(f for f in _tracked_files()
                   if f not in PENDING and OLD_DESIGN_NOTES in _text(f))
    assert not stale, 'point these at doc/source/design.rst: %s' % stale


def test_python_files_carry_the_license_header():
    missing = sorted(
        f for f in _tracked_files()
        if f.endswith('.py') and f not in PENDING and
        os.path.getsize(os.path.join(REPO, f)) and
        HEADER not in _text(f)[:1000])
    assert not missing, 'add the Apache-2.0 header to: %s' % missing


def test_pending_list_holds_only_files_that_still_need_it():
    done = sorted(f for f in PENDING
                  if OLD_DESIGN_NOTES not in _text(f) and
                  (not f.endswith('.py') or HEADER in _text(f)[:1000]))
    assert not done, 'remove from PENDING: %s' % done
