"""Tables of the study database: studies, trials, and the event journal.

The journal is the truth: every ask, submit, result, retry, failure and cancel is an event row,
written in the same transaction as the change it makes to the ``trials`` table (a view kept for
queries). A restarted controller rebuilds everything from the events.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

studies = Table(
    "studies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("spec", JSON, nullable=False),
    Column("status", String(20), nullable=False),
    Column("stop_reason", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

trials = Table(
    "trials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("candidate_id", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("config", JSON, nullable=False),
    Column("vector", JSON, nullable=False),
    Column("state", String(20), nullable=False),
    Column("score", Float),
    Column("reason", Text),
    Column("metrics", JSON),
    Column("attempts", Integer, nullable=False, default=0),
    Column("job_handle", JSON),
    Column("log_dir", Text),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    UniqueConstraint("study_id", "number", name="uq_trial_number"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("study_id", Integer, ForeignKey("studies.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("trial_number", Integer),
    Column("payload", JSON, nullable=False),
    Column("time", Float, nullable=False),
)

Index("ix_events_study", events.c.study_id, events.c.id)
Index("ix_trials_study_state", trials.c.study_id, trials.c.state)
