"""Property tests of the config <-> vector mapping, over random spaces and random vectors."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evotune.errors import ConfigError
from evotune.space import Categorical, Float, Int, Space

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SCALARS = st.one_of(
    st.text(max_size=4),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


def scalar_identity(value: Any) -> tuple[str, Any]:
    """true and 1 differ, 1 and 1.0 do not: the space's notion of the same choice."""
    if isinstance(value, bool):
        return ("bool", value)
    return ("str", value) if isinstance(value, str) else ("number", value)


@st.composite
def float_forms(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        bounds = st.floats(min_value=1e-300, max_value=1e300)
        low, high = sorted([draw(bounds), draw(bounds)])
        log = True
    else:
        bounds = st.floats(min_value=-1e200, max_value=1e200)
        low, high = sorted([draw(bounds), draw(bounds)])
        log = False
    if low == high:
        high = low + max(abs(low), 1.0)
    return {"type": "float", "low": low, "high": high, "log": log}


@st.composite
def int_forms(draw: st.DrawFn) -> dict[str, Any]:
    log = draw(st.booleans())
    limit = 2**40
    low = draw(st.integers(1 if log else -limit, limit - 1))
    # Mostly small ranges (the grid is worth walking), sometimes huge ones.
    width = draw(st.one_of(st.integers(1, 12), st.integers(1, limit - low)))
    return {"type": "int", "low": low, "high": min(low + width, limit), "log": log}


@st.composite
def spaces(draw: st.DrawFn) -> Space:
    """Random valid spaces: every kind, conditions chained on earlier categoricals."""
    spec: dict[str, dict[str, Any]] = {}
    choices_of: dict[str, list[Any]] = {}
    for i in range(draw(st.integers(1, 6))):
        name = f"p{i}"
        kind = draw(st.sampled_from(["float", "int", "categorical", "fixed"]))
        if kind == "float":
            form = draw(float_forms())
        elif kind == "int":
            form = draw(int_forms())
        elif kind == "categorical":
            choices = draw(st.lists(SCALARS, min_size=1, max_size=4, unique_by=scalar_identity))
            form = {"type": "categorical", "choices": choices}
        else:
            form = {"type": "fixed", "value": draw(SCALARS)}
        if kind != "fixed" and choices_of and draw(st.booleans()):
            parent = draw(st.sampled_from(sorted(choices_of)))
            values = draw(st.lists(st.sampled_from(choices_of[parent]), min_size=1, max_size=3))
            form["when"] = {parent: values}
        if kind == "categorical":
            choices_of[name] = form["choices"]
        spec[name] = form
    return Space.from_dict(spec)


COORDINATES = st.one_of(
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=-0.5, max_value=1.5),
    st.floats(allow_nan=False),  # infinities included: they are clipped
    st.sampled_from([0.0, 1.0, 0.5]),
)


@st.composite
def space_and_vector(draw: st.DrawFn) -> tuple[Space, np.ndarray]:
    space = draw(spaces())
    vector = draw(st.lists(COORDINATES, min_size=space.dim, max_size=space.dim))
    return space, np.array(vector, dtype=np.float64)


