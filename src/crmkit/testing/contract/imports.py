"""The import job repository's contract: jobs and their row results."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from crmkit.domain.errors import ConcurrencyError
from crmkit.domain.imports import ImportJob, ImportStatus, Outcome, RowProblem, RowResult
from crmkit.storage.ports import ImportQuery, Store
from crmkit.testing.builders import BASE_TIME
from crmkit.testing.contract._fixture import StoreFixture


class ImportRepositoryContract(StoreFixture):
    """``ImportRepository``: jobs round trip and page newest first; row outcomes round trip
    (with their undo data), are replaced per row and page by row number."""

    @staticmethod
    def _job(n: int, **changes: object) -> ImportJob:
        fields: dict[str, object] = {
            "id": f"job-{n}",
            "source_name": "客户.xlsx",
            "file_sha256": f"sha-{n % 2}",
            "actor_id": f"u-{n % 3}",
            "options": {"on_duplicate": "skip", "columns": {"0": "name"}},
            "created_at": BASE_TIME + timedelta(minutes=n),
        }
        fields.update(changes)
        return ImportJob(**fields)  # type: ignore[arg-type]

    def test_a_job_round_trips_updates_by_version_and_filters(self, store: Store) -> None:
        jobs = [self._job(n) for n in range(5)]
        with store.unit_of_work() as uow:
            for job in jobs:
                uow.imports.add(job)
            uow.commit()
        done = attrs.evolve(
            jobs[2],
            status=ImportStatus.FINISHED,
            rows_done=501,
            counts={"created": 3, "failed": 1},
            finished_at=BASE_TIME + timedelta(hours=1),
            version=2,
        )
        with store.unit_of_work() as uow:
            assert uow.imports.get("job-1") == jobs[1]
            assert uow.imports.get("nope") is None
            uow.imports.update(done, expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.imports.get("job-2") == done
            with pytest.raises(ConcurrencyError):
                uow.imports.update(done, expected_version=1)

            def ids(**query: object) -> list[str]:
                page = uow.imports.list(ImportQuery(**query), after=None, limit=2)  # type: ignore[arg-type]
                out = [j.id for j in page.items]
                while page.next_after is not None:
                    page = uow.imports.list(
                        ImportQuery(**query),  # type: ignore[arg-type]
                        after=page.next_after,
                        limit=2,
                    )
                    out.extend(j.id for j in page.items)
                return out

            assert ids() == ["job-4", "job-3", "job-2", "job-1", "job-0"]
            assert ids(actor_id="u-1") == ["job-4", "job-1"]
            assert ids(status=ImportStatus.FINISHED) == ["job-2"]
            assert ids(file_sha256="sha-1", status=ImportStatus.RUNNING) == ["job-3", "job-1"]

    def test_row_outcomes_round_trip_are_replaced_and_page_by_row(self, store: Store) -> None:
        problem = RowProblem("手机", "mobile", "phone.invalid", "12345", "bad", "无效")
        rows = [
            RowResult(4, Outcome.FAILED, problems=(problem,)),
            RowResult(2, Outcome.CREATED, customer_id="c-1", customer_name="青岛金智"),
            RowResult(3, Outcome.DUPLICATE, duplicate_of="row 2"),
            RowResult(
                5,
                Outcome.UPDATED,
                customer_id="c-9",
                duplicate_of="c-9",
                undo={"industry": ("制造业", "电子"), "tags": ([], ["重点"])},
                customer_name="上海华东建材有限公司",
            ),
        ]
        with store.unit_of_work() as uow:
            uow.imports.put_rows("job-1", rows)
            uow.imports.put_rows("job-2", [RowResult(2, Outcome.FAILED)])
            uow.commit()
        with store.unit_of_work() as uow:
            uow.imports.put_rows("job-1", [RowResult(3, Outcome.CREATED, customer_id="c-2")])
            uow.commit()
        with store.unit_of_work() as uow:
            first = uow.imports.rows("job-1", after=None, limit=3)
            second = uow.imports.rows("job-1", after=first.next_after, limit=3)
        got = [*first.items, *second.items]
        assert [r.row for r in got] == [2, 3, 4, 5] and second.next_after is None
        assert got[1] == RowResult(3, Outcome.CREATED, customer_id="c-2")
        assert got[2].problems == (problem,)
        assert got[3].undo == {"industry": ("制造业", "电子"), "tags": ([], ["重点"])}
        assert got[3].customer_name == "上海华东建材有限公司"  # reports name the customer
