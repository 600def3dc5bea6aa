"""A worker process for the crash test (``test_worker_crash.py``): runs due jobs and
dispatches the outbox in a loop on a PostgreSQL URL, sending through a notifier that
appends each message's key to a file (so that what was sent survives the process), slowly,
and that times out after delivering every seventh message (the case where resending
blindly would text a customer twice).

Usage: ``python crash_worker.py <url> <sent-file> <seconds per send>``.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import crmkit
from crmkit import DeliveryStatus, Notification, NotifierTimeout, SendResult, Settings


class FileNotifier:
    """Appends ``key`` lines to a file, fsynced before ``send`` returns; ``status`` reads it."""

    channels = frozenset({"*"})

    def __init__(self, path: Path, pause: float) -> None:
        self.path = path
        self.pause = pause
        self.count = 0

    def send(self, message: Notification) -> SendResult:
        time.sleep(self.pause)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(message.key + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.count += 1
        if self.count % 7 == 0:
            raise NotifierTimeout("no answer in time (it went out)")
        return SendResult(f"file-{self.count}")

    def status(self, key: str) -> DeliveryStatus | None:
        if not self.path.exists():
            return DeliveryStatus.NOT_SENT
        keys = set(self.path.read_text(encoding="utf-8").split("\n"))
        return DeliveryStatus.SENT if key in keys else DeliveryStatus.NOT_SENT


def settings() -> Settings:
    # short leases: a killed worker's claims are taken over within seconds
    return Settings(claim_lease_seconds=2.0, retry_base_seconds=0.0, job_batch_size=50)


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the expected timeouts are not news here
    url, path, pause = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    crm = crmkit.open(url, notifier=FileNotifier(path, pause), settings=settings())
    print("ready", flush=True)
    idle = 0
    while idle < 3:
        ran = crm.run_due(limit=100).claimed
        sent = crm.dispatch(limit=100)
        busy = ran or sent.claimed or sent.reconciled or sent.expired
        idle = 0 if busy else idle + 1
        if not busy:
            time.sleep(0.5)
    crm.close()


if __name__ == "__main__":
    main()
