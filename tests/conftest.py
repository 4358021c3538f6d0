"""Shared fixtures over the real shipped data (found through the data roots)."""

from __future__ import annotations

import pytest

from harness.benchmarks import nb201 as nb201_tables
from harness.spaces.nb201 import NB201Space


@pytest.fixture(scope="session")
def tables() -> nb201_tables.NB201Tables:
    return nb201_tables.load()


@pytest.fixture(scope="session")
def space201() -> NB201Space:
    return NB201Space()
