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

import os
import re

import setuptools

# NOTE: the release is written once, in cinder_shared_lvm/contract.py, which
# the driver reports to Cinder as its VERSION. pbr would otherwise derive
# the version from git tags (0.0.1.devN without one); PBR_VERSION makes it
# install as the release the driver names. An explicit PBR_VERSION wins.
_CONTRACT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         'cinder_shared_lvm', 'contract.py')
with open(_CONTRACT, encoding='utf-8') as contract:
    _VERSION = re.search(r"^VERSION = '([^']+)'$", contract.read(),
                         re.MULTILINE).group(1)
os.environ.setdefault('PBR_VERSION', _VERSION)

setuptools.setup(
    setup_requires=['pbr>=2.0.0'],
    pbr=True)
