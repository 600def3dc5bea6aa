"""Duplicate detection wired to the store.

``config`` is what an application tunes (:class:`DedupConfig`); ``index`` keeps the store's
duplicate index in step with writes and checks a record against it (``session.dedup_index``);
``scan`` clusters the stored pairs for review; ``service`` is ``session.dedup`` (scan,
verdicts, past merges, rebuild).
"""

from crmkit.workflows.dedup.config import KINDS, DedupConfig, Kind
from crmkit.workflows.dedup.index import DedupIndex, DuplicateCheck, stored_pair
from crmkit.workflows.dedup.scan import ClusterMember, DuplicateCluster, cluster_pairs
from crmkit.workflows.dedup.service import DedupService

__all__ = [
    "KINDS",
    "ClusterMember",
    "DedupConfig",
    "DedupIndex",
    "DedupService",
    "DuplicateCheck",
    "DuplicateCluster",
    "Kind",
    "cluster_pairs",
    "stored_pair",
]
