"""JobStore in SQLite: the embedded default, in the same file as Huey's queue.

One connection per operation: sqlite3 connections must not cross threads, and
opening one costs far less than a transcription. WAL lets readers (GET /v1/jobs)
run while a worker writes; the busy timeout makes concurrent writers wait instead
of failing; every read-modify-write runs under BEGIN IMMEDIATE, which takes the
write lock before reading, so two workers (threads or processes) can never both
claim one job.

The record is a JSON document (``doc``); status, timestamps and the idempotency
scope are copied into columns only so that they can be indexed and queried.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from whisperd.errors import JobNotFound, ServiceUnavailable
from whisperd.jobs.store import STATUSES, Change, Job

# Seconds a writer waits for the lock before giving up (long: a claim must not fail
# just because another process is writing a large upload).
BUSY_TIMEOUT_S = 30.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS whisperd_jobs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        internal INTEGER NOT NULL,
        created_at REAL NOT NULL,
        finished_at REAL,
        idempotency_scope TEXT UNIQUE,
        doc TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS whisperd_jobs_status ON whisperd_jobs (status)",
    "CREATE INDEX IF NOT EXISTS whisperd_jobs_listing ON whisperd_jobs (internal, created_at)",
    "CREATE INDEX IF NOT EXISTS whisperd_jobs_finished ON whisperd_jobs (finished_at)",
    # kind: "audio" (the upload) or "result" (UTF-8 JSON).
    """CREATE TABLE IF NOT EXISTS whisperd_job_blobs (
        job_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (job_id, kind))""",
)


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                conn.execute(statement)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as e:
            raise ServiceUnavailable(f"Job database {self.path} cannot be opened: {e}") from e
        try:
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def _row_values(job: Job) -> tuple[Any, ...]:
        return (job.status, int(job.internal), job.created_at, job.finished_at,
                job.idempotency_scope, json.dumps(job.to_record()), job.id)

    def create(self, job: Job, audio: bytes) -> Job:
        with self._write() as conn:
            if job.idempotency_scope is not None:
                row = conn.execute("SELECT doc FROM whisperd_jobs WHERE idempotency_scope = ?",
                                   (job.idempotency_scope,)).fetchone()
                if row is not None:
                    return Job.from_record(json.loads(row[0]))
            conn.execute(
                "INSERT INTO whisperd_jobs (status, internal, created_at, finished_at, "
                "idempotency_scope, doc, id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                self._row_values(job),
            )
            conn.execute("INSERT INTO whisperd_job_blobs (job_id, kind, body) VALUES (?, ?, ?)",
                         (job.id, "audio", sqlite3.Binary(audio)))
        return job

    def get(self, job_id: str) -> Job:
        with self._connect() as conn:
            row = conn.execute("SELECT doc FROM whisperd_jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(f"No job with id {job_id!r}.")
        return Job.from_record(json.loads(row[0]))

    def list_jobs(self, limit: int, offset: int) -> tuple[list[Job], bool]:
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT doc FROM whisperd_jobs WHERE internal = 0 "
                "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                (limit + 1, offset),
            ).fetchall()
        jobs = [Job.from_record(json.loads(r[0])) for r in rows]
        return jobs[:limit], len(jobs) > limit

    def _blob(self, job_id: str, kind: str) -> bytes | None:
        with self._connect() as conn:
            row = conn.execute("SELECT body FROM whisperd_job_blobs WHERE job_id = ? AND kind = ?",
                               (job_id, kind)).fetchone()
        return None if row is None else bytes(row[0])

    def audio(self, job_id: str) -> bytes:
        body = self._blob(job_id, "audio")
        if body is None:
            raise JobNotFound(f"No audio for job {job_id!r}.")
        return body

    def result(self, job_id: str) -> dict[str, Any] | None:
        body = self._blob(job_id, "result")
        return None if body is None else json.loads(body.decode("utf-8"))

    def update(self, job_id: str, change: Change, *,
               result: dict[str, Any] | None = None) -> Job | None:
        with self._write() as conn:
            row = conn.execute("SELECT doc FROM whisperd_jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(f"No job with id {job_id!r}.")
            new = change(Job.from_record(json.loads(row[0])))
            if new is None:
                return None
            conn.execute(
                "UPDATE whisperd_jobs SET status = ?, internal = ?, created_at = ?, "
                "finished_at = ?, idempotency_scope = ?, doc = ? WHERE id = ?",
                self._row_values(new),
            )
            if result is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO whisperd_job_blobs (job_id, kind, body) "
                    "VALUES (?, ?, ?)",
                    (job_id, "result", json.dumps(result).encode("utf-8")),
                )
        return new

    def with_status(self, status: str) -> list[Job]:
        with self._connect() as conn:
            rows = conn.execute("SELECT doc FROM whisperd_jobs WHERE status = ? "
                                "ORDER BY created_at", (status,)).fetchall()
        return [Job.from_record(json.loads(r[0])) for r in rows]

    def count_by_status(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        with self._connect() as conn:
            for status, count in conn.execute(
                    "SELECT status, COUNT(*) FROM whisperd_jobs GROUP BY status"):
                counts[status] = int(count)
        return counts

    def purge(self, finished_before: float) -> int:
        with self._write() as conn:
            ids = [r[0] for r in conn.execute(
                "SELECT id FROM whisperd_jobs WHERE finished_at IS NOT NULL AND finished_at < ?",
                (finished_before,),
            )]
            for job_id in ids:
                self._delete(conn, job_id)
        return len(ids)

    def delete(self, job_id: str) -> None:
        with self._write() as conn:
            self._delete(conn, job_id)

    @staticmethod
    def _delete(conn: sqlite3.Connection, job_id: str) -> None:
        conn.execute("DELETE FROM whisperd_job_blobs WHERE job_id = ?", (job_id,))
        conn.execute("DELETE FROM whisperd_jobs WHERE id = ?", (job_id,))

    def ping(self) -> None:
        try:
            with self._connect() as conn:
                conn.execute("SELECT 1 FROM whisperd_jobs LIMIT 1").fetchall()
        except sqlite3.Error as e:
            raise ServiceUnavailable(f"Job database {self.path} is not usable: {e}") from e

    def close(self) -> None:
        """Nothing to release: connections live for one operation."""
