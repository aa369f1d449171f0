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
import contextlib
import functools
import hashlib
import json
import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeVar

from payhelp.adapters import ApiAdapter
from payhelp.cases import (
    DisputeRequest,
    SubmissionChannel,
    SubmissionReceipt,
    SubmissionStatus,
)
from payhelp.channels import ChannelKind, ContactDirectory
from payhelp.config import Settings
from payhelp.errors import (
    CapabilityError,
    CardNumberError,
    InvalidInputError,
    PayhelpError,
    PluginError,
    StorageError,
)
from payhelp.i18n import N_, Language, render
from payhelp.mail import compose, default_outbox, send, write_eml
from payhelp.models import ProcessorInfo
from payhelp.redact import find_card_number, mask_card_numbers
from payhelp.store import SubmissionRecord, SubmissionStore

#: What an idempotency key may be: letters, digits and ``. _ : -``, 1 to 100 of them, starting
#: with a letter or digit (a UUID, ``order-42:refund``, payhelp's own ``ph_…``). Keys go into the
#: store, email headers and the processors' requests; they never name a file.
KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
#: The store's work for async callers runs here: a claim or a record in progress finishes even
#: when its caller is cancelled, so that no claim is left behind half made.
_STORE_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="payhelp-store")

_R = TypeVar("_R")
Channel = Literal["auto", "api", "email", "web_form"]
CHANNELS: tuple[Channel, ...] = ("auto", "api", "email", "web_form")

_REPLAYED = N_("Already submitted; this is the first receipt.")
_IN_DOUBT = N_(
    "An earlier attempt may have reached the processor (it was interrupted, or another process "
    "is sending it). payhelp will not send it again: check the payment's status first."
)
_EML = N_("No mail server is configured: send the message in {path} to {to}.")
_SANDBOX_EML = N_(
    "Sandbox: nothing was sent. The message that would go to {to} is in {path}, for you to look at."
)
_WEB_FORM = N_("Paste these answers into {name}'s form at {url}.")


def idempotency_key(processor: str, request: DisputeRequest) -> str:
    """The key of ``request`` at ``processor``: the same request always gets the same key. A hash
    whose hex digits happen to hold a Luhn-valid run (about one in four hundred) is hashed again
    with a counter, so that no key ever looks like a card number and gets masked or refused."""
    body = _same_amounts(request.model_dump(mode="json", exclude={"attachments"}))
    body["attachments"] = [[a.filename, a.content_type, a.sha256] for a in request.attachments]
    canonical = json.dumps([processor, body], sort_keys=True, separators=(",", ":"))
    for round_ in range(100):
        salt = f"#{round_}" if round_ else ""
        key = "ph_" + hashlib.sha256((canonical + salt).encode()).hexdigest()[:40]
        if find_card_number(key) is None:
            return key
    raise PayhelpError("no idempotency key free of card-like digits")  # pragma: no cover


def _same_amounts(value: Any) -> Any:
    """``value`` with every money amount written one way (``1``, ``1.0`` and ``1.00`` are the
    same refund, so they must give the same key and compare equal)."""
    if isinstance(value, dict):
        out = {k: _same_amounts(v) for k, v in value.items()}
        if set(out) == {"amount", "currency"} and isinstance(out["amount"], str):
            with contextlib.suppress(ArithmeticError, ValueError):
                out["amount"] = format(Decimal(out["amount"]).normalize(), "f")
        return out
    if isinstance(value, list):
        return [_same_amounts(v) for v in value]
    return value


