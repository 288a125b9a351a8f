"""Demo key accounts and market development, through the real actions: the accounts are classified by the
shipped rules and every key account without a manager goes to a key account manager; each manager's plan of
the year is generated and half of the visits due so far are recorded (one follow-up becomes a work order);
prospects are registered and moved to every stage (one won and converted into a customer, one lost); two
registrations collide and are refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

from django.utils import timezone

from gridcare.customers.models import Account
from gridcare.customers.validators import credit_code_check_char
from gridcare.keyaccounts.actions import (
    do_classify_key_accounts,
    do_convert_prospect,
    do_generate_visit_plan,
    do_load_rule_defaults,
    do_record_visit,
    do_register_prospect,
    do_update_prospect,
)
from gridcare.keyaccounts.models import KeyAccount, Prospect, VisitPlanItem
from gridcare.org.models import OrgUnit, User

#: (owner, name, industry, region, kVA, annual kWh, stages to pass, lost reason)
PROSPECTS: list[tuple[str, str, str, str, int, int, tuple[str, ...], str]] = [
    ("sales", "城关华东新材料科技有限公司", "chemicals", "CG", 4000, 9_000_000, (), ""),
    ("sales", "河西绿源食品加工有限公司", "manufacturing", "HX", 800, 1_500_000, ("contacted",), ""),
    (
        "sales",
        "山南云谷数据中心有限公司",
        "data_centre",
        "SNS",
        10000,
        60_000_000,
        ("contacted", "proposal"),
        "",
    ),
    (
        "sales",
        "城东精工机械股份有限公司",
        "manufacturing",
        "CG",
        1600,
        3_200_000,
        ("contacted", "proposal", "negotiating"),
        "",
    ),
    (
        "sales",
        "示范县万达商业广场有限公司",
        "commerce",
        "CG",
        2500,
        5_000_000,
        ("contacted", "proposal", "won"),
        "",
    ),
    (
        "sales",
        "河西建材集团有限公司",
        "metals",
        "HX",
        3150,
        8_000_000,
        ("contacted", "lost"),
        "已自建分布式光伏并签约售电公司",
    ),
    ("key_account", "城关第一人民医院", "public", "CG", 1250, 2_000_000, ("contacted",), ""),
    (
        "key_account",
        "山南现代农业示范园有限公司",
        "agriculture",
        "SNS",
        630,
        900_000,
        ("contacted", "proposal"),
        "",
    ),
]

#: two collisions: (who tries, name, credit code of prospect index or None) — refused, the holder not named
COLLISIONS: list[tuple[str, str, int | None]] = [
    ("key_account", "城关华东新材料科技（集团）有限公司", None),
    ("market_manager", "山南云谷数据中心", 2),
]


def credit_code(index: int) -> str:
    first17 = f"91331100MA{2026000 + index:07d}"
    return first17 + credit_code_check_char(first17)


def build(actor: User, scale: str) -> Iterator[str]:
    if Prospect.objects.exists():
        yield "keyaccounts: demo prospects already present (use --reset to rebuild)"
        return
    manager = User.objects.filter(username="manager").first() or actor
    managers = list(User.objects.filter(position__code="key_account_manager", is_active=True).order_by("pk"))
    do_load_rule_defaults(actor)
    summary = do_classify_key_accounts(manager)
    if managers:  # key accounts nobody manages are shared out among the key account managers
        orphans = list(
            KeyAccount.objects.filter(active=True, account__account_manager=None).values_list(
                "account_id", flat=True
            )
        )
        for index, account_id in enumerate(orphans):
            Account.objects.filter(pk=account_id).update(account_manager=managers[index % len(managers)])
    yield f"keyaccounts: {summary['matched']:,} key accounts by the rules"
    today = timezone.localdate()
    visits = 0
    for kam in managers:
        do_generate_visit_plan(kam, year=today.year, manager=kam)
        due = list(
            VisitPlanItem.objects.filter(manager=kam, year=today.year, planned_on__lte=today)
            .select_related("account")
            .order_by("planned_on", "pk")
        )
        for number, item in enumerate(due[::2][:40]):  # half of the visits due so far are made
            do_record_visit(
                kam,
                account=item.account,
                visited_on=item.planned_on,
                people_met="电气负责人、设备科长",
                topics="用电安全检查、电费回收与需求侧管理建议",
                demands="希望夏季高峰期间保障供电" if number % 3 == 0 else "",
                follow_up="安排计量装置现场校验" if number == 0 else "",
                plan_item=item,
                create_work_order=number == 0,
            )
            visits += 1
    yield f"keyaccounts: visit plans of {len(managers)} key account manager(s), {visits} visits recorded"
    regions = {unit.code: unit for unit in OrgUnit.objects.filter(code__in=["CG", "HX", "SNS"])}
    held: list[Prospect] = []
    for index, (owner, name, industry, region, kva, kwh, stages, reason) in enumerate(PROSPECTS):
        user = User.objects.get(username=owner)
        result = do_register_prospect(
            user,
            name=name,
            credit_code=credit_code(index),
            address=f"{regions[region].name}辖区产业大道 {index + 1} 号",
            industry=industry,
            region=regions[region],
            expected_capacity_kva=Decimal(kva),
            expected_annual_kwh=Decimal(kwh),
            contact_name="赵主任",
            contact_phone=f"1390000{index:04d}",
            next_action="上门拜访，了解用电需求",
            next_action_on=today + dt.timedelta(days=index - 2),
        )
        assert result.prospect is not None, result.message
        prospect = result.prospect
        for stage in stages:
            prospect = do_update_prospect(
                user, prospect, stage=stage, lost_reason=reason if stage == "lost" else ""
            )
        if prospect.stage == Prospect.Stage.WON:
            prospect = do_convert_prospect(manager, prospect)
        held.append(prospect)
    yield f"keyaccounts: {len(held)} prospects in every stage (one converted into a customer)"
    refused = 0
    for username, name, code_of in COLLISIONS:
        result = do_register_prospect(
            User.objects.get(username=username),
            name=name,
            credit_code=credit_code(code_of) if code_of is not None else "",
            industry="manufacturing",
            region=regions["CG"],
            expected_capacity_kva=Decimal(500),
            expected_annual_kwh=Decimal(800_000),
        )
        refused += result.refused
    yield f"keyaccounts: {refused} registrations refused as already held (撞单)"
