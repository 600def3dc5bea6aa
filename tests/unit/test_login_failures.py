"""The per-day failed-login counts behind ``crm.login_needs_captcha``."""

from __future__ import annotations

from datetime import date

from crmkit.workflows.login_failures import LoginFailures

DAY = date(2027, 1, 5)


def test_counts_per_login_and_per_client_reach_the_threshold_separately():
    failures = LoginFailures()
    for login in ("a", "b"):
        failures.record(DAY, login, "203.0.113.1")
    assert failures.reached(DAY, "c", "203.0.113.1", 2)  # the client's two failures
    assert not failures.reached(DAY, "a", None, 2)
    failures.record(DAY, "a", None)
    assert failures.reached(DAY, "a", None, 2)


def test_forgetting_a_login_keeps_the_clients_count():
    failures = LoginFailures()
    failures.record(DAY, "a", "203.0.113.1")
    failures.forget_login(DAY, "a")
    assert not failures.reached(DAY, "a", None, 1)
    assert failures.reached(DAY, "x", "203.0.113.1", 1)


def test_a_new_day_starts_from_nothing():
    failures = LoginFailures()
    failures.record(DAY, "a", "203.0.113.1")
    assert not failures.reached(date(2027, 1, 6), "a", "203.0.113.1", 1)


def test_a_full_table_asks_everyone_it_cannot_count():
    failures = LoginFailures(capacity=2)
    failures.record(DAY, "a", "203.0.113.1")  # two keys: full
    failures.record(DAY, "b", None)  # not counted, and not forgotten either
    assert failures.reached(DAY, "b", None, 3)  # unknown to a full table: asked
    assert not failures.reached(DAY, "a", "203.0.113.1", 3)  # counted, below the threshold
