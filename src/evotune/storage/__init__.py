"""Studies, trials and the event journal. SQLite by default; any SQLAlchemy URL works.

>>> from evotune.storage import get_storage
>>> storage = get_storage("sqlite:///:memory:")
"""

from __future__ import annotations

from evotune.storage._records import Event, StudyRecord, TrialRecord, Write
from evotune.storage._sql import Storage, sqlite_file

__all__ = ["Event", "Storage", "StudyRecord", "TrialRecord", "Write", "get_storage", "sqlite_file"]


def get_storage(url: str) -> Storage:
    """Open (and create when missing) the storage at ``url``: ``sqlite:///path/to/file.db``,
    ``postgresql+psycopg://user:pass@host/db``. Raises :class:`~evotune.errors.StorageError`."""
    return Storage(url)
