"""SloppyPay: a sample plugin with the three mistakes a third party's plugin slipped past the
conformance suite with (issue 12), and no other.

- its Italian phone line, a Rome fixed-line number, is marked free to call from Italy;
- its ``payhelp_refund_rules`` returns one ``RefundRule`` instead of a sequence of them;
- its self-service page's fields are left in English for Italian customers: one marked with an
  alias of ``N_`` that extraction does not see (so its catalogue has no Italian entry), one
  whose Italian entry is the English copied, one a plain string.

SloppyPay is fictional; its addresses are on ``example.com``.
"""
