"""Rebuild a study's in-memory state from its event journal, exactly.

The journal holds every ask and every result in the order the controller acted on them. A
strategy is deterministic given its seed and the sequence of calls, so replaying the asks and
tells rebuilds its state exactly, RNG included; the trials' last events give their states.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evotune.errors import StorageError
from evotune.executors import JobHandle, JobSpec
from evotune.storage import Event
from evotune.strategies import Strategy


@dataclass
class Trial:
    """The controller's view of one trial. ``attempt`` is the last attempt started (1-based)."""

    number: int
    candidate_id: int
    generation: int
    config: dict[str, Any]
    vector: list[float]
    state: str = "pending"  # pending running scoring succeeded failed cancelled
    attempt: int = 0
    handle: JobHandle | None = None
    job: JobSpec | None = None
    score: float | None = None
    reason: str | None = None
    started: float | None = None  # wall clock of the current attempt's start
    rerun_attempt: bool = False  # the last attempt was lost with the controller: run it again
    failures: int = 0  # infrastructure failures retried so far (cancels and crashes don't count)

    @property
    def final(self) -> bool:
        return self.state in ("succeeded", "failed")


@dataclass
class Replayed:
    trials: dict[int, Trial] = field(default_factory=dict)
    elapsed_before: float = 0.0  # wall time spent in earlier sessions of this study
    sessions: int = 0
    told: list[int] = field(default_factory=list)  # trial numbers in the order of their results


def replay(events: Iterable[Event], strategy: Strategy) -> Replayed:
    """Feed the journal's asks and tells to a fresh ``strategy``; return the trials' states."""
    out = Replayed()
    session_start: float | None = None
    last_time: float | None = None
    for ev in events:
        p = ev.payload
        if ev.kind == "start":
            if session_start is not None and last_time is not None:
                out.elapsed_before += last_time - session_start
            session_start, out.sessions = ev.time, out.sessions + 1
        elif ev.kind == "ask":
            cand = strategy.ask()
            if cand.id != p["candidate_id"] or not np.allclose(cand.vector, p["vector"], atol=1e-12):
                raise StorageError(
                    f"storage: trial {ev.trial_number}: the strategy does not replay its journal "
                    f"(asked candidate {cand.id}, the journal holds {p['candidate_id']}); was the "
                    "study started with another version of evotune?")
            assert ev.trial_number is not None
            out.trials[ev.trial_number] = Trial(
                number=ev.trial_number, candidate_id=cand.id, generation=cand.generation,
                config=p["config"], vector=list(p["vector"]))
        elif ev.kind in ("submit", "handle", "retry", "result", "cancel"):
            assert ev.trial_number is not None
            t = out.trials[ev.trial_number]
            if ev.kind == "submit":
                t.state, t.attempt, t.handle, t.started = "running", p["attempt"], None, ev.time
            elif ev.kind == "handle":
                t.handle = JobHandle.from_json(p["handle"])
            elif ev.kind == "retry":
                t.state, t.reason = "pending", p.get("reason")
                t.failures += 1
            elif ev.kind == "cancel":
                t.state, t.reason = "cancelled", p.get("reason")
            else:
                score = p.get("score")
                strategy.tell(t.candidate_id, score)
                t.score = score if score is not None and math.isfinite(score) else None
                t.state, t.reason = ("succeeded" if t.score is not None else "failed"), p.get("reason")
                out.told.append(t.number)
        last_time = ev.time
    if session_start is not None and last_time is not None:
        out.elapsed_before += last_time - session_start
    return out
