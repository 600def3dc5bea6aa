"""Duplicate detection (pure domain): normalised keys, comparators, a configurable matcher.

``keys`` turns names, phones, e-mails, credit codes and addresses into comparison keys: a
company name is taken apart by ``company_cn`` or ``company_latin`` into a
``company.CompanyKey``, text is folded by ``text``, and the word lists they recognise parts
by are data files in ``data/``. ``records`` builds match records from customers, contacts or
plain rows; ``comparators`` measure similarity; ``matcher`` scores pairs, blocks and
clusters; ``defaults`` holds the tuned :data:`CUSTOMER_MATCH` and :data:`CONTACT_MATCH`.
"""

from crmkit.domain.dedup.company import CompanyKey
from crmkit.domain.dedup.comparators import (
    Comparator,
    address,
    company_name,
    date_within,
    emails_shared,
    exact,
    fuzzy,
    person_name,
    phones_shared,
    shared,
)
from crmkit.domain.dedup.defaults import (
    CONTACT_MATCH,
    CUSTOMER_MATCH,
    branch_differs,
    company_name_blocks,
    location_conflict,
    uscc_differs,
    uscc_equal,
)
from crmkit.domain.dedup.keys import (
    AddressKey,
    address_key,
    company_key,
    email_key,
    individual_key,
    person_key,
    phone_key,
    uscc_key,
)
from crmkit.domain.dedup.matcher import (
    BlockingKey,
    Cluster,
    FieldRule,
    HardRule,
    Match,
    MatchConfig,
    Matcher,
    PlaceRule,
    field_block,
)
from crmkit.domain.dedup.records import (
    Record,
    contact_record,
    customer_record,
    customer_record_with,
    record_from_fields,
    with_contacts,
)
from crmkit.domain.dedup.text import fold_text

__all__ = [
    "CONTACT_MATCH",
    "CUSTOMER_MATCH",
    "AddressKey",
    "BlockingKey",
    "Cluster",
    "CompanyKey",
    "Comparator",
    "FieldRule",
    "HardRule",
    "Match",
    "MatchConfig",
    "Matcher",
    "PlaceRule",
    "Record",
    "address",
    "address_key",
    "branch_differs",
    "company_key",
    "company_name",
    "company_name_blocks",
    "contact_record",
    "customer_record",
    "customer_record_with",
    "date_within",
    "email_key",
    "emails_shared",
    "exact",
    "field_block",
    "fold_text",
    "fuzzy",
    "individual_key",
    "location_conflict",
    "person_key",
    "person_name",
    "phone_key",
    "phones_shared",
    "record_from_fields",
    "shared",
    "uscc_differs",
    "uscc_equal",
    "uscc_key",
    "with_contacts",
]
