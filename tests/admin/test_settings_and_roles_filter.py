"""The read-only settings screen, and the users list filtered by role (linked from roles)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

import crmkit
from admin import create_app
from admin.views.settings import mask_url
from crmkit.storage.memory import MemoryStore
from crmkit.testing import ManualClock, open_test_crm
from tests.admin.conftest import PASSWORDS, Browser

SECRET = "s3cret-Pa55"
PG_URL = f"postgresql+psycopg://crm:{SECRET}@db.example:5432/crm"


def section(page: str, start: str, end: str) -> str:
    return page[page.index(start) : page.index(end, page.index(start))]


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)))


# -- settings ----------------------------------------------------------------------------------


@pytest.fixture
def pg_app(tmp_path: Path, clock: ManualClock) -> Iterator[Flask]:
    """The panel on a store whose URL carries a password (an in-memory store given the URL
    a PostgreSQL deployment would have), with a custom field and a longer idle timeout."""
    from datetime import timedelta

    def opener(url: str) -> crmkit.CRM:
        crm = open_test_crm(MemoryStore(url), clock=clock)
        crm.define_customer_field(
            crmkit.CustomField(
                "contract_no", "text", required=True, label_zh="合同编号", label_en="Contract no."
            )
        )
        crm.define_customer_field(
            crmkit.CustomField("tier", "choice", choices=("A", "B"), label_zh="客户等级")
        )
        return crm

    app = create_app(
        {
            "TESTING": True,
            "CRMKIT_URL": PG_URL,
            "CRMKIT_OPEN": opener,
            "ADMIN_DATA_DIR": str(tmp_path / "data"),
            "ADMIN_IDLE_TIMEOUT": timedelta(minutes=45),
            "SECRET_KEY": "test-secret",
            "SESSION_COOKIE_SECURE": False,
        }
    )
    yield app
    app.extensions["crmkit_admin"].close()


@pytest.fixture
def pg_admin(pg_app: Flask) -> Browser:
    crm: crmkit.CRM = pg_app.extensions["crmkit_admin"].crm
    crm.bootstrap_admin(name="管理员", password=PASSWORDS["admin"], login="admin")
    browser = Browser(pg_app.test_client())
    assert browser.login("admin", PASSWORDS["admin"]).status_code == 302
    return browser


def test_the_admin_sees_the_configuration_with_the_password_masked(pg_admin: Browser) -> None:
    page = pg_admin.text("/settings/")
    assert SECRET not in page
    general = text_of(section(page, 'id="settings-general"', "</table>"))
    assert "postgresql+psycopg://crm:***@db.example:5432/crm" in general
    assert "postgresql (psycopg) — MemoryStore" in general
    assert "Asia/Shanghai" in general and "CN" in general
    assert "10" in text_of(section(page, 'id="setting-lockout"', "</tr>"))
    assert "45 分钟" in text_of(section(page, 'id="setting-idle"', "</tr>"))
    assert "30 天" in text_of(section(page, 'id="setting-recycle"', "</tr>"))
    assert crmkit.__version__ in text_of(section(page, 'id="setting-version"', "</tr>"))
    fields = text_of(section(page, 'id="settings-fields"', "</table>"))
    assert "contract_no" in fields and "合同编号" in fields and "✓" in fields
    assert "tier" in fields and "客户等级" in fields and "A, B" in fields


def test_the_duplicate_rules_shown_are_the_ones_in_force(pg_admin: Browser) -> None:
    page = pg_admin.text("/settings/")
    customers = section(page, 'id="dedup-customer"', 'id="dedup-contact"')
    assert '<span class="dedup-threshold">0.50</span>' in customers
    anti = section(customers, 'data-rule="anti_collision"', "</tr>")
    assert "badge-danger" in anti and "阻止" in anti and "其他销售" in anti
    assert "badge-warning" in section(customers, 'data-rule="possible_duplicate"', "</tr>")
    contacts = section(page, 'id="dedup-contact"', "</table>")
    assert 'data-rule="anti_collision"' not in contacts
    assert "badge-warning" in section(contacts, 'data-rule="possible_duplicate"', "</tr>")


def test_settings_in_english(pg_admin: Browser) -> None:
    pg_admin.post("/language", {"lang": "en"})
    page = text_of(pg_admin.text("/settings/"))
    assert "Idle session timeout 45 minutes" in page
    assert "Anti-collision" in page and "Block" in page and "Contract no." in page


def test_a_sqlite_url_is_shown_as_it_is(as_admin: Browser, crm: crmkit.CRM) -> None:
    page = as_admin.text("/settings/")
    assert html.escape(crm.url) in page and "sqlite — SqlStore" in page
    assert 'id="settings-fields"' in page  # "none defined"
    assert 'href="/settings/"' in as_admin.text("/")


def test_a_salesperson_gets_403_and_no_menu_item(as_zhang: Browser) -> None:
    assert as_zhang.get("/settings/").status_code == 403
    assert 'href="/settings/"' not in as_zhang.text("/")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (PG_URL, "postgresql+psycopg://crm:***@db.example:5432/crm"),
        (
            "postgresql://crm:p%40ss@db/crm?sslmode=require",
            "postgresql://crm:***@db/crm?sslmode=require",
        ),
        ("postgresql://crm@db/crm", "postgresql://crm@db/crm"),
        ("sqlite:////var/lib/crm.db", "sqlite:////var/lib/crm.db"),
        ("memory://", "memory://"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


# -- users by role -----------------------------------------------------------------------------


def listed(page: str, users: dict[str, crmkit.User]) -> set[str]:
    """Which of the fixture's users have a row (their id is in the row's links)."""
    rows = section(page, 'id="model-list"', "</table>")
    return {key for key, user in users.items() if user.id in rows}


def test_the_users_list_filters_by_role(as_admin: Browser, users: dict[str, crmkit.User]) -> None:
    assert listed(as_admin.text("/users/?role=sales"), users) == {"zhang", "li"}
    assert listed(as_admin.text("/users/?role=manager"), users) == {"boss"}
    assert listed(as_admin.text("/users/?role=admin"), users) == {"admin"}
    assert listed(as_admin.text("/users/?role=finance"), users) == set()
    assert listed(as_admin.text("/users/"), users) == set(users)


def test_the_role_filter_is_a_select_of_crmkits_roles(as_admin: Browser) -> None:
    page = as_admin.text("/users/?role=sales")
    select = section(page, 'id="f-role"', "</select>")
    assert all(f'value="{r.value}"' in select for r in crmkit.Role)
    assert 'value="sales" selected' in select


def test_an_unknown_role_lists_no_one(as_admin: Browser, users: dict[str, crmkit.User]) -> None:
    response = as_admin.get("/users/?role=nobody")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert not any(user.id in page for user in users.values())


def test_the_roles_screen_links_each_role_to_its_filtered_user_list(
    as_admin: Browser, users: dict[str, crmkit.User]
) -> None:
    page = as_admin.text("/roles/")
    for role in crmkit.Role:
        row = section(page, f'id="role-{role.value}"', "</tr>")
        assert f'href="/users/?role={role.value}"' in row
    sales = section(page, 'id="role-sales"', "</tr>")
    link = re.search(r'href="([^"]+)"', sales)
    assert link is not None
    assert listed(as_admin.text(html.unescape(link.group(1))), users) == {"zhang", "li"}
