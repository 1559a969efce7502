"""SQL storage over SQLAlchemy: SQLite (WAL) by default, any SQLAlchemy URL (PostgreSQL) too."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, create_engine, event, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from evotune.errors import StorageError
from evotune.storage._records import Event, StudyRecord, TrialRecord, Write
from evotune.storage._schema import events, metadata, studies, trials

_TRIAL_COLUMNS = [c.name for c in trials.columns if c.name not in ("id", "study_id")]


class Storage:
    """Studies, trials and the event journal in one SQL database.

    Contract (tested against every backend in ``tests/storage``):

    - :meth:`write` appends events and applies their trial changes in ONE transaction: after a
      crash at any moment, either all of a write is there or none of it.
    - :meth:`events` returns a study's events in the order they were written.
    - Several studies share one database; a study's name is unique in it.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite"):
                self._prepare_sqlite_path(url)
                self.engine: Engine = create_engine(url)
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
            try:
                metadata.create_all(self.engine)
            except OperationalError as exc:
                # Two processes opening a new SQLite file at once may both try to create the
                # tables; the second one finds them made: look again, once.
                if "already exists" not in str(exc):
                    raise
                metadata.create_all(self.engine)
            self._insert_event = insert(events)
            self._insert_trial = insert(trials)
            self._updates: dict[tuple[str, ...], Any] = {}
            self._writer: Connection | None = None
        except (ArgumentError, ValueError) as exc:
            raise StorageError(f"storage: cannot use URL {_redact(url)!r}: {_first_line(exc)}") from exc
        except OSError as exc:
            raise StorageError(f"storage: cannot create the folder of {url!r}: {exc.strerror}") from exc
        except ModuleNotFoundError as exc:
            raise StorageError(f"storage: the driver for {url.split(':')[0]!r} is not installed ({exc.name})") from exc
        except SQLAlchemyError as exc:
            raise StorageError(f"storage: cannot open {_redact(url)}: {_first_line(exc)}") from exc

    @staticmethod
    def _prepare_sqlite_path(url: str) -> None:
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    # -- studies ---------------------------------------------------------------------------

    def create_study(self, name: str, spec: dict[str, Any]) -> StudyRecord:
        now = time.time()
        with self._begin() as conn:
            if conn.execute(select(studies.c.id).where(studies.c.name == name)).first():
                raise StorageError(f"storage: a study named {name!r} already exists in {_redact(self.url)}")
            conn.execute(insert(studies).values(
                name=name, spec=spec, status="running", created_at=now, updated_at=now))
        study = self.get_study(name)
        assert study is not None
        return study

    def get_study(self, name: str) -> StudyRecord | None:
        with self._connect() as conn:
            row = conn.execute(select(studies).where(studies.c.name == name)).mappings().first()
        return None if row is None else StudyRecord(**dict(row))

    def list_studies(self) -> list[StudyRecord]:
        with self._connect() as conn:
            rows = conn.execute(select(studies).order_by(studies.c.id)).mappings().all()
        return [StudyRecord(**dict(r)) for r in rows]

    def update_spec(self, study_id: int, spec: dict[str, Any]) -> None:
        with self._begin() as conn:
            conn.execute(update(studies).where(studies.c.id == study_id).values(
                spec=spec, updated_at=time.time()))

    def set_status(self, study_id: int, status: str, reason: str | None = None) -> None:
        with self._begin() as conn:
            conn.execute(update(studies).where(studies.c.id == study_id).values(
                status=status, stop_reason=reason, updated_at=time.time()))

    # -- journal ---------------------------------------------------------------------------

    def write(self, study_id: int, writes: Sequence[Write]) -> None:
        """Append ``writes`` and apply their trial changes atomically."""
        if not writes:
            return
        now = time.time()
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for w in writes:
            if w.trial:
                params = dict(w.trial, _study=study_id, _number=w.trial_number)
                updates.setdefault(tuple(sorted(w.trial)), []).append(params)
        with self._journal() as conn:
            conn.execute(self._insert_event, [
                {"study_id": study_id, "kind": w.kind, "trial_number": w.trial_number,
                 "payload": w.payload, "time": now} for w in writes])
            new = [dict(w.new_trial, study_id=study_id, created_at=now) for w in writes if w.new_trial]
            if new:
                conn.execute(self._insert_trial, new)
            for columns, rows in updates.items():
                conn.execute(self._update_statement(columns), rows)

    def _update_statement(self, columns: tuple[str, ...]) -> Any:
        # Built once per set of columns: building SQLAlchemy statements costs more than
        # running them, and the controller writes a few per trial.
        stmt = self._updates.get(columns)
        if stmt is None:
            stmt = update(trials).where(
                trials.c.study_id == bindparam("_study"), trials.c.number == bindparam("_number")
            ).values({c: bindparam(c) for c in columns})
            self._updates[columns] = stmt
        return stmt

    def events(self, study_id: int, kinds: Iterable[str] | None = None) -> Iterator[Event]:
        query = select(events.c.id, events.c.kind, events.c.trial_number, events.c.payload,
                       events.c.time).where(events.c.study_id == study_id)
        if kinds is not None:
            query = query.where(events.c.kind.in_(list(kinds)))
        with self._connect() as conn:
            rows = conn.execute(query.order_by(events.c.id)).all()
        for r in rows:
            yield Event(id=r[0], kind=r[1], trial_number=r[2], payload=r[3], time=r[4])

    def trials(self, study_id: int, states: Iterable[str] | None = None) -> list[TrialRecord]:
        query = select(*[trials.c[n] for n in _TRIAL_COLUMNS]).where(trials.c.study_id == study_id)
        if states is not None:
            query = query.where(trials.c.state.in_(list(states)))
        with self._connect() as conn:
            rows = conn.execute(query.order_by(trials.c.number)).mappings().all()
        return [TrialRecord(**dict(r)) for r in rows]

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()

    # -- plumbing --------------------------------------------------------------------------

    def _connect(self) -> Any:
        return _Translate(self.engine.connect(), self.url)

    @contextlib.contextmanager
    def _journal(self) -> Iterator[Any]:
        """A transaction on the journal writer's own connection, kept open between writes:
        the controller writes a few times per trial, and a pool check-out costs more than the
        write. On an error the transaction rolls back and the connection is dropped."""
        try:
            if self._writer is None:
                self._writer = self.engine.connect()
            conn = self._writer
            with conn.begin():
                yield conn
        except SQLAlchemyError as exc:
            if self._writer is not None:
                self._writer.invalidate()
                self._writer.close()
                self._writer = None
            raise StorageError(f"storage: {_redact(self.url)}: {_first_line(exc)}") from exc

    def _begin(self) -> Any:
        return _Translate(self.engine.begin(), self.url)


