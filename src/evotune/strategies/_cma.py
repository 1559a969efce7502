"""CMA-ES through the ``cmaes`` package, made asynchronous, restartable (IPOP) and JSON-resumable.

References: N. Hansen, "The CMA Evolution Strategy: A Tutorial" (arXiv:1604.00772), whose
equation numbers ``cmaes`` cites; A. Auger, N. Hansen, "A Restart CMA Evolution Strategy With
Increasing Population Size" (CEC 2005) for IPOP; N. Hansen, "Injecting External Solutions Into
CMA-ES" (arXiv:1110.4181) for late results; R. Hamano et al., "CMA-ES with Margin"
(arXiv:2205.13482) for discrete coordinates.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from cmaes import CMA, CMAwM, SepCMA

from evotune.strategies._base import Candidate, Strategy, Vector
from evotune.strategies._options import OptionReader
from evotune.strategies._state import (
    decode_array,
    decode_random_state,
    encode_array,
    encode_float,
    encode_random_state,
)

__all__ = ["CMAStrategy"]

# IPOP doubles the population at each restart; past 2^8 times the first size it stops growing,
# so that a study whose every evaluation fails (a flat objective) cannot exhaust memory.
_MAX_DOUBLINGS = 8


def _float_or_array(value: Any) -> Vector:
    return np.asarray(value, dtype=np.float64)


class CMAStrategy(Strategy):
    """CMA-ES (``cmaes.CMA``, ``SepCMA`` or ``CMAwM``) over ``[0, 1]^dim``, asynchronous.

    Options (``strategy.options``):

    - ``variant``: ``auto`` (default: ``margin`` when some coordinate is discrete, else
      ``full``), ``full`` (``CMA``), ``sep`` (``SepCMA``, diagonal covariance, dim >= 2) or
      ``margin`` (``CMAwM``: discrete coordinates are sampled on their grid
      ``low, low + step, ..., high``, and a margin keeps them from freezing). With ``full`` or
      ``sep`` discrete coordinates are searched as continuous ones.
    - ``population_size`` (int >= 2; default ``4 + floor(3 ln dim)``, eq. 48 of the tutorial).
    - ``sigma0`` (0 < s <= 1, default 0.3): the initial step size in the unit cube.
    - ``restarts``: ``ipop`` (default) restarts from a uniform random mean with a doubled
      population whenever ``cmaes``' ``should_stop()`` says the run stagnates; ``none`` never.
    - ``late_generations`` (int >= 0, default 3): how many generations late a result may be
      and still update the distribution (see below).

    The first run starts at the centre of the cube (of the grid's range for a discrete
    coordinate); samples stay inside ``[0, 1]`` (``cmaes`` resamples, then clips).

    Asynchronous use: asks are always served from the current distribution, however many are
    out. Results fill a batch; when it holds ``popsize`` results the distribution is updated and
    the generation advances. A result for a candidate asked at most ``late_generations``
    generations ago (same run) still enters the batch, as an injected solution whose step
    ``y = (x - m) / sigma`` is shortened to Mahalanobis length at most ``sqrt(n) + 2n / (n + 2)``
    (Hansen 2011, the clip applied to injected solutions); its score is used as is. An older
    result, or one for a candidate of an *earlier restart run*, only counts towards ``best``
    (and ``stale`` in the state): it says too little about the current distribution. (Measured
    on the 10-D sphere, popsize 10: accepting results of any age stalls CMA-ES when 32 or more
    evaluations are out at once; with 3 generations it converges with 4 to 64 out. Rather, set
    ``population_size`` to at least the number of parallel workers.) Failed evaluations (None/NaN/inf) take part in the batch
    with the score ``worst + max(1, |worst|)``, ``worst`` the worst successful score of their
    batch (0 for all when the whole batch failed), so they rank after every success.
    ``state_dict()["algorithm"]["counts"]`` accounts for every result: ``received == updated +
    len(batch) + stale``.

    Example::

        >>> import numpy as np
        >>> from evotune.strategies import create_strategy
        >>> s = create_strategy("cma", dim=4, seed=0)
        >>> for _ in range(1500):
        ...     c = s.ask()
        ...     s.tell(c.id, float(((c.vector - 0.3) ** 2).sum()))
        >>> s.best[1] < 1e-8
        True
    """

    name = "cma"

    def _setup(self, options: OptionReader) -> None:
        has_discrete = bool(self.discrete.any())
        variant = options.choice("variant", "auto", ("auto", "full", "sep", "margin"))
        if variant == "auto":
            variant = "margin" if has_discrete else "full"
        if variant == "margin" and not has_discrete:
            raise options.fail("variant", "'margin' needs a discrete coordinate (a step > 0)")
        if variant == "sep" and self._dim < 2:
            raise options.fail("variant", f"'sep' needs dim >= 2, got dim {self._dim}")
        popsize = options.integer("population_size", None, minimum=2)
        self._popsize0 = popsize if popsize is not None else 4 + math.floor(3 * math.log(self._dim))
        self._sigma0 = options.number("sigma0", 0.3, low=0.0, high=1.0)
        self._restarts = options.choice("restarts", "ipop", ("ipop", "none"))
        late = options.integer("late_generations", 3, minimum=0)
        assert late is not None
        self._late_generations = late
        self._variant = variant

        self._run = 0  # restart runs begun (0: the first run)
        self._generation = 0  # distribution updates, over all runs
        self._batch: list[tuple[Vector, float | None]] = []  # (x told to cmaes, loss)
        self._pending: dict[int, tuple[int, int, Vector]] = {}  # id -> (run, generation, x)
        self._counts = {"received": 0, "updated": 0, "late": 0, "stale": 0, "failed": 0}
        seed = int(self._rng.integers(0, 2**32 - 1))
        self._opt = self._construct(self._centre(), self._popsize0, seed)

    # --- the cmaes object -------------------------------------------------------------------

    def _cma_bounds(self) -> Vector:
        bounds = np.tile([0.0, 1.0], (self._dim, 1))
        if self._bounds is not None and self._variant == "margin":
            bounds[self.discrete] = self._bounds[self.discrete]
        return bounds

    def _centre(self) -> Vector:
        bounds = self._cma_bounds()
        return np.asarray(bounds.mean(axis=1), dtype=np.float64)

    def _construct(self, mean: Vector, popsize: int, seed: int) -> Any:
        bounds = self._cma_bounds()
        if self._variant == "full":
            return CMA(mean.copy(), self._sigma0, bounds, seed=seed, population_size=popsize)
        if self._variant == "sep":
            # SepCMA keeps (and updates in place) the very mean array it is given.
            return SepCMA(mean.copy(), self._sigma0, bounds, seed=seed, population_size=popsize)
        assert self._steps is not None
        return CMAwM(
            mean.copy(), self._sigma0, bounds, self._steps.copy(), seed=seed,
            population_size=popsize,
        )  # fmt: skip

    def _core(self) -> Any:
        """The object holding mean, sigma and C (CMAwM wraps a CMA)."""
        return self._opt._cma if self._variant == "margin" else self._opt

    @property
    def population_size(self) -> int:
        """Results per distribution update in the current run (IPOP doubles it)."""
        return int(self._opt.population_size)

    @property
    def generation_size(self) -> int:
        return self.population_size

    @property
    def generation(self) -> int:
        return self._generation

    # --- ask / tell -------------------------------------------------------------------------

    def _ask(self, candidate_id: int) -> tuple[Vector, int]:
        if self._variant == "margin":
            x_eval, x_tell = self._opt.ask()  # CMAwM: the grid point, and the raw sample
        else:
            x_eval = x_tell = self._opt.ask()
        self._pending[candidate_id] = (self._run, self._generation, np.array(x_tell, float))
        return np.clip(np.asarray(x_eval, dtype=np.float64), 0.0, 1.0), self._generation

    def _tell(self, candidate: Candidate, loss: float | None) -> None:
        run, generation, x = self._pending.pop(candidate.id)
        self._counts["received"] += 1
        if loss is None:
            self._counts["failed"] += 1
        if run != self._run or self._generation - generation > self._late_generations:
            self._counts["stale"] += 1
            return
        if generation != self._generation:
            self._counts["late"] += 1
            x = self._clip_step(x)
        self._batch.append((x, loss))
        if len(self._batch) >= self.population_size:
            self._update()

    def _clip_step(self, x: Vector) -> Vector:
        """Shorten a late sample's step to Mahalanobis length sqrt(n) + 2n/(n+2) (Hansen 2011)."""
        core = self._core()
        n = self._dim
        y = (x - core._mean) / core._sigma
        c = np.asarray(core._C, dtype=np.float64)
        try:
            norm2 = float(y @ (y / c)) if c.ndim == 1 else float(y @ np.linalg.solve(c, y))
        except np.linalg.LinAlgError:  # a degenerate C: keep the sample as it is
            return x
        limit = math.sqrt(n) + 2 * n / (n + 2)
        if not math.isfinite(norm2) or norm2 <= limit**2:
            return x
        return np.asarray(core._mean + core._sigma * y * (limit / math.sqrt(norm2)), float)

    def _update(self) -> None:
        losses = [loss for _, loss in self._batch if loss is not None]
        if losses:
            worst = max(losses)
            fill = worst + max(1.0, abs(worst))  # failures rank after every success
            if not math.isfinite(fill):  # worst is near the float maximum: tie with it
                fill = worst
        else:
            fill = 0.0
        solutions = [(x, fill if loss is None else loss) for x, loss in self._batch]
        self._opt.tell(solutions)
        self._counts["updated"] += len(solutions)
        self._batch = []
        self._generation += 1
        if self._restarts == "ipop" and self._opt.should_stop():
            self._restart()

    def _restart(self) -> None:
        """IPOP (Auger & Hansen 2005): a new run, uniform random mean, doubled population."""
        self._run += 1
        popsize = self._popsize0 * 2 ** min(self._run, _MAX_DOUBLINGS)
        bounds = self._cma_bounds()
        mean = bounds[:, 0] + self._rng.random(self._dim) * (bounds[:, 1] - bounds[:, 0])
        seed = int(self._rng.integers(0, 2**32 - 1))
        self._opt = self._construct(mean, popsize, seed)

    # --- state ------------------------------------------------------------------------------
    # The cmaes objects are rebuilt by their constructor (which derives every learning rate from
    # dim, population size and sigma0), then their moving parts are set from these fields.

    def _algorithm_state(self) -> dict[str, Any]:
        core = self._core()
        optimizer: dict[str, Any] = {
            "population_size": int(core._popsize),
            "g": int(core._g),
            "mean": encode_array(core._mean),
            "sigma": encode_float(core._sigma),
            "C": encode_array(core._C),
            "p_sigma": encode_array(core._p_sigma),
            "pc": encode_array(core._pc),
            "D": encode_array(core._D),
            "B": encode_array(getattr(core, "_B", None)),
            "funhist_values": encode_array(core._funhist_values),
            "rng": encode_random_state(core._rng),
        }
        if self._variant == "margin":
            optimizer["A"] = encode_array(self._opt._A)
            optimizer["m_z_lim_low"] = encode_array(self._opt.m_z_lim_low)
            optimizer["m_z_lim_up"] = encode_array(self._opt.m_z_lim_up)
        return {
            "variant": self._variant,
            "run": self._run,
            "generation": self._generation,
            "batch": [{"x": x.tolist(), "loss": loss} for x, loss in self._batch],
            "pending": [
                {"id": cid, "run": run, "generation": gen, "x": x.tolist()}
                for cid, (run, gen, x) in self._pending.items()
            ],
            "counts": dict(self._counts),
            "optimizer": optimizer,
        }

    def _load_algorithm_state(self, state: Mapping[str, Any]) -> None:
        if state["variant"] != self._variant:
            raise ValueError(f"variant {state['variant']!r} does not match {self._variant!r}")
        self._run = int(state["run"])
        self._generation = int(state["generation"])
        self._batch = [
            (_float_or_array(b["x"]), None if b["loss"] is None else float(b["loss"]))
            for b in state["batch"]
        ]
        self._pending = {
            int(p["id"]): (int(p["run"]), int(p["generation"]), _float_or_array(p["x"]))
            for p in state["pending"]
        }
        self._counts = {str(k): int(v) for k, v in state["counts"].items()}
        saved = state["optimizer"]
        self._opt = self._construct(self._centre(), int(saved["population_size"]), seed=0)
        core = self._core()
        core._g = int(saved["g"])
        core._mean = decode_array(saved["mean"])
        core._sigma = float(saved["sigma"])
        core._C = decode_array(saved["C"])
        core._p_sigma = decode_array(saved["p_sigma"])
        core._pc = decode_array(saved["pc"])
        core._D = decode_array(saved["D"])
        if self._variant != "sep":
            core._B = decode_array(saved["B"])
        core._funhist_values = decode_array(saved["funhist_values"])
        core._rng = decode_random_state(saved["rng"])
        if self._variant == "margin":
            self._opt._A = decode_array(saved["A"])
            self._opt.m_z_lim_low = decode_array(saved["m_z_lim_low"])
            self._opt.m_z_lim_up = decode_array(saved["m_z_lim_up"])
