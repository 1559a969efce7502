"""Peer optimizers behind one batch ask/tell shape.

Every optimizer here is an :class:`Optimizer`: ``ask(k)`` returns ``k`` (token, config)
pairs, ``tell(pairs)`` takes (token, loss) back. The harness asks 8, evaluates 8, tells 8.
Each peer searches its own native version of the problem's space:

- ``optuna-tpe``, ``optuna-cmaes``: Optuna's ``TPESampler`` (Optuna defaults, which in
  Optuna 5 include ``constant_liar=True`` for parallel asks) and ``CmaEsSampler``
  (``popsize=8``), over float/int distributions with ``log=True`` where declared and
  categorical distributions; ``study.ask``/``study.tell``.
- ``nevergrad-ngopt``: Nevergrad's ``NGOpt`` wizard with ``budget`` and ``num_workers=8``,
  over ``Scalar``/``Log`` (``set_integer_casting`` for ints) and ``Choice``; test
  functions get one bounded ``Array``.
- ``pycma``: ``cma.CMAEvolutionStrategy`` in evotune's [0, 1]^d encoding of the space
  (x0 = centre, sigma0 = 0.3, ``bounds=[0, 1]``, ``popsize=8``), decoded by
  ``Space.decode``; restarted with a new seed when it stops before the budget is spent.
- ``random-search``: independent uniform points in the same cube, decoded likewise.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Protocol, Sequence

import numpy as np

from .params import Param, to_space
from .problems import Problem

Pair = tuple[Any, dict[str, Any]]


class Optimizer(Protocol):
    """Batch ask/tell: ``ask(k)`` gives k (token, config); ``tell`` takes (token, loss)."""

    def ask(self, k: int) -> list[Pair]: ...

    def tell(self, results: Sequence[tuple[Any, float]]) -> None: ...


def _finite(value: float, worst: float) -> float:
    """Failed (non-finite) losses are told as the worst loss seen so far, plus one."""
    return value if math.isfinite(value) else worst + 1.0


class RandomSearch:
    """Independent uniform samples in [0, 1]^d, decoded to configs."""

    def __init__(self, problem: Problem, seed: int) -> None:
        self._space = to_space(problem.params)
        # a stream of its own: evotune's ``random`` strategy draws default_rng(seed) too
        self._rng = np.random.default_rng([seed, 1])

    def ask(self, k: int) -> list[Pair]:
        return [(None, self._space.decode(self._rng.random(self._space.dim))) for _ in range(k)]

    def tell(self, results: Sequence[tuple[Any, float]]) -> None:
        pass


class PyCMA:
    """pycma's CMA-ES on [0, 1]^d with population 8 and restarts (same population)."""

    def __init__(self, problem: Problem, seed: int, popsize: int = 8) -> None:
        self._space = to_space(problem.params)
        self._seed = seed
        self._popsize = popsize
        self._restarts = 0
        self._worst = 0.0
        self._es = self._start()

    def _start(self) -> Any:
        import cma

        d = self._space.dim
        opts = {"bounds": [0.0, 1.0], "popsize": self._popsize, "verbose": -9,
                "seed": 1 + self._seed + 1000 * self._restarts}
        return cma.CMAEvolutionStrategy(np.full(d, 0.5), 0.3, opts)

    def ask(self, k: int) -> list[Pair]:
        if self._es.stop():
            self._restarts += 1
            self._es = self._start()
        xs = self._es.ask()
        if k != len(xs):
            raise ValueError(f"pycma asks in whole generations of {len(xs)}, not {k}")
        return [(x, self._space.decode(x)) for x in xs]

    def tell(self, results: Sequence[tuple[Any, float]]) -> None:
        finite = [v for _, v in results if math.isfinite(v)]
        self._worst = max([self._worst, *finite])
        self._es.tell([x for x, _ in results], [_finite(v, self._worst) for _, v in results])


def _optuna_distributions(params: Sequence[Param]) -> dict[str, Any]:
    from optuna.distributions import (CategoricalDistribution, FloatDistribution,
                                      IntDistribution)

    out: dict[str, Any] = {}
    for p in params:
        if p.kind == "float":
            out[p.name] = FloatDistribution(p.low, p.high, log=p.log)
        elif p.kind == "int":
            out[p.name] = IntDistribution(int(p.low), int(p.high), log=p.log)
        else:
            out[p.name] = CategoricalDistribution(list(p.choices))
    return out


