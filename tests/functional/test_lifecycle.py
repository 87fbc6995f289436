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

"""The whole volume lifecycle with the real driver and connector on the rig.

The steps run in order and share state (tests/functional/lifecycle.py);
the demo runs the same steps.
"""

import pytest

from tests.functional import lifecycle

pytestmark = pytest.mark.functional


@pytest.fixture(scope='module')
def state(world_factory):
    st = lifecycle.State(world_factory(vg_name='lifevg'))
    st.failed = False
    yield st
    st.world.remove_vg()


@pytest.mark.parametrize('step', lifecycle.STEPS,
                         ids=[f.__name__ for f in lifecycle.STEPS])
def test_step(state, step):
    if state.failed:
        pytest.skip('an earlier lifecycle step failed')
    try:
        step(state)
    except BaseException:
        state.failed = True
        raise
