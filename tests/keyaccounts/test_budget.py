"""Sales expense budgets (销售费用预算): lines by region and owner, expenses against them, an expense over the
remaining budget refused unless approved within authority (budget_amount), the execution table and its export."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from gridcare.core.errors import InvalidInput, LimitExceeded, NotFound, PermissionRefused
from gridcare.keyaccounts.budget_actions import do_decide_expense, do_record_expense, do_set_budget
from gridcare.keyaccounts.models import SalesExpense
from gridcare.org.models import OrgUnit

YEAR = timezone.localdate().year
DAY = timezone.localdate().replace(day=1)


@pytest.fixture
def line(staff):
    return do_set_budget(
        staff("market_manager"),
        year=YEAR,
        region=OrgUnit.objects.get(code="CD"),
        owner=staff("sales"),
        amount="80000.00",
        note="城东片区推广",
    )


def record(staff, line, amount: str, **kwargs):
    return do_record_expense(
        staff(kwargs.pop("who", "sales")),
        budget=line.pk,
        day=kwargs.pop("day", DAY),
        category=kwargs.pop("category", "expense_promotion"),
        amount=amount,
        description=kwargs.pop("description", "园区推介会"),
        **kwargs,
    )


def test_an_expense_within_the_budget_is_recorded(staff, line) -> None:
    from gridcare.keyaccounts.budget import remaining_of

    expense = record(staff, line, "30000.00")
    assert expense.status == "recorded" and expense.overrun == 0
    assert remaining_of(line) == Decimal("50000.00")


def test_an_expense_over_the_remaining_budget_is_refused_with_the_figures_and_nothing_recorded(
    staff, line
) -> None:
    record(staff, line, "30000.00")
    with pytest.raises(InvalidInput) as error:
        record(staff, line, "60000.00")
    message = error.value.errors["amount"][0]
    assert "剩余 50,000.00 元" in message and "超出 10,000.00 元" in message and "市场部经理" in message
    assert SalesExpense.objects.count() == 1


def test_an_overrun_asked_for_waits_and_the_market_manager_approves_within_100000(staff, line) -> None:
    from gridcare.keyaccounts.budget import budget_execution

    record(staff, line, "30000.00")
    waiting = record(staff, line, "60000.00", request_approval=True)
    assert waiting.status == "pending" and waiting.overrun == Decimal("10000.00")
    assert "市场部经理" in waiting.approvers
    with pytest.raises(PermissionRefused):
        do_decide_expense(staff("sales"), waiting.pk, approve=True)  # no authority (and it is one's own)
    with pytest.raises(InvalidInput, match="note"):
        do_decide_expense(staff("market_manager"), waiting.pk, approve=False)
    approved = do_decide_expense(staff("market_manager"), waiting.pk, approve=True, note="推介会追加")
    assert approved.status == "recorded" and approved.decided_by == staff("market_manager")
    [row] = budget_execution(staff("market_manager"), YEAR)
    assert (row.budget, row.spent, row.remaining) == (
        Decimal("80000.00"),
        Decimal("90000.00"),
        Decimal("-10000.00"),
    )
    assert row.execution == Decimal("112.5")


def test_an_overrun_above_the_market_managers_limit_needs_the_marketing_manager(staff, line) -> None:
    waiting = record(staff, line, "200000.00", request_approval=True)  # 120,000 over
    with pytest.raises(LimitExceeded):
        do_decide_expense(staff("market_manager"), waiting.pk, approve=True)
    assert SalesExpense.objects.get(pk=waiting.pk).status == "pending"
    assert do_decide_expense(staff("manager"), waiting.pk, approve=True).status == "recorded"


def test_the_market_manager_records_an_overrun_within_own_authority_at_once(staff) -> None:
    own = do_set_budget(
        staff("market_manager"),
        year=YEAR,
        region=OrgUnit.objects.get(code="SN"),
        owner=staff("market_manager"),
        amount="1000.00",
    )
    expense = record(staff, own, "5000.00", who="market_manager")
    assert expense.status == "recorded" and expense.overrun == Decimal("4000.00")
    assert expense.decided_by == staff("market_manager")


def test_a_budget_above_the_setters_authority_or_for_someone_outside_the_team_is_refused(staff) -> None:
    with pytest.raises(LimitExceeded):
        do_set_budget(
            staff("market_manager"),
            year=YEAR,
            region=OrgUnit.objects.get(code="CD"),
            owner=staff("sales"),
            amount="200000",
        )
    with pytest.raises(NotFound):  # the key account manager is not in the market department
        do_set_budget(
            staff("market_manager"),
            year=YEAR,
            region=OrgUnit.objects.get(code="CD"),
            owner=staff("key_account"),
            amount="1000",
        )
    # the marketing manager (company) may
    assert do_set_budget(
        staff("manager"),
        year=YEAR,
        region=OrgUnit.objects.get(code="CD"),
        owner=staff("key_account"),
        amount="200000",
    ).amount == Decimal("200000")


def test_a_budget_cannot_go_below_what_is_spent(staff, line) -> None:
    record(staff, line, "30000.00")
    with pytest.raises(InvalidInput, match="30,000.00"):
        do_set_budget(
            staff("market_manager"), year=YEAR, region=line.region, owner=line.owner, amount="20000"
        )
    assert (
        do_set_budget(
            staff("market_manager"), year=YEAR, region=line.region, owner=line.owner, amount="90000"
        ).pk
        == line.pk
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.005"}, "amount"),
        ({"category": "bribes"}, "category"),
        ({"day": dt.date(YEAR - 1, 12, 31)}, "day"),
        ({"description": "  "}, "description"),
    ],
)
def test_bad_expenses_are_refused_with_the_field(staff, line, change, field) -> None:
    amount = change.pop("amount", "100.00")
    with pytest.raises(InvalidInput) as error:
        record(staff, line, amount, **change)
    assert field in error.value.errors
    assert not SalesExpense.objects.exists()


def test_a_salesperson_cannot_record_on_someone_elses_line(staff) -> None:
    other = do_set_budget(
        staff("manager"),
        year=YEAR,
        region=OrgUnit.objects.get(code="CD"),
        owner=staff("key_account"),
        amount="1000",
    )
    with pytest.raises(NotFound):
        record(staff, other, "10.00")


def test_the_execution_workbook_has_the_lines_and_the_regions(staff, line) -> None:
    from openpyxl import load_workbook

    from gridcare.keyaccounts.budget import budget_execution, execution_workbook

    record(staff, line, "20000.00")
    data = execution_workbook(budget_execution(staff("market_manager"), YEAR), YEAR)
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    rows = [r for r in sheet.iter_rows(values_only=True)]
    assert rows[1][:3] == ("区域", "责任人", "预算（元）")
    assert rows[2][0] == "城东县公司" and rows[2][2] == 80000 and rows[2][3] == 20000 and rows[2][6] == 25
    assert book.worksheets[1].title == "按区域"


def test_budget_variance_kpi(staff, line) -> None:
    from gridcare.keyaccounts.budget import elapsed_share
    from gridcare.keyaccounts.workbench import budget_variance
    from gridcare.web.workbench import Month

    record(staff, line, "20000.00")
    month = Month.of(timezone.localdate())
    plan = Decimal("80000") * elapsed_share(YEAR, timezone.localdate())
    expected = (100 * abs(Decimal("20000") - plan) / plan).quantize(Decimal("0.1"))
    assert budget_variance(staff("sales"), None, month) == expected
    assert budget_variance(staff("market_manager"), staff("market_manager").org_unit, month) == expected
    assert budget_variance(staff("key_account"), None, month) is None  # no line of their own
