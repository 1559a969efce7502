"""The search space: named parameters, their conditions, and the config <-> vector mapping."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from evotune.errors import ConfigError, SpecError

from ._base import Param
from ._choices import Categorical
from ._dict import join, parse_space
from ._values import Scalar, describe, show

__all__ = ["Space"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")

# parent -> indices of the parent's choices under which a child is active
_Resolved = tuple[tuple[str, frozenset[int]], ...]


class Space(Mapping[str, Param]):
    """A search space: an ordered, read-only mapping of parameter names to parameters.

    >>> space = Space(
    ...     lr=Float(1e-4, 1e-1, log=True),
    ...     depth=Int(1, 10),
    ...     kernel=Categorical(["rbf", "linear"]),
    ...     gamma=Float(1e-4, 1.0, log=True, when={"kernel": ["rbf"]}),
    ...     bs=Fixed(32),
    ... )
    >>> space.dim, space.coordinate_names()
    (5, ['lr', 'depth', 'kernel=rbf', 'kernel=linear', 'gamma'])
    >>> space.decode([0.5, 0.0, 0.2, 0.9, 0.3])
    {'lr': 0.00316227766017, 'depth': 1, 'kernel': 'linear', 'bs': 32}
    >>> space.decode(space.encode({"lr": 0.001, "depth": 3, "kernel": "rbf", "gamma": 0.01,
    ...                            "bs": 32}))
    {'lr': 0.001, 'depth': 3, 'kernel': 'rbf', 'gamma': 0.01, 'bs': 32}

    Vectors. Each parameter owns a block of coordinates, in declaration order (``Fixed`` owns
    none). ``steps`` and ``bounds`` describe each coordinate for a strategy:

    - ``steps[i] == 0``: continuous over ``bounds[i] == (0, 1)``;
    - ``steps[i] > 0``: discrete; the points ``bounds[i, 0] + k*s`` for ``k = 0, 1, ...`` up to
      ``bounds[i, 1]``, with ``s = (bounds[i, 0] + steps[i]) - bounds[i, 0]`` (exactly what
      ``np.arange(low, high + step/2, step)`` yields), are what :meth:`encode` produces, each
      decodes to a different value, and any x in [0, 1] decodes as the nearest point does.

    Conditions. A parameter with ``when={"kernel": ["rbf"]}`` is active only when ``kernel``
    is active and has one of the values; several parents must all hold. An inactive parameter
    is absent from a config, and :meth:`decode` ignores its coordinates.

    Raises :class:`~evotune.errors.SpecError` (e.g. ``space.gamma.when.kernel: 'poly' is not a
    choice of 'kernel' ['rbf', 'linear']``) for a space that is not well defined.
    """

    def __init__(self, **params: Param) -> None:
        self._setup(params, "space")

    @classmethod
    def from_dict(cls, spec: object, path: str = "space") -> Space:
        """The space a study file's dict form defines (see ``_dict``); errors name ``path.…``."""
        space = cls.__new__(cls)
        space._setup(parse_space(spec, path), path)
        return space

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The dict form; ``Space.from_dict(space.to_dict()) == space``."""
        return {name: param.to_dict() for name, param in self._params.items()}

    def _setup(self, params: Mapping[Any, object], path: str) -> None:
        if not params:
            raise SpecError(path, "must define at least one parameter")
        for name, param in params.items():
            if not isinstance(name, str) or not _NAME.match(name):
                raise SpecError(
                    join(path, str(name)),
                    f"invalid parameter name {show(name)} "
                    "(use letters, digits, _ and -, starting with a letter or _)",
                )
            if not isinstance(param, Param):
                raise SpecError(
                    join(path, name),
                    f"must be a Float, Int, Categorical or Fixed, got {type(param).__name__}",
                )
        self._params: dict[str, Param] = dict(params)
        self._conditions = {name: self._resolve(name, path) for name in self._params}
        self._order = self._dependency_order(path)
        self._slices: dict[str, slice] = {}
        start = 0
        steps: list[float] = []
        bounds: list[tuple[float, float]] = []
        for name, param in self._params.items():
            self._slices[name] = slice(start, start + param.width)
            start += param.width
            steps += param.steps()
            bounds += param.bounds()
        self._dim = start
        self._steps = np.array(steps, dtype=np.float64).reshape(start)
        self._bounds = np.array(bounds, dtype=np.float64).reshape(start, 2)

    def _resolve(self, name: str, path: str) -> _Resolved:
        resolved = []
        for parent, values in self._params[name].condition:
            where = join(path, f"{name}.when.{parent}")
            if parent not in self._params:
                raise SpecError(where, f"unknown parameter {show(parent)}")
            parent_param = self._params[parent]
            if not isinstance(parent_param, Categorical):
                raise SpecError(
                    where, f"{show(parent)} is not categorical (it is {parent_param.kind})"
                )
            indices = set()
            for value in values:
                index = parent_param.index(value)
                if index is None:
                    choices = show(list(parent_param.choices))
                    raise SpecError(
                        where, f"{show(value)} is not a choice of {show(parent)} {choices}"
                    )
                indices.add(index)
            resolved.append((parent, frozenset(indices)))
        return tuple(resolved)

    def _dependency_order(self, path: str) -> list[str]:
        """Names with every parent before its children, otherwise in declaration order."""
        order: list[str] = []
        remaining = list(self._params)
        while remaining:
            for name in remaining:
                if all(parent in order for parent, _ in self._conditions[name]):
                    order.append(name)
                    remaining.remove(name)
                    break
            else:
                cycle = self._cycle_from(remaining[0], set(remaining))
                raise SpecError(
                    join(path, f"{cycle[0]}.when"), f"condition cycle {' -> '.join(cycle)}"
                )
        return order

    def _cycle_from(self, start: str, unplaced: set[str]) -> list[str]:
        # Every unplaced name has an unplaced parent, so walking parents must revisit a name.
        walk = [start]
        while True:
            parent = next(p for p, _ in self._conditions[walk[-1]] if p in unplaced)
            if parent in walk:
                cycle = walk[walk.index(parent) :]
                first = min(cycle, key=list(self._params).index)  # start at the first declared
                i = cycle.index(first)
                cycle = cycle[i:] + cycle[:i]
                return cycle + [first]
            walk.append(parent)

    # -- the strategies' view -----------------------------------------------------------------

    @property
    def dim(self) -> int:
        """Length of a vector."""
        return self._dim

    @property
    def names(self) -> list[str]:
        """Parameter names in declaration order (fixed ones included)."""
        return list(self._params)

    @property
    def params(self) -> Mapping[str, Param]:
        """Parameter name -> parameter, read-only."""
        return MappingProxyType(self._params)

    @property
    def steps(self) -> np.ndarray:
        """Shape (dim,): 0 for a continuous coordinate, else its grid step (a fresh copy)."""
        return self._steps.copy()

    @property
    def bounds(self) -> np.ndarray:
        """Shape (dim, 2): each coordinate's (low, high), within [0, 1] (a fresh copy)."""
        return self._bounds.copy()

    def coordinate_names(self) -> list[str]:
        """A label per coordinate: the parameter name, or ``name=choice`` for a categorical."""
        return [label for name, p in self._params.items() for label in p.coordinate_names(name)]

    def coordinates(self, name: str) -> slice:
        """The coordinates parameter ``name`` owns (empty for a fixed one)."""
        return self._slices[name]

    # -- configs ------------------------------------------------------------------------------

    def active(self, config: Mapping[str, object]) -> list[str]:
        """Names of the parameters active under ``config``, in declaration order.

        ``config`` may be partial: a categorical parent that is missing or holds a value that
        is not one of its choices makes its children inactive.
        """
        chosen: dict[str, int] = {}
        active = set()
        for name in self._order:
            if not self._holds(name, chosen):
                continue
            active.add(name)
            param = self._params[name]
            if isinstance(param, Categorical) and name in config:
                index = param.index(config[name])
                if index is not None:
                    chosen[name] = index
        return [name for name in self._params if name in active]

    def _holds(self, name: str, chosen: Mapping[str, int]) -> bool:
        return all(chosen.get(parent, -1) in allowed for parent, allowed in self._conditions[name])

    def validate(self, config: object) -> None:
        """Raise :class:`~evotune.errors.ConfigError` unless ``config`` is a config of this space.

        A config maps every active parameter (fixed ones included) to a value of it, and
        nothing else: no unknown name, no inactive parameter. Ints must be ints, floats may be
        ints; ``true`` is not ``1``.
        """
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"config must be a mapping of parameter names to values, got {describe(config)}"
            )
        for key in config:
            if key not in self._params:
                raise ConfigError(
                    f"{key}: unknown parameter (expected one of {', '.join(self._params)})"
                )
        chosen: dict[str, int] = {}
        for name in self._order:
            param = self._params[name]
            if not self._holds(name, chosen):
                if name in config:
                    raise ConfigError(
                        f"{name}: given but inactive, {self._why_inactive(name, config, chosen)}"
                    )
                continue
            if name not in config:
                raise ConfigError(f"{name}: missing")
            problem = param.problem(config[name])
            if problem is not None:
                raise ConfigError(f"{name}: {problem}")
            if isinstance(param, Categorical):
                index = param.index(config[name])
                assert index is not None
                chosen[name] = index

    def _why_inactive(
        self, name: str, config: Mapping[str, object], chosen: Mapping[str, int]
    ) -> str:
        written = self._params[name].condition
        for (parent, values), (_, allowed) in zip(written, self._conditions[name]):
            if parent not in chosen:
                return f"since {parent} is inactive"
            if chosen[parent] not in allowed:
                return (
                    f"since {parent} is {show(config[parent])} (needs one of {show(list(values))})"
                )
        raise AssertionError("unreachable: some condition fails")

    def encode(self, config: Mapping[str, Scalar]) -> np.ndarray:
        """The vector of a config: ``decode(encode(c)) == c`` (floats: see Float).

        Validates first (raises ConfigError). Inactive parameters' coordinates get a neutral
        value (0.5, or the middle grid point) that decode ignores. Always within ``bounds``.
        """
        self.validate(config)
        active = set(self.active(config))
        vector = np.empty(self._dim, dtype=np.float64)
        for name, param in self._params.items():
            block = param.encode(config[name]) if name in active else param.neutral()
            vector[self._slices[name]] = block
        return vector

    def decode(self, vector: object) -> dict[str, Scalar]:
        """The config of a vector: every active parameter, with a value within its bounds.

        Coordinates outside [0, 1] (infinities included) are clipped to it. Raises ConfigError
        for a vector that is not ``dim`` numbers, or that holds a NaN anywhere (a NaN means the
        strategy went wrong; no value is a faithful reading of it). Values are plain Python
        ``float``, ``int``, ``str`` or ``bool``, in declaration order.
        """
        x = self._as_vector(vector)
        values: dict[str, Scalar] = {}
        chosen: dict[str, int] = {}
        for name in self._order:
            if not self._holds(name, chosen):
                continue
            param = self._params[name]
            values[name] = param.decode(x[self._slices[name]])
            if isinstance(param, Categorical):
                chosen[name] = param.choices.index(values[name])
        return {name: values[name] for name in self._params if name in values}

    def _as_vector(self, vector: object) -> np.ndarray:
        try:
            x = np.asarray(vector, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"vector must be a sequence of {self._dim} numbers: {exc}") from None
        if x.shape != (self._dim,):
            raise ConfigError(f"vector must have shape ({self._dim},), got {x.shape}")
        nan = np.flatnonzero(np.isnan(x))
        if nan.size:
            i = int(nan[0])
            raise ConfigError(f"vector[{i}] ({self.coordinate_names()[i]}) is nan")
        return np.clip(x, 0.0, 1.0)

    # -- mapping and display ------------------------------------------------------------------

    def __getitem__(self, name: str) -> Param:
        return self._params[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Space):
            return NotImplemented
        return list(self._params.items()) == list(other._params.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if all(name.isidentifier() for name in self._params):
            return f"Space({', '.join(f'{n}={p!r}' for n, p in self._params.items())})"
        return f"Space(**{self._params!r})"
