"""Submitting a dispute or refund by email: a complete RFC 5322 message, sent or written to disk.

For processors without a public API (and any processor whose API is not configured) payhelp
writes to the processor's support address a message that holds everything the processor asks
for: the transaction and its references, date and amount, the statement line, the last four
digits of the card (never more), the customer's reason and words, and the receipts as
attachments. Its ``Message-ID`` derives from the idempotency key, so the same request is always
the same message.

With ``[smtp]`` configured the message goes through that server (STARTTLS or TLS, login when a
user is given); without it the message is written as an ``.eml`` file in the outbox folder for a
person to send.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from platformdirs import user_data_dir

from payhelp.cases import DisputeRequest
from payhelp.config import SmtpSettings
from payhelp.errors import DeliveryError
from payhelp.i18n import N_, Language, Msg, render
from payhelp.models import ProcessorInfo
from payhelp.redact import mask_card_numbers

_SUBJECT = N_("Refund request ({reason}) for transaction {reference}")
_INTRO = N_(
    "Hello {name} support,\n\nthe customer below asks for a refund of a payment you processed. "
    "The details you ask for follow; the receipts are attached."
)
_OUTRO = N_("Please answer the customer at {email}. Thank you.")
_LABELS: dict[str, Msg] = {
    "reason": N_("Reason"),
    "transaction_id": N_("Transaction id"),
    "references": N_("Other references"),
    "date": N_("Date"),
    "amount": N_("Amount"),
    "refund_amount": N_("Amount asked back"),
    "descriptor": N_("Statement line"),
    "card": N_("Card (last four digits)"),
    "email": N_("Customer email"),
    "message": N_("The customer writes"),
    "key": N_("Request reference"),
}
_REASONS: dict[str, Msg] = {
    "duplicate_charge": N_("charged twice for the same purchase"),
    "not_recognised": N_("the customer does not recognise the charge"),
    "not_received": N_("the customer did not receive what was paid for, or cannot log in"),
    "technical_problem": N_("a technical problem on the site"),
    "unsatisfied_show": N_("the customer is unhappy with a show"),
    "cancelled_still_charged": N_("charged after cancelling the subscription"),
    "other": N_("another reason, explained below"),
}


def default_outbox() -> Path:
    """Where ``.eml`` files go when no mail server is configured."""
    return Path(user_data_dir("payhelp", appauthor=False)) / "outbox"


def _reference(request: DisputeRequest) -> str:
    tx = request.transaction
    if tx.transaction_id:
        return tx.transaction_id
    kind, value = next(iter(tx.references.items()))
    return f"{kind.value} {value}"


def compose(
    info: ProcessorInfo,
    to_address: str,
    request: DisputeRequest,
    idempotency_key: str,
    *,
    from_address: str,
    language: Language,
    include: tuple[str, ...] = (),
) -> EmailMessage:
    """The message for ``request``, addressed to the processor's support at ``to_address``."""
    label = {key: render(text, language) for key, text in _LABELS.items()}
    reason = render(_REASONS[request.reason.value], language)
    tx = request.transaction
    lines = [render(_INTRO, language).format(name=info.name), ""]

    def add(key: str, value: object) -> None:
        if value not in (None, "", {}):
            lines.append(f"{label[key]}: {value}")

    add("reason", reason)
    add("transaction_id", tx.transaction_id)
    add("references", ", ".join(f"{k.value} {v}" for k, v in tx.references.items()))
    add("date", tx.purchased_at.isoformat(timespec="minutes") if tx.purchased_at else None)
    add("amount", str(tx.amount) if tx.amount else None)
    add("refund_amount", str(request.amount) if request.amount else None)
    add("descriptor", tx.descriptor)
    card = request.card_last4 or tx.card_last4
    add("card", f"•••• {card}" if card else None)
    add("email", request.contact_email)
    add("key", idempotency_key)
    lines += ["", f"{label['message']}:", mask_card_numbers(request.message.strip()), ""]
    if include:
        lines += [f"- {item}" for item in include] + [""]
    lines.append(render(_OUTRO, language).format(email=request.contact_email))

    message = EmailMessage()
    message["From"] = from_address
    message["To"] = to_address
    message["Reply-To"] = request.contact_email
    message["Subject"] = mask_card_numbers(
        render(_SUBJECT, language).format(reason=reason, reference=_reference(request))
    )
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = from_address.rsplit("@", 1)[-1]
    message["Message-ID"] = f"<{idempotency_key}@{domain}>"
    message["X-Payhelp-Idempotency-Key"] = idempotency_key
    message.set_content(mask_card_numbers("\n".join(lines)))
    for attachment in request.attachments:
        main, _, sub = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.data, maintype=main, subtype=sub, filename=attachment.filename
        )
    return message


