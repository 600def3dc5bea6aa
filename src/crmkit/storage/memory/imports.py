"""Import jobs and their row results in memory: ``ImportRepository``."""

from __future__ import annotations

from collections.abc import Sequence

from crmkit.domain.imports import ImportJob, RowResult
from crmkit.storage.memory.tables import _page, _Versioned
from crmkit.storage.ports import ImportQuery, Page


class _MemoryImports(_Versioned[ImportJob]):
    entity = "import"

    def list(self, query: ImportQuery, *, after: str | None, limit: int) -> Page[ImportJob]:
        def ok(j: ImportJob) -> bool:
            return (
                (query.actor_id is None or j.actor_id == query.actor_id)
                and (query.status is None or j.status == query.status)
                and (query.file_sha256 is None or j.file_sha256 == query.file_sha256)
            )

        return _page([r for r in self._rows.rows() if ok(r[1])], after, limit, descending=True)

    def put_rows(self, job_id: str, results: Sequence[RowResult]) -> None:
        for r in results:
            self._uow._job_rows[(job_id, r.row)] = r

    def rows(self, job_id: str, *, after: str | None, limit: int) -> Page[RowResult]:
        merged = {k: v for k, v in self._uow._store._tables.job_rows.items() if k[0] == job_id}
        merged.update({k: v for k, v in self._uow._job_rows.items() if k[0] == job_id})
        return _page([(k[1], v) for k, v in merged.items()], after, limit, descending=False)
