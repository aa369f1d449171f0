"""The check that nothing the plugin writes holds a full card number or a credential."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from payhelp.adapters import ApiAdapter
from payhelp.api import AsyncPayhelp
from payhelp.i18n import Language
from payhelp.testing._report import PAN_DIGITS, TEST_PAN, card_number_in, fail_on
from payhelp.testing.checks._calls import aoutcome
from payhelp.testing.checks.contacts import SAMPLE_COUNTRIES
from payhelp.testing.checks.lookups import LookupFields, by_transaction_id
from payhelp.testing.checks.submissions import SubmissionFields, refund_request
from payhelp.testing.harness import Harness, watching


def check_nothing_leaks(
    harness: Harness,
    *,
    cases: Iterable[str] = (),
    lookup_fields: LookupFields = by_transaction_id,
    submission_case: str = "approved",
    submission_fields: SubmissionFields = refund_request,
    countries: Sequence[str] = SAMPLE_COUNTRIES,
    languages: Sequence[Language] = ("en", "it"),
) -> None:
    """After plans, lookups of the sandbox ``cases`` (sync and async) and an API submission
    about ``submission_case``, with a card number in the message, the distinctive fake
    credentials configured and a full card number where the last four belong: no log record
    (of any logger, at any level, since the harness was built), error message, request sent or
    repr holds a full card number, and only the requests to the processor hold a credential."""
    ph = harness.loaded()
    adapter = _exercise(
        harness,
        wanted=list(cases),
        lookup_fields=lookup_fields,
        submission_case=submission_case,
        submission_fields=submission_fields,
        countries=countries,
        languages=languages,
    )
    secrets = list(harness.secrets.values())
    problems: list[str] = []
    for logged in harness.capture.logged:
        text = logged.text
        at = f"log record {logged.name}:{logged.level} ({logged.where})"
        if card_number_in(text):
            problems.append(f"{at} holds a full card number: log the last four at most")
        problems += [f"{at} holds a credential" for s in secrets if s in text]
    for error in harness.errors:
        text = str(error)
        if card_number_in(text):
            problems.append(f"{type(error).__name__} message holds a full card number")
        problems += [
            f"{type(error).__name__} message holds a credential" for s in secrets if s in text
        ]
    for request in harness.seen:
        # Only the suite's own number: a timestamp or an id may pass Luhn by chance.
        body = request.content.decode(errors="replace") + str(request.url)
        if PAN_DIGITS in body.replace(" ", "").replace("-", "").replace("%20", ""):
            problems.append(
                f"the request {request.method} {request.url.path} holds a full card number"
            )
    if adapter is not None:
        for text in (repr(adapter), repr(adapter.settings), repr(ph.settings)):
            problems += ["a repr shows a credential" for s in secrets if s in text]
    fail_on("secrets and card numbers", sorted(set(problems)))


def _exercise(
    harness: Harness,
    *,
    wanted: list[str],
    lookup_fields: LookupFields,
    submission_case: str,
    submission_fields: SubmissionFields,
    countries: Sequence[str],
    languages: Sequence[Language],
) -> ApiAdapter | None:
    """Make every call :func:`check_nothing_leaks` then looks into; the adapter, if any."""
    ph, pid = harness.loaded(), harness.processor_id
    with watching(harness.capture):
        for country in countries:
            for language in languages:
                try:
                    ph.contacts(pid, country, language=language)
                except Exception as exc:
                    harness.errors.append(exc)
        adapter = harness.adapter()
        if adapter is not None:
            known = harness.sandbox_cases()
            for case in wanted:
                if case in known:
                    try:
                        ph.lookup(pid, sandbox=True, **lookup_fields(case, known[case]))
                    except Exception as exc:
                        harness.errors.append(exc)
            if adapter.can_submit and submission_case in known:
                fields = submission_fields(submission_case, known[submission_case])
                fields["message"] = f"Please refund; card {TEST_PAN}."
                try:
                    ph.submit_dispute(pid, channel="api", sandbox=True, **fields)
                except Exception as exc:
                    harness.errors.append(exc)
        try:  # a full card number where only the last four belong is refused, never echoed
            ph.lookup(pid, card_last4=PAN_DIGITS, transaction_id="1")
        except Exception as exc:
            harness.errors.append(exc)
        if adapter is not None:  # the async client logs on its own
            known = harness.sandbox_cases()

            async def lookups(aph: AsyncPayhelp) -> None:
                for case in wanted:
                    if case in known:
                        fields = lookup_fields(case, known[case])
                        await aoutcome(harness, aph.lookup(pid, sandbox=True, **fields))

            harness.run_async(lookups)
    return adapter
