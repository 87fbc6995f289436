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
