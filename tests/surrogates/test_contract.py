"""Every registered surrogate passes the shipped contract kit (on real NB201 data)."""

from __future__ import annotations

import pytest

from harness import surrogates
from harness.testing.surrogates import SurrogateContract


@pytest.fixture(params=surrogates.SURROGATES.names())
def surrogate_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.slow
class TestRegisteredSurrogates(SurrogateContract):
    @pytest.fixture(autouse=True)
    def _pick(self, surrogate_name: str) -> None:
        self.name = surrogate_name

    def make_surrogate(self, seed: int) -> surrogates.Surrogate:
        return surrogates.create(self.name, seed=seed)
