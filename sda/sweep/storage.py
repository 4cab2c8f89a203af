"""A sweep's Optuna storage, checked and locked: one line for each way it
can be unusable.

SQLAlchemy reports a bad URL, a missing driver, a file that is not SQLite
or a locked database in a page of traceback; :func:`open_study` checks a
SQLite file first and keeps the first line of what is left, naming the
URL (:class:`~sda.errors.StorageError`).  One driver per study: the lock
is an OS file lock next to a SQLite file (``FILE.STUDY.lock``) or an
advisory lock of a PostgreSQL server, both released by a driver that
dies; other databases go unlocked.
"""

import contextlib
import hashlib
import json
import os
from pathlib import Path
from urllib.parse import quote

import optuna
import sqlalchemy
from filelock import FileLock, Timeout

from ..errors import StorageError

__all__ = ["open_study", "study_lock", "check_recorded_space", "first_line"]


def first_line(error):
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def _sqlite_path(url):
    """The file of a ``sqlite:///FILE`` URL, or None for other URLs."""
    if url.startswith("sqlite:///") and url[10:] not in ("", ":memory:"):
        return Path(url[10:])
    return None


def _check_sqlite(url, path):
    """Refuse a SQLite file that cannot hold a sweep, before SQLAlchemy
    would fail on it with a page of traceback."""
    if path.is_dir():
        raise StorageError(url, "is a folder, not a SQLite file")
    if not path.parent.is_dir():
        raise StorageError(url, f"folder {path.parent} does not exist")
    if path.exists():
        with open(path, "rb") as f:
            header = f.read(16)
        if header and header != b"SQLite format 3\x00":
            raise StorageError(url, "is not a SQLite database")
        # the mode too: root may write anywhere, but nobody means to write
        # a file nobody may write
        if not os.access(path, os.W_OK) or not path.stat().st_mode & 0o222:
            raise StorageError(url, "is read-only (the driver records "
                                    "every trial there)")
    elif not os.access(path.parent, os.W_OK):
        raise StorageError(url, f"folder {path.parent} is read-only")


@contextlib.contextmanager
def study_lock(url, study_name, engine):
    """Hold the study's lock for the length of the ``with``, or refuse: an
    OS file lock next to a SQLite file, an advisory lock on a PostgreSQL
    server (both released by a driver that dies); other databases go
    unlocked."""
    taken = (f"study {study_name!r} is being run by another driver; "
             f"wait for it to end, or use another study name")
    path = _sqlite_path(url)
    if path is not None:
        lock = FileLock(f"{path}.{quote(study_name, safe='')}.lock")
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise StorageError(url, taken) from None
        except OSError as e:
            raise StorageError(url, f"cannot lock study {study_name!r} "
                                    f"({e.strerror or e})") from None
        try:
            yield
        finally:
            lock.release()
    elif engine.dialect.name == "postgresql":
        number = int.from_bytes(hashlib.sha256(
            f"sda.sweep:{study_name}".encode()).digest()[:8], "big",
            signed=True)
        with engine.connect() as connection:
            query = sqlalchemy.text("SELECT pg_try_advisory_lock(:n)")
            if not connection.execute(query, {"n": number}).scalar():
                raise StorageError(url, taken)
            yield  # the lock lives as long as the connection
    else:
        yield


_STORAGE_ERRORS = (sqlalchemy.exc.SQLAlchemyError, ImportError,
                   optuna.exceptions.StorageInternalError)


@contextlib.contextmanager
def open_study(url, study_name, direction, sampler):
    """The study named ``study_name`` in ``url``, created if new, locked
    for this driver; a storage that cannot be used ends in one line
    (SQLAlchemy's first line says what: no such database, locked, no
    driver; the rest is its traceback and a link)."""
    if not isinstance(url, str):
        raise ValueError(f"storage must be an Optuna storage URL, got "
                         f"{url!r}")
    path = _sqlite_path(url)
    if path is not None:
        _check_sqlite(url, path)
    stack = contextlib.ExitStack()
    try:
        engine = None
        if path is None:
            engine = sqlalchemy.create_engine(url)
            stack.callback(engine.dispose)
        stack.enter_context(study_lock(url, study_name, engine))
        study = optuna.create_study(
            storage=optuna.storages.RDBStorage(url), study_name=study_name,
            direction=direction, load_if_exists=True, sampler=sampler)
    except StorageError:
        stack.close()
        raise
    except ImportError as e:
        stack.close()
        raise StorageError(url, f"needs a database driver that is not "
                                f"installed ({e})") from None
    except (*_STORAGE_ERRORS, ValueError) as e:  # ValueError: a bad URL
        stack.close()
        raise StorageError(url, first_line(e)) from None
    with stack:
        try:
            yield study
        except _STORAGE_ERRORS as e:
            raise StorageError(url, first_line(e)) from None


def check_recorded_space(study, space, url):
    """Record the space in a new study; refuse another one for an old
    study, naming what changed (its trials would not decode)."""
    text = json.dumps(space)
    recorded = study.user_attrs.get("sda_space")
    if recorded is None:
        study.set_user_attr("sda_space", text)
        return
    if recorded == text:
        return
    old = json.loads(recorded)
    where = f"study {study.study_name!r} was run with"
    if list(old) != list(space):
        raise StorageError(url, f"{where} parameters {list(old)}, not "
                                f"{list(space)}; use another study name")
    for name in space:
        if json.dumps(old[name]) != json.dumps(space[name]):
            raise StorageError(url, f"{where} space[{name!r}] = "
                                    f"{json.dumps(old[name])}, not "
                                    f"{json.dumps(space[name])}; use "
                                    f"another study name")
