"""Email through an SMTP server (the company's mailbox, 企业邮箱, a relay), with the stdlib.

:class:`SmtpNotifier` implements the notifier port
(:class:`crmkit.workflows.notify.BatchNotifier`): ``crm.dispatch()`` hands it messages of the
``email`` channel and it sends one mail per message, a batch over one connection.

What is known about a send, and what is not:

- before the ``DATA`` command nothing can have been delivered: a refused connection, a DNS
  failure, a timeout, a disconnect are a :class:`~crmkit.workflows.notify.NotifierError`
  (retried later); a refused login, a server without ``STARTTLS`` when it is required, a
  refused sender or recipient (``5xx``) are not retryable; a ``4xx`` is;
- once ``DATA`` has been issued, a timeout or a disconnect leaves the outcome unknown: the
  server may have queued the mail before the line went quiet. That is a
  :class:`~crmkit.workflows.notify.NotifierTimeout`, which crmkit never resends blindly;
- SMTP has no way to ask later whether a mail was accepted, so ``status(key)`` answers
  ``SENT`` for the keys this instance delivered and None (cannot tell) for any other.

Every mail carries a ``Message-ID`` derived from its key (and the key itself in
``X-Crmkit-Key``): a copy sent twice after a person resolved a doubtful send is the same
message to mail clients that fold duplicates, and a mail log can be searched for a key.
"""

from __future__ import annotations

import email.errors
import email.policy
import hashlib
import logging
import os
import smtplib
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Literal, NamedTuple, cast

from crmkit.workflows.notify import (
    DeliveryStatus,
    Notification,
    NotifierError,
    NotifierTimeout,
    SendResult,
    payload_variables,
)

log = logging.getLogger("crmkit.notify.smtp")

Security = Literal["starttls", "ssl", "none"]
_DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}

# Text parts are built 7-bit clean (Chinese text goes out as base64): any server relays them,
# whether or not it offers 8BITMIME. Only a message to an address that is not ASCII needs
# SMTPUTF8, and then it is serialised with utf8 headers.
_POLICY = email.policy.SMTP.clone(cte_type="7bit")
_UTF8_POLICY = email.policy.SMTP.clone(utf8=True)


class _Mail(NamedTuple):
    """A message built and serialised, ready for one SMTP transaction."""

    key: str
    recipient: str  # the envelope address
    message_id: str
    body: bytes
    utf8: bool  # an address that is not ASCII: needs the server's SMTPUTF8


class _ConnectionLost(Exception):
    """The connection cannot carry another message.

    ``outcome`` is the current message's; ``known`` says whether it stands (a refusal, or
    a timeout after DATA) or nothing happened to the message, which may go on a new
    connection.
    """

    def __init__(self, outcome: NotifierError, *, known: bool) -> None:
        super().__init__(str(outcome))
        self.outcome = outcome
        self.known = known


