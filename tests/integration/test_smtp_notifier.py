"""The SMTP notifier against a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS with
a login, and TLS from the first byte, with a certificate made for the test."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import ipaddress
import shutil
import socket
import ssl
import subprocess
import tomllib
from collections.abc import Iterator
from email.message import EmailMessage
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

import crmkit
from crmkit import SYSTEM
from crmkit.adapters.smtp import SmtpNotifier, message_id
from crmkit.testing.contract import NotifierContract
from crmkit.workflows.notify import (
    DeliveryStatus,
    Notification,
    Notifier,
    NotifierError,
    NotifierTimeout,
    SendResult,
)

ROOT = Path(__file__).resolve().parents[2]
SENDER = "客服 <crm@example.com>"
USER, PASSWORD = "crm@example.com", "auth-code-1"
TIMEOUT = 0.3  # what the timing-out tests wait for; the server outlasts it by far


# -- a server that records what it receives -------------------------------------------------
class Inbox:
    """An aiosmtpd handler (its ``handle_*`` hooks): keeps each mail with the connection it
    came on; replies to a recipient or to a mail's data as told; may go quiet in DATA or in
    RCPT, or hang up at the next MAIL once a connection carried ``hang_up_after`` mails."""

    def __init__(self, *, quiet_in: str | None = None, hang_up_after: int | None = None) -> None:
        self.mails: list[tuple[Envelope, tuple[str, int]]] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: dict[str, str] = {}
        self.quiet_in = quiet_in
        self.hang_up_after = hang_up_after

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        carried = sum(peer == session.peer for _, peer in self.mails)
        if self.hang_up_after is not None and carried >= self.hang_up_after:
            assert server.transport is not None
            server.transport.close()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.quiet_in == "RCPT":
            await asyncio.sleep(30)  # cancelled when the server stops
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.quiet_in == "DATA":
            await asyncio.sleep(30)
        for address in envelope.rcpt_tos:
            if address in self.data_replies:
                return self.data_replies[address]
        self.mails.append((envelope, session.peer))
        return "250 2.0.0 queued"

    def parsed(self) -> list[EmailMessage]:
        out = []
        for envelope, _ in self.mails:
            assert isinstance(envelope.content, bytes)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            assert isinstance(message, EmailMessage)
            out.append(message)
        return out


class LocalController(Controller):
    """A Controller on a port the system picks (aiosmtpd's own start-up check needs it known
    before connecting)."""

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def serve(handler: Inbox, **options: Any) -> LocalController:
    controller = LocalController(handler, hostname="127.0.0.1", port=0, **options)
    controller.start()
    return controller


def content(part: EmailMessage) -> str:
    """A text part's content with Python's line ends (MIME text travels with CRLF)."""
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- a certificate for 127.0.0.1 --------------------------------------------------------------
def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1, with ``cryptography`` or ``openssl``."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        if shutil.which("openssl") is None:
            pytest.skip("neither the cryptography package nor openssl to make a certificate")
        command = [
            *("openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)),
        ]
        subprocess.run(command, check=True, capture_output=True)
        return cert, key
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture(scope="module")
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def check_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    # handled=False: aiosmtpd answers the failure itself (535)
    return AuthResult(success=ok, handled=False, auth_data=data)


# -- servers ------------------------------------------------------------------------------------
@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A plain server (no TLS, no login): (its handler, its port)."""
    handler = Inbox()
    controller = serve(handler)
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def secure_inbox(server_tls: ssl.SSLContext) -> Iterator[tuple[Inbox, int]]:
    """A server that requires STARTTLS and then a login."""
    handler = Inbox()
    controller = serve(
        handler,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=check_login,
        auth_required=True,
    )
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def quiet_inbox() -> Iterator[tuple[Inbox, int]]:
    """A server that never answers the end of DATA."""
    handler = Inbox(quiet_in="DATA")
    controller = serve(handler)
    yield handler, controller.port
    controller.stop()


def plain(port: int, **options: Any) -> SmtpNotifier:
    return SmtpNotifier("127.0.0.1", port, sender=SENDER, security="none", **options)


def mail(key: str, recipient: str = "zhang@example.com", **payload: Any) -> Notification:
    return Notification(key=key, channel="email", recipient=recipient, payload=payload)


# -- the contract ------------------------------------------------------------------------------
RECIPIENTS = ("a@example.com", "b@example.com", "c@example.com")


