"""Checks of submissions by email, web form and API, sync and async: each request is sent once."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from payhelp.api import AsyncPayhelp
from payhelp.cases import SubmissionChannel, SubmissionReceipt
from payhelp.mail import eml_name
from payhelp.submissions import Channel
from payhelp.testing._report import (
    TEST_PAN,
    ConformanceError,
    NotApplicable,
    card_number_in,
    fail_on,
    scrubbed,
)
from payhelp.testing.checks._calls import Outcome, aoutcome, call_plugin
from payhelp.testing.harness import Harness

#: ``(case, ident) -> request fields``: a complete refund request about the sandbox case (or,
#: by email and web form, the made-up transaction) whose id is ``ident``.
SubmissionFields = Callable[[str, str], dict[str, Any]]


def refund_request(case: str, ident: str) -> dict[str, Any]:
    """The default :data:`SubmissionFields`: a duplicate-charge refund request."""
    return {
        "transaction": {"transaction_id": ident},
        "reason": "duplicate_charge",
        "message": "I was charged twice for the same purchase; please refund one charge.",
        "contact_email": "customer@example.com",
        "card_last4": "1111",
    }


def offline_channels(harness: Harness) -> list[Channel]:
    """The channels the processor takes a request by without an API: email, web form."""
    caps = harness.info.capabilities
    channels: list[Channel] = []
    if caps.email_submission:
        channels.append("email")
    if caps.web_form:
        channels.append("web_form")
    return channels


def check_offline_submissions(
    harness: Harness, submission_fields: SubmissionFields = refund_request
) -> None:
    """By email and web form, the same request twice is prepared once: the second call returns
    the first receipt, and exactly one letter is written; a card number in the message never
    reaches the letter or the answers."""
    ph, pid = harness.loaded(), harness.processor_id
    channels = offline_channels(harness)
    if not channels:
        raise NotApplicable("the processor takes no request by email or web form")
    problems: list[str] = []
    outbox = harness.root / "outbox"
    for channel in channels:
        fields = submission_fields("manual", f"CONF-{channel.upper()}-1")
        fields["message"] = f"Charged twice; my card is {TEST_PAN} ({channel})."
        first = ph.submit_dispute(pid, channel=channel, sandbox=False, **fields)
        again = ph.submit_dispute(pid, channel=channel, sandbox=False, **fields)
        if not again.replayed or again.idempotency_key != first.idempotency_key:
            problems.append(f"{channel}: a repeated request was submitted again")
        if channel == "email":
            name = eml_name(pid, first.idempotency_key)
            letters = [p for p in outbox.glob("*.eml") if p.name == name]
            if len(letters) != 1:
                problems.append(f"email: {len(letters)} letters written for one request")
            if any(card_number_in(p.read_text(errors="replace")) for p in letters):
                problems.append("email: the letter holds the full card number")
        elif card_number_in(" ".join(first.answers.values())):
            problems.append("web_form: the answers hold the full card number")
    fail_on("submissions", problems)


def check_api_submissions(
    harness: Harness,
    submission_case: str = "approved",
    submission_fields: SubmissionFields = refund_request,
) -> None:
    """Through the sandbox: the same request about ``submission_case`` twice reaches the
    processor once (the requests the sandbox received are counted), and the repeat returns the
    first receipt."""
    adapter = harness.adapter()
    if adapter is None or not adapter.can_submit:
        raise NotApplicable("the plugin submits nothing through an API")
    ph, pid = harness.loaded(), harness.processor_id
    cases = harness.sandbox_cases()
    if submission_case not in cases:
        raise ConformanceError(f"submission_case {submission_case!r} is not a sandbox case", [])
    fields = submission_fields(submission_case, cases[submission_case])
    before = len(harness.seen)
    first = call_plugin(
        harness,
        "an API submission",
        lambda: ph.submit_dispute(pid, channel="api", sandbox=True, **fields),
    )
    sent = len(harness.seen) - before
    harness.first_receipt(first)
    again = ph.submit_dispute(pid, channel="api", sandbox=True, **fields)
    problems = []
    if first.channel is not SubmissionChannel.API:
        problems.append(f"the submission went by {first.channel.value}, not the API")
    if sent == 0:
        problems.append("the submission sent no request to the sandbox")
    if len(harness.seen) - before != sent:
        problems.append("the repeated submission reached the processor again")
    if not again.replayed or again.idempotency_key != first.idempotency_key:
        problems.append("the repeat did not return the first receipt")
    fail_on("API submissions", problems)


def check_async_submissions(
    harness: Harness,
    submission_case: str = "approved",
    submission_fields: SubmissionFields = refund_request,
) -> None:
    """Through the async API (:class:`~payhelp.AsyncPayhelp`, a store and outbox of its own),
    by each channel the processor takes (email, web form, the API through the sandbox): the same
    request twice is sent once (one letter; one arrival at the sandbox) and the repeat returns
    the first receipt, which says what the sync submission's says (same key, channel, status
    and, for the API, the processor's reference and answer)."""
    ph, pid = harness.loaded(), harness.processor_id
    channels = offline_channels(harness)
    adapter = harness.adapter()
    cases = harness.sandbox_cases()
    if adapter is not None and adapter.can_submit and submission_case in cases:
        channels.append("api")
    if not channels:
        raise NotApplicable("the processor takes no request by email, web form or API")
    requests: dict[Channel, dict[str, Any]] = {}
    for channel in channels:
        if channel == "api":
            # The request check_api_submissions files: the sync call returns its receipt (or
            # files it), and a sandbox that remembers refunds is asked once by each API, each
            # with a sandbox of its own.
            fields = submission_fields(submission_case, cases[submission_case])
        else:
            fields = submission_fields("manual", f"CONF-ASYNC-{channel.upper()}-1")
            fields["message"] = f"{fields['message']} (async check, {channel})"
        requests[channel] = fields
    blocking = {
        channel: call_plugin(
            harness,
            f"a {channel} submission",
            partial(ph.submit_dispute, pid, channel=channel, sandbox=channel == "api", **fields),
        )
        for channel, fields in requests.items()
    }
    #: How many requests reached the sandbox for the first async submission and its repeat.
    arrived: dict[Channel, tuple[int, int]] = {}

    async def submit(aph: AsyncPayhelp) -> dict[Channel, tuple[Outcome, Outcome]]:
        found = {}
        for channel, fields in requests.items():
            counts = [len(harness.seen)]
            answers = []
            for _ in range(2):
                call = aph.submit_dispute(pid, channel=channel, sandbox=channel == "api", **fields)
                answers.append(await aoutcome(harness, call))
                counts.append(len(harness.seen))
            arrived[channel] = (counts[1] - counts[0], counts[2] - counts[1])
            found[channel] = (answers[0], answers[1])
        return found

    outcomes = harness.run_async(submit)
    outbox = harness.root / "async" / "outbox"
    problems: list[str] = []
    for channel, pair in outcomes.items():
        problems += async_receipt_problems(
            pid,
            channel,
            pair,
            sync_receipt=harness.first_receipt(blocking[channel]),
            arrived=arrived,
            outbox=outbox,
        )
    fail_on("async submissions", problems)


