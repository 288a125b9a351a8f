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
    assert list(demo.build(staff("admin"), "small"))[0].endswith("already present (use --reset to rebuild)")
