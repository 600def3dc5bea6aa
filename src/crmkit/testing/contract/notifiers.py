"""The notifier contract: what every notification adapter must do, as a pytest suite.

Subclass it in a test module, name the subclass ``Test…`` and implement ``make_notifier``::

    from crmkit.testing.contract import NotifierContract

    class TestMyGateway(NotifierContract):
        channel = "sms"
        recipient = "+8613800138000"

        def make_notifier(self):
            return MyGateway(api_key="test", base_url=sandbox_url)

        def make_timing_out_notifier(self):          # optional: skipped when None
            return MyGateway(api_key="test", base_url=blackhole_url, timeout=0.1)

What the port leaves implicit, stated here and tested below:

- ``channels`` is a non-empty set of channel names (``"*"``: every channel).
- A message sent returns a :class:`SendResult` with the provider's reference (a non-empty
  string).
- ``status(key)`` never contradicts what happened: after a send that returned, it answers
  ``SENT`` or None (cannot tell), never ``NOT_SENT``; for a key never sent, ``NOT_SENT`` or
  None, never ``SENT``. It returns rather than raises for a key it never saw.
- Sending the same key twice is allowed to send twice (SMS gateways are not idempotent; the
  outbox, not the notifier, sends each key once) or to refuse the second with a
  ``NotifierError``; either way ``status`` still answers ``SENT`` or None.
- A timeout is raised as :class:`NotifierTimeout`, never as another exception: crmkit reads
  it as "the outcome is unknown" and will not resend before asking ``status``. Any other
  failure is a :class:`NotifierError` that is *not* a timeout.
- A channel the notifier does not serve is refused with a ``NotifierError`` that is not
  retryable.
"""

from __future__ import annotations

import uuid

import pytest

from crmkit.workflows.notify import (
    ANY_CHANNEL,
    DeliveryStatus,
    Notification,
    Notifier,
    NotifierError,
    NotifierTimeout,
    SendResult,
)


class NotifierContract:
    """Subclass with ``make_notifier`` (and optionally the other ``make_*``)."""

    channel: str | None = None  # default: the first channel the notifier names, or "sms"
    recipient = "+8613800138000"

    def make_notifier(self) -> Notifier:
        """A notifier that can send (to a sandbox). Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_notifier()")

    def make_timing_out_notifier(self) -> Notifier | None:
        """A notifier whose sends time out (None skips the timeout test)."""
        return None

    def make_failing_notifier(self) -> Notifier | None:
        """A notifier whose sends fail without timing out (None skips that test)."""
        return None

    # -- helpers -----------------------------------------------------------------------------
    @pytest.fixture
    def notifier(self) -> Notifier:
        return self.make_notifier()

    def _channel(self, notifier: Notifier) -> str:
        if self.channel is not None:
            return self.channel
        named = sorted(c for c in notifier.channels if c != ANY_CHANNEL)
        return named[0] if named else "sms"

    def message(self, notifier: Notifier, key: str | None = None) -> Notification:
        """A message on a channel ``notifier`` serves, under a fresh key unless given."""
        return Notification(
            key=key or f"contract-{uuid.uuid4().hex}:{self.recipient}",
            channel=self._channel(notifier),
            recipient=self.recipient,
            payload={"template": "contract_test", "variables": {"name": "张三"}},
        )

    # -- tests -------------------------------------------------------------------------------
    def test_it_names_the_channels_it_serves(self, notifier: Notifier) -> None:
        channels = notifier.channels
        assert channels, "a notifier must serve at least one channel"
        assert all(isinstance(c, str) and c for c in channels), f"bad channels {channels!r}"

    def test_a_sent_message_gets_the_providers_reference(self, notifier: Notifier) -> None:
        result = notifier.send(self.message(notifier))
        assert isinstance(result, SendResult), f"send returned {result!r}, not a SendResult"
        assert isinstance(result.reference, str), "a sent message must carry a reference"
        assert result.reference, "the reference must not be empty"

    def test_a_sent_message_is_never_reported_not_sent(self, notifier: Notifier) -> None:
        message = self.message(notifier)
        notifier.send(message)
        answer = notifier.status(message.key)
        assert answer in (DeliveryStatus.SENT, None), (
            f"status() said {answer!r} about a message it just sent"
        )

    def test_a_key_never_sent_is_never_reported_sent(self, notifier: Notifier) -> None:
        answer = notifier.status(f"never-sent-{uuid.uuid4().hex}")
        assert answer in (DeliveryStatus.NOT_SENT, None), (
            f"status() said {answer!r} about a key it was never given"
        )

    def test_the_same_key_twice_is_still_reported_sent_or_unknown(self, notifier: Notifier) -> None:
        message = self.message(notifier)
        notifier.send(message)
        try:
            notifier.send(message)
        except NotifierTimeout:
            pytest.fail("a repeated key must not be reported as a timeout")
        except NotifierError:
            pass  # refusing a key it has seen is allowed
        answer = notifier.status(message.key)
        assert answer in (DeliveryStatus.SENT, None), (
            f"status() said {answer!r} about a key sent twice"
        )

    def test_a_timeout_is_raised_as_notifier_timeout(self) -> None:
        notifier = self.make_timing_out_notifier()
        if notifier is None:
            pytest.skip("no make_timing_out_notifier()")
        try:
            notifier.send(self.message(notifier))
        except NotifierTimeout:
            return
        except Exception as exc:
            pytest.fail(f"a timeout must raise NotifierTimeout, not {type(exc).__name__}: {exc}")
        pytest.fail("the timing-out notifier returned instead of raising NotifierTimeout")

    def test_a_failure_is_a_notifier_error_and_not_a_timeout(self) -> None:
        notifier = self.make_failing_notifier()
        if notifier is None:
            pytest.skip("no make_failing_notifier()")
        with pytest.raises(NotifierError) as raised:
            notifier.send(self.message(notifier))
        assert not isinstance(raised.value, NotifierTimeout), (
            "a failure that is known not to have sent must not be a NotifierTimeout"
        )

    def test_a_channel_it_does_not_serve_is_refused_for_good(self, notifier: Notifier) -> None:
        if ANY_CHANNEL in notifier.channels:
            pytest.skip("the notifier serves every channel")
        message = Notification(
            key=f"contract-{uuid.uuid4().hex}",
            channel="no-such-channel",
            recipient=self.recipient,
            payload={},
        )
        with pytest.raises(NotifierError) as raised:
            notifier.send(message)
        assert not isinstance(raised.value, NotifierTimeout)
        assert raised.value.retryable is False, "an unserved channel cannot succeed on retry"