def check_key(key: str) -> str:
    """``key`` when it is a valid idempotency key; :class:`InvalidInputError` (or
    :class:`CardNumberError` for a card number) otherwise."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise InvalidInputError(
            "an idempotency key has 1 to 100 characters: letters, digits and . _ : - "
            "(starting with a letter or digit)"
        )
    # The shared detector, with the key's own ':' read as the separator it is here (elsewhere
    # the detector leaves ':' alone: times such as 10:00:00 are not cards).
    if find_card_number(key.replace(":", "-")) is not None:
        raise CardNumberError(
            "the idempotency key holds a card number; use an order or request id instead"
        )
    return key


def summary(request: DisputeRequest) -> dict[str, Any]:
    """What the store keeps of a request: attachments by name, size and hash; the message with
    any card number masked."""
    body = _same_amounts(request.model_dump(mode="json", exclude={"attachments", "message"}))
    body["message"] = mask_card_numbers(request.message)
    body["attachments"] = [
        {"filename": a.filename, "bytes": len(a.data), "sha256": a.sha256}
        for a in request.attachments
    ]
    # A card number typed into any field (a reference, the statement line) is masked too.
    masked: dict[str, Any] = json.loads(mask_card_numbers(json.dumps(body, ensure_ascii=False)))
    return masked


class Submitter:
    """Runs submissions for one :class:`~payhelp.api.Payhelp`.

    :param store: The store of real submissions (opened on first use).
    :param sandbox_store: The sandbox's own store: sandbox submissions never share keys or
        rows with real ones, never go through the mail server and never reach the real outbox.
    """

    def __init__(
        self,
        settings: Settings,
        directories: Mapping[str, ContactDirectory],
        store: Callable[[], SubmissionStore],
        sandbox_store: Callable[[], SubmissionStore],
    ) -> None:
        self.settings = settings
        self.directories = directories
        self._store = store
        self._sandbox_store = sandbox_store

    def store_for(self, sandbox: bool) -> SubmissionStore:
        """The real store, or the sandbox's."""
        return self._sandbox_store() if sandbox else self._store()

    def outbox(self, sandbox: bool) -> Path:
        """Where ``.eml`` files go; the sandbox's are kept apart from the real ones."""
        outbox = Path(self.settings.outbox) if self.settings.outbox else default_outbox()
        return outbox.with_name(f"{outbox.name}-sandbox") if sandbox else outbox

    # -- the two phases around sending -------------------------------------------------------

    def _begin(
        self,
        info: ProcessorInfo,
        request: DisputeRequest,
        key: str | None,
        language: Language,
        how: SubmissionChannel,
        *,
        store: SubmissionStore,
    ) -> tuple[str, SubmissionReceipt | None]:
        key = idempotency_key(info.id, request) if key is None else check_key(key)
        record = summary(request) | {"channel": how.value}
        claim = store.claim(key, info.id, request.reason.value, record)
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

    def _record_failure(self, store: SubmissionStore, key: str, exc: BaseException) -> None:
        # Only an error that says so (or bad input, found before sending) is "surely not sent";
        # anything else - a bug after the answer came, a cancellation mid-flight - is in doubt.
        known = getattr(exc, "maybe_applied", None)
        maybe = bool(known) if known is not None else not isinstance(exc, InvalidInputError)
        text = mask_card_numbers(f"{type(exc).__name__}: {exc}")
        store.fail(key, text, maybe_applied=maybe)

    def _failed(
        self, store: SubmissionStore, info: ProcessorInfo, key: str, exc: BaseException
    ) -> BaseException:
        """Record ``exc`` against the claim and return what the caller is to see: a
        :class:`PayhelpError` that says whether the request may have been applied and names its
        key (a cancellation or an interrupt is recorded and passed on as it is)."""
        try:
            self._record_failure(store, key, exc)
        except PayhelpError as recording:
            # The store could not take the failure: the claim stays pending under its lease and
            # is settled as in doubt once the lease runs out. Say so with the first error.
            recording.maybe_applied = True
            recording.idempotency_key = key
            return recording
        if isinstance(exc, PayhelpError):
            error = exc
        elif isinstance(exc, Exception):
            error = PluginError(
                info.id,
                f"submitting failed unexpectedly ({type(exc).__name__}); it may have reached "
                "the processor",
            )
            error.__cause__ = exc
            error.maybe_applied = True
        else:
            return exc
        if error.maybe_applied is None:
            error.maybe_applied = True
        error.idempotency_key = key
        return error

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
        self,
        info: ProcessorInfo,
        request: DisputeRequest,
        key: str,
        language: Language,
        sandbox: bool = False,
    ) -> SubmissionReceipt:
        directory = self.directories[info.id]
        to = next(c for c in directory.channels.values() if c.kind is ChannelKind.EMAIL)
        # A sandbox submission never reaches a mail server: it is written to the sandbox outbox.
        smtp = None if sandbox else self.settings.smtp
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
        path = write_eml(message, self.outbox(sandbox), key, processor=info.id)
        return SubmissionReceipt(
            processor=info.id,
            idempotency_key=key,
            channel=SubmissionChannel.EML_FILE,
            reference=str(message["Message-ID"]),
            submitted_at=now,
            status=SubmissionStatus.PREPARED,
            location=str(path),
            detail=render(_SANDBOX_EML if sandbox else _EML, language).format(
                path=path, to=to.value
            ),
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
            "message": request.message,
        }
        # Whatever a field holds, no card number reaches the form.
        answers = {k: mask_card_numbers(v) for k, v in answers.items()}
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
        sandbox: bool = False,
    ) -> SubmissionReceipt:
        """Submit ``request`` once (see the module's description)."""
        how = self._plan(info, adapter, channel)
        store = self.store_for(sandbox)
        claimed, earlier = self._begin(info, request, key, language, how, store=store)
        if earlier is not None:
            return earlier
        with store.sending(claimed):
            try:
                if how is SubmissionChannel.API:
                    assert adapter is not None
                    receipt = adapter.submit(request, claimed)
                elif how is SubmissionChannel.EMAIL:
                    receipt = self._email(info, request, claimed, language, sandbox)
                else:
                    receipt = self._web_form(info, request, claimed, language)
            except BaseException as exc:
                error = self._failed(store, info, claimed, exc)
                if error is exc:
                    raise
                raise error from exc
            return self._finish(store, claimed, receipt)

    async def asubmit(
        self,
        info: ProcessorInfo,
        request: DisputeRequest,
        adapter: ApiAdapter | None,
        *,
        key: str | None,
        channel: Channel,
        language: Language,
        sandbox: bool = False,
    ) -> SubmissionReceipt:
        """:meth:`submit` without blocking the event loop, and safe to cancel at every await: a
        claim made for a caller that was cancelled before sending is given back (``failed``,
        safe to submit again); one cancelled while sending is recorded ``in_doubt``."""
        how = self._plan(info, adapter, channel)
        store = self.store_for(sandbox)
        claimed, earlier = await _claim_in_thread(
            lambda: self._begin(info, request, key, language, how, store=store),
            release=lambda key: store.give_back(key, "cancelled before it was sent"),
        )
        if earlier is not None:
            return earlier
        with store.sending(claimed):
            try:
                if how is SubmissionChannel.API:
                    assert adapter is not None
                    receipt = await adapter.asubmit(request, claimed)
                elif how is SubmissionChannel.EMAIL:
                    receipt = await _in_thread(
                        lambda: self._email(info, request, claimed, language, sandbox)
                    )
                else:
                    receipt = self._web_form(info, request, claimed, language)
            except BaseException as exc:
                error = await _ending_in_thread(
                    store, claimed, functools.partial(self._failed, store, info, claimed, exc)
                )
                if error is exc:
                    raise
                raise error from exc
            return await _ending_in_thread(
                store, claimed, lambda: self._finish(store, claimed, receipt)
            )

    def _finish(
        self, store: SubmissionStore, key: str, receipt: SubmissionReceipt
    ) -> SubmissionReceipt:
        if receipt.idempotency_key != key:
            error = PluginError(
                receipt.processor, "the adapter's receipt carries another idempotency key"
            )
            error.maybe_applied = True
            error.idempotency_key = key
            store.fail(key, str(error), maybe_applied=True)
            raise error
        try:
            store.finish(key, receipt)
        except PayhelpError as exc:
            # It went out: never report a failure for it, say it was sent and not recorded.
            unrecorded = StorageError(
                f"{receipt.processor}: the request WAS sent (reference "
                f"{receipt.reference or 'none given'}) but could not be recorded: {exc}"
            )
            unrecorded.maybe_applied = True
            unrecorded.idempotency_key = key
            raise unrecorded from None
        return receipt


