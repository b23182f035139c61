"""Engine and transactions.

SQLite runs in WAL mode with a busy timeout, and write transactions begin
IMMEDIATE so they take the write lock up front: two writers queue on the lock
instead of one failing with "database is locked" when it tries to upgrade.
A process writes on one thread and reads on a few others, all off the event loop.
WAL checkpoints are taken off the write path: SQLite's automatic checkpoint runs inside
whichever commit crosses the threshold (hundreds of ms on a large database), so it is turned
off and `checkpoint()` runs every few seconds on a thread of its own.
"""
from __future__ import annotations

import asyncio
import copy
import functools
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

import storage.scoping  # noqa: F401  (its session events keep scoped sessions to their workspace)

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
CACHE_KIB = 32 * 1024


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA wal_autocheckpoint=0")
            # 32 MiB of pages (2 MiB by default): a tick's few thousand scattered index and row pages stay
            # in memory for its transaction instead of being spilled to the WAL and read back.
            cur.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def server_admin(url: str) -> Iterator[Connection]:
    """An AUTOCOMMIT connection to a PostgreSQL server, for what no transaction may hold (CREATE and DROP
    DATABASE): the tests' databases and the benchmark's."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


class Database:
    """The engine and its threads. `scoped(workspace)` is a view of it whose sessions see and write only that
    workspace's rows (storage.scoping); the unscoped one sees every workspace."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        event.listen(self.engine, "before_cursor_execute", storage.scoping.refuse_unscoped)
        self._writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db")
        self._waiting: deque[None] = deque()  # one entry per job queued for the writer and not started yet
        # Readers run beside the writer: in WAL mode they neither wait for it nor block it.
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="db-read")
        self._maintenance = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-checkpoint")
        self.is_sqlite = url.startswith("sqlite")
        self.workspace: str | None = None
        self._reader = self.engine
        self._views: dict[str, Database] = {}

    def scoped(self, workspace: str) -> Database:
        """This database as one workspace sees it (same engine and threads)."""
        root = self if self.workspace is None else self._root
        view = root._views.get(workspace)
        if view is None:
            view = copy.copy(root)
            view._root = root
            view._views = {}
            view.workspace = workspace
            # The execution option names the workspace of a Core INSERT that does not (storage.models).
            view._writer = root._writer.execution_options(workspace=workspace)
            view._reader = root.engine.execution_options(workspace=workspace)
            root._views[workspace] = view
        return view

    def _session(self, bind: Engine) -> Session:
        session = Session(bind, expire_on_commit=False)
        if self.workspace is not None:
            session.info["workspace"] = self.workspace
        return session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on error."""
        with self._session(self._writer) as session:
            with session.begin():
                yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session(self._reader) as session:
            yield session

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(self, *args)`, a blocking storage function, on the database thread."""
        waiting, started = self._waiting, False
        waiting.append(None)  # deque appends and pops are atomic: the writer thread reads it without a lock

        def job() -> T:
            nonlocal started
            started = True
            waiting.pop()
            return fn(self, *args, **kwargs)

        def cancelled(_: Any) -> None:
            if not started:  # cancelled before it ran
                waiting.pop()

        try:
            future = self._executor.submit(job)
        except RuntimeError:  # shut down
            waiting.pop()
            raise
        future.add_done_callback(cancelled)
        return await asyncio.wrap_future(future)

    def writer_wanted(self) -> bool:
        """Whether a write waits for the database thread: a long job on it (the scheduler catching up) hands
        it over between transactions then, and only then."""
        return bool(self._waiting)

    async def query(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn(self, *args)`, a read-only storage function, on a reader thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, functools.partial(fn, self, *args, **kwargs))

    def checkpoint(self, mode: str = "PASSIVE") -> None:
        """Copy the WAL back into the database file. PASSIVE waits for nobody: readers and the
        writer go on; what they still use is copied next time."""
        if not self.is_sqlite:
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA wal_checkpoint({mode})")

    async def checkpoint_soon(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._maintenance, self.checkpoint)

    def close(self) -> None:
        if self.workspace is not None:
            return  # a view: the root closes the engine
        self._readers.shutdown(wait=True)
        self._executor.shutdown(wait=True)
        self._maintenance.shutdown(wait=True)
        try:
            self.checkpoint("TRUNCATE")  # leave a compact file behind
        except Exception:
            pass
        self.engine.dispose()
