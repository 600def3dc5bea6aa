"""How crmkit finds duplicates: the matcher configurations and rules, per kind of record."""

from __future__ import annotations

from typing import Literal

import attrs

from crmkit.domain.dedup import CONTACT_MATCH, CUSTOMER_MATCH, MatchConfig
from crmkit.domain.dedup.em import Estimate
from crmkit.domain.dedup.rules import CONTACT_RULES, CUSTOMER_RULES, DuplicateRule

Kind = Literal["customer", "contact"]
KINDS: tuple[Kind, ...] = ("customer", "contact")


@attrs.frozen(kw_only=True)
class DedupConfig:
    """How crmkit finds duplicates. Pass ``dedup=DedupConfig(...)`` to ``crmkit.open``.

    Attributes:
        customer_match: the customer matcher configuration (add a custom field's rule with
            ``CUSTOMER_MATCH.with_rules(FieldRule("custom.contract_no", exact, 8.0))``).
        contact_match: the contact matcher configuration.
        customer_rules: what a customer write does with duplicates (default: block one that
            another salesperson works, warn about one's own).
        contact_rules: likewise for contacts (default: warn).
        candidates: at most this many indexed records are compared with a record being
            checked, those sharing most blocking keys first.
    """

    customer_match: MatchConfig = CUSTOMER_MATCH
    contact_match: MatchConfig = CONTACT_MATCH
    customer_rules: tuple[DuplicateRule, ...] = attrs.field(default=CUSTOMER_RULES, converter=tuple)
    contact_rules: tuple[DuplicateRule, ...] = attrs.field(default=CONTACT_RULES, converter=tuple)
    candidates: int = 50

    def with_estimate(self, kind: str, estimate: Estimate) -> DedupConfig:
        """This configuration with weights estimated by ``session.dedup.estimate``: for
        ``"customers"`` the estimate replaces the person part (``MatchConfig.persons``), for
        ``"contacts"`` the contact configuration.

        Args:
            kind: ``"customers"`` or ``"contacts"``, as the estimate was made for.
            estimate: the :class:`~crmkit.domain.dedup.em.Estimate`.

        Returns:
            A new configuration (re-index with ``session.dedup.rebuild`` after opening with it).
        """
        if kind.removesuffix("s") == "contact":
            return attrs.evolve(self, contact_match=estimate.config)
        return attrs.evolve(
            self, customer_match=attrs.evolve(self.customer_match, persons=estimate.config)
        )

    def match(self, kind: Kind) -> MatchConfig:
        return self.customer_match if kind == "customer" else self.contact_match

    def rules(self, kind: Kind) -> tuple[DuplicateRule, ...]:
        return self.customer_rules if kind == "customer" else self.contact_rules