class TestSmtpNotifierContract(NotifierContract):
    channel = "email"
    recipient = "zhang@example.com"
    batch_recipients = RECIPIENTS

    @pytest.fixture(autouse=True)
    def _servers(self, inbox: tuple[Inbox, int], quiet_inbox: tuple[Inbox, int]) -> None:
        self.inbox, self.port = inbox
        self.quiet_port = quiet_inbox[1]

    def make_notifier(self) -> Notifier:
        return plain(self.port)

    def make_timing_out_notifier(self) -> Notifier:
        return plain(self.quiet_port, timeout=TIMEOUT)

    def make_failing_notifier(self) -> Notifier:
        return plain(closed_port())

    def make_partly_failing_batch_notifier(self) -> tuple[Notifier, set[str]]:
        self.inbox.rcpt_replies["nobody@example.com"] = "550 5.1.1 no such user"
        return plain(self.port), {"nobody@example.com"}

    def test_only_the_unanswered_mail_of_a_batch_is_in_doubt(self) -> None:
        """SMTP sends a batch as one transaction per mail: only the mail whose data went
        unanswered is in doubt; the mails after it were never started, so they are
        retryable failures, not more mails for a person to resolve."""
        batch = self.make_timing_out_notifier()
        assert isinstance(batch, SmtpNotifier)
        outcomes = batch.send_batch(self.batch(batch))
        assert isinstance(outcomes[0], NotifierTimeout)
        for later in outcomes[1:]:
            assert isinstance(later, NotifierError) and not isinstance(later, NotifierTimeout)
            assert later.retryable


class TestSmtpNotifierContractOverStarttls(NotifierContract):
    channel = "email"
    recipient = "zhang@example.com"
    batch_recipients = RECIPIENTS

    @pytest.fixture(autouse=True)
    def _server(self, secure_inbox: tuple[Inbox, int], client_tls: ssl.SSLContext) -> None:
        self.inbox, self.port = secure_inbox
        self.tls = client_tls

    def make_notifier(self, port: int | None = None) -> SmtpNotifier:
        return SmtpNotifier(
            "127.0.0.1",
            port or self.port,
            sender=SENDER,
            username=USER,
            password=PASSWORD,
            ssl_context=self.tls,
        )

    def make_failing_notifier(self) -> Notifier:
        return self.make_notifier(closed_port())

    def make_partly_failing_batch_notifier(self) -> tuple[Notifier, set[str]]:
        self.inbox.rcpt_replies["b@example.com"] = "550 5.1.1 no such user"
        return self.make_notifier(), {"b@example.com"}


# -- what arrives ------------------------------------------------------------------------------
def test_a_mail_arrives_with_its_subject_text_html_and_an_id_made_from_its_key(inbox):
    handler, port = inbox
    result = plain(port).send(
        mail(
            "welcome:c1:zhang@example.com",
            subject="欢迎合作 Welcome",
            text="张总您好：\n感谢您的订单。\n",
            html="<p>张总您好：感谢您的订单。</p>",
        )
    )
    [(envelope, _)] = handler.mails
    assert envelope.mail_from == "crm@example.com"
    assert envelope.rcpt_tos == ["zhang@example.com"]
    assert isinstance(envelope.content, bytes)
    assert envelope.content.isascii(), "the Chinese text travels 7-bit clean"
    [received] = handler.parsed()
    assert received["Subject"] == "欢迎合作 Welcome"
    assert str(received["From"]) == SENDER
    assert received["Message-ID"] == message_id("welcome:c1:zhang@example.com", "example.com")
    assert result.reference == received["Message-ID"]
    assert received["X-Crmkit-Key"] == "welcome:c1:zhang@example.com"
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    assert content(text) == "张总您好：\n感谢您的订单。\n"
    assert content(html).strip() == "<p>张总您好：感谢您的订单。</p>"


def test_without_subject_and_text_the_template_and_its_variables_are_sent(inbox):
    handler, port = inbox
    plain(port).send(mail("k", template="birthday", variables={"name": "张三", "date": "3月8日"}))
    [received] = handler.parsed()
    assert received["Subject"] == "birthday"
    assert not received.is_multipart()
    assert content(received) == "name: 张三\ndate: 3月8日\n"


def test_the_same_key_always_gets_the_same_message_id():
    assert message_id("k1:a@example.com", "example.com") == message_id(
        "k1:a@example.com", "example.com"
    )
    assert message_id("k1:a@example.com", "example.com") != message_id(
        "k2:a@example.com", "example.com"
    )


