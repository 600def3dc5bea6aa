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

A :class:`~crmkit.workflows.notify.BatchNotifier` (``max_batch`` and ``send_batch``) is also
held to these (the batch tests skip for other notifiers):

- ``max_batch`` is a positive ``int``.
- ``send_batch`` returns exactly one outcome per message, in the messages' order: a
  ``SendResult`` with a non-empty reference, or that message's ``NotifierError``; or it
  raises a ``NotifierError`` for all of them. A message it returned a ``SendResult`` for is
  never reported ``NOT_SENT``.
- A batch that times out is unknown for every message: ``NotifierTimeout`` raised, or one
  per message.
- With ``make_partly_failing_batch_notifier`` (optional), the recipients it names get a
  ``NotifierError`` and the others of the same batch a ``SendResult``::

        def make_partly_failing_batch_notifier(self):
            stub.refuse("+8613800138001")
            return MyGateway(...), {"+8613800138001"}
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence

import pytest

from crmkit.workflows.notify import (
    ANY_CHANNEL,
    BatchNotifier,
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
    # The recipients of a batch (cut to max_batch); a partly failing batch adds its own.
    batch_recipients: tuple[str, ...] = ("+8613800138000", "+8613800138001", "+8613800138002")

    def make_notifier(self) -> Notifier:
        """A notifier that can send (to a sandbox). Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_notifier()")

    def make_timing_out_notifier(self) -> Notifier | None:
        """A notifier whose sends time out (None skips the timeout test)."""
        return None

    def make_failing_notifier(self) -> Notifier | None:
        """A notifier whose sends fail without timing out (None skips that test)."""
        return None

    def make_partly_failing_batch_notifier(self) -> tuple[Notifier, Collection[str]] | None:
        """A batch notifier that refuses some recipients of a batch and sends to the others,
        and the recipients it refuses (None skips that test)."""
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

    def batch(
        self, notifier: Notifier, recipients: Sequence[str] | None = None
    ) -> list[Notification]:
        """One message to each of ``recipients`` (default: ``batch_recipients`` cut to
        ``max_batch``) with one payload, keyed as crmkit keys them (``<key>:<recipient>``)."""
        if recipients is None:
            most = notifier.max_batch if isinstance(notifier, BatchNotifier) else 1
            recipients = self.batch_recipients[: max(most, 1)]
        base = f"contract-batch-{uuid.uuid4().hex}"
        return [
            Notification(
                key=f"{base}:{recipient}",
                channel=self._channel(notifier),
                recipient=recipient,
                payload={"template": "contract_test", "variables": {"name": "张三"}},
            )
            for recipient in recipients
        ]

    @staticmethod
    def _batch_notifier(notifier: Notifier) -> BatchNotifier:
        if not isinstance(notifier, BatchNotifier):
            pytest.skip("not a BatchNotifier (no max_batch and send_batch)")
        return notifier

    @staticmethod
    def _check_outcomes(
        messages: Sequence[Notification], outcomes: Sequence[SendResult | NotifierError]
    ) -> None:
        assert len(outcomes) == len(messages), (
            f"send_batch returned {len(outcomes)} outcomes for {len(messages)} messages"
        )
        for message, outcome in zip(messages, outcomes, strict=True):
            assert isinstance(outcome, SendResult | NotifierError), (
                f"the outcome for {message.recipient} is {outcome!r}, "
                "neither a SendResult nor a NotifierError"
            )
            if isinstance(outcome, SendResult):
                assert isinstance(outcome.reference, str) and outcome.reference, (
                    f"the SendResult for {message.recipient} carries no reference"
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

    # -- batches (BatchNotifier only) --------------------------------------------------------
    def test_a_batch_notifier_takes_a_positive_number_of_messages(self, notifier: Notifier) -> None:
        batch = self._batch_notifier(notifier)
        most = batch.max_batch
        assert isinstance(most, int) and not isinstance(most, bool), f"max_batch is {most!r}"
        assert most > 0, f"max_batch must be positive, not {most}"

    def test_a_batch_gets_one_outcome_per_message_in_order(self, notifier: Notifier) -> None:
        batch = self._batch_notifier(notifier)
        messages = self.batch(batch)
        outcomes = batch.send_batch(messages)
        self._check_outcomes(messages, outcomes)

    def test_a_batch_sent_is_never_reported_not_sent(self, notifier: Notifier) -> None:
        batch = self._batch_notifier(notifier)
        messages = self.batch(batch)
        outcomes = batch.send_batch(messages)
        for message, outcome in zip(messages, outcomes, strict=True):
            if isinstance(outcome, SendResult):
                answer = batch.status(message.key)
                assert answer in (DeliveryStatus.SENT, None), (
                    f"status() said {answer!r} about {message.recipient}, sent in a batch"
                )

    def test_a_batch_on_a_channel_it_does_not_serve_is_refused_for_good(
        self, notifier: Notifier
    ) -> None:
        batch = self._batch_notifier(notifier)
        if ANY_CHANNEL in batch.channels:
            pytest.skip("the notifier serves every channel")
        messages = [
            Notification(key=m.key, channel="no-such-channel", recipient=m.recipient, payload={})
            for m in self.batch(batch)
        ]
        try:
            outcomes = batch.send_batch(messages)
        except NotifierError as exc:
            errors = [exc] * len(messages)
        else:
            self._check_outcomes(messages, outcomes)
            errors = [o for o in outcomes if isinstance(o, NotifierError)]
            assert len(errors) == len(messages), "a channel it does not serve was sent on"
        for error in errors:
            assert not isinstance(error, NotifierTimeout)
            assert error.retryable is False, "an unserved channel cannot succeed on retry"

    def test_a_batch_that_times_out_says_so(self) -> None:
        """A batch whose sending timed out raises ``NotifierTimeout`` (unknown for all), or
        returns at least one ``NotifierTimeout``: a notifier that sends one message at a
        time (SMTP over one connection) knows which one got no answer; the ones it never
        attempted after it are retryable errors, never a made-up success."""
        notifier = self.make_timing_out_notifier()
        if notifier is None:
            pytest.skip("no make_timing_out_notifier()")
        batch = self._batch_notifier(notifier)
        messages = self.batch(batch)
        try:
            outcomes = batch.send_batch(messages)
        except NotifierTimeout:
            return
        except Exception as exc:
            pytest.fail(f"a timeout must raise NotifierTimeout, not {type(exc).__name__}: {exc}")
        self._check_outcomes(messages, outcomes)
        assert any(isinstance(o, NotifierTimeout) for o in outcomes), (
            f"a batch that timed out must report the timeout, not {outcomes!r}"
        )
        for outcome in outcomes[[isinstance(o, NotifierTimeout) for o in outcomes].index(True) :]:
            assert not isinstance(outcome, SendResult), (
                f"a message after the timeout cannot have been sent: {outcomes!r}"
            )
            if not isinstance(outcome, NotifierTimeout):
                assert outcome.retryable, f"a message never attempted is retryable: {outcome!r}"

    def test_a_partly_failing_batch_fails_only_those_recipients(self) -> None:
        made = self.make_partly_failing_batch_notifier()
        if made is None:
            pytest.skip("no make_partly_failing_batch_notifier()")
        notifier, failing = made
        batch = self._batch_notifier(notifier)
        recipients = list(dict.fromkeys([*self.batch_recipients, *sorted(failing)]))
        assert len(recipients) <= batch.max_batch, "the batch recipients exceed max_batch"
        messages = self.batch(batch, recipients)
        outcomes = batch.send_batch(messages)
        self._check_outcomes(messages, outcomes)
        for message, outcome in zip(messages, outcomes, strict=True):
            if message.recipient in failing:
                assert isinstance(outcome, NotifierError), (
                    f"{message.recipient} should have failed, got {outcome!r}"
                )
            else:
                assert isinstance(outcome, SendResult), (
                    f"{message.recipient} should have been sent, got {outcome!r}"
                )
