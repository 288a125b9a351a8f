"""Checks of Chinese identity numbers and mobile numbers (pure functions, no database).

- 居民身份证号码 (GB 11643-1999): 17 digits + a check character by ISO 7064 MOD 11-2, with a real birth date.
- 统一社会信用代码 (GB 32100-2015): 18 characters from 31 symbols, the last a MOD 31 check character.
- 手机号码: 11 digits, ``1`` then ``3``–``9``.
"""

from __future__ import annotations

import datetime as dt
import re

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_RESIDENT_RE = re.compile(r"^\d{17}[\dX]$")


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK[total % 11]


def is_valid_resident_id(number: str) -> bool:
    """18-digit resident ID: format, birth date and check character."""
    number = number.strip().upper()
    if not _RESIDENT_RE.match(number):
        return False
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if birth.year < 1880 or birth > dt.date.today():
        return False
    return resident_id_check_char(number[:17]) == number[17]


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters."""
    total = sum(CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """Unified social credit code: 18 characters of the allowed alphabet and a matching check character."""
    code = code.strip().upper()
    if len(code) != 18 or any(c not in CREDIT_CODE_CHARS for c in code):
        return False
    return credit_code_check_char(code[:17]) == code[17]


def is_valid_mobile(number: str) -> bool:
    """A mainland China mobile number (11 digits starting 13–19)."""
    return bool(MOBILE_RE.match(number.strip()))


def id_number_error(id_type: str, number: str) -> str | None:
    """The message for a bad ID number of ``id_type``, or ``None`` when it is acceptable."""
    number = number.strip()
    if not number:
        return "请填写证件号码。 (The ID number is required.)"
    if id_type == "resident_id" and not is_valid_resident_id(number):
        return "居民身份证号码无效（位数、出生日期或校验位不符）。 (Invalid resident ID: length, birth date or check digit.)"
    if id_type == "credit_code" and not is_valid_credit_code(number):
        return "统一社会信用代码无效（字符或校验位不符）。 (Invalid unified social credit code: characters or check character.)"
    return None


def mobile_error(number: str) -> str | None:
    if not is_valid_mobile(number):
        return "手机号应为 1 开头、第二位 3–9 的 11 位数字。 (A mainland mobile number has 11 digits starting 13–19.)"
    return None
