"""JSON state helpers: arrays, floats and random generators as plain JSON data.

Floats go through json as their repr, which round-trips float64 exactly. NaN and infinities
are not JSON, so they are stored as the strings ``"nan"``, ``"inf"``, ``"-inf"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from evotune.errors import StrategyError

__all__ = [
    "decode_array",
    "decode_generator",
    "decode_random_state",
    "encode_array",
    "encode_float",
    "encode_generator",
    "encode_random_state",
]

Vector = npt.NDArray[np.float64]


def encode_float(x: float) -> float | str:
    """A float for JSON: itself when finite, else ``"nan"``/``"inf"``/``"-inf"`` (read by float)."""
    x = float(x)
    return x if math.isfinite(x) else str(x)


def encode_array(array: npt.ArrayLike | None) -> dict[str, Any] | None:
    """A float array as ``{"shape": [...], "data": [...]}`` (``None`` stays ``None``)."""
    if array is None:
        return None
    a = np.asarray(array, dtype=np.float64)
    return {"shape": list(a.shape), "data": [encode_float(x) for x in a.ravel().tolist()]}


def decode_array(data: Mapping[str, Any] | None) -> Vector | None:
    """Inverse of :func:`encode_array`."""
    if data is None:
        return None
    flat = np.array([float(x) for x in data["data"]], dtype=np.float64)
    return flat.reshape([int(n) for n in data["shape"]])


def encode_generator(rng: np.random.Generator) -> dict[str, Any]:
    """A PCG64 generator's state; its 128-bit integers as decimal strings (JSON-safe anywhere)."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise StrategyError(f"cannot store a {state['bit_generator']} generator")
    return {
        "bit_generator": "PCG64",
        "state": str(state["state"]["state"]),
        "inc": str(state["state"]["inc"]),
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def decode_generator(data: Mapping[str, Any]) -> np.random.Generator:
    """Inverse of :func:`encode_generator`."""
    bit_generator = np.random.PCG64()
    bit_generator.state = {
        "bit_generator": "PCG64",
        "state": {"state": int(data["state"]), "inc": int(data["inc"])},
        "has_uint32": int(data["has_uint32"]),
        "uinteger": int(data["uinteger"]),
    }
    return np.random.Generator(bit_generator)


def encode_random_state(rng: np.random.RandomState) -> dict[str, Any]:
    """A legacy MT19937 ``RandomState`` (what cmaes uses), including its cached Gaussian."""
    name, keys, pos, has_gauss, cached = rng.get_state(legacy=True)
    if name != "MT19937":
        raise StrategyError(f"cannot store a {name} random state")
    return {
        "keys": [int(k) for k in keys],
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def decode_random_state(data: Mapping[str, Any]) -> np.random.RandomState:
    """Inverse of :func:`encode_random_state`."""
    rng = np.random.RandomState()
    keys = np.array(data["keys"], dtype=np.uint32)
    rng.set_state(
        ("MT19937", keys, int(data["pos"]), int(data["has_gauss"]), float(data["cached_gaussian"]))
    )
    return rng
