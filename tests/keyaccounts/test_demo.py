"""The demo builds key accounts, a half-done plan, prospects in every stage and two refused collisions."""

from __future__ import annotations

import pytest

from gridcare.keyaccounts import demo
from gridcare.keyaccounts.models import Collision, Prospect, Visit

pytestmark = pytest.mark.django_db


def test_demo_through_the_real_actions(company, staff) -> None:
    for n in range(3):
        company(f"示范大工业{n}号", manager=staff("key_account"), capacity="2000")
    lines = list(demo.build(staff("admin"), "small"))
    assert "3 key accounts" in lines[0]
    stages = set(Prospect.objects.values_list("stage", flat=True))
    assert stages == set(Prospect.Stage.values)
    assert Prospect.objects.filter(status="converted", customer__isnull=False).count() == 1
    assert Collision.objects.count() == 2
    assert Visit.objects.exists() or "0 visits" in lines[1]
    # credit scores, one adjustment within the limit and one approved above it; the budget with an overrun
    from gridcare.keyaccounts.models import CreditAdjustment, CreditScore, SalesExpense

    assert CreditScore.objects.values("month").distinct().count() == demo.SCORED_MONTHS == 12
    adjustments = CreditAdjustment.objects.order_by("pk")
    assert [(a.status, a.decided_by.username) for a in adjustments] == [
        ("approved", "key_account"),
        ("approved", "manager"),
    ]
    over = SalesExpense.objects.get(overrun__gt=0)
    assert over.status == "recorded" and over.decided_by.username == "market_manager"
    assert any("refused then approved" in line for line in lines)
    assert list(demo.build(staff("admin"), "small"))[0].endswith("already present (use --reset to rebuild)")
