"""The storage contract: atomic writes, ordered journal, unique study names, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from evotune.errors import StorageError
from evotune.storage import Write, get_storage


def _ask(n: int) -> Write:
    return Write("ask", n, {"candidate_id": n}, new_trial={
        "number": n, "candidate_id": n, "generation": 0, "config": {"x": n / 10},
        "vector": [n / 10], "state": "pending", "attempts": 0})


@pytest.fixture
def storage(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = get_storage(f"sqlite:///{tmp_path / 'sub' / 'study.db'}")
    yield s
    s.close()


def test_journal_keeps_write_order_and_applies_trial_changes(storage) -> None:  # type: ignore[no-untyped-def]
    study = storage.create_study("s", {"a": 1})
    storage.write(study.id, [_ask(0), _ask(1)])
    storage.write(study.id, [Write("submit", 1, {"attempt": 1}, trial={"state": "running", "attempts": 1})])
    storage.write(study.id, [Write("result", 1, {"score": 0.5}, trial={"state": "succeeded", "score": 0.5}),
                             Write("submit", 0, {"attempt": 1}, trial={"state": "running", "attempts": 1})])
    assert [(e.kind, e.trial_number) for e in storage.events(study.id)] == [
        ("ask", 0), ("ask", 1), ("submit", 1), ("result", 1), ("submit", 0)]
    assert [e.kind for e in storage.events(study.id, kinds=["result"])] == ["result"]
    t0, t1 = storage.trials(study.id)
    assert (t0.state, t0.attempts, t0.score) == ("running", 1, None)
    assert (t1.state, t1.score, t1.config) == ("succeeded", 0.5, {"x": 0.1})
    assert [t.number for t in storage.trials(study.id, states=["succeeded"])] == [1]


def test_a_failed_write_leaves_nothing(storage) -> None:  # type: ignore[no-untyped-def]
    study = storage.create_study("s", {})
    storage.write(study.id, [_ask(0)])
    with pytest.raises(StorageError):
        # the second ask repeats trial 0's number: the whole write must roll back
        storage.write(study.id, [_ask(1), _ask(0)])
    assert [e.kind for e in storage.events(study.id)] == ["ask"]
    assert [t.number for t in storage.trials(study.id)] == [0]


def test_studies_are_separate_and_names_unique(storage) -> None:  # type: ignore[no-untyped-def]
    a = storage.create_study("a", {"n": 1})
    b = storage.create_study("b", {"n": 2})
    storage.write(a.id, [_ask(0)])
    assert storage.trials(b.id) == [] and len(storage.trials(a.id)) == 1
    with pytest.raises(StorageError, match="a study named 'a' already exists"):
        storage.create_study("a", {})
    storage.update_spec(a.id, {"n": 3})
    storage.set_status(a.id, "finished", "max_trials reached (1)")
    got = storage.get_study("a")
    assert got is not None and got.spec == {"n": 3} and got.status == "finished"
    assert [s.name for s in storage.list_studies()] == ["a", "b"]
    assert storage.get_study("zzz") is None


def test_data_survive_reopening(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = get_storage(url)
    study = first.create_study("s", {})
    first.write(study.id, [_ask(0)])
    first.close()
    again = get_storage(url)
    assert [t.number for t in again.trials(study.id)] == [0]


@pytest.mark.parametrize("url,fragment", [
    ("nosuchdb://x", "storage: cannot use URL 'nosuchdb://x'"),
    ("postgresql+nosuchdriver://u:secret@localhost/db", "storage:"),
])
def test_bad_urls_are_one_line_storage_errors(url: str, fragment: str) -> None:
    with pytest.raises(StorageError) as info:
        get_storage(url)
    text = str(info.value)
    assert text.startswith(fragment) and "\n" not in text and "secret" not in text


def test_unwritable_sqlite_path_is_a_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StorageError) as info:
        get_storage(f"sqlite:///{blocker / 'study.db'}")
    assert str(info.value).startswith("storage:")
