"""The elitist ES: the source design's pseudocode exactly, its asynchronous rules, its search."""

from __future__ import annotations

import numpy as np

from evotune.strategies import Candidate, Strategy, create_strategy

N, E, D, RATE, SIGMA, SEED = 6, 2, 4, 0.5, 0.1, 7


def rastrigin(x: np.ndarray) -> float:
    """Rastrigin on [-5.12, 5.12]^d, scaled to the unit cube; minimum 0 at x = 0.5."""
    u = 10.24 * x - 5.12
    return float(10 * len(u) + (u * u - 10 * np.cos(2 * np.pi * u)).sum())


def score(x: np.ndarray) -> float:
    return float(((x - 0.3) ** 2).sum())


def pseudocode_strategy() -> Strategy:
    options = {
        "population_size": N, "elite_size": E, "mutation_rate": RATE, "sigma": SIGMA,
        "parent_selection": "none",
    }  # fmt: skip
    return create_strategy("elitist", D, seed=SEED, options=options)


def test_parent_selection_none_is_the_pseudocode_exactly() -> None:
    s = pseudocode_strategy()
    rng = np.random.default_rng(SEED)  # an independent replay of the documented draws
    population = rng.random((N, D))
    gen0 = [s.ask() for _ in range(N)]
    assert np.array_equal(np.array([c.vector for c in gen0]), population)
    scores = [score(c.vector) for c in gen0]
    for c in reversed(gen0):  # tell order does not matter when scores are distinct
        s.tell(c.id, scores[c.id])
    assert s.generation == 1

    order = np.argsort(scores)  # best first (minimize)
    elites, non_elites = order[:E], order[E:]
    children = [s.ask() for _ in range(N - E)]
    assert all(c.generation == 1 for c in children)
    for child, k in zip(children, non_elites):  # the non-elite at rank k is its own parent
        parent = population[k]
        u = rng.random(D)
        z = rng.normal(0.0, SIGMA, D)
        mask = u < RATE
        assert np.array_equal(child.vector != parent, mask)  # changed exactly where drawn
        assert np.array_equal(child.vector[mask], np.clip(parent + z, 0, 1)[mask])
    assert 0 < sum(int((c.vector != population[k]).sum()) for c, k in zip(children, non_elites))

    # Elites are carried over unchanged with their known scores, never asked again.
    state = s.state_dict()["algorithm"]
    kept = state["population"][:E]
    for member, k in zip(kept, elites):
        assert member["vector"] == population[k].tolist() and member["loss"] == scores[k]
    assert not any(np.array_equal(c.vector, population[k]) for c in children for k in elites)


def test_generation_bred_from_elites_and_children_together() -> None:
    s = pseudocode_strategy()
    gen0 = [s.ask() for _ in range(N)]
    for c in gen0:
        s.tell(c.id, score(c.vector))
    children = [s.ask() for _ in range(N - E)]
    # A child better than every elite must head the next population.
    for i, c in enumerate(children):
        s.tell(c.id, -1.0 if i == 2 else 10.0 + i)
    assert s.generation == 2
    top = s.state_dict()["algorithm"]["population"][0]
    assert top == {"vector": children[2].vector.tolist(), "loss": -1.0}


def test_failures_rank_last() -> None:
    s = pseudocode_strategy()
    gen0 = [s.ask() for _ in range(N)]
    for c in gen0:
        s.tell(c.id, None if c.id < 3 else score(c.vector))
    population = s.state_dict()["algorithm"]["population"]
    assert [m["loss"] is None for m in population] == [False] * 3 + [True] * 3


