"""payhelp's built-in plugin: the default behaviour every processor gets unless its plugin
implements the hook itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payhelp.contacts import build_plan
from payhelp.hookspecs import RegisterDeclineScheme, hookimpl
from payhelp.policies.declines import builtin_schemes

if TYPE_CHECKING:
    from payhelp.channels import ContactDirectory, ContactPlan
    from payhelp.i18n import Language
    from payhelp.models import ProcessorInfo


@hookimpl(trylast=True)
def payhelp_contact_plan(
    processor: ProcessorInfo, directory: ContactDirectory, country: str, language: Language
) -> ContactPlan:
    """Build the plan from the directory's routes (the data-driven default)."""
    return build_plan(processor, directory, country, language)


@hookimpl
def payhelp_register_decline_schemes(register: RegisterDeclineScheme) -> None:
    """Register the public tables payhelp ships: Braintree, ISO 8583 and Stripe."""
    for scheme in builtin_schemes():
        register(scheme)