class OptunaPeer:
    """An Optuna sampler driven through ``study.ask`` / ``study.tell``."""

    def __init__(self, problem: Problem, seed: int, sampler: str) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        if sampler == "tpe":
            smp: Any = optuna.samplers.TPESampler(seed=seed)
        elif sampler == "cmaes":
            smp = optuna.samplers.CmaEsSampler(seed=seed, popsize=8,
                                               warn_independent_sampling=False)
        else:
            raise ValueError(f"unknown Optuna sampler {sampler!r}")
        self._study = optuna.create_study(direction="minimize", sampler=smp)
        self._dists = _optuna_distributions(problem.params)

    def ask(self, k: int) -> list[Pair]:
        trials = [self._study.ask(self._dists) for _ in range(k)]
        return [(t, dict(t.params)) for t in trials]

    def tell(self, results: Sequence[tuple[Any, float]]) -> None:
        import optuna

        for trial, value in results:
            if math.isfinite(value):
                self._study.tell(trial, value)
            else:
                self._study.tell(trial, state=optuna.trial.TrialState.FAIL)


def _nevergrad_parametrization(problem: Problem) -> Any:
    import nevergrad as ng

    if problem.kind == "function":
        b = problem.params[0].high
        return ng.p.Array(shape=(problem.dim,), lower=-b, upper=b)
    kwargs: dict[str, Any] = {}
    for p in problem.params:
        if p.kind == "cat":
            kwargs[p.name] = ng.p.Choice(list(p.choices))
            continue
        scalar = (ng.p.Log(lower=p.low, upper=p.high) if p.log
                  else ng.p.Scalar(lower=p.low, upper=p.high))
        kwargs[p.name] = scalar.set_integer_casting() if p.kind == "int" else scalar
    return ng.p.Dict(**kwargs)


def _size_one_float(x: Any) -> float:
    """``float()`` as numpy < 2.4 did it: a size-1 array converts to its one element."""
    if isinstance(x, np.ndarray) and x.size == 1:
        return float(x.reshape(-1)[0])
    return float(x)


def _patch_nevergrad_metamodel() -> None:
    """Nevergrad 1.0.12's metamodel calls ``float()`` on a shape-(1,) prediction, which
    numpy 2.4 refuses (TypeError), so NGOpt crashes mid-run. Shadow ``float`` in that one
    module with the old numpy behaviour, so NGOpt runs as its authors intended."""
    from nevergrad.optimization import metamodel

    metamodel.float = _size_one_float  # type: ignore[attr-defined]


class NevergradPeer:
    """Nevergrad's NGOpt, told the budget, with ``num_workers=8``."""

    def __init__(self, problem: Problem, seed: int, budget: int) -> None:
        import nevergrad as ng

        _patch_nevergrad_metamodel()
        self._problem = problem
        param = _nevergrad_parametrization(problem)
        param.random_state = np.random.RandomState(seed)
        self._opt = ng.optimizers.NGOpt(parametrization=param, budget=budget, num_workers=8)
        self._worst = 0.0

    def _config(self, value: Any) -> dict[str, Any]:
        if self._problem.kind == "function":
            return {f"x{i}": float(v) for i, v in enumerate(value)}
        out = {}
        for p in self._problem.params:
            v = value[p.name]
            out[p.name] = int(v) if p.kind == "int" else (v if p.kind == "cat" else float(v))
        return out

    def ask(self, k: int) -> list[Pair]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cands = [self._opt.ask() for _ in range(k)]
        return [(c, self._config(c.value)) for c in cands]

    def tell(self, results: Sequence[tuple[Any, float]]) -> None:
        finite = [v for _, v in results if math.isfinite(v)]
        self._worst = max([self._worst, *finite])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for cand, value in results:
                self._opt.tell(cand, _finite(value, self._worst))


PEER_NAMES: tuple[str, ...] = (
    "optuna-tpe", "optuna-cmaes", "nevergrad-ngopt", "pycma", "random-search",
)


def make_peer(name: str, problem: Problem, seed: int, budget: int) -> Optimizer:
    """Build peer ``name`` for ``problem``; only NGOpt uses ``budget`` (it picks by it)."""
    if name == "optuna-tpe":
        return OptunaPeer(problem, seed, "tpe")
    if name == "optuna-cmaes":
        return OptunaPeer(problem, seed, "cmaes")
    if name == "nevergrad-ngopt":
        return NevergradPeer(problem, seed, budget)
    if name == "pycma":
        return PyCMA(problem, seed)
    if name == "random-search":
        return RandomSearch(problem, seed)
    raise ValueError(f"unknown peer {name!r}")
