"""异常电费审核规则: listed for whoever views bills, edited by the billing accountant's manager through an audited
action with bounds on every parameter; the next run checks its bills with the new values."""

from __future__ import annotations

import pytest
from django.test import Client

from gridcare.billing.actions import do_change_plausibility_rule
from gridcare.billing.executors import start_run
from gridcare.billing.models import Bill, BillFinding, PlausibilityRule
from gridcare.core.errors import InvalidInput, NotFound, PermissionRefused
from gridcare.core.models import AuditEntry
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_manager_edits_a_threshold_and_the_next_run_uses_it(staff, customer) -> None:
    big = customer(registers={"active_total": "5000"})  # about 3,000 元: under the default 100,000 元
    manager = client_for(staff("manager"))
    listing = manager.get("/billing/rules/").content.decode()
    assert (
        "异常电费审核规则" in listing
        and "电费金额过大" in listing
        and "应收电费超过（元）：100,000" in listing
    )
    assert "/billing/rules/large_amount/edit/" in listing
    form = manager.get("/billing/rules/large_amount/edit/").content.decode()
    assert "修改审核规则" in form and "默认：100,000" in form
    bad = manager.post("/billing/rules/large_amount/edit/", {"enabled": "on", "threshold_yuan": "0"})
    assert bad.status_code == 400 and not PlausibilityRule.objects.exists()  # nothing changed
    saved = manager.post("/billing/rules/large_amount/edit/", {"enabled": "on", "threshold_yuan": "1000"})
    assert saved.status_code == 302 and saved["Location"] == "/billing/rules/"
    rule = PlausibilityRule.objects.get(code="large_amount")
    assert rule.enabled and rule.params == {"threshold_yuan": 1000}
    entry = AuditEntry.objects.get(action="billing.change_rule")
    assert entry.actor == staff("manager") and entry.after["params"] == {"threshold_yuan": 1000}
    assert "已修改" in manager.get("/billing/rules/").content.decode()
    start_run(staff("billing"), period=PERIOD)
    bill = Bill.objects.get(account=big)
    assert bill.status == "review"
    assert BillFinding.objects.get(bill=bill).rule == "large_amount"


def test_a_disabled_rule_flags_nothing_in_the_next_run(staff, customer) -> None:
    zero = customer(registers={"active_total": "0"})
    do_change_plausibility_rule(staff("manager"), "zero_bill", enabled=False, params={})
    start_run(staff("billing"), period=PERIOD)
    assert Bill.objects.get(account=zero).status == "draft"
    assert "停用" in client_for(staff("billing")).get("/billing/rules/").content.decode()


def test_only_the_manager_edits_and_bad_parameters_are_refused(staff) -> None:
    accountant = client_for(staff("billing"))
    page = accountant.get("/billing/rules/").content.decode()
    assert "电费环比突变" in page and "/edit/" not in page  # reads the rules, may not change them
    assert accountant.get("/billing/rules/large_amount/edit/").status_code == 403
    assert client_for(staff("manager")).get("/billing/rules/no_such_rule/edit/").status_code == 404
    with pytest.raises(PermissionRefused):
        do_change_plausibility_rule(
            staff("billing"), "large_amount", enabled=True, params={"threshold_yuan": 5}
        )
    with pytest.raises(InvalidInput) as missing:
        do_change_plausibility_rule(
            staff("manager"), "change_vs_last_month", enabled=True, params={"percent": 20}
        )
    assert "floor_yuan" in str(missing.value.errors)
    with pytest.raises(InvalidInput) as bounds:
        do_change_plausibility_rule(
            staff("manager"), "change_vs_last_month", enabled=True, params={"percent": 0, "floor_yuan": 50}
        )
    assert "percent" in str(bounds.value.errors)
    with pytest.raises(NotFound):
        do_change_plausibility_rule(staff("manager"), "nope", enabled=True, params={})
    assert not PlausibilityRule.objects.exists() and not AuditEntry.objects.filter(
        action="billing.change_rule"
    )