class _Translate:
    """Context manager that maps SQLAlchemy errors to :class:`StorageError` at this edge."""

    def __init__(self, cm: Any, url: str) -> None:
        self._cm, self._url = cm, url

    def __enter__(self) -> Any:
        try:
            return self._cm.__enter__()
        except SQLAlchemyError as exc:
            raise StorageError(f"storage: cannot reach {_redact(self._url)}: {_first_line(exc)}") from exc

    def __exit__(self, *exc_info: object) -> bool:
        try:
            suppressed = bool(self._cm.__exit__(*exc_info))  # rolls back on an error
        except SQLAlchemyError as exc:
            raise StorageError(f"storage: write to {_redact(self._url)} failed: {_first_line(exc)}") from exc
        error = exc_info[1]
        if isinstance(error, SQLAlchemyError) and not suppressed:
            raise StorageError(f"storage: {_redact(self._url)}: {_first_line(error)}") from error
        return suppressed


def sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL; ``None`` for another database or SQLite in memory."""
    if not url.startswith("sqlite") or ":///" not in url:
        return None
    path = url.split(":///", 1)[1]
    return Path(path).expanduser() if path and path != ":memory:" else None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL + synchronous=NORMAL: a commit survives the controller's own crash (even SIGKILL);
    # only a power loss may drop the last commits, which the journal then re-runs.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _redact(url: str) -> str:
    """The URL without its password, fit for a message."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}://{user}:***@{rest.split('@', 1)[1]}"
    return url


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


__all__ = ["Storage", "sqlite_file"]
