"""Checks of the contact plans payhelp builds for the processor, country by country."""

from __future__ import annotations

from collections.abc import Sequence

from payhelp.channels import ChannelKind
from payhelp.geo import Region, region_of
from payhelp.i18n import Language
from payhelp.testing._report import describe, fail_on, where
from payhelp.testing.harness import Harness

#: One sample country per region, and a few more where rules usually differ.
SAMPLE_COUNTRIES = ("US", "CA", "IT", "DE", "FR", "GB", "JP", "BR", "AU", "ZA")


def check_contact_plans(
    harness: Harness,
    countries: Sequence[str] = SAMPLE_COUNTRIES,
    languages: Sequence[Language] = ("en", "it"),
) -> None:
    """For each of ``countries`` (at least one of every region), in each of ``languages``: a plan
    for this processor, country and language with at least one channel, no channel offered
    twice, each with a reason and provenance, phones in E.164 and free only where the
    directory's ``toll_free_in`` says."""
    processor_id = harness.processor_id
    ph, directory = harness.loaded(), harness.directory()
    problems: list[str] = []
    regions = {region_of(c) for c in countries}
    if regions != set(Region):
        missed = sorted(region.value for region in set(Region) - regions)
        problems.append(
            f"the countries checked (sample_countries) miss the regions {missed}: give at least "
            "one country of each"
        )
    for country in countries:
        for language in languages:
            at = f"{country}/{language}"
            try:
                plan = ph.contacts(processor_id, country, language=language)
            except Exception as exc:
                harness.errors.append(exc)
                problems.append(f"{at}: the contact plan raised {describe(exc)}{where(exc)}")
                continue
            if (plan.processor, plan.country, plan.language) != (processor_id, country, language):
                problems.append(
                    f"{at}: the plan is for {plan.processor}/{plan.country}/{plan.language}"
                )
            if not plan.channels:
                problems.append(f"{at}: the plan offers no channel")
            keys = [c.key for c in plan.channels]
            if len(set(keys)) != len(keys):
                problems.append(f"{at}: a channel is offered twice: {keys}")
            for planned in plan.channels:
                source = directory.channels.get(planned.key)
                if source is None:
                    problems.append(f"{at}: channel {planned.key!r} is not in the directory")
                    continue
                if not planned.reason.strip():
                    problems.append(f"{at}: channel {planned.key!r} has no reason")
                if not planned.provenance:
                    problems.append(f"{at}: channel {planned.key!r} has no provenance")
                if planned.kind is ChannelKind.PHONE:
                    if planned.e164 != source.value:
                        problems.append(f"{at}: phone {planned.key!r} lost its E.164 form")
                    if planned.toll_free and country not in source.toll_free_in:
                        problems.append(
                            f"{at}: phone {planned.key!r} is offered as free, but its "
                            f"toll_free_in is {list(source.toll_free_in)}"
                        )
                elif planned.e164 is not None or planned.toll_free:
                    problems.append(f"{at}: {planned.key!r} is no phone but has phone data")
    fail_on("contact plans", problems)