def test_extra_asks_are_served_and_their_results_join_the_next_selection() -> None:
    s = create_strategy("elitist", D, seed=1, options={"population_size": N, "elite_size": E})
    gen0 = [s.ask() for _ in range(N)]
    extras = [s.ask() for _ in range(3)]  # all of generation 0 is out: never wait
    assert [c.generation for c in extras] == [0, 0, 0]
    assert s.generation == 0
    for c in gen0[:2]:
        s.tell(c.id, 5.0)
    more = s.ask()  # bred from what is known now
    assert more.generation == 0
    for c in extras:
        s.tell(c.id, -float(c.id))  # the best results of all
    for c in gen0[2:]:
        s.tell(c.id, 5.0)
    assert s.generation == 1  # the extras did not count as the generation's own results...
    population = s.state_dict()["algorithm"]["population"]
    # ...but they competed for its places: the elites are the two best extras.
    assert [m["loss"] for m in population[:E]] == [-8.0, -7.0]  # ids 8 and 7
    s.tell(more.id, -100.0)  # a late extra joins the following selection
    assert s.best is not None and s.best[1] == -100.0
    assert s.state_dict()["algorithm"]["pool"][-1]["loss"] == -100.0


def test_steady_state_replaces_the_worst_member_only_when_better() -> None:
    s = create_strategy(
        "elitist", D, seed=3, options={"population_size": 4, "mode": "steady_state"}
    )
    first = [s.ask() for _ in range(4)]
    for i, c in enumerate(first):
        s.tell(c.id, float(i))  # losses 0, 1, 2, 3
    child = s.ask()
    s.tell(child.id, 2.5)  # better than the worst (3): replaces it
    losses = sorted(m["loss"] for m in s.state_dict()["algorithm"]["population"])
    assert losses == [0.0, 1.0, 2.0, 2.5]
    for value in (7.0, None):  # worse, failed: no change
        c = s.ask()
        s.tell(c.id, value)
    assert sorted(m["loss"] for m in s.state_dict()["algorithm"]["population"]) == losses
    assert s.generation == 1  # 4 results per generation, 7 told


def test_discrete_coordinates_are_mutated_across_their_grid() -> None:
    """A grid coarser than sigma: the noise scale on it is its step, so mutations cross it."""
    options = {"population_size": 16, "elite_size": 1, "parent_selection": "none",
               "mutation_rate": 1.0}  # fmt: skip
    steps, bounds = [0.5, 0.0], [(0.0, 1.0), (0.0, 1.0)]
    s = create_strategy("elitist", 2, seed=0, steps=steps, bounds=bounds, options=options)

    def cell(x: float) -> int:  # grid points 0, 0.5, 1
        return round(x * 2)

    told = [s.ask() for _ in range(16)]
    parents = [c.vector for c in told]  # by rank: flat scores keep the tell order
    crossed = continuous = 0
    for _ in range(5):
        for c in told:
            s.tell(c.id, 1.0)
        told = [s.ask() for _ in range(15)]
        for parent, child in zip(parents[1:], told):  # rank k (k >= 1) is mutated in place
            crossed += cell(child.vector[0]) != cell(parent[0])
            continuous += abs(child.vector[1] - parent[1]) > 0.25
        parents = [parents[0], *(c.vector for c in told)]  # the elite, then its children
    # Measured: about half the discrete mutations reach another grid point; a jump of more than
    # half that step on the continuous coordinate (sigma 0.1) is a 2.5-sigma event.
    assert crossed >= 0.3 * 75 and continuous <= 0.1 * 75, (crossed, continuous)


def run(name: str, seed: int, options: dict[str, object] | None = None) -> float:
    s = create_strategy(name, 10, seed=seed, options=options)
    for _ in range(2000):
        c: Candidate = s.ask()
        s.tell(c.id, rastrigin(c.vector))
    assert s.best is not None
    return s.best[1]


def test_tournament_beats_random_search_on_rastrigin() -> None:
    elitist = [run("elitist", seed, {"parent_selection": "tournament"}) for seed in range(5)]
    random = [run("random", seed) for seed in range(5)]
    # Measured: elitist median ~6, random median ~80 (10-D, 2,000 evaluations).
    assert np.median(elitist) < 0.5 * np.median(random)
    assert np.median(elitist) < 20
