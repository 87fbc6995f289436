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

"""Benchmarks of cinder-shared-lvm against raw LVM and the stock iSCSI path.

Run everything with ``tools/bench`` (or ``python -m bench``); see
doc/source/benchmarks.rst. Import order matters as in the tests
(design.rst, testing): ``bench.env`` imports ``cinder.tests.unit`` before
anything imports ``cinder.objects``.
"""
