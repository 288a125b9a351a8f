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

from gridcare.core import clock
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
        for number, item in enumerate(due[::2]):  # half of the visits due so far are made
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
    yield from credit_and_budget(actor)


def _months_back(count: int) -> list[str]:
    today = timezone.localdate()
    index = today.year * 12 + today.month - 1
    return [f"{(index - k) // 12}-{(index - k) % 12 + 1:02d}" for k in range(count, 0, -1)]


#: months the demo scores (信用评价), one run per month: the year the ledger demo replays
SCORED_MONTHS = 12


def _scoring_moment(month: str) -> dt.datetime:
    """The monthly scoring run of ``month``: 08:00 on the 3rd of the next month (now, if that is still to come).
    The features are read as of the month's end, so the later payments of the replay do not change them."""
    year, number = (int(x) for x in month.split("-"))
    first = dt.date(year + number // 12, number % 12 + 1, 1)
    return min(clock.at_local(first + dt.timedelta(days=2), 8), timezone.now())


def credit_and_budget(actor: User) -> Iterator[str]:
    """信用评价 month by month over the replayed year (by the shipped rules, from the ledger), a key account manager's
    adjustment within the limit and one beyond it approved by the marketing manager; the year's sales expense
    budgets with spending, an expense over budget refused, then sent for approval and approved."""
    from gridcare.core.errors import GridcareError, InvalidInput
    from gridcare.keyaccounts.budget_actions import do_decide_expense, do_record_expense, do_set_budget
    from gridcare.keyaccounts.credit_actions import (
        do_adjust_credit_score,
        do_compute_credit_scores,
        do_decide_credit_adjustment,
        do_load_credit_rule_defaults,
    )
    from gridcare.keyaccounts.models import CreditScore

    manager = User.objects.filter(username="manager").first()
    do_load_credit_rule_defaults(actor)
    scored = 0
    for month in _months_back(SCORED_MONTHS):
        with clock.as_of(_scoring_moment(month)):
            scored += do_compute_credit_scores(manager or actor, month=month)["scored"]
    yield f"keyaccounts: {scored:,} credit scores, month by month over the replayed year"
    kam = User.objects.filter(position__code="key_account_manager", is_active=True).order_by("pk").first()
    if kam is not None and manager is not None:
        latest = _months_back(1)[0]
        mine = list(
            CreditScore.objects.filter(
                month=latest, account__account_manager=kam, account__is_key_account=True
            )
            .order_by("account_id")
            .values_list("account_id", "score")[:2]
        )
        adjusted = 0
        if mine:
            account_id, score = mine[0]
            do_adjust_credit_score(
                kam, account_id, points=5 if score <= 95 else -5, reason="回访核实：已按约定付清欠费"
            )
            adjusted += 1
        if len(mine) > 1:
            account_id, score = mine[1]
            request = do_adjust_credit_score(
                kam, account_id, points=-20 if score >= 20 else 20, reason="稽查发现违约用电嫌疑，待处理"
            )
            do_decide_credit_adjustment(manager, request.pk, approve=True, note="同意，结案后复核")
            adjusted += 1
        yield f"keyaccounts: {adjusted} credit-score adjustment(s) (one within the limit, one approved above it)"
    market = User.objects.filter(username="market_manager").first()
    sales = User.objects.filter(username="sales").first()
    if market is None or sales is None or manager is None:
        return
    today = timezone.localdate()
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=["CD", "SN"])}
    if len(units) < 2:
        return
    east = do_set_budget(
        market, year=today.year, region=units["CD"], owner=sales, amount="80000", note="城东片区"
    )
    do_set_budget(market, year=today.year, region=units["SN"], owner=sales, amount="50000", note="山南片区")
    if kam is not None:
        do_set_budget(
            manager, year=today.year, region=units["CD"], owner=kam, amount="120000", note="大客户维护"
        )
    spent = 0
    for days, category, amount, text in (
        (200, "expense_promotion", "28000.00", "城东工业园推介会"),
        (120, "expense_visits", "6500.00", "重点企业走访差旅"),
        (60, "expense_research", "12000.00", "城东产业用电调研"),
        (20, "expense_events", "30000.00", "年度客户座谈会"),
    ):
        day = max(today - dt.timedelta(days=days), today.replace(month=1, day=1))
        do_record_expense(sales, budget=east, day=day, category=category, amount=amount, description=text)
        spent += 1
    over = {
        "budget": east,
        "day": today,
        "category": "expense_promotion",
        "amount": "9000.00",
        "description": "年末宣传册",
    }
    try:
        do_record_expense(sales, **over)  # type: ignore[arg-type]
    except InvalidInput:
        refused = 1
    else:  # pragma: no cover - the budget above leaves 3,500 元
        refused = 0
    try:
        waiting = do_record_expense(sales, request_approval=True, **over)  # type: ignore[arg-type]
        do_decide_expense(market, waiting.pk, approve=True, note="年末宣传，同意超支")
    except GridcareError as error:  # pragma: no cover - shown, never hidden
        yield f"keyaccounts: overrun not approved: {error.message}"
    yield (
        f"keyaccounts: sales budgets for {today.year}, {spent} expenses, {refused} over budget refused "
        "then approved by the market department manager"
    )
