"""Advice for particular codes, where the general advice of their reason would mislead.

A code table names a hint (``hint = "card_not_activated"``) for a code whose cause needs other
words than its reason's: a card that is merely not activated yet is an ``incorrect_card_details``
or ``card_declined`` decline to the retry rules, but telling the customer to re-type the number
would send them the wrong way. A hint replaces the customer and merchant texts and, where it says
so, who fixes the cause and whom the customer contacts; it never changes whether the card may be
charged again (that stays with the code's reason, its source and the network's rules).
"""

from __future__ import annotations

from payhelp._base import Lax, Model
from payhelp.i18n import N_, Msg
from payhelp.policies.declines import Fixer


class CodeHint(Model):
    """The texts, and the parties, for codes that name this hint."""

    customer: Msg
    """What the customer should do."""
    merchant: Msg
    """What the merchant should do."""
    fixer: Lax[Fixer]
    """Who can fix the cause."""
    contact: Lax[Fixer] | None
    """Whom the customer should turn to (``None``: nobody, the customer acts alone)."""


CUSTOMER, ISSUER, MERCHANT = Fixer.CUSTOMER, Fixer.CARD_ISSUER, Fixer.MERCHANT

#: Every hint a code table may name, by id.
HINTS: dict[str, CodeHint] = {
    "card_not_activated": CodeHint(
        customer=N_(
            "Your card has not been activated yet. Activate it the way your bank says (its app, "
            "its website or the number on the back of the card), then pay again, or pay with "
            "another card."
        ),
        merchant=N_(
            "The card is not activated: the same card will fail until the customer activates it. "
            "Ask them to activate it or to use another card."
        ),
        fixer=CUSTOMER,
        contact=ISSUER,
    ),
    "account_invalid": CodeHint(
        customer=N_(
            "Your bank says the card, or the account behind it, cannot be used. Call the bank on "
            "the number on the back of the card to check the card works, or pay with another card."
        ),
        merchant=N_(
            "The card or its account is invalid: do not charge it again. Ask the customer to "
            "check with the bank or to use another card."
        ),
        fixer=ISSUER,
        contact=ISSUER,
    ),
    "new_account_information": CodeHint(
        customer=N_(
            "Your bank has new details for this card (a new number or expiry date). Enter the card "
            "again as it is now, or pay with another card."
        ),
        merchant=N_(
            "New account information is available: get the updated card details (from the "
            "customer or an account updater service) before charging again; the old ones will "
            "fail."
        ),
        fixer=CUSTOMER,
        contact=None,
    ),
    "amount_not_allowed": CodeHint(
        customer=N_(
            "Your bank did not accept a payment of this amount. If the amount is right, ask the "
            "bank whether the card can pay that much, or pay with another card."
        ),
        merchant=N_(
            "The issuer rejected the amount: check it is correct (currency, decimals); if it is, "
            "the customer has to ask the bank about the card's limits."
        ),
        fixer=ISSUER,
        contact=ISSUER,
    ),
    "stop_recurring": CodeHint(
        customer=N_(
            "Your bank says you asked it to stop these payments, so the subscription will not be "
            "charged to this card again. If you want to keep it, add another card or ask the bank "
            "to lift the stop."
        ),
        merchant=N_(
            "The cardholder stopped recurring payments with the issuer: stop charging this card "
            "for the subscription (retries can be fined) and ask whether they want to keep it."
        ),
        fixer=CUSTOMER,
        contact=ISSUER,
    ),
    "not_for_recurring": CodeHint(
        customer=N_(
            "This card (a prepaid card that cannot be topped up, or a one-time virtual number) "
            "cannot pay a subscription's renewals. Add a regular card to keep the subscription."
        ),
        merchant=N_(
            "The card is not meant for repeat charges: do not keep it on file for renewals; ask "
            "the customer for another card."
        ),
        fixer=CUSTOMER,
        contact=None,
    ),
    "merchant_integration": CodeHint(
        customer=N_(
            "The payment failed because of a problem with the site's payment set-up, not with "
            "your card. Nothing you change will fix it: try again later or contact the site's "
            "billing support."
        ),
        merchant=N_(
            "The request did not meet a network requirement (token data, product code or the "
            "merchant account's set-up): fix the integration, or ask the processor, before "
            "charging again."
        ),
        fixer=MERCHANT,
        contact=MERCHANT,
    ),
    "card_retained": CodeHint(
        customer=N_(
            "Your bank has asked for this card to be withdrawn, so it cannot be used any more. "
            "Pay with another card, and call the bank on the number on the back of the card to "
            "find out why."
        ),
        merchant=N_(
            "Pick-up response: the issuer wants the card withdrawn. Never charge it again (card "
            "networks fine such reattempts); ask the customer for another card."
        ),
        fixer=CUSTOMER,
        contact=ISSUER,
    ),
    "recurring_not_supported": CodeHint(
        customer=N_(
            "Your bank does not support recurring payments with this payment method, so the "
            "subscription cannot renew this way. Set up a bank or payment method that supports "
            "them, such as a card."
        ),
        merchant=N_(
            "The customer's bank does not support recurring payments with this method: retries "
            "will not succeed. Ask the customer for another bank or payment method for the "
            "renewals."
        ),
        fixer=CUSTOMER,
        contact=None,
    ),
    "payment_cancelled": CodeHint(
        customer=N_(
            "The payment was cancelled before it went through. If you still want to buy, start "
            "the payment again."
        ),
        merchant=N_(
            "Customer cancellation: the cardholder cancelled this transaction. Do not charge it "
            "again automatically; ask whether they still want to buy."
        ),
        fixer=CUSTOMER,
        contact=None,
    ),
}

__all__ = ["HINTS", "CodeHint"]
