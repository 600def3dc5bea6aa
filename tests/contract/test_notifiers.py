"""The notifier contract against the notifiers crmkit ships."""

from __future__ import annotations

import io

from crmkit.adapters.notifiers import ConsoleNotifier
from crmkit.testing.contract import NotifierContract
from crmkit.testing.notifiers import RecordingNotifier, ScriptedNotifier
from crmkit.workflows.notify import Notification, Notifier


class TestConsoleNotifier(NotifierContract):
    def make_notifier(self) -> Notifier:
        return ConsoleNotifier(io.StringIO())


class TestConsoleNotifierOfOneChannel(NotifierContract):
    def make_notifier(self) -> Notifier:
        return ConsoleNotifier(io.StringIO(), channels=["sms"])


class TestRecordingNotifier(NotifierContract):
    channel = "email"
    recipient = "zhang@example.com"

    def make_notifier(self) -> Notifier:
        return RecordingNotifier(channels={"email"})


class TestScriptedNotifier(NotifierContract):
    def make_notifier(self) -> Notifier:
        return ScriptedNotifier()

    def make_timing_out_notifier(self) -> Notifier:
        return ScriptedNotifier().time_out()

    def make_failing_notifier(self) -> Notifier:
        return ScriptedNotifier().fail()


def test_the_console_notifier_writes_one_line_per_message():
    out = io.StringIO()
    notifier = ConsoleNotifier(out)
    for n in (1, 2):
        notifier.send(
            Notification(
                key=f"k{n}", channel="sms", recipient="+8613800138000", payload={"name": "张三"}
            )
        )
    lines = out.getvalue().splitlines()
    assert lines == [
        '[sms] → +8613800138000 (k1): {"name": "张三"}',
        '[sms] → +8613800138000 (k2): {"name": "张三"}',
    ]