def assert_same_config(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Equal and of the same types (so 1 is not 1.0 and True is not 1), in the same order."""
    assert list(got) == list(want)
    assert [(type(v), v) for v in got.values()] == [(type(v), v) for v in want.values()]


@PROPERTY
@given(space_and_vector())
def test_any_vector_decodes_to_a_valid_json_config(case: tuple[Space, np.ndarray]) -> None:
    space, vector = case
    config = space.decode(vector)
    space.validate(config)
    assert all(type(v) in (int, float, str, bool) for v in config.values())
    assert json.loads(json.dumps(config, allow_nan=False)) == config
    assert list(config) == space.active(config)


@PROPERTY
@given(space_and_vector())
def test_decoded_configs_round_trip_exactly(case: tuple[Space, np.ndarray]) -> None:
    space, vector = case
    config = space.decode(vector)
    encoded = space.encode(config)
    assert encoded.shape == (space.dim,)
    assert np.all((space.bounds[:, 0] <= encoded) & (encoded <= space.bounds[:, 1]))
    assert_same_config(space.decode(encoded), config)


@PROPERTY
@given(space_and_vector(), st.data())
def test_inactive_coordinates_are_ignored(
    case: tuple[Space, np.ndarray], data: st.DataObject
) -> None:
    space, vector = case
    config = space.decode(vector)
    inactive = [name for name in space if name not in config]
    changed = vector.copy()
    for name in inactive:
        block = space.coordinates(name)
        width = block.stop - block.start
        changed[block] = data.draw(st.lists(COORDINATES, min_size=width, max_size=width))
    assert space.decode(changed) == config
    if inactive:
        assert all(space[name].condition for name in inactive)


@PROPERTY
@given(space_and_vector(), st.data())
def test_nan_anywhere_is_refused(case: tuple[Space, np.ndarray], data: st.DataObject) -> None:
    space, vector = case
    if space.dim == 0:
        return
    i = data.draw(st.integers(0, space.dim - 1))
    vector[i] = math.nan
    with pytest.raises(ConfigError, match=rf"^vector\[{i}\] \(.+\) is nan$"):
        space.decode(vector)


@PROPERTY
@given(spaces())
def test_dict_form_round_trips(space: Space) -> None:
    form = json.loads(json.dumps(space.to_dict()))
    assert Space.from_dict(form) == space
    assert Space.from_dict(form).to_dict() == space.to_dict()


@PROPERTY
@given(space_and_vector(), st.data())
def test_discrete_coordinates_follow_their_grid(
    case: tuple[Space, np.ndarray], data: st.DataObject
) -> None:
    space, vector = case
    steps, bounds = space.steps, space.bounds
    encoded = space.encode(space.decode(vector))
    for i in np.flatnonzero(steps > 0):
        (low, high), step = bounds[i], steps[i]
        actual = (low + step) - low  # what np.arange steps by
        n = int(np.ceil((high + step / 2 - low) / step))
        k = round((encoded[i] - low) / actual)
        assert encoded[i] == low + k * actual
        # Any x decodes as its nearest grid point does.
        x = data.draw(st.floats(0.0, 1.0))
        nearest = low + min(max(round((x - low) / actual), 0), n - 1) * actual
        probe, snapped = encoded.copy(), encoded.copy()
        probe[i], snapped[i] = x, nearest
        assert space.decode(probe) == space.decode(snapped)


@settings(max_examples=60, deadline=None)
@given(int_forms().filter(lambda f: not f["log"] and f["high"] - f["low"] < 200))
def test_int_grid_is_np_arange_and_every_point_is_a_distinct_value(form: dict[str, Any]) -> None:
    space = Space.from_dict({"n": form})
    (low, high), step = space.bounds[0], space.steps[0]
    grid = np.arange(low, high + step / 2, step)
    assert [space.decode([x])["n"] for x in grid] == list(range(form["low"], form["high"] + 1))
    assert [space.encode({"n": v})[0] for v in range(form["low"], form["high"] + 1)] == list(grid)
    assert step == 1 / len(grid)


def test_each_one_hot_block_decodes_to_its_choice() -> None:
    space = Space(k=Categorical(["a", 1, True, 2.5]))
    for i, choice in enumerate(space["k"].choices):
        one_hot = np.eye(4)[i]
        assert_same_config(space.decode(one_hot), {"k": choice})
        assert list(space.encode({"k": choice})) == list(one_hot)
    assert space.decode([0.3, 0.3, 0.1, 0.0]) == {"k": "a"}  # a tie goes to the first


@st.composite
def written_floats(draw: st.DrawFn) -> tuple[Space, float, bool]:
    """A float space and a value a user might write; whether it has few enough digits."""
    form = draw(float_forms())
    low, high = form["low"], form["high"]
    value = draw(st.floats(low, high))
    if draw(st.booleans()):
        if form["log"]:
            value = float(f"{value:.{draw(st.integers(0, 11))}e}")
        else:
            places = 12 - math.floor(math.log10(max(abs(low), abs(high))))
            value = round(value, draw(st.integers(places - 12, places)))
    value = min(max(value, low), high)
    on_grid = value in (low, high) or (
        float(f"{value:.11e}") == value
        if form["log"]
        else round(value, 12 - math.floor(math.log10(max(abs(low), abs(high))))) == value
    )
    return Space.from_dict({"x": form}), value, on_grid


@settings(max_examples=300, deadline=None)
@given(written_floats())
def test_written_floats_round_trip_exactly_or_move_by_half_a_grid_step(
    case: tuple[Space, float, bool],
) -> None:
    space, value, on_grid = case
    got = space.decode(space.encode({"x": value}))["x"]
    param = space["x"]
    assert isinstance(param, Float)
    assert param.low <= got <= param.high
    if on_grid:
        assert got == value
    elif param.log:
        assert math.isclose(got, value, rel_tol=5e-12)
    else:
        places = 12 - math.floor(math.log10(max(abs(param.low), abs(param.high))))
        assert abs(got - value) <= 0.5 * 10.0**-places * (1 + 1e-9)


def test_log_scales_are_uniform_in_log_space() -> None:
    space = Space(lr=Float(1e-4, 1.0, log=True), n=Int(1, 10_000, log=True))
    config = space.decode([0.5, 0.5])
    assert config["lr"] == 0.01
    # Log-uniform over [low - 0.5, high + 0.5]: the midpoint is sqrt(0.5 * 10000.5) = 70.7...
    assert config["n"] == 71


def test_a_value_an_ulp_below_high_is_not_mistaken_for_high() -> None:
    # (0.5 - low) and (high - low) round to the same float, so x would round to 1.
    space = Space(x=Float(-1000, math.nextafter(0.5, 1)))
    assert space.decode(space.encode({"x": 0.5})) == {"x": 0.5}
    space = Space(x=Float(-1000, 0.5))
    assert space.decode(space.encode({"x": -999.0})) == {"x": -999.0}
