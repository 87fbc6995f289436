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

"""Sphinx configuration of the cinder-shared-lvm docs (tox -e docs)."""

import os
import re

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
# NOTE: read, not imported: the docs build needs neither Cinder nor os-brick.
with open(os.path.join(_ROOT, 'cinder_shared_lvm', 'contract.py'),
          encoding='utf-8') as _contract:
    release = re.search(r"^VERSION = '([^']+)'$", _contract.read(),
                        re.MULTILINE).group(1)
version = release

project = 'cinder-shared-lvm'
copyright = 'cinder-shared-lvm developers; Apache-2.0'
extensions = []
master_doc = 'index'
exclude_patterns = ['benchmarks/results.rst']
html_theme = 'alabaster'
html_static_path = []
# The docs quote cinder.conf, shell and LVM text; highlight none of it as
# Python.
highlight_language = 'none'
