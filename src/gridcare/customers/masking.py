"""Masking of sensitive customer data (客户信息保密): ID numbers and phone numbers are shown masked.

The clear values are shown only through the audited unmask action (``customers.actions.do_unmask_customer``).
"""

from __future__ import annotations

from typing import Any

from gridcare.core.access import has_perm

#: Who sees phone numbers in clear where a screen shows them as part of a record (work orders' call-back
#: numbers): holders of this permission. Customers' own ID and mobile numbers still need the audited unmask.
UNMASK_PERMISSION = "customer.unmask"


def can_unmask(user: Any) -> bool:
    return user is not None and has_perm(user, UNMASK_PERMISSION)


def mask_id_number(number: str) -> str:
    """``330102199001011234`` → ``3301**********1234``: the first 4 and last 4 characters stay visible."""
    number = number or ""
    if len(number) <= 8:
        return "*" * len(number)
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def mask_mobile(number: str) -> str:
    """``13812345678`` → ``138****5678``."""
    number = number or ""
    if len(number) < 7:
        return "*" * len(number)
    return f"{number[:3]}{'*' * (len(number) - 7)}{number[-4:]}"
