"""Checks that every text a customer reads exists in every language payhelp speaks."""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from payhelp.catalogues import check as check_catalogue
from payhelp.channels import ContactDirectory, ContactPlan
from payhelp.errors import PayhelpError
from payhelp.i18n import Language, Msg, Text, catalogue, registered_domains, render
from payhelp.testing._report import fail_on
from payhelp.testing.checks.contacts import SAMPLE_COUNTRIES
from payhelp.testing.harness import Harness

#: Words Italian takes from English as they are: a text made only of these, of names, numbers
#: and acronyms may read the same in both languages (``Email``, ``Username``, ``PIN``).
SHARED_WORDS = frozenset(
    {
        "account",
        "app",
        "browser",
        "chat",
        "e",
        "email",
        "faq",
        "id",
        "link",
        "live",
        "login",
        "mail",
        "online",
        "password",
        "pin",
        "sms",
        "username",
        "web",
    }
)

_FIX_PLAIN = (
    "mark it with your Domain's N_ and translate it in locale/{lang}/LC_MESSAGES/<domain>.po"
)


def reads_untranslated(english: str, translated: str, names: Sequence[str] = ()) -> bool:
    """Whether ``translated`` is ``english`` left as it is where a translation was due: the two
    are the same and hold a word that is not in :data:`SHARED_WORDS`, not an acronym
    (``CVV``), not a name written in camel case (``NovaPay``) and not in ``names``."""
    if english != translated:
        return False
    known = {word.lower() for name in names for word in re.findall(r"[^\W\d_]+", name)}
    for word in re.findall(r"[^\W\d_]+", english):
        lowered = word.lower()
        if lowered in SHARED_WORDS or lowered in known or word.isupper():
            continue
        if any(letter.isupper() for letter in word[1:]):
            continue
        return True
    return False


def directory_texts(directory: ContactDirectory) -> Iterator[tuple[str, Text]]:
    """Every customer-facing text of a directory, with where it is written: what to include,
    the warnings, each route step's reason and warning, and each channel's fields (what a
    self-service page or web form asks for)."""
    for index, text in enumerate(directory.include):
        yield f"DIRECTORY.include[{index}]", text
    for index, text in enumerate(directory.warnings):
        yield f"DIRECTORY.warnings[{index}]", text
    for r, route in enumerate(directory.routes):
        for s, step in enumerate(route.steps):
            yield f"DIRECTORY.routes[{r}].steps[{s}].reason", step.reason
            if step.warning is not None:
                yield f"DIRECTORY.routes[{r}].steps[{s}].warning", step.warning
    for key, channel in directory.channels.items():
        for index, text in enumerate(channel.fields):
            yield f"DIRECTORY.channels.{key}.fields[{index}]", text


def text_problem(
    text: Text, language: Language, path: str, names: Sequence[str] = ()
) -> str | None:
    """What is wrong with ``text`` for a customer reading ``language``: a catalogue message
    with no entry in that language's catalogue, or one whose entry is the English left as it
    is; a plain string (the same in every language) that reads as English; a text per
    language without that language. ``None`` when it reads right."""
    english = render(text, "en")
    if isinstance(text, Msg):
        entry = catalogue(text.domain, language).get(text.msgid)
        po = f"locale/{language}/LC_MESSAGES/{text.domain}.po"
        if text.domain not in registered_domains():
            return (
                f"{english!r} ({path}) is in the catalogue domain {text.domain!r}, which no "
                f"Domain declares: mark it with your Domain's N_"
            )
        if not entry:
            return (
                f"{english!r} is not translated into {language!r} ({path}): {po} has no "
                "entry for it; run python -m payhelp.catalogues update, then fill it"
            )
        if reads_untranslated(english, entry, names):
            return (
                f"{english!r} reads the same in {language!r} as in English ({path}): "
                f"translate it in {po}"
            )
        return None
    if isinstance(text, str):
        if reads_untranslated(text, text, names):
            return (
                f"{text!r} is not translated into {language!r} ({path}): a plain string reads "
                f"the same in every language; {_FIX_PLAIN.format(lang=language)}"
            )
        return None
    if language not in text:
        return (
            f"{english!r} has no {language!r} text ({path}): give one for every language, or "
            "mark it with your Domain's N_"
        )
    if reads_untranslated(english, text[language], names):
        return f"{english!r} reads the same in {language!r} as in English ({path}): translate it"
    return None


def _plan_texts(plan: ContactPlan) -> list[str]:
    texts = [c.reason for c in plan.channels]
    texts += [field for c in plan.channels for field in c.fields]
    return [*texts, *plan.warnings, *plan.include]


def check_texts_translated(
    harness: Harness,
    countries: Sequence[str] = SAMPLE_COUNTRIES,
    languages: Sequence[Language] = ("en", "it"),
) -> None:
    """Every customer-facing text exists in each of ``languages`` (the first being the source):

    - each text of the directory (:func:`directory_texts`: reasons, warnings, what to include,
      the fields of a self-service page or web form) and each refund rule's message has an
      entry in the plugin's catalogue of every other language, one that is not the English left
      as it is (:func:`reads_untranslated`), and no plain string reads as English;
    - the plans for ``countries``, which a ``payhelp_contact_plan`` hook may build, read
      differently in each language;
    - the plugin's catalogues have no gap for a text its code marks with ``N_``."""
    ph, info, directory = harness.loaded(), harness.info, harness.directory()
    names = (info.name, *info.aliases)
    first, *others = languages
    texts: list[tuple[str, Text]] = list(directory_texts(directory))
    try:
        rules = ph.host.refund_rules(info)
    except PayhelpError:  # reported by check_refund_rules
        rules = ()
    texts += [(f"refund rule {rule.id!r} message", rule.message) for rule in rules]
    problems: list[str] = []
    reported: set[tuple[str, str]] = set()
    for other in others:
        for path, text in texts:
            problem = text_problem(text, other, path, names)
            if problem is not None:
                problems.append(problem)
                reported.add((render(text, first), other))
    untranslated: dict[tuple[str, str], str] = {}
    for country in countries:
        try:
            base = _plan_texts(ph.contacts(harness.processor_id, country, language=first))
            plans = {
                other: _plan_texts(ph.contacts(harness.processor_id, country, language=other))
                for other in others
            }
        except Exception:  # noqa: S112 - reported by check_contact_plans
            continue
        for other, translated in plans.items():
            for original, text in zip(base, translated, strict=False):
                if (original, other) not in reported and reads_untranslated(original, text, names):
                    untranslated.setdefault((original, other), country)
    problems += [
        f"{text!r} is not translated into {language!r} (the plan for {country}, among "
        f"others): {_FIX_PLAIN.format(lang=language)}"
        for (text, language), country in untranslated.items()
    ]
    for domain, package in _domains_of(directory).items():
        try:
            package_dir = Path(importlib.import_module(package).__file__ or "").parent
        except ImportError:
            problems.append(f"catalogue domain {domain!r} names package {package!r}, missing")
            continue
        problems += [
            f"catalogue {gap.language}: {gap.msgid!r} has no translation "
            f"(python -m payhelp.catalogues update {package_dir} {domain})"
            for gap in check_catalogue(package_dir, domain)
        ]
    fail_on("languages", sorted(set(problems)))


def _domains_of(directory: ContactDirectory) -> dict[str, str]:
    """The catalogue domains the directory's texts come from, with their packages."""
    packages = registered_domains()
    found: dict[str, str] = {}
    for _, text in directory_texts(directory):
        if isinstance(text, Msg) and text.domain in packages and text.domain != "payhelp":
            found[text.domain] = packages[text.domain]
    return found