#: What an async receipt must share with the sync one, by channel: where the email went and
#: its Message-ID differ between two outboxes, what the processor answered does not.
_BASE_RECEIPT = {"processor", "idempotency_key", "channel", "status", "processor_reason"}
RECEIPT_FIELDS: Mapping[str, set[str]] = {
    "email": _BASE_RECEIPT,
    "web_form": _BASE_RECEIPT | {"location", "answers"},
    "api": _BASE_RECEIPT | {"reference", "detail"},
}


def async_receipt_problems(
    processor_id: str,
    channel: Channel,
    outcomes: tuple[Outcome, Outcome],
    *,
    sync_receipt: SubmissionReceipt,
    arrived: Mapping[Channel, tuple[int, int]],
    outbox: Path,
) -> list[str]:
    """What is wrong with an async submission and its repeat, against the sync receipt."""
    first, again = outcomes
    if not isinstance(first.answer, SubmissionReceipt):
        return [f"{channel}: AsyncPayhelp.submit_dispute raised {first.text}"]
    if not isinstance(again.answer, SubmissionReceipt):
        return [f"{channel}: the repeated async submission raised {again.text}"]
    receipt, repeat = first.answer, again.answer
    problems = []
    if not repeat.replayed or repeat.idempotency_key != receipt.idempotency_key:
        problems.append(f"{channel}: a repeated async request was submitted again")
    if channel == "api":
        sent, resent = arrived[channel]
        if not sent:
            problems.append("api: the async submission sent no request to the sandbox")
        if resent:
            problems.append("api: the repeated async submission reached the processor again")
    if channel == "email":
        name = eml_name(processor_id, receipt.idempotency_key)
        letters = [p for p in outbox.glob("*.eml") if p.name == name]
        if len(letters) != 1:
            problems.append(f"email: {len(letters)} letters written for one async request")
    compared = set(RECEIPT_FIELDS[channel])
    if sync_receipt.replayed:  # its first answer is not known: only what a repeat keeps
        compared.discard("detail")
    ours = receipt.model_dump(mode="json", include=compared)
    theirs = sync_receipt.model_dump(mode="json", include=compared)
    problems += [
        f"{channel}: the async receipt's {field_} is {scrubbed(repr(ours[field_]))}, "
        f"the sync one's {scrubbed(repr(theirs[field_]))}"
        for field_ in sorted(compared)
        if ours[field_] != theirs[field_]
    ]
    return problems
