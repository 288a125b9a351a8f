"""Checksums of Chinese ID numbers and credit codes, mobile numbers, and masking — known valid and invalid values."""

from __future__ import annotations

import pytest

from gridcare.customers.masking import mask_id_number, mask_mobile
from gridcare.customers.validators import (
    credit_code_check_char,
    is_valid_credit_code,
    is_valid_mobile,
    is_valid_resident_id,
    resident_id_check_char,
)


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "11010519491231002x"])
def test_valid_resident_ids(number: str) -> None:
    assert is_valid_resident_id(number)


@pytest.mark.parametrize(
    "number",
    [
        "110105194912310021",  # wrong check digit (should be X)
        "11010519491231002",  # 17 characters
        "11010519491331002X",  # month 13
        "1101051949123100AX",  # letter inside
        "",
    ],
)
def test_invalid_resident_ids(number: str) -> None:
    assert not is_valid_resident_id(number)


def test_credit_code_check_character_is_mod_31() -> None:
    assert credit_code_check_char("91350100M000100Y4") == "3"


def test_resident_check_digit_is_iso_7064_mod_11_2() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("44052418800101001") == "4"


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_valid_credit_codes(code: str) -> None:
    assert is_valid_credit_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # 17 characters
        "91350100I000100Y43",  # I is not in the GB 32100 alphabet
        "9135O100M000100Y43",  # nor is O
    ],
)
def test_invalid_credit_codes(code: str) -> None:
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("13812345678", True),
        ("19912345678", True),
        ("12812345678", False),
        ("1381234567", False),
        ("138123456789", False),
        ("1381234567a", False),
    ],
)
def test_mobile_numbers(number: str, valid: bool) -> None:
    assert is_valid_mobile(number) is valid


def test_masking_keeps_only_the_ends() -> None:
    assert mask_id_number("330102199001011234") == "3301**********1234"
    assert mask_mobile("13812345678") == "138****5678"
    assert mask_id_number("1234") == "****"
