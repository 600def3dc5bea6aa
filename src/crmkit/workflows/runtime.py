"""What every session of one CRM shares: store, clock, settings, hasher, schema, bus."""

from __future__ import annotations

from typing import Any

import attrs

from crmkit.adapters.passwords import PasswordHasher
from crmkit.domain.clock import Clock
from crmkit.domain.custom_fields import CustomFieldSchema
from crmkit.storage.ports import Store
from crmkit.workflows.dedup import DedupConfig
from crmkit.workflows.events import EventBus


@attrs.frozen
class Settings:
    """Tunable policies. Pass ``settings=Settings(...)`` to ``crmkit.open``."""

    recycle_retention_days: int = 30
    lockout_threshold: int = 10
    password_min_length: int = 8
    timezone: str = "Asia/Shanghai"
    max_page_size: int = 500
    # Worker processes that prepare a large import's rows (parse, check, match records)
    # while the session writes them: 0 (default) prepares in the session's process. Workers
    # start by importing the program's main module (multiprocessing's forkserver or spawn),
    # so a program that sets this needs the ``if __name__ == "__main__":`` guard.
    import_workers: int = 0


@attrs.define
class Runtime:
    store: Store
    clock: Clock
    settings: Settings
    hasher: PasswordHasher
    bus: EventBus
    region: str = "CN"
    customer_fields: CustomFieldSchema = attrs.Factory(CustomFieldSchema)
    notifier: Any = None
    dedup: DedupConfig = attrs.Factory(DedupConfig)
