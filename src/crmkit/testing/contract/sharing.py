"""The co-ownership request repository's contract."""

from __future__ import annotations

from datetime import timedelta

import pytest

from crmkit.domain.errors import ConcurrencyError
from crmkit.domain.sharing import CoOwnershipRequest, RequestStatus
from crmkit.storage.ports import RequestQuery, Store
from crmkit.testing.builders import BASE_TIME
from crmkit.testing.contract._fixture import StoreFixture


class CoOwnershipRepositoryContract(StoreFixture):
    """``CoOwnershipRepository``: round trip, versions, filters, newest-first pages."""

    @staticmethod
    def _request(n: int, **changes: object) -> CoOwnershipRequest:
        fields: dict[str, object] = {
            "id": f"req-{n}",
            "customer_id": f"c-{n % 2}",
            "requester_id": f"u-{n % 3}",
            "owner_id": f"o-{n % 2}",
            "note": "同一客户，我已跟进两个月",
            "created_at": BASE_TIME + timedelta(minutes=n),
        }
        fields.update(changes)
        return CoOwnershipRequest(**fields)  # type: ignore[arg-type]

    def test_a_request_round_trips_and_updates_by_version(self, store: Store) -> None:
        req = self._request(1)
        with store.unit_of_work() as uow:
            uow.co_ownership.add(req)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.co_ownership.get(req.id) == req
            assert uow.co_ownership.get("nope") is None
        granted = req.decide(
            RequestStatus.GRANTED, by="boss", at=BASE_TIME + timedelta(hours=1), note="同意"
        )
        with store.unit_of_work() as uow:
            uow.co_ownership.update(granted, expected_version=1)
            uow.commit()
        with store.unit_of_work() as uow:
            assert uow.co_ownership.get(req.id) == granted
            with pytest.raises(ConcurrencyError):
                uow.co_ownership.update(granted, expected_version=1)

    def test_requests_filter_and_page_newest_first(self, store: Store) -> None:
        reqs = [self._request(n) for n in range(7)]
        with store.unit_of_work() as uow:
            for r in reqs:
                uow.co_ownership.add(r)
            uow.co_ownership.update(
                reqs[3].decide(RequestStatus.REFUSED, by="boss", at=BASE_TIME, note=None), 1
            )
            uow.commit()
        with store.unit_of_work() as uow:
            seen: list[str] = []
            after = None
            while True:
                page = uow.co_ownership.list(RequestQuery(), after=after, limit=3)
                seen.extend(r.id for r in page.items)
                if page.next_after is None:
                    break
                after = page.next_after
            assert seen == [f"req-{n}" for n in reversed(range(7))]

            def ids(**query: object) -> list[str]:
                page = uow.co_ownership.list(RequestQuery(**query), after=None, limit=50)  # type: ignore[arg-type]
                return [r.id for r in page.items]

            assert ids(status=RequestStatus.REFUSED) == ["req-3"]
            assert ids(customer_id="c-0") == ["req-6", "req-4", "req-2", "req-0"]
            assert ids(requester_id="u-1") == ["req-4", "req-1"]
            assert ids(owner_ids=frozenset({"o-1"})) == ["req-5", "req-3", "req-1"]
            assert ids(owner_ids=frozenset()) == []
