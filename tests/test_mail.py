"""Email submissions: the RFC 5322 message, a real local SMTP server (aiosmtpd), the .eml outbox,
delivery failures that surely did not reach the server and ones that may have, and secrets."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from payhelp import Payhelp, Settings
from payhelp.cases import DisputeRequest, SubmissionChannel, SubmissionStatus
from payhelp.errors import DeliveryError
from payhelp.mail import SmtpSettings, compose, eml_name, send, write_eml
from payhelp.submissions import idempotency_key

CARD = "4111111111111111"
CARD_GROUPED = "4111 1111 1111 1111"
PASSWORD = "smtp-pw-Zq83!x"
FROM = "disputes@platform.example"
WEBBILLING = "usersupport@webbilling.com"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(reversed(range(256))) * 4


# -- a real SMTP server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Inbox:
    """An aiosmtpd handler: keeps what it accepts and counts every transaction started.

    ``mode``: ``accept``; ``451`` (a temporary failure after DATA); ``drop`` (closes the
    connection after DATA without answering); ``refuse_rcpt`` (550 on RCPT TO)."""

    def __init__(self) -> None:
        self.mode = "accept"
        self.port = 0
        self.transactions = 0
        self.data_commands = 0
        self.envelopes: list[Any] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options) -> str:
        self.transactions += 1
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if self.mode == "refuse_rcpt":
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.data_commands += 1
        if self.mode == "451":
            return "451 4.3.0 Local problem, try again later"
        if self.mode == "drop":
            server.transport.close()
            return "250 OK"
        self.envelopes.append(envelope)
        return "250 2.0.0 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


def _start(inbox: Inbox, port: int, **kwargs: Any) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    inbox.port = port
    return controller


@pytest.fixture
def smtp_server() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = _start(inbox, free_port())
    yield inbox
    controller.stop()


def _authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login == b"billing" and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def auth_server() -> Iterator[Inbox]:
    inbox = Inbox()
    controller = _start(inbox, free_port(), authenticator=_authenticator, auth_require_tls=False)
    yield inbox
    controller.stop()


def smtp(port: int, **changes: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": FROM,
        "timeout": 5,
    } | changes


def make_ph(tmp_path: Path, port: int | None = None, **kwargs: Any) -> Payhelp:
    if port is not None:
        kwargs.setdefault("smtp", smtp(port))
    return Payhelp(
        load_plugins=["webbilling", "wtseticket"],
        store_url=f"sqlite:///{tmp_path / 's.db'}",
        outbox=tmp_path / "outbox",
        **kwargs,
    )


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "transaction": {
            "transaction_id": "WB-778899",
            "references": {"member": "M-4242", "order": "ORD-9"},
            "amount": {"amount": "29.95", "currency": "EUR"},
            "purchased_at": "2026-01-05T10:30:00+00:00",
            "descriptor": "WEBBILLING.COM*CAMS",
            "card_last4": "1111",
        },
        "reason": "duplicate_charge",
        "message": f"I paid twice with my card {CARD_GROUPED}. Please refund one charge.",
        "contact_email": "customer@example.org",
        "card_last4": "1111",
        "amount": {"amount": "29.95", "currency": "EUR"},
        "attachments": [
            {"filename": "receipt.pdf", "content_type": "application/pdf", "data": PDF},
            {"filename": "screenshot.png", "content_type": "image/png", "data": PNG},
        ],
    }
    base.update(changes)
    return base


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def key_of(processor: str = "webbilling", **changes: Any) -> str:
    return idempotency_key(
        processor, DisputeRequest.model_validate(fields(**changes), strict=False)
    )


# -- the message -------------------------------------------------------------------------------------


def test_message_sent_through_smtp_is_complete(tmp_path: Path, smtp_server: Inbox) -> None:
    ph = make_ph(tmp_path, smtp_server.port)
    before = datetime.now(UTC)
    receipt = ph.submit_dispute("webbilling", fields())
    key = key_of()

    assert receipt.status is SubmissionStatus.SENT
    assert receipt.channel is SubmissionChannel.EMAIL
    assert receipt.idempotency_key == key
    assert receipt.reference == f"<{key}@platform.example>"
    assert receipt.location == f"mailto:{WEBBILLING}"
    assert not receipt.replayed

    [envelope] = smtp_server.envelopes
    assert envelope.mail_from == FROM
    assert envelope.rcpt_tos == [WEBBILLING]
    raw: bytes = envelope.content
    [message] = smtp_server.messages()

    # RFC 5322 headers.
    assert message["From"] == FROM
    assert message["To"] == WEBBILLING
    assert message["Reply-To"] == "customer@example.org"
    assert message["Message-ID"] == receipt.reference
    assert message["X-Payhelp-Idempotency-Key"] == key
    assert message["MIME-Version"] == "1.0"
    subject = str(message["Subject"])
    assert "\n" not in subject
    assert subject == (
        "Refund request (charged twice for the same purchase) for transaction WB-778899"
    )
    sent_at = parsedate_to_datetime(message["Date"])
    assert sent_at.tzinfo is not None
    assert before - timedelta(seconds=2) <= sent_at <= datetime.now(UTC) + timedelta(seconds=2)
    assert message.defects == []
    assert message.is_multipart()
    assert message.get_content_type() == "multipart/mixed"

    # The body holds what the processor asks for.
    body = body_of(message)
    assert body.startswith("Hello Webbilling support,")
    for line in (
        "Reason: charged twice for the same purchase",
        "Transaction id: WB-778899",
        "Other references: member M-4242, order ORD-9",
        "Date: 2026-01-05T10:30+00:00",
        "Amount: 29.95 EUR",
        "Amount asked back: 29.95 EUR",
        "Statement line: WEBBILLING.COM*CAMS",
        "Card (last four digits): •••• 1111",
        "Customer email: customer@example.org",
        f"Request reference: {key}",
    ):
        assert line in body.splitlines(), line
    # The customer's words, with the pasted card number masked.
    assert "I paid twice with my card [card …1111]. Please refund one charge." in body
    # Webbilling's own "include" list.
    for item in (
        "- The date and amount of the charge",
        "- The email address you used for the purchase",
        "- The last four digits of the card (never the full number)",
        "- What went wrong, in a few words",
    ):
        assert item in body.splitlines()
    assert body.rstrip().endswith("Please answer the customer at customer@example.org. Thank you.")

    # Never the full card number, in any encoding of any part.
    for needle in (CARD, CARD_GROUPED, "4111-1111"):
        assert needle not in body
        assert needle.encode() not in raw
    assert "4111" not in body

    # The attachments, intact.
    attachments = list(message.iter_attachments())
    assert [(a.get_filename(), a.get_content_type()) for a in attachments] == [
        ("receipt.pdf", "application/pdf"),
        ("screenshot.png", "image/png"),
    ]
    assert attachments[0].get_content() == PDF
    assert attachments[1].get_content() == PNG
    assert all(a.get_content_disposition() == "attachment" for a in attachments)

    # Recorded as sent, with the receipt.
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.SENT
    assert record.receipt == receipt


def test_same_request_twice_sends_one_message(tmp_path: Path, smtp_server: Inbox) -> None:
    ph = make_ph(tmp_path, smtp_server.port)
    first = ph.submit_dispute("webbilling", fields())
    second = ph.submit_dispute("webbilling", fields())
    assert second.replayed
    assert second.reference == first.reference
    assert second.status is SubmissionStatus.SENT
    assert smtp_server.transactions == 1
    assert len(smtp_server.envelopes) == 1
    # Another Payhelp on the same store: still one message.
    other = make_ph(tmp_path, smtp_server.port)
    assert other.submit_dispute("webbilling", fields()).replayed
    assert smtp_server.transactions == 1
    # A different request is a different message.
    ph.submit_dispute("webbilling", fields(reason="not_recognised"))
    assert smtp_server.transactions == 2


def test_message_without_a_transaction_id_names_another_reference(
    tmp_path: Path, smtp_server: Inbox
) -> None:
    ph = make_ph(tmp_path, smtp_server.port)
    tx = {"references": {"member": "M-4242"}, "descriptor": "WEBBILLING.COM*CAMS"}
    ph.submit_dispute(
        "webbilling",
        fields(transaction=tx, attachments=[], card_last4=None, amount=None, message="Who?"),
    )
    [message] = smtp_server.messages()
    assert not message.is_multipart()
    assert str(message["Subject"]).endswith("for transaction member M-4242")
    body = body_of(message)
    assert "Transaction id:" not in body
    assert "Other references: member M-4242" in body
    assert "Card (last four digits)" not in body
    assert "Amount" not in body
    assert "Date:" not in body


@pytest.mark.parametrize("how", ["per call", "setting"])
def test_italian_message(tmp_path: Path, smtp_server: Inbox, how: str) -> None:
    if how == "setting":
        ph = make_ph(tmp_path, smtp_server.port, language="it")
        ph.submit_dispute("webbilling", fields())
    else:
        ph = make_ph(tmp_path, smtp_server.port)
        ph.submit_dispute("webbilling", fields(), language="it")
    [message] = smtp_server.messages()
    subject = str(message["Subject"])
    assert subject == (
        "Richiesta di rimborso (addebito doppio per lo stesso acquisto) per la transazione "
        "WB-778899"
    )
    body = body_of(message)
    assert body.startswith("Gentile assistenza Webbilling,")
    for line in (
        "Motivo: addebito doppio per lo stesso acquisto",
        "ID transazione: WB-778899",
        "Importo: 29.95 EUR",
        "Carta (ultime quattro cifre): •••• 1111",
        "Il cliente scrive:",
        "- La data e l'importo dell'addebito",
        "- Che cosa non ha funzionato, in poche parole",
    ):
        assert line in body.splitlines(), line
    assert "Vi preghiamo di rispondere al cliente all'indirizzo customer@example.org." in body
    assert "Hello" not in body
    assert "Transaction id" not in body
    assert "The date and amount" not in body
    # The customer's own words are not translated, only masked.
    assert "I paid twice with my card [card …1111]." in body


def test_english_and_italian_differ_only_in_words(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    info = ph.processor("webbilling")
    request = DisputeRequest.model_validate(fields(), strict=False)
    en = compose(info, WEBBILLING, request, "ph_k", from_address=FROM, language="en")
    it = compose(info, WEBBILLING, request, "ph_k", from_address=FROM, language="it")
    assert en["Message-ID"] == it["Message-ID"] == "<ph_k@platform.example>"
    assert en["To"] == it["To"]
    assert body_of(en) != body_of(it)
    assert [a.get_content() for a in en.iter_attachments()] == [
        a.get_content() for a in it.iter_attachments()
    ]


# -- without a mail server: the .eml outbox --------------------------------------------------------------


def test_eml_file_without_smtp(tmp_path: Path) -> None:
    ph = make_ph(tmp_path)
    receipt = ph.submit_dispute("webbilling", fields())
    key = key_of()
    outbox = tmp_path / "outbox"
    path = outbox / eml_name("webbilling", key)
    assert key not in path.name  # a key never becomes a file name
    assert receipt.status is SubmissionStatus.PREPARED
    assert receipt.channel is SubmissionChannel.EML_FILE
    assert receipt.location == str(path)
    assert receipt.detail is not None
    assert str(path) in receipt.detail
    assert WEBBILLING in receipt.detail
    assert sorted(p.name for p in outbox.iterdir()) == [path.name]  # no .partial left
    raw = path.read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message.defects == []
    assert message["To"] == WEBBILLING
    assert message["Reply-To"] == "customer@example.org"
    assert message["Message-ID"] == receipt.reference
    assert message["Message-ID"].startswith(f"<{key}@")
    assert "@" in message["From"]
    assert "Transaction id: WB-778899" in body_of(message)
    assert [a.get_content() for a in message.iter_attachments()] == [PDF, PNG]
    assert CARD_GROUPED.encode() not in raw
    assert CARD.encode() not in raw
    # Again: the first receipt, the same single file.
    again = ph.submit_dispute("webbilling", fields())
    assert again.replayed
    assert again.location == receipt.location
    assert len(list(outbox.iterdir())) == 1
    assert ph.disputes()[0].status is SubmissionStatus.PREPARED


def test_write_eml_is_atomic_and_replaces(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "x"
    message.set_content("first")
    outbox = tmp_path / "deep" / "outbox"
    path = write_eml(message, outbox, "ph_abc")
    assert path == outbox / eml_name("payhelp", "ph_abc")
    message.set_content("second")
    write_eml(message, outbox, "ph_abc")
    assert [p.name for p in outbox.iterdir()] == [path.name]
    assert b"second" in path.read_bytes()


def test_unwritable_outbox_is_failed_and_may_be_tried_again(tmp_path: Path) -> None:
    (tmp_path / "outbox").write_text("a file where the folder should be")
    ph = make_ph(tmp_path)
    with pytest.raises(DeliveryError, match="cannot write to the outbox") as caught:
        ph.submit_dispute("webbilling", fields())
    assert caught.value.maybe_applied is False
    assert ph.disputes()[0].status is SubmissionStatus.FAILED
    (tmp_path / "outbox").unlink()
    receipt = ph.submit_dispute("webbilling", fields())
    assert receipt.status is SubmissionStatus.PREPARED
    assert not receipt.replayed
    assert ph.disputes()[0].attempts == 2


# -- delivery failures ---------------------------------------------------------------------------------------


def test_server_down_is_failed_then_sent_once_it_is_up(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    ph = make_ph(tmp_path, port)
    with pytest.raises(DeliveryError) as caught:
        ph.submit_dispute("webbilling", fields())
    assert caught.value.maybe_applied is False
    assert caught.value.processor == "webbilling"
    assert f"127.0.0.1:{port}" in str(caught.value)
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.FAILED
    assert record.error is not None
    assert "DeliveryError" in record.error
    assert record.receipt is None
    assert not (tmp_path / "outbox").exists()  # no .eml fallback when a server is configured

    inbox = Inbox()
    controller = _start(inbox, port)
    try:
        receipt = ph.submit_dispute("webbilling", fields())
    finally:
        controller.stop()
    assert receipt.status is SubmissionStatus.SENT
    assert not receipt.replayed
    assert inbox.transactions == 1
    assert len(inbox.envelopes) == 1
    record = ph.dispute(record.id)
    assert record.status is SubmissionStatus.SENT
    assert record.attempts == 2
    assert record.error is None


def test_refused_recipient_is_failed(tmp_path: Path, smtp_server: Inbox) -> None:
    smtp_server.mode = "refuse_rcpt"
    ph = make_ph(tmp_path, smtp_server.port)
    with pytest.raises(DeliveryError, match="refused") as caught:
        ph.submit_dispute("webbilling", fields())
    assert caught.value.maybe_applied is False
    assert ph.disputes()[0].status is SubmissionStatus.FAILED
    smtp_server.mode = "accept"
    assert ph.submit_dispute("webbilling", fields()).status is SubmissionStatus.SENT
    assert len(smtp_server.envelopes) == 1


def test_a_refusal_after_data_is_not_sent_and_may_be_sent_again(
    tmp_path: Path, smtp_server: Inbox
) -> None:
    # RFC 5321: a 4xx/5xx reply to DATA means the server did not take the message.
    smtp_server.mode = "451"
    ph = make_ph(tmp_path, smtp_server.port)
    with pytest.raises(DeliveryError) as caught:
        ph.submit_dispute("webbilling", fields())
    assert caught.value.maybe_applied is False
    assert ph.disputes()[0].status is SubmissionStatus.FAILED
    smtp_server.mode = "accept"
    assert ph.submit_dispute("webbilling", fields()).status is SubmissionStatus.SENT
    assert len(smtp_server.envelopes) == 1


@pytest.mark.parametrize("mode", ["drop"])
def test_failure_after_data_is_in_doubt_and_never_sent_again(
    tmp_path: Path, smtp_server: Inbox, mode: str
) -> None:
    smtp_server.mode = mode
    ph = make_ph(tmp_path, smtp_server.port)
    with pytest.raises(DeliveryError) as caught:
        ph.submit_dispute("webbilling", fields())
    assert caught.value.maybe_applied is True
    assert smtp_server.data_commands == 1
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.IN_DOUBT
    assert record.error is not None

    smtp_server.mode = "accept"  # the server is fine now: still nothing is sent again
    again = ph.submit_dispute("webbilling", fields())
    assert again.status is SubmissionStatus.IN_DOUBT
    assert again.replayed
    assert again.idempotency_key == record.idempotency_key
    assert "will not send it again" in (again.detail or "")
    assert smtp_server.transactions == 1
    assert smtp_server.data_commands == 1
    assert smtp_server.envelopes == []
    assert ph.dispute(record.id).attempts == 1
    # In Italian too.
    assert ph.submit_dispute("webbilling", fields(), language="it").detail != again.detail


def test_in_doubt_email_receipt_names_the_email_channel(tmp_path: Path, smtp_server: Inbox) -> None:
    smtp_server.mode = "drop"
    ph = make_ph(tmp_path, smtp_server.port)
    with pytest.raises(DeliveryError):
        ph.submit_dispute("webbilling", fields())
    again = ph.submit_dispute("webbilling", fields())
    assert again.status is SubmissionStatus.IN_DOUBT
    assert again.channel is SubmissionChannel.EMAIL


@pytest.mark.parametrize(
    "changes",
    [{"security": "starttls"}, {"security": "tls"}, {"username": "billing", "password": PASSWORD}],
    ids=["starttls unsupported", "tls handshake fails", "auth unsupported"],
)
def test_failure_before_mail_from_is_failed(
    tmp_path: Path, smtp_server: Inbox, changes: dict[str, Any]
) -> None:
    ph = make_ph(tmp_path, smtp=smtp(smtp_server.port, **changes))
    with pytest.raises(DeliveryError) as caught:
        ph.submit_dispute("webbilling", fields())
    assert smtp_server.transactions == 0
    assert caught.value.maybe_applied is False
    assert ph.disputes()[0].status is SubmissionStatus.FAILED


def test_send_classifies_failures_before_mail_from(smtp_server: Inbox) -> None:
    """mail.send against a server without STARTTLS: a DeliveryError naming the cause, and the
    server never sees a transaction."""
    message = EmailMessage()
    message["From"] = FROM
    message["To"] = WEBBILLING
    message.set_content("x")
    settings = SmtpSettings.model_validate(smtp(smtp_server.port, security="starttls"))
    with pytest.raises(DeliveryError, match="SMTPNotSupportedError"):
        send(message, settings)
    assert smtp_server.transactions == 0


# -- logging in, and the password ------------------------------------------------------------------------


def test_login_and_send(tmp_path: Path, auth_server: Inbox) -> None:
    ph = make_ph(tmp_path, smtp=smtp(auth_server.port, username="billing", password=PASSWORD))
    receipt = ph.submit_dispute("webbilling", fields())
    assert receipt.status is SubmissionStatus.SENT
    assert len(auth_server.envelopes) == 1


def test_wrong_password_is_failed_and_never_shown(tmp_path: Path, auth_server: Inbox) -> None:
    wrong = "wrong-pw-Kx71"
    ph = make_ph(tmp_path, smtp=smtp(auth_server.port, username="billing", password=wrong))
    with pytest.raises(DeliveryError, match="cannot start a session") as caught:
        ph.submit_dispute("webbilling", fields())
    assert caught.value.maybe_applied is False
    for text in (str(caught.value), repr(caught.value), caught.value.message):
        assert wrong not in text
    [record] = ph.disputes()
    assert record.status is SubmissionStatus.FAILED
    assert wrong not in (record.error or "")
    assert auth_server.transactions == 0
    # The right password on the same store: now it goes, once.
    fixed = make_ph(tmp_path, smtp=smtp(auth_server.port, username="billing", password=PASSWORD))
    assert fixed.submit_dispute("webbilling", fields()).status is SubmissionStatus.SENT
    assert len(auth_server.envelopes) == 1


def test_password_is_never_shown_or_dumped(tmp_path: Path) -> None:
    ph = make_ph(tmp_path, smtp=smtp(2525, username="billing", password=PASSWORD))
    settings = ph.settings
    assert settings.smtp is not None
    assert settings.smtp.password == PASSWORD  # it is there to be used
    for text in (
        repr(settings),
        str(settings),
        repr(settings.smtp),
        str(settings.smtp),
        json.dumps(settings.model_dump(mode="json")),
        settings.model_dump_json(),
        settings.smtp.model_dump_json(),
        repr(settings.model_dump()),
    ):
        assert PASSWORD not in text
    assert "password" not in settings.smtp.model_dump()


def test_password_from_the_environment_with_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "payhelp.toml"
    config.write_text(
        '[smtp]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\n'
        f'username = "billing"\nfrom_address = "{FROM}"\n'
    )
    settings = Settings.load(config, environ={"PAYHELP_SMTP_PASSWORD": PASSWORD})
    assert settings.smtp is not None
    assert settings.smtp.password == PASSWORD
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in settings.model_dump_json()


def test_password_from_the_environment_with_keyword_smtp() -> None:
    settings = Settings.load(
        environ={"PAYHELP_SMTP_PASSWORD": PASSWORD}, smtp=smtp(2525, username="billing")
    )
    assert settings.smtp is not None
    assert settings.smtp.password == PASSWORD


# -- a server that fails QUIT after accepting; the sandbox never mails ------------------------------


class _QuitFails(SMTP):
    async def smtp_QUIT(self, arg: str) -> None:
        await self.push("421 4.3.2 Shutting down, try later")
        self.transport.close()


class _QuitFailsController(Controller):
    def factory(self) -> SMTP:
        return _QuitFails(self.handler, **self.SMTP_kwargs)


def test_a_server_that_accepts_then_fails_quit_has_delivered(tmp_path: Path) -> None:
    inbox = Inbox()
    port = free_port()
    controller = _QuitFailsController(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ph = make_ph(tmp_path, port)
        receipt = ph.submit_dispute("webbilling", fields())
        assert receipt.status is SubmissionStatus.SENT  # 250 after DATA: it was delivered
        assert len(inbox.envelopes) == 1
        assert ph.disputes()[0].status is SubmissionStatus.SENT
        assert ph.submit_dispute("webbilling", fields()).replayed
        assert inbox.transactions == 1
    finally:
        controller.stop()


def test_sandbox_submissions_never_reach_the_mail_server_the_outbox_or_the_store(
    tmp_path: Path, smtp_server: Inbox
) -> None:
    ph = Payhelp(
        load_plugins=["segpay"],
        store_url=f"sqlite:///{tmp_path / 's.db'}",
        outbox=tmp_path / "outbox",
        smtp=smtp(smtp_server.port),
    )
    request = fields() | {"transaction": {"transaction_id": "SP-12345678"}}
    trial = ph.submit_dispute("segpay", request, channel="email", sandbox=True)
    assert trial.channel is SubmissionChannel.EML_FILE  # never through SMTP in the sandbox
    assert (trial.detail or "").startswith("Sandbox: nothing was sent.")
    assert "No mail server" not in (trial.detail or "")
    other = fields() | {"transaction": {"transaction_id": "SP-87654321"}}
    italian = ph.submit_dispute("segpay", other, channel="email", sandbox=True, language="it")
    assert (italian.detail or "").startswith("Sandbox: non è stato inviato nulla.")
    assert smtp_server.transactions == 0
    assert not (tmp_path / "outbox").exists()
    assert Path(trial.location or "").parent == tmp_path / "outbox-sandbox"
    assert ph.disputes() == []  # the real store knows nothing of it
    assert trial.idempotency_key in [r.idempotency_key for r in ph.disputes(sandbox=True)]
    # The same request for real is sent, not "already submitted".
    real = ph.submit_dispute("segpay", request, channel="email")
    assert not real.replayed
    assert real.status is SubmissionStatus.SENT
    assert smtp_server.transactions == 1
    assert (tmp_path / "s.sandbox.db").exists()