def test_status_knows_only_what_this_instance_delivered(inbox):
    _, port = inbox
    notifier = plain(port)
    notifier.send(mail("sent-here"))
    assert notifier.status("sent-here") is DeliveryStatus.SENT
    assert plain(port).status("sent-here") is None, "another instance cannot tell"


def test_a_mail_goes_out_over_starttls_with_a_login(secure_inbox, client_tls):
    handler, port = secure_inbox
    notifier = SmtpNotifier(
        "127.0.0.1", port, sender=SENDER, username=USER, password=PASSWORD, ssl_context=client_tls
    )
    notifier.send(mail("k", subject="你好", text="正文"))
    [received] = handler.parsed()
    assert (received["Subject"], content(received)) == ("你好", "正文\n")


def test_a_mail_goes_out_over_tls_from_the_first_byte(server_tls, client_tls):
    handler = Inbox()
    controller = serve(handler, ssl_context=server_tls)
    try:
        notifier = SmtpNotifier(
            "127.0.0.1", controller.port, sender=SENDER, security="ssl", ssl_context=client_tls
        )
        notifier.send(mail("k", subject="你好", text="正文"))
    finally:
        controller.stop()
    assert [m["Subject"] for m in handler.parsed()] == ["你好"]


def test_a_server_whose_certificate_is_not_trusted_is_not_sent_to(secure_inbox):
    handler, port = secure_inbox
    notifier = SmtpNotifier("127.0.0.1", port, sender=SENDER, username=USER, password=PASSWORD)
    with pytest.raises(NotifierError) as raised:
        notifier.send(mail("k"))
    assert not isinstance(raised.value, NotifierTimeout)
    assert handler.mails == []


# -- batches -----------------------------------------------------------------------------------
def test_a_batch_goes_over_one_connection_and_a_refused_recipient_fails_alone(inbox):
    handler, port = inbox
    handler.rcpt_replies["nobody@example.com"] = "550 5.1.1 no such user"
    handler.rcpt_replies["busy@example.com"] = "451 4.7.1 greylisted, try again later"
    to = ["a@example.com", "nobody@example.com", "busy@example.com", "b@example.com"]
    outcomes = plain(port).send_batch([mail(f"k:{r}", r, subject="通知", text="正文") for r in to])
    assert [type(o) for o in outcomes] == [SendResult, NotifierError, NotifierError, SendResult]
    refused, busy = outcomes[1], outcomes[2]
    assert isinstance(refused, NotifierError) and isinstance(busy, NotifierError)
    assert (refused.retryable, busy.retryable) == (False, True)
    assert "550" in str(refused)
    assert [e.rcpt_tos for e, _ in handler.mails] == [["a@example.com"], ["b@example.com"]]
    assert len({peer for _, peer in handler.mails}) == 1, "one connection for the batch"


def test_a_batch_opens_a_lost_connection_again_once_and_keeps_the_rest_for_later():
    handler = Inbox(hang_up_after=2)  # as servers that cap the mails of a connection do
    controller = serve(handler)
    try:
        outcomes = plain(controller.port).send_batch(
            [mail(f"k:{n}", f"c{n}@example.com") for n in range(6)]
        )
    finally:
        controller.stop()
    assert [type(o) for o in outcomes] == [SendResult] * 4 + [NotifierError] * 2
    assert all(o.retryable for o in outcomes[4:] if isinstance(o, NotifierError))
    assert not any(isinstance(o, NotifierTimeout) for o in outcomes), "nothing was in doubt"
    assert len(handler.mails) == 4
    assert len({peer for _, peer in handler.mails}) == 2


def test_a_refused_mail_is_given_up_on_5xx_and_retried_on_4xx(inbox):
    handler, port = inbox
    handler.data_replies["spam@example.com"] = "554 5.7.1 rejected as spam"
    handler.data_replies["full@example.com"] = "452 4.2.2 mailbox full"
    outcomes = plain(port).send_batch(
        [mail(f"k:{r}", r) for r in ("spam@example.com", "full@example.com", "ok@example.com")]
    )
    spam, full, ok = outcomes
    assert isinstance(spam, NotifierError) and not isinstance(spam, NotifierTimeout)
    assert isinstance(full, NotifierError) and not isinstance(full, NotifierTimeout)
    assert (spam.retryable, full.retryable) == (False, True)
    assert isinstance(ok, SendResult)