def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` of the mail sent under ``key``: the same key gives the same id.

    The key is hashed because a Message-ID may hold neither the ``:`` and ``@`` of a
    crmkit key nor its non-ASCII characters.
    """
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}.crmkit@{domain}>"


def _by_code(code: int, what: str, reply: bytes | str) -> NotifierError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    # 4xx is the server's "not now" (greylisting, a full mailbox, a busy queue); 5xx is "no".
    return NotifierError(f"{what}: {code} {text}".strip(), retryable=400 <= code < 500)


class SmtpNotifier:
    """Sends email through an SMTP server, one mail per message, a batch per connection.

    Payload: ``subject`` (default: the ``template`` code), ``text`` (default: the template
    variables, one ``name: value`` line each) and an optional ``html`` alternative.

    Thread-safe: every send opens its own connection; only the record of sent keys is shared.

    Args:
        host: the server's name or address.
        port: its port (587 for STARTTLS, 465 for implicit TLS, 25 for none).
        sender: the ``From`` address, optionally with a name (``"客服 <crm@example.com>"``).
        username: the login, if the server requires one.
        password: its password (an authorisation code for most Chinese mailboxes).
        security: ``"starttls"`` (upgrade a plain connection, required to succeed),
            ``"ssl"`` (TLS from the first byte) or ``"none"`` (a relay on a trusted network).
        timeout: seconds to wait for the server at each step.
        ssl_context: how to verify the server (default: the system's trusted CAs).
        channels: the channels it serves.
        local_hostname: the name given in ``EHLO`` (default: this host's FQDN).

    Raises:
        ValueError: an unknown ``security`` or a sender without an address.
    """

    max_batch = 50
    """Messages per connection: a batch must not hold one connection for long, and some
    servers close a connection after a number of messages."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: Security = "starttls",
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        channels: Iterable[str] = ("email",),
        local_hostname: str | None = None,
    ) -> None:
        if security not in _DEFAULT_PORTS:
            raise ValueError(f"security must be starttls, ssl or none, not {security!r}")
        envelope = parseaddr(sender)[1]
        if "@" not in envelope:
            raise ValueError(f"the sender {sender!r} has no email address")
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self._password = password
        self.security = security
        self.timeout = timeout
        self._ssl_context = ssl_context
        self._channels = frozenset(channels)
        self.local_hostname = local_hostname
        self._envelope_sender = envelope
        self._domain = envelope.rpartition("@")[2]
        self._sent: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpNotifier:
        """A notifier configured by environment variables (the ``smtp`` entry point).

        ``CRMKIT_SMTP_HOST`` (required), ``CRMKIT_SMTP_PORT`` (default by security: 587,
        465 or 25), ``CRMKIT_SMTP_USER``, ``CRMKIT_SMTP_PASSWORD``, ``CRMKIT_SMTP_SENDER``
        (default: the user, when it is an address) and ``CRMKIT_SMTP_SECURITY``
        (``starttls``, ``ssl`` or ``none``; default ``starttls``).

        Args:
            environ: where to read them (default: ``os.environ``).

        Raises:
            ValueError: no host, no sender, a port that is not a number, an unknown security.
        """
        env = os.environ if environ is None else environ
        host = env.get("CRMKIT_SMTP_HOST", "").strip()
        if not host:
            raise ValueError("CRMKIT_SMTP_HOST is not set (the SMTP server to send mail through)")
        security = env.get("CRMKIT_SMTP_SECURITY", "starttls").strip().lower() or "starttls"
        if security not in _DEFAULT_PORTS:
            raise ValueError(f"CRMKIT_SMTP_SECURITY must be starttls, ssl or none: {security!r}")
        raw_port = env.get("CRMKIT_SMTP_PORT", "").strip()
        try:
            port = int(raw_port) if raw_port else _DEFAULT_PORTS[security]
        except ValueError:
            raise ValueError(f"CRMKIT_SMTP_PORT is not a number: {raw_port!r}") from None
        user = env.get("CRMKIT_SMTP_USER") or None
        sender = env.get("CRMKIT_SMTP_SENDER") or (user if user and "@" in user else None)
        if not sender:
            raise ValueError("CRMKIT_SMTP_SENDER is not set (the From address)")
        return cls(
            host,
            port,
            sender=sender,
            username=user,
            password=env.get("CRMKIT_SMTP_PASSWORD") or None,
            security=cast(Security, security),  # checked above
        )

    def __repr__(self) -> str:  # no password here: reprs end up in logs
        return (
            f"SmtpNotifier({self.host!r}, {self.port}, sender={self.sender!r}, "
            f"username={self.username!r}, security={self.security!r})"
        )

    @property
    def channels(self) -> frozenset[str]:
        return self._channels

    # -- the port ----------------------------------------------------------------------------
    def send(self, message: Notification) -> SendResult:
        """Send one mail; returns its ``Message-ID`` as the reference.

        Raises:
            NotifierTimeout: the connection failed after ``DATA``: the outcome is unknown.
            NotifierError: the mail was not sent (see the module docstring for which are
                retryable).
        """
        outcome = self.send_batch([message])[0]
        if isinstance(outcome, NotifierError):
            raise outcome
        return outcome

    def send_batch(self, messages: Sequence[Notification]) -> list[SendResult | NotifierError]:
        """Send one mail per message over one connection; one outcome per message, in order.

        A message refused (a bad recipient, a ``5xx`` to its data) fails alone and the
        connection goes on. A connection dropped before a mail's data is opened again once
        per batch. After a timeout in a mail's data (that mail: ``NotifierTimeout``), or once
        the connection cannot be had again, the messages not reached get a retryable
        ``NotifierError``: nothing was sent for them, and a retry is better than more mails
        in doubt.

        Raises:
            NotifierError: the connection could not be opened or logged into, so no message
                was sent.
        """
        outcomes: list[SendResult | NotifierError | None] = [None] * len(messages)
        todo: list[tuple[int, _Mail]] = []
        for i, message in enumerate(messages):
            built = self._build(message)
            if isinstance(built, NotifierError):
                outcomes[i] = built
            else:
                todo.append((i, built))
        if todo:
            self._send_all(todo, outcomes)
        return [o if o is not None else NotifierError("not attempted") for o in outcomes]

    def status(self, key: str) -> DeliveryStatus | None:
        """``SENT`` for a key this instance delivered; otherwise None, since SMTP cannot be
        asked about a mail afterwards."""
        with self._lock:
            return DeliveryStatus.SENT if key in self._sent else None

    # -- building ----------------------------------------------------------------------------
    def _build(self, message: Notification) -> _Mail | NotifierError:
        if message.channel not in self._channels:
            return NotifierError(f"channel {message.channel!r} is not served", retryable=False)
        recipient = parseaddr(message.recipient)[1]
        if "@" not in recipient:
            return NotifierError(f"not an email address: {message.recipient!r}", retryable=False)
        payload = message.payload
        subject = str(payload.get("subject") or payload.get("template") or "")
        text = payload.get("text")
        if not text:
            text = "".join(f"{k}: {v}\n" for k, v in payload_variables(payload).items())
        utf8 = not (recipient.isascii() and self._envelope_sender.isascii())
        mail = EmailMessage(policy=_UTF8_POLICY if utf8 else _POLICY)
        ident = message_id(message.key, self._domain)
        try:
            mail["From"] = self.sender
            mail["To"] = message.recipient
            mail["Subject"] = subject
            mail["Date"] = formatdate(usegmt=True)
            mail["Message-ID"] = ident
            mail["X-Crmkit-Key"] = message.key
            mail.set_content(str(text))
            html = payload.get("html")
            if html:
                mail.add_alternative(str(html), subtype="html")
            body = mail.as_bytes()
        except (ValueError, TypeError, email.errors.MessageError) as exc:
            # a line break in a header, an address the policy cannot write: never sendable
            return NotifierError(f"cannot build the mail: {exc}", retryable=False)
        return _Mail(message.key, recipient, ident, body, utf8)

    # -- sending -----------------------------------------------------------------------------
    def _send_all(
        self, todo: list[tuple[int, _Mail]], outcomes: list[SendResult | NotifierError | None]
    ) -> None:
        smtp: smtplib.SMTP | None = self._connect()  # raises: the whole batch failed
        reconnects = 1  # a lost connection is opened again once per batch, not per message
        try:
            pending = list(todo)
            while pending:
                i, mail = pending[0]
                if smtp is None:
                    if not reconnects:
                        lost = NotifierError("not sent: the connection was lost before it")
                        for j, _ in pending:
                            outcomes[j] = lost
                        return
                    reconnects -= 1
                    try:
                        smtp = self._connect()
                    except NotifierError as exc:
                        for j, _ in pending:
                            outcomes[j] = exc
                        return
                try:
                    outcomes[i] = self._transact(smtp, mail)
                except _ConnectionLost as exc:
                    smtp.close()
                    smtp = None
                    if isinstance(exc.outcome, NotifierTimeout):
                        # A server that went quiet mid-mail would likely do it again, and each
                        # mail in doubt waits for a person: the rest wait for a retry instead.
                        reconnects = 0
                    elif not exc.known and reconnects:
                        continue  # nothing was sent: try this message on a new connection
                    outcomes[i] = exc.outcome
                pending.pop(0)
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except (smtplib.SMTPException, OSError):  # the mails are accepted already
                    smtp.close()

    def _connect(self) -> smtplib.SMTP:
        where = f"{self.host}:{self.port}"
        try:
            smtp: smtplib.SMTP
            if self.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                    context=self._context(),
                )
            else:
                smtp = smtplib.SMTP(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
                )
            try:
                smtp.ehlo_or_helo_if_needed()
                if self.security == "starttls":
                    smtp.starttls(context=self._context())
                    smtp.ehlo_or_helo_if_needed()  # the capabilities change under TLS
                if self.username is not None:
                    smtp.login(self.username, self._password or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            # the same password will be refused again; the outbox must not burn attempts on it
            raise NotifierError(
                f"{where}: login refused for {self.username!r}: {exc.smtp_code}", retryable=False
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS or no AUTH: configuration
            raise NotifierError(f"{where}: {exc}", retryable=False) from exc
        except smtplib.SMTPException as exc:  # a bad greeting, a HELO refused: maybe later
            raise NotifierError(f"{where}: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:  # refused, unknown host, timeout, TLS handshake: nothing sent
            raise NotifierError(f"{where}: {type(exc).__name__}: {exc}") from exc
        return smtp

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _transact(self, smtp: smtplib.SMTP, mail: _Mail) -> SendResult | NotifierError:
        """One MAIL/RCPT/DATA transaction. Raises ``_ConnectionLost`` when the connection
        cannot go on, with the message's outcome (a timeout once DATA was issued)."""
        options: list[str] = []
        if mail.utf8:
            if not smtp.has_extn("smtputf8"):
                return NotifierError(
                    f"the server cannot take the address {mail.recipient!r} (no SMTPUTF8)",
                    retryable=False,
                )
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        data_issued = False
        try:
            code, reply = smtp.mail(self._envelope_sender, options)
            if code != 250:
                refused = _by_code(code, "sender refused", reply)
                self._reset(smtp, refused)
                return refused
            code, reply = smtp.rcpt(mail.recipient)
            if code not in (250, 251):
                refused = _by_code(code, f"recipient {mail.recipient} refused", reply)
                self._reset(smtp, refused)
                return refused
            data_issued = True
            code, reply = smtp.data(mail.body)
        except smtplib.SMTPDataError as exc:  # DATA itself refused: no content was sent
            return _by_code(exc.smtp_code, "data refused", exc.smtp_error)
        except OSError as exc:  # smtplib's errors are OSErrors too: timeouts, disconnects
            if data_issued:
                # The server may have queued the mail before going quiet: unknown, not failed.
                raise _ConnectionLost(
                    NotifierTimeout(f"no answer after DATA: {type(exc).__name__}: {exc}"),
                    known=True,
                ) from exc
            raise _ConnectionLost(
                NotifierError(f"connection lost before DATA: {type(exc).__name__}: {exc}"),
                known=False,
            ) from exc
        if code != 250:
            return _by_code(code, "mail refused", reply)
        with self._lock:
            self._sent[mail.key] = mail.message_id
        log.info("sent %s to %s (%s)", mail.message_id, mail.recipient, mail.key)
        return SendResult(mail.message_id)

    @staticmethod
    def _reset(smtp: smtplib.SMTP, outcome: NotifierError) -> None:
        """End a refused transaction so the next message can start its own."""
        try:
            smtp.rset()
        except OSError as exc:
            raise _ConnectionLost(outcome, known=True) from exc
