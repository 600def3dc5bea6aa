"""Import jobs and their row results in SQL: ``ImportRepository``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from crmkit.domain.imports import (
    ImportJob,
    RowResult,
    result_from_plain,
    result_to_plain,
)
from crmkit.storage.ports import ImportQuery, Page
from crmkit.storage.sql.common import cas_update, chunks, insert_many, page, raise_taken
from crmkit.storage.sql.rows import flat_row, from_flat_row
from crmkit.storage.sql.tables import import_jobs, import_rows

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from crmkit.storage.sql.store import SqlUnitOfWork


def _job(row: Mapping[Any, Any]) -> ImportJob:
    return from_flat_row(ImportJob, row)


class SqlImports:
    """``ImportRepository`` on SQLite and PostgreSQL."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow
        self._conn: Connection = uow.conn

    def add(self, job: ImportJob) -> None:
        try:
            with self._conn.begin_nested():
                self._conn.execute(insert(import_jobs).values(**flat_row(job)))
        except IntegrityError as exc:
            raise_taken(self._conn, import_jobs, "import", [job.id], exc)

    def get(self, id: str) -> ImportJob | None:
        row = self._conn.execute(select(import_jobs).where(import_jobs.c.id == id)).first()
        return _job(row._mapping) if row else None

    def update(self, job: ImportJob, expected_version: int) -> None:
        cas_update(self._uow, import_jobs, "import", flat_row(job), expected_version)

    def list(self, query: ImportQuery, *, after: str | None, limit: int) -> Page[ImportJob]:
        c = import_jobs.c
        stmt = select(import_jobs)
        if query.actor_id is not None:
            stmt = stmt.where(c.actor_id == query.actor_id)
        if query.status is not None:
            stmt = stmt.where(c.status == query.status.value)
        if query.file_sha256 is not None:
            stmt = stmt.where(c.file_sha256 == query.file_sha256)
        return page(self._conn, stmt, c.seq, after, limit, True, _job)

    def put_rows(self, job_id: str, results: Sequence[RowResult]) -> None:
        if not results:
            return
        r = import_rows.c
        numbers = [x.row for x in results]
        for chunk in chunks(numbers):
            self._conn.execute(
                delete(import_rows).where(r.job_id == job_id, r.row.in_(list(chunk)))
            )
        insert_many(
            self._conn,
            import_rows,
            [{"job_id": job_id, "row": x.row, "result": result_to_plain(x)} for x in results],
        )

    def rows(self, job_id: str, *, after: str | None, limit: int) -> Page[RowResult]:
        r = import_rows.c
        stmt = select(r.row, r.result).where(r.job_id == job_id)
        if after is not None:
            stmt = stmt.where(r.row > int(after))
        stmt = stmt.order_by(r.row).limit(limit + 1)
        fetched = self._conn.execute(stmt).all()
        more = len(fetched) > limit
        items = tuple(result_from_plain(x.result) for x in fetched[:limit])
        return Page(items, str(items[-1].row) if more and items else None)
