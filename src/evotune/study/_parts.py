"""Build a study's search space and strategy from its spec: one place for both the spec check
and the controller, so that what was checked is what runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evotune.errors import SpecError

if TYPE_CHECKING:
    from evotune.space import Space
    from evotune.strategies import Strategy
    from evotune.study._spec import StudySpec


def build_space(spec: StudySpec) -> Space:
    from evotune.space import Space

    return Space.from_dict(spec.space, path="space")


def build_strategy(spec: StudySpec, space: Space) -> Strategy:
    """The study's strategy, fresh (seeded by the study's seed). Option errors name the field
    as the study file writes it: ``strategy.<option>``."""
    from evotune.strategies import create_strategy

    try:
        return create_strategy(
            spec.strategy.name, space.dim, seed=spec.seed, direction=spec.objective.direction,
            steps=[float(s) for s in space.steps],
            bounds=[(float(lo), float(hi)) for lo, hi in space.bounds],
            options=spec.strategy.options)
    except SpecError as exc:
        raise SpecError(exc.path.replace("strategy.options.", "strategy."), exc.problem) from None
