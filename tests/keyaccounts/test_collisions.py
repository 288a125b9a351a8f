"""防止撞单: a company another salesperson holds is refused — by credit code, normalised name, very similar name
or address — and the salesperson learns only that it is registered; managers see the holder and decide."""

from __future__ import annotations

import pytest

from gridcare.core.errors import Conflict, InvalidInput
from gridcare.core.models import AuditEntry
from gridcare.keyaccounts.actions import do_decide_collision
from gridcare.keyaccounts.models import Collision, Prospect

pytestmark = pytest.mark.django_db

CODE = "91330100MA2B3C4D5N"


@pytest.fixture
def held(register):
    """杨帆 (sales) holds 华东新材料科技有限公司 with a credit code and an address."""
    result = register("sales", credit_code=CODE, address="城关镇 工业路 8 号")
    assert not result.refused
    return result.prospect


def _refused_without_holder(result, prospect) -> None:
    assert result.refused
    assert result.prospect is None
    assert "已被备案" in result.message or "已是本公司客户" in result.message
    # nothing in what the salesperson is told names the holder or the held record
    for leak in (prospect.owner.full_name, prospect.owner.username, prospect.number):
        assert leak not in result.message


@pytest.mark.parametrize(
    ("name", "extra", "reason"),
    [
        ("另一个名字", {"credit_code": CODE.lower()}, "credit_code"),
        ("华东新材料科技股份有限公司", {}, "name"),
        ("华东新材料科技（集团）有限公司", {}, "name"),
        ("华东新材科技有限公司", {}, "similar_name"),
        ("Ｈ华东新材料科技有限公司", {}, "similar_name"),
        ("华东新材料科技集团", {}, "name"),
        ("华东新材料科技, 有限责任公司", {}, "name"),
        ("华东新材料技术有限公司", {}, "similar_name"),
        ("完全不同的公司", {"address": "城关镇工业路8号"}, "address"),
    ],
)
def test_collision_of_each_kind_is_refused_without_leaking_the_holder(
    held, register, name, extra, reason
) -> None:
    # given 杨帆 holds the company; when the key account manager registers it under another spelling
    result = register("key_account", name=name, **extra)
    # then it is refused with the generic message, and the managers' record names the reason and the prospect
    _refused_without_holder(result, held)
    collision = Collision.objects.get(pk=result.collision.pk)
    assert collision.reason == reason
    assert collision.prospect_id == held.pk
    assert collision.claimant.username == "key_account"
    assert Prospect.objects.filter(status="held").count() == 1
    assert AuditEntry.objects.filter(
        action="keyaccounts.collision_refused", object_id=str(collision.pk)
    ).exists()


def test_an_existing_customer_cannot_be_registered(company, register) -> None:
    company("城东精密铸造有限公司", credit_code="91330100MA0000001F")
    by_name = register("sales", name="城东精密铸造有限责任公司")
    assert by_name.refused and "已是本公司客户" in by_name.message
    by_code = register("sales", name="别的名字", credit_code="91330100MA0000001F")
    assert by_code.refused and by_code.collision.reason == "customer"


def test_a_different_company_is_registered(held, register) -> None:
    result = register("key_account", name="河西食品加工有限公司", address="河西镇 1 号")
    assert not result.refused
    assert result.prospect.owner.username == "key_account"
    assert result.prospect.number.startswith("BA")


def test_registering_ones_own_prospect_again_names_it(held, register) -> None:
    with pytest.raises(InvalidInput) as refused:
        register("sales", name="华东新材料科技")
    assert held.number in str(refused.value.errors)


def test_bad_input_is_refused_per_field(register) -> None:
    with pytest.raises(InvalidInput) as refused:
        register("sales", name="  ", credit_code="123", expected_capacity_kva="很多", contact_phone="12")
    assert set(refused.value.errors) >= {"name", "credit_code", "expected_capacity_kva", "contact_phone"}
    assert not Prospect.objects.exists()


def test_an_expired_registration_frees_the_company(held, register) -> None:
    Prospect.objects.filter(pk=held.pk).update(status="expired")
    result = register("key_account", name="华东新材料科技有限公司", credit_code=CODE)
    assert not result.refused


def test_manager_hands_a_disputed_prospect_to_the_claimant(held, register, staff) -> None:
    result = register("key_account", name="华东新材料科技股份有限公司")
    decided = do_decide_collision(
        staff("market_manager"), result.collision, transfer=True, note="先接洽者为陈明"
    )
    assert decided.decision == "transferred"
    held.refresh_from_db()
    assert held.owner.username == "key_account"
    with pytest.raises(Conflict):
        do_decide_collision(staff("manager"), result.collision, transfer=False, note="again")


def test_salesperson_cannot_decide_disputes(held, register, staff) -> None:
    from gridcare.core.errors import PermissionRefused

    result = register("key_account", name="华东新材料科技股份有限公司")
    with pytest.raises(PermissionRefused):
        do_decide_collision(staff("sales"), result.collision, transfer=False, note="mine")
