"""Every config value is type-checked against its declared type; a bad file writes nothing.

Each case was a silent inversion, a coercion or a traceback before: a string "false" became
True, 2.5 evaluations ran 3, ``--workers 0`` meant all cores, ``query_seeds = 0`` was refused only
after ``experiment.json`` was written.
"""

from __future__ import annotations

import time

import pytest

from harness.errors import ConfigError
from harness.runner.config import parse_experiment


def _bench(**kw):
    return [{"name": "nb201", "dataset": "cifar10", **kw}]


def _strat(**kw):
    return [{"name": "random_search", "label": "rs", **kw}]


CASES = [
    # (id, top-level overrides, key the message must name)
    ("count_repeats string", {"count_repeats": "false"}, "count_repeats"),
    (
        "strategy count_repeats string",
        {"strategy": _strat(count_repeats="false")},
        "count_repeats",
    ),
    ("params dedup string", {"strategy": _strat(params={"dedup": "false"})}, "params.dedup"),
    (
        "params max_redraws string",
        {"strategy": _strat(params={"max_redraws": "x"})},
        "max_redraws",
    ),
    ("root_seed string", {"root_seed": "abc"}, "root_seed"),
    ("root_seed negative", {"root_seed": -1}, "root_seed"),
    ("query_seeds string", {"query_seeds": "x"}, "query_seeds"),
    ("query_seeds zero", {"query_seeds": 0}, "query_seeds"),
    ("noise_sigma string", {"benchmark": _bench(noise_sigma="big")}, "noise_sigma"),
    ("noise_sigma nan", {"benchmark": _bench(noise_sigma=float("nan"))}, "noise_sigma"),
    ("fidelity string", {"benchmark": _bench(fidelity="200")}, "fidelity"),
    ("evaluations float", {"budget": {"evaluations": 2.5}}, "evaluations"),
    ("evaluations bool", {"budget": {"evaluations": True}}, "evaluations"),
    ("name with NUL", {"name": "a\x00b"}, "experiment name"),
    ("name with space", {"name": "a b"}, "experiment name"),
    ("description not a string", {"description": 3}, "description"),
    ("dataset not a string", {"benchmark": _bench(dataset=10)}, "dataset"),
    ("space_params not a table", {"benchmark": _bench(space_params="x")}, "space_params"),
    ("benchmark not a table", {"benchmark": ["nb201"]}, "[[benchmark]] #1"),
    ("seeds bools", {"seeds": [True, False]}, "seeds"),
]


@pytest.mark.parametrize(("case", "top", "key"), CASES, ids=[c[0] for c in CASES])
def test_wrong_types_are_one_config_error_naming_the_key(tiny, case, top, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.").replace("[", r"\[")):
        parse_experiment(tiny(**top))


def test_the_bool_message_says_how_to_write_it(tiny):
    with pytest.raises(ConfigError, match="without quotes"):
        parse_experiment(tiny(count_repeats="false"))


def test_real_bools_and_numbers_are_accepted(tiny):
    exp = parse_experiment(
        tiny(count_repeats=True, strategy=_strat(params={"dedup": True, "max_redraws": 50}))
    )
    s = exp.strategies[0]
    assert s.count_repeats is True and s.params == {"dedup": True, "max_redraws": 50}


def test_a_billion_seeds_is_refused_at_once(tiny):
    t0 = time.perf_counter()
    with pytest.raises(ConfigError, match="100,000 seeds"):
        parse_experiment(tiny(seeds=1_000_000_000))
    assert time.perf_counter() - t0 < 1.0  # no grid is built


def test_a_proxy_signal_under_an_evaluations_budget_is_refused(tiny):
    with pytest.raises(ConfigError, match="queries"):
        parse_experiment(tiny(benchmark=_bench(signal="zc_nwot")))
    # in queries it runs; a strategy with a natural end keeps its budget of evaluations
    parse_experiment(tiny(benchmark=_bench(signal="zc_nwot"), budget={"queries": 5}))
    parse_experiment(
        tiny(
            benchmark=_bench(signal="zc_nwot"),
            strategy=[{"name": "naswot_search", "params": {"n_samples": 5}}],
        )
    )


# -- through the command line: one line, exit 2, nothing written -------------------------------
@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda t: t.replace('name = "tiny"', 'name = "tiny"\nquery_seeds = 0'), "query_seeds"),
        (lambda t: t.replace("evaluations = 5", "evaluations = 2.5"), "evaluations"),
        (
            lambda t: t.replace('label = "rs"', 'label = "rs"\nparams = { dedup = "false" }'),
            "params.dedup",
        ),
    ],
    ids=["query_seeds 0", "evaluations 2.5", "string bool"],
)
def test_cli_refuses_before_writing_anything(
    nash, one_line_error, tiny_toml, tmp_path, edit, match
):
    tiny_toml.write_text(edit(tiny_toml.read_text()))
    out = tmp_path / "out"
    r = nash("run", tiny_toml, "--out", out, "--no-progress")
    one_line_error(r, match)
    assert not out.exists()  # not even experiment.json


def test_cli_non_utf8_toml(nash, one_line_error, tmp_path):
    p = tmp_path / "bad.toml"
    p.write_bytes(b'name = "caf\xe9"\n')
    one_line_error(nash("run", p, "--out", tmp_path / "o"), "not UTF-8")


@pytest.mark.parametrize(
    ("flag", "value", "match"),
    [
        ("--workers", "0", "--workers"),
        ("--max-retries", "-1", "--max-retries"),
        ("--seeds", "1000000000", "seeds"),
    ],
)
def test_cli_flags_out_of_range(nash, one_line_error, tiny_toml, tmp_path, flag, value, match):
    out = tmp_path / "out"
    r = nash("run", tiny_toml, "--out", out, flag, value, "--no-progress")
    one_line_error(r, match)
    assert not out.exists()
