"""Every registered search space passes the space contract kit (and property tests over seeds)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.spaces import SPACES, make_space
from harness.testing.spaces import check_space

NAMES = SPACES.names()


@pytest.mark.parametrize("name", NAMES)
def test_space_contract(name):
    check_space(make_space(name), n=30, seed=0)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_space_invariants_hold_for_any_seed(name, seed):
    check_space(make_space(name), n=4, seed=seed)


def test_kit_catches_a_broken_mutation():
    """The kit can fail: a space whose mutation returns its input is rejected."""
    from harness.spaces.nb201 import NB201Space

    class Lazy(NB201Space):
        name = "lazy"

        def mutate(self, arch, rng):
            return arch

    with pytest.raises(AssertionError, match="same architecture"):
        check_space(Lazy(), n=5)
