"""The Strategy contract, run against every strategy and variant (see ``Strategy``'s docstring)."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evotune.errors import StrategyError
from evotune.strategies import Candidate, Strategy, load_strategy

if TYPE_CHECKING:
    from .conftest import Variant


def sphere(x: np.ndarray) -> float:
    return float(((x - 0.3) ** 2).sum())


def roundtrip(s: Strategy) -> Strategy:
    state = s.state_dict()
    text = json.dumps(state, allow_nan=False)  # strict JSON: no NaN/Infinity inside
    assert json.loads(text) == state  # plain data: no tuples, no numpy scalars
    assert s.state_dict() == state  # reading the state changes nothing
    return load_strategy(json.loads(text))


def drive(
    s: Strategy, n: int, *, lag: int = 8, seed: int = 0, fail: float = 0.15
) -> list[Candidate]:
    """Ask n candidates keeping up to ``lag`` out, telling them in shuffled order with failures.

    Returns the candidates still outstanding at the end.
    """
    rng = np.random.default_rng(seed)
    out: list[Candidate] = []
    for _ in range(n):
        out.append(s.ask())
        while len(out) >= lag:
            c = out.pop(int(rng.integers(len(out))))
            r = rng.random()
            score: float | None = sphere(c.vector)
            if r < fail / 2:
                score = None
            elif r < fail:
                score = math.nan
            s.tell(c.id, score)
    return out


def test_asks_are_numbered_vectors_in_the_unit_cube(variant: Variant) -> None:
    s = variant.make()
    for i in range(40):
        c = s.ask()
        assert c.id == i
        assert c.vector.dtype == np.float64 and c.vector.shape == (s.dim,)
        assert np.all((c.vector >= 0) & (c.vector <= 1))
        assert not c.vector.flags.writeable
        assert c.generation == s.generation
        s.tell(c.id, sphere(c.vector))
    assert s.name == variant.name and s.dim == 5


def test_same_seed_same_asks_other_seed_other_asks(variant: Variant) -> None:
    runs = []
    for seed in (4, 4, 5):
        s = variant.make(seed=seed)
        drive(s, 120)
        runs.append(np.array([s.ask().vector for _ in range(10)]))
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("stop_at", [3, 37, 150])
def test_json_state_resumes_identically_with_candidates_outstanding(
    variant: Variant, stop_at: int
) -> None:
    s = variant.make(seed=11)
    out = drive(s, stop_at)
    assert out, "the point is to save with candidates outstanding"
    t = roundtrip(s)
    assert t.outstanding == s.outstanding and t.generation == s.generation
    assert json.dumps(t.state_dict(), sort_keys=True) == json.dumps(s.state_dict(), sort_keys=True)
    # Finish the outstanding ones, then keep going: both must behave identically.
    for strategy in (s, t):
        for c in out:
            strategy.tell(c.id, sphere(c.vector))
    for _ in range(60):
        a, b = s.ask(), t.ask()
        assert a.id == b.id and a.generation == b.generation
        assert np.array_equal(a.vector, b.vector)
        s.tell(a.id, sphere(a.vector))
        t.tell(b.id, sphere(b.vector))
    assert s.best is not None and t.best is not None
    assert s.best[1] == t.best[1] and np.array_equal(s.best[0], t.best[0])


def test_asynchronous_use_with_failures_accounts_for_every_candidate(variant: Variant) -> None:
    s = variant.make(seed=2)
    out = drive(s, 300, lag=9, seed=3, fail=0.3)  # 8 outstanding at every ask
    rng = np.random.default_rng(9)
    for i in rng.permutation(len(out)):
        s.tell(out[i].id, None)
    assert s.outstanding == ()
    for cid in (0, 150, 299):  # every candidate was told exactly once
        with pytest.raises(StrategyError, match=f"candidate {cid} was already told"):
            s.tell(cid, 1.0)
    # The literal pseudocode (parent_selection none) never selects among non-elites: it is no
    # better than random search, so only the selecting variants must find the maximum.
    if variant.name in ("cma", "elitist") and variant.options.get("parent_selection") != "none":
        assert s.generation >= 5
    if variant.name == "cma":
        counts = s.state_dict()["algorithm"]["counts"]
        batch = s.state_dict()["algorithm"]["batch"]
        assert counts["received"] == 300
        assert counts["received"] == counts["updated"] + len(batch) + counts["stale"]
    s.ask()  # still serves


def test_misuse_raises_strategy_error(variant: Variant) -> None:
    s = variant.make()
    c = s.ask()
    with pytest.raises(StrategyError, match="unknown candidate 1"):
        s.tell(1, 0.0)
    with pytest.raises(StrategyError, match="unknown candidate -1"):
        s.tell(-1, 0.0)
    with pytest.raises(StrategyError, match="must be a number or None"):
        s.tell(c.id, "0.5")  # type: ignore[arg-type]
    s.tell(c.id, 0.5)  # the refused tells changed nothing
    with pytest.raises(StrategyError, match="candidate 0 was already told"):
        s.tell(c.id, 0.5)


def test_best_tracks_successes_in_the_users_direction(variant: Variant) -> None:
    s = variant.make(direction="maximize")
    assert s.best is None
    told: list[tuple[np.ndarray, float]] = []
    for i in range(50):
        c = s.ask()
        score = None if i % 7 == 0 else -sphere(c.vector)
        s.tell(c.id, score)
        if score is not None:
            told.append((c.vector, score))
    best = s.best
    assert best is not None
    top = max(told, key=lambda t: t[1])
    assert best[1] == top[1] and np.array_equal(best[0], top[0])


def test_maximize_is_minimize_of_the_negated_score(variant: Variant) -> None:
    up, down = variant.make(seed=6, direction="maximize"), variant.make(seed=6)
    for _ in range(400):
        a, b = up.ask(), down.ask()
        assert np.array_equal(a.vector, b.vector)
        up.tell(a.id, -sphere(a.vector))
        down.tell(b.id, sphere(b.vector))
    assert up.best is not None and down.best is not None
    assert up.best[1] == -down.best[1]
    # The literal pseudocode (parent_selection none) never selects among non-elites: it is no
    # better than random search, so only the selecting variants must find the maximum.
    if variant.name in ("cma", "elitist") and variant.options.get("parent_selection") != "none":
        assert up.best[1] > -0.01  # it found the maximum 0 at x = 0.3


def test_a_state_for_one_strategy_is_refused_elsewhere(variant: Variant) -> None:
    state: dict[str, Any] = variant.make().state_dict()
    with pytest.raises(StrategyError, match="not a strategy state"):
        load_strategy({**state, "name": "nope"})
    with pytest.raises(StrategyError, match="bad .* strategy state"):
        load_strategy(
            {**state, "algorithm": None} if variant.name != "random" else {**state, "rng": {}}
        )


OPS = st.lists(
    st.tuples(st.sampled_from(["ask", "ask", "tell", "fail", "nan"]), st.integers(0, 1000)),
    max_size=80,
)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=OPS, save_at=st.integers(0, 80))
def test_any_interleaving_resumes_identically(
    variant: Variant, ops: list[tuple[str, int]], save_at: int
) -> None:
    """Property: whatever the asks and tells before it, a JSON round trip changes nothing."""
    strategies = [variant.make(seed=1)]
    outs: list[list[Candidate]] = [[]]
    for step, (op, k) in enumerate(ops + [("ask", 0)] * 5):
        if step == save_at:
            strategies.append(roundtrip(strategies[0]))
            outs.append(list(outs[0]))
        results = []
        for s, out in zip(strategies, outs):
            if op == "ask":
                c = s.ask()
                out.append(c)
                results.append((c.id, c.generation, c.vector.tolist()))
            elif out:
                c = out.pop(k % len(out))
                score = {"tell": sphere(c.vector), "fail": None, "nan": math.nan}[op]
                s.tell(c.id, score)
        assert all(r == results[0] for r in results)


def test_a_generational_schedule_advances_one_generation_per_generation_size(
    variant: Variant,
) -> None:
    s = variant.make()
    for generation in range(6):
        size = s.generation_size
        if size is None:
            assert variant.name in ("random", "sobol")
            return
        assert s.generation == generation
        batch = [s.ask() for _ in range(size)]
        assert all(c.generation == generation for c in batch)
        for c in reversed(batch):
            s.tell(c.id, sphere(c.vector))
    assert s.generation == 6


EXTREME = [None, math.nan, math.inf, -math.inf, 0.0, 0.0, 1e300, -1e300, 1e-300, 7, 2**70, -3.5]


def test_extreme_and_tied_scores_are_taken_in_stride(variant: Variant) -> None:
    s = variant.make(seed=5)
    out: list[Candidate] = []
    for i in range(400):
        out.append(s.ask())
        if len(out) > 4:
            c = out.pop(i % len(out))
            s.tell(c.id, EXTREME[(i * 7) % len(EXTREME)])
    t = roundtrip(s)
    assert np.array_equal(s.ask().vector, t.ask().vector)
    assert s.best is not None and s.best[1] == -1e300
