"""Test functions with a known optimum (own implementations).

Every function is defined on a box and moved so that its optimum sits at a point
``x_opt`` drawn once (fixed seed per function and dimension) uniformly in the inner 80 %
of the box: an optimizer that starts at the centre of the box gets no free win.
Styblinski-Tang is not shifted: its optimum (-2.9035..., ...) is already off-centre.
The ellipsoid is also rotated (a fixed random orthogonal matrix), to make it
non-separable and ill-conditioned (condition number 1e6); the others are not rotated.

| function | box | f_opt |
|---|---|---|
| sphere | [-5, 5]^d | 0 |
| ellipsoid (rotated) | [-5, 5]^d | 0 |
| rosenbrock | [-5, 5]^d | 0 |
| rastrigin | [-5.12, 5.12]^d | 0 |
| ackley | [-32.768, 32.768]^d | 0 |
| styblinski_tang | [-5, 5]^d | -39.16616570377142 * d |
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .params import Param, real

# The minimiser of 0.5 (x^4 - 16 x^2 + 5 x): the smallest real root of 4 x^3 - 32 x + 5.
_ST_ROOT = float(min(r.real for r in np.roots([4.0, 0.0, -32.0, 5.0]) if abs(r.imag) < 1e-12))
_ST_MIN_1D = 0.5 * (_ST_ROOT**4 - 16.0 * _ST_ROOT**2 + 5.0 * _ST_ROOT)


def sphere(z: np.ndarray) -> float:
    """Sum of squares; minimum 0 at z = 0."""
    return float(np.sum(z * z))


def ellipsoid(z: np.ndarray) -> float:
    """Axis-parallel ellipsoid with condition number 1e6; minimum 0 at z = 0."""
    d = z.size
    weights = 10.0 ** (6.0 * np.arange(d) / max(d - 1, 1))
    return float(np.sum(weights * z * z))


def rosenbrock(z: np.ndarray) -> float:
    """Rosenbrock's valley; minimum 0 at z = (1, ..., 1)."""
    return float(np.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2))


def rastrigin(z: np.ndarray) -> float:
    """Rastrigin's multimodal bowl; minimum 0 at z = 0."""
    return float(10.0 * z.size + np.sum(z * z - 10.0 * np.cos(2.0 * np.pi * z)))


def ackley(z: np.ndarray) -> float:
    """Ackley's function (a = 20, b = 0.2, c = 2 pi); minimum 0 at z = 0."""
    d = z.size
    term1 = -20.0 * np.exp(-0.2 * np.sqrt(np.sum(z * z) / d))
    term2 = -np.exp(np.sum(np.cos(2.0 * np.pi * z)) / d)
    # at z = 0 rounding leaves 4.4e-16, far below the smallest target (1e-8)
    return float(term1 + term2 + 20.0 + np.e)


def styblinski_tang(z: np.ndarray) -> float:
    """Styblinski-Tang; minimum -39.166... * d at z = (-2.9035..., ...)."""
    return float(0.5 * np.sum(z**4 - 16.0 * z * z + 5.0 * z))


@dataclass(frozen=True)
class _Base:
    func: Callable[[np.ndarray], float]
    bound: float
    z_opt: float  # the base function's minimiser, per coordinate
    f_opt_per_dim: float  # f_opt / d (0 for all but Styblinski-Tang)
    shift: bool
    rotate: bool


_BASES: dict[str, _Base] = {
    "sphere": _Base(sphere, 5.0, 0.0, 0.0, True, False),
    "ellipsoid": _Base(ellipsoid, 5.0, 0.0, 0.0, True, True),
    "rosenbrock": _Base(rosenbrock, 5.0, 1.0, 0.0, True, False),
    "rastrigin": _Base(rastrigin, 5.12, 0.0, 0.0, True, False),
    "ackley": _Base(ackley, 32.768, 0.0, 0.0, True, False),
    "styblinski_tang": _Base(styblinski_tang, 5.0, _ST_ROOT, _ST_MIN_1D, False, False),
}

FUNCTION_NAMES: tuple[str, ...] = tuple(_BASES)


@dataclass
class TestFunction:
    """A test function ``f(x)`` on a box, with its optimum ``x_opt`` and value ``f_opt``.

    >>> f = TestFunction.make("sphere", 2)
    >>> f(f.x_opt) == f.f_opt
    True
    """

    __test__ = False  # not a pytest test class, despite its name

    name: str
    dim: int
    bound: float
    x_opt: np.ndarray
    f_opt: float
    _base: _Base = field(repr=False)
    _rotation: np.ndarray | None = field(repr=False, default=None)

    @classmethod
    def make(cls, name: str, dim: int) -> "TestFunction":
        """Build function ``name`` in ``dim`` dimensions, its shift and rotation seeded by both."""
        base = _BASES[name]
        rng = np.random.default_rng(zlib.crc32(f"{name}-{dim}".encode()))
        if base.shift:
            x_opt = rng.uniform(-0.8 * base.bound, 0.8 * base.bound, size=dim)
        else:
            x_opt = np.full(dim, base.z_opt)
        rotation = None
        if base.rotate:
            q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
            rotation = q * np.sign(np.diag(r))
        return cls(name, dim, base.bound, x_opt, base.f_opt_per_dim * dim, base, rotation)

    def params(self) -> tuple[Param, ...]:
        """The search space: one bounded float per coordinate."""
        return tuple(real(f"x{i}", -self.bound, self.bound) for i in range(self.dim))

    def __call__(self, x: np.ndarray) -> float:
        z = np.asarray(x, dtype=float) - self.x_opt
        if self._rotation is not None:
            z = self._rotation @ z
        return self._base.func(z + self._base.z_opt)

    def evaluate(self, config: dict[str, float]) -> float:
        """Evaluate a configuration ``{"x0": ..., "x1": ...}``."""
        return self(np.array([config[f"x{i}"] for i in range(self.dim)]))
