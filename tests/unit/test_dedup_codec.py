"""Stored match records decode to exactly the record that was encoded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit.domain.dedup import CUSTOMER_MATCH, Matcher, record_from_fields
from crmkit.domain.dedup.codec import decode_record, encode_record, key_hash

NAMES = st.sampled_from(
    [
        "青岛金智电子科技有限公司",
        "金智电子科技（青岛）有限公司",
        "Acme Trading Co., Ltd. (Qingdao Branch)",
        "华美服装股份有限公司五四广场店",
        "张三",
        "",
    ]
)


@settings(max_examples=100, deadline=None)
@given(
    name=NAMES,
    mobile=st.sampled_from([None, "13800138000", "+86 139-0000-1234", "12345"]),
    email=st.sampled_from([None, "INFO@Jinzhi.cn", "bad"]),
    address=st.sampled_from([None, "山东省青岛市市南区香港中路10号", "香港中路 10 号"]),
    birthday=st.sampled_from([None, "1990-05-06"]),
    custom=st.dictionaries(
        st.sampled_from(["contract_no", "level"]),
        st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.lists(st.text(max_size=3))),
        max_size=2,
    ),
    kind=st.sampled_from(["company", "individual"]),
)
def test_a_record_survives_encoding_and_scores_the_same(
    name, mobile, email, address, birthday, custom, kind
):
    fields = {
        "name": name,
        "mobile": mobile,
        "email": email,
        "address": address,
        "birthday": birthday,
        "custom": custom,
        "kind": kind,
        "region": "山东省/青岛市",
    }
    record = record_from_fields(fields, id="r1")
    back = decode_record("r1", encode_record(record))
    assert back == record
    matcher = Matcher(CUSTOMER_MATCH)
    assert matcher.block_keys(back) == matcher.block_keys(record)
    assert matcher.score(back, record) == matcher.score(record, record)


def test_key_hashes_are_stable_signed_64_bit_integers():
    h = key_hash("customer:0:+8613800138000")
    assert h == key_hash("customer:0:+8613800138000")
    assert -(2**63) <= h < 2**63
    assert key_hash("contact:0:+8613800138000") != h
