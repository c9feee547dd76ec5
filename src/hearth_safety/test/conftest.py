"""Fixtures of the safety tests (the helpers themselves are in safety_harness.py)."""

import pytest
from safety_harness import make_renderer

from hearth_safety.synthetic_depth import DepthRenderer


@pytest.fixture(scope="session")
def renderer() -> DepthRenderer:
    return make_renderer()
