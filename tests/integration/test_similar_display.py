"""What the similar-customer lookup reports is what a person can use: no 0% rows."""

from __future__ import annotations

from crmkit import display

NAMES = [
    "青岛金智电子科技有限公司",
    "青岛金智电器有限公司",
    "上海四通贸易有限公司",
    "北京华瑞贸易有限公司",
    "深圳华瑞电子有限公司",
    "杭州金智软件有限公司",
    "TCL科技集团股份有限公司",
]


def test_no_similar_match_reads_zero_percent(crm, admin):
    with crm.session(actor=admin) as s:
        for name in NAMES:
            s.customers.create(name=name)
    with crm.session(actor=admin) as s:
        for probe in ("金智", "青岛金智科技", "华瑞", "四通贸易", "TCL", "青岛"):
            for m in s.customers.find_similar(name=probe, limit=10):
                assert display.score(m.score) != "0%", (probe, m.name, m.score)
