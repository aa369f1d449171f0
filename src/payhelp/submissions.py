"""Submitting a dispute or refund exactly once: record, choose the channel, send, record again.

The order is what makes it safe. The request is validated, given its idempotency key (a hash of
the processor and the request, attachments by content) and *claimed* in the store before
anything leaves. Then it goes through the processor's API when an adapter can submit, else by
email (SMTP, or an ``.eml`` file for a person to send), else as prepared web-form answers. The
receipt is recorded; a failure is recorded as ``failed`` when the request surely did not reach
the processor (safe to submit again) and ``in_doubt`` when it may have. A repeat of the same
request returns the recorded receipt — or says it is in doubt — and never sends twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from payhelp.adapters import ApiAdapter
from payhelp.cases import (
    DisputeRequest,
    SubmissionChannel,
    SubmissionReceipt,
    SubmissionStatus,
)
from payhelp.channels import ChannelKind, ContactDirectory
from payhelp.config import Settings
from payhelp.errors import CapabilityError, InvalidInputError, PayhelpError
from payhelp.i18n import N_, Language, render
from payhelp.mail import compose, default_outbox, send, write_eml
from payhelp.models import ProcessorInfo
from payhelp.redact import mask_card_numbers
from payhelp.store import SubmissionRecord, SubmissionStore

Channel = Literal["auto", "api", "email", "web_form"]
CHANNELS: tuple[Channel, ...] = ("auto", "api", "email", "web_form")

_REPLAYED = N_("Already submitted; this is the first receipt.")
_IN_DOUBT = N_(
    "An earlier attempt may have reached the processor (it was interrupted, or another process "
    "is sending it). payhelp will not send it again: check the payment's status first."
)
_EML = N_("No mail server is configured: send the message in {path} to {to}.")
_WEB_FORM = N_("Paste these answers into {name}'s form at {url}.")


def idempotency_key(processor: str, request: DisputeRequest) -> str:
    """The key of ``request`` at ``processor``: the same request always gets the same key."""
    body = request.model_dump(mode="json", exclude={"attachments"})
    body["attachments"] = [[a.filename, a.content_type, a.sha256] for a in request.attachments]
    canonical = json.dumps([processor, body], sort_keys=True, separators=(",", ":"))
    return "ph_" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def summary(request: DisputeRequest) -> dict[str, Any]:
    """What the store keeps of a request: attachments by name, size and hash; the message with
    any card number masked."""
    body = request.model_dump(mode="json", exclude={"attachments", "message"})
    body["message"] = mask_card_numbers(request.message)
    body["attachments"] = [
        {"filename": a.filename, "bytes": len(a.data), "sha256": a.sha256}
        for a in request.attachments
    ]
    # A card number typed into any field (a reference, the statement line) is masked too.
    masked: dict[str, Any] = json.loads(mask_card_numbers(json.dumps(body, ensure_ascii=False)))
    return masked


class Submitter:
    """Runs submissions for one :class:`~payhelp.api.Payhelp`."""

    def __init__(
        self,
        settings: Settings,
        directories: Mapping[str, ContactDirectory],
        store: Callable[[], SubmissionStore],
    ) -> None:
        self.settings = settings
        self.directories = directories
        self._store = store

    @property
    def store(self) -> SubmissionStore:
        return self._store()

    # -- the two phases around sending -------------------------------------------------------

    def _begin(
        self,
        info: ProcessorInfo,
        request: DisputeRequest,
        key: str | None,
        language: Language,
        how: SubmissionChannel,
    ) -> tuple[str, SubmissionReceipt | None]:
        key = key or idempotency_key(info.id, request)
        if not key or len(key) > 100 or not key.isprintable():
            raise InvalidInputError("an idempotency key has 1 to 100 printable characters")
        record = summary(request) | {"channel": how.value}
        claim = self.store.claim(key, info.id, request.reason.value, record)
        if claim.fresh:
            return key, None
        return key, self._earlier(claim.record, language)

    def _earlier(self, record: SubmissionRecord, language: Language) -> SubmissionReceipt:
        if record.receipt is not None:
            return record.receipt.model_copy(
                update={"replayed": True, "detail": render(_REPLAYED, language)}
            )
        channel = record.request.get("channel", SubmissionChannel.API.value)
        return SubmissionReceipt(
            processor=record.processor,
            idempotency_key=record.idempotency_key,
            channel=SubmissionChannel(channel),
            reference=None,
            submitted_at=record.created_at,
            status=SubmissionStatus.IN_DOUBT,
            detail=render(_IN_DOUBT, language),
            replayed=True,
        )

    def _record_failure(self, key: str, exc: BaseException) -> None:
        # Only an error that says so (or bad input, found before sending) is "surely not sent";
        # anything else - a bug after the answer came, a cancellation mid-flight - is in doubt.
        known = getattr(exc, "maybe_applied", None)
        maybe = bool(known) if known is not None else not isinstance(exc, InvalidInputError)
        text = mask_card_numbers(f"{type(exc).__name__}: {exc}")
        self.store.fail(key, text, maybe_applied=maybe)

    # -- choosing and using a channel ----------------------------------------------------------

    def _plan(
        self, info: ProcessorInfo, adapter: ApiAdapter | None, channel: Channel
    ) -> SubmissionChannel:
        if channel not in CHANNELS:
            raise InvalidInputError(f"channel must be one of {', '.join(CHANNELS)}")
        directory = self.directories[info.id]
        kinds = {c.kind for c in directory.channels.values()}
        api_ok = adapter is not None and adapter.can_submit
        if channel == "api" or (channel == "auto" and api_ok):
            if not api_ok:
                raise CapabilityError(
                    f"{info.id}: no API submission is configured (its plugin has no adapter, or "
                    "no credentials are set); use email or the web form",
                    processor=info.id,
                )
            return SubmissionChannel.API
        if channel in ("auto", "email") and ChannelKind.EMAIL in kinds:
            return SubmissionChannel.EMAIL
        if channel in ("auto", "web_form") and ChannelKind.WEB_FORM in kinds:
            return SubmissionChannel.WEB_FORM
        raise CapabilityError(
            f"{info.id} has no {'way' if channel == 'auto' else channel} to receive a request "
            "in its directory",
            processor=info.id,
        )

    def _email(
        self, info: ProcessorInfo, request: DisputeRequest, key: str, language: Language
    ) -> SubmissionReceipt:
        directory = self.directories[info.id]
        to = next(c for c in directory.channels.values() if c.kind is ChannelKind.EMAIL)
        smtp = self.settings.smtp
        # Without a server, a person sends the .eml from their own mailbox: a reserved domain
        # (RFC 2606) marks the sender to replace, never the processor's own.
        sender = smtp.from_address if smtp is not None else "billing@payhelp.invalid"
        include = tuple(render(item, language) for item in directory.include)
        message = compose(
            info, to.value, request, key, from_address=sender, language=language, include=include
        )
        now = datetime.now(UTC)
        if smtp is not None:
            reference = send(message, smtp, processor=info.id)
            return SubmissionReceipt(
                processor=info.id,
                idempotency_key=key,
                channel=SubmissionChannel.EMAIL,
                reference=reference,
                submitted_at=now,
                location=f"mailto:{to.value}",
            )
        outbox = self.settings.outbox or default_outbox()
        path = write_eml(message, Path(outbox), key)
        return SubmissionReceipt(
            processor=info.id,
            idempotency_key=key,
            channel=SubmissionChannel.EML_FILE,
            reference=str(message["Message-ID"]),
            submitted_at=now,
            status=SubmissionStatus.PREPARED,
            location=str(path),
            detail=render(_EML, language).format(path=path, to=to.value),
        )

    def _web_form(
        self, info: ProcessorInfo, request: DisputeRequest, key: str, language: Language
    ) -> SubmissionReceipt:
        directory = self.directories[info.id]
        form = next(c for c in directory.channels.values() if c.kind is ChannelKind.WEB_FORM)
        tx = request.transaction
        answers = {
            "reason": request.reason.value,
            "transaction_id": tx.transaction_id or "",
            "references": ", ".join(f"{k.value} {v}" for k, v in tx.references.items()),
            "email": request.contact_email,
            "card_last4": request.card_last4 or tx.card_last4 or "",
            "amount": str(request.amount or tx.amount or ""),
            "message": mask_card_numbers(request.message),
        }
        return SubmissionReceipt(
            processor=info.id,
            idempotency_key=key,
            channel=SubmissionChannel.WEB_FORM,
            reference=None,
            submitted_at=datetime.now(UTC),
            status=SubmissionStatus.PREPARED,
            location=form.value,
            answers={k: v for k, v in answers.items() if v},
            detail=render(_WEB_FORM, language).format(name=info.name, url=form.value),
        )

    # -- sync and async ------------------------------------------------------------------------

    def submit(
        self,
        info: ProcessorInfo,
        request: DisputeRequest,
        adapter: ApiAdapter | None,
        *,
        key: str | None,
        channel: Channel,
        language: Language,
    ) -> SubmissionReceipt:
        """Submit ``request`` once (see the module's description)."""
        how = self._plan(info, adapter, channel)
        claimed, earlier = self._begin(info, request, key, language, how)
        if earlier is not None:
            return earlier
        try:
            if how is SubmissionChannel.API:
                assert adapter is not None
                receipt = adapter.submit(request, claimed)
            elif how is SubmissionChannel.EMAIL:
                receipt = self._email(info, request, claimed, language)
            else:
                receipt = self._web_form(info, request, claimed, language)
        except BaseException as exc:
            self._record_failure(claimed, exc)
            raise
        return self._finish(claimed, receipt)

    async def asubmit(
        self,
        info: ProcessorInfo,
        request: DisputeRequest,
        adapter: ApiAdapter | None,
        *,
        key: str | None,
        channel: Channel,
        language: Language,
    ) -> SubmissionReceipt:
        """:meth:`submit` without blocking the event loop."""
        how = self._plan(info, adapter, channel)
        claimed, earlier = await asyncio.to_thread(self._begin, info, request, key, language, how)
        if earlier is not None:
            return earlier
        try:
            if how is SubmissionChannel.API:
                assert adapter is not None
                receipt = await adapter.asubmit(request, claimed)
            elif how is SubmissionChannel.EMAIL:
                receipt = await asyncio.to_thread(self._email, info, request, claimed, language)
            else:
                receipt = self._web_form(info, request, claimed, language)
        except BaseException as exc:
            await asyncio.to_thread(self._record_failure, claimed, exc)
            raise
        return await asyncio.to_thread(self._finish, claimed, receipt)

    def _finish(self, key: str, receipt: SubmissionReceipt) -> SubmissionReceipt:
        if receipt.idempotency_key != key:
            raise PayhelpError(
                f"{receipt.processor}: the adapter's receipt carries another idempotency key"
            )
        self.store.finish(key, receipt)
        return receipt


__all__ = ["CHANNELS", "Channel", "Submitter", "idempotency_key", "summary"]