def send(message: EmailMessage, smtp: SmtpSettings, *, processor: str | None = None) -> str:
    """Hand ``message`` to the mail server; its Message-ID. :class:`DeliveryError` says whether
    the server may have taken it: everything up to the server's reply to DATA is "surely not
    sent" (a refusal there means the server did not accept the message, RFC 5321); only a
    connection lost while waiting for that reply leaves it in doubt."""
    where = f"{smtp.host}:{smtp.port}"
    context = ssl.create_default_context()
    try:
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    except (smtplib.SMTPException, OSError) as exc:
        raise _not_sent(f"cannot reach {where}", exc, processor) from None
    try:
        try:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
        except (smtplib.SMTPException, OSError) as exc:
            raise _not_sent(f"cannot start a session with {where}", exc, processor) from None
        try:
            refused = client.send_message(message)
        except (
            smtplib.SMTPRecipientsRefused,
            smtplib.SMTPSenderRefused,
            smtplib.SMTPDataError,
        ) as exc:
            raise _not_sent(f"{where} refused the message", exc, processor) from None
        except (smtplib.SMTPException, OSError) as exc:
            # The connection failed around DATA: the server may have taken the message.
            raise DeliveryError(
                f"mail delivery to {where} failed: {type(exc).__name__}",
                processor=processor,
                maybe_sent=True,
            ) from None
    finally:
        _hang_up(client)
    if refused:
        raise DeliveryError(
            "the mail server refused some recipients", processor=processor, maybe_sent=True
        )
    return str(message["Message-ID"])


def _hang_up(client: smtplib.SMTP) -> None:
    """Say QUIT and close. Once the server has accepted the message (250 after DATA), it is
    delivered whatever QUIT answers, so a failure here changes nothing."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError):
        client.close()


def _not_sent(what: str, exc: BaseException, processor: str | None) -> DeliveryError:
    return DeliveryError(f"{what}: {type(exc).__name__}", processor=processor, maybe_sent=False)


def eml_name(processor: str, idempotency_key: str) -> str:
    """The outbox file name of a submission: the processor and a hash of the key, so that no key
    (whatever it holds) ever becomes a path, and the same request always has the same file."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    return f"{processor}-{digest}.eml"


def write_eml(
    message: EmailMessage, outbox: Path, idempotency_key: str, *, processor: str = "payhelp"
) -> Path:
    """Write ``message`` into ``outbox`` as :func:`eml_name` (atomically); the file's path."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        path = outbox / eml_name(processor, idempotency_key)
        partial = path.with_suffix(f".{uuid.uuid4().hex[:8]}.partial")
        partial.write_bytes(message.as_bytes())
        partial.replace(path)
    except OSError as exc:
        error = DeliveryError(
            f"cannot write to the outbox {str(outbox)!r}: {exc.strerror or type(exc).__name__}",
            processor=processor,
            maybe_sent=False,
        )
        raise error from None
    return path


__all__ = ["SmtpSettings", "compose", "default_outbox", "eml_name", "send", "write_eml"]
