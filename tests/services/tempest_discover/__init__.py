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

"""tempest's test discovery, minus one skip that is not about the volume API.

The acceptance workspace's ``.stestr.conf`` points here instead of at
``tempest/test_discover``, so that every stestr worker (and ``stestr
list``) loads the tests through this ``load_tests``.

Why: tempest's ``BaseVolumeTest.skip_checks`` skips a whole class when it
sets ``create_default_network = True`` and Neutron is absent
(https://bugs.launchpad.net/tempest/+bug/1844568 added the flag for the
few tests that boot a server). Six volume classes set it, which skipped
their volume-only tests (backups, snapshots, actions, extend, snapshot
manage) in a cloud with no Neutron, although none of those tests needs a
network. With Neutron absent, this sets the flag back to False on those
classes. Their tests that do boot a server still skip through
``@utils.services('compute')`` (Nova is absent too), so nothing passes
vacuously. Everything else is tempest's own discovery, unchanged.
"""

#: The classes whose flag was cleared in this process, for the report.
UNSKIPPED = []


def _test_classes(suite):
    for item in suite:
        if hasattr(item, '__iter__'):
            yield from _test_classes(item)
        else:
            yield type(item)


def _clear_network_flag(suite):
    from tempest.api.volume import base
    from tempest import config
    if config.CONF.service_available.neutron:
        return
    for cls in set(_test_classes(suite)):
        if (issubclass(cls, base.BaseVolumeTest)
                and cls.create_default_network):
            cls.create_default_network = False
            UNSKIPPED.append('%s.%s' % (cls.__module__, cls.__name__))


def load_tests(loader, tests, pattern):
    from tempest.test_discover import test_discover
    suite = test_discover.load_tests(loader, tests, pattern)
    _clear_network_flag(suite)
    return suite