async def _in_thread(work: Callable[[], _R]) -> _R:
    """Run a store step in payhelp's store threads; a cancelled caller does not stop it."""
    return await asyncio.wrap_future(_STORE_THREADS.submit(work))


async def _ending_in_thread(store: SubmissionStore, key: str, work: Callable[[], _R]) -> _R:
    """Run the step that records how a send ended (its receipt, or its failure) in a store
    thread, holding ``key`` until that step has run. A caller cancelled while it waits lets go of
    its own hold; without this one, a listing in between would take the claim for abandoned and
    record it ``in_doubt`` although its outcome is about to be recorded."""
    store.hold(key)

    def step() -> _R:
        try:
            return work()
        finally:
            store.let_go(key)

    future = _STORE_THREADS.submit(step)
    # A step cancelled before it started never runs: the hold ends with it.
    future.add_done_callback(lambda done: store.let_go(key) if done.cancelled() else None)
    return await asyncio.wrap_future(future)


async def _claim_in_thread(
    work: Callable[[], tuple[str, SubmissionReceipt | None]], release: Callable[[str], object]
) -> tuple[str, SubmissionReceipt | None]:
    """Make a claim in a store thread. When the caller is cancelled before it gets the claim,
    the claim (if this call made one) is released in that thread: it was never sent."""
    lock = threading.Lock()
    state = {"cancelled": False, "done": False}

    def claim() -> tuple[str, SubmissionReceipt | None]:
        key, earlier = work()
        with lock:
            abandoned = state["cancelled"]
            state["done"] = True
        if abandoned and earlier is None:
            release(key)
        return key, earlier

    future = _STORE_THREADS.submit(claim)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        with lock:
            state["cancelled"] = True
            finished = state["done"]
        if finished and not future.cancelled() and future.exception() is None:
            key, earlier = future.result()
            if earlier is None:
                _STORE_THREADS.submit(release, key)
        raise


__all__ = [
    "CHANNELS",
    "KEY_PATTERN",
    "Channel",
    "Submitter",
    "check_key",
    "idempotency_key",
    "summary",
]