def test_a_message_that_cannot_be_a_mail_fails_alone_before_anything_is_sent(inbox):
    handler, port = inbox
    outcomes = plain(port).send_batch(
        [
            mail("k1", "not an address"),
            Notification(key="k2", channel="sms", recipient="a@example.com", payload={}),
            mail("k3", "ok@example.com", subject="bad\r\nBcc: everyone@example.com"),
            mail("k4", "ok@example.com"),
        ]
    )
    assert [o.retryable for o in outcomes[:3] if isinstance(o, NotifierError)] == [False] * 3
    assert isinstance(outcomes[3], SendResult)
    assert [e.rcpt_tos for e, _ in handler.mails] == [["ok@example.com"]]


# -- failures ----------------------------------------------------------------------------------
def test_a_wrong_password_is_not_retried(secure_inbox, client_tls):
    _, port = secure_inbox
    notifier = SmtpNotifier(
        "127.0.0.1", port, sender=SENDER, username=USER, password="wrong", ssl_context=client_tls
    )
    with pytest.raises(NotifierError) as raised:
        notifier.send_batch([mail("k1"), mail("k2")])
    assert raised.value.retryable is False
    assert not isinstance(raised.value, NotifierTimeout)
    assert "wrong" not in str(raised.value) and "wrong" not in repr(notifier)


def test_a_refused_connection_is_retried_later():
    with pytest.raises(NotifierError) as raised:
        plain(closed_port()).send(mail("k"))
    assert raised.value.retryable is True
    assert not isinstance(raised.value, NotifierTimeout)


def test_no_answer_after_data_is_an_unknown_outcome(quiet_inbox):
    _, port = quiet_inbox
    with pytest.raises(NotifierTimeout):
        plain(port, timeout=TIMEOUT).send(mail("k"))


def test_no_answer_before_data_is_a_retryable_failure():
    handler = Inbox(quiet_in="RCPT")
    controller = serve(handler)
    try:
        with pytest.raises(NotifierError) as raised:
            plain(controller.port, timeout=TIMEOUT).send(mail("k"))
    finally:
        controller.stop()
    assert not isinstance(raised.value, NotifierTimeout), "nothing can have been sent"
    assert raised.value.retryable is True


# -- configuration -----------------------------------------------------------------------------
def test_from_env_reads_the_crmkit_smtp_variables():
    notifier = SmtpNotifier.from_env(
        {
            "CRMKIT_SMTP_HOST": "smtp.exmail.qq.com",
            "CRMKIT_SMTP_SECURITY": "ssl",
            "CRMKIT_SMTP_USER": "crm@example.com",
            "CRMKIT_SMTP_PASSWORD": "secret",
        }
    )
    assert (notifier.host, notifier.port, notifier.security) == ("smtp.exmail.qq.com", 465, "ssl")
    assert (notifier.sender, notifier.username) == ("crm@example.com", "crm@example.com")
    with pytest.raises(ValueError, match="CRMKIT_SMTP_HOST"):
        SmtpNotifier.from_env({})


def test_the_smtp_entry_point_builds_a_notifier_from_the_environment(monkeypatch, inbox):
    handler, port = inbox
    table = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    value = table["project"]["entry-points"]["crmkit.notifiers"]["smtp"]
    monkeypatch.setenv("CRMKIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRMKIT_SMTP_PORT", str(port))
    monkeypatch.setenv("CRMKIT_SMTP_SECURITY", "none")
    monkeypatch.setenv("CRMKIT_SMTP_SENDER", "crm@example.com")
    # built as crmkit.load_notifier builds it: the entry point's object, called
    notifier = EntryPoint("smtp", value, "crmkit.notifiers").load()()
    assert isinstance(notifier, SmtpNotifier)
    notifier.send(mail("k"))
    assert len(handler.mails) == 1


# -- end to end --------------------------------------------------------------------------------
def test_dispatch_delivers_a_queued_mail_once(inbox):
    handler, port = inbox
    crm = crmkit.open("memory://", notifier=plain(port))
    try:
        with crm.session(actor=SYSTEM) as s:
            s.queue_notification(
                "email", "a@example.com", {"subject": "你好", "text": "正文"}, key="k1"
            )
        assert crm.dispatch().sent == 1
        assert crm.dispatch().claimed == 0
    finally:
        crm.close()
    [received] = handler.parsed()
    assert (received["To"], received["Subject"], content(received)) == (
        "a@example.com",
        "你好",
        "正文\n",
    )
    assert received["X-Crmkit-Key"] == "k1:a@example.com"
