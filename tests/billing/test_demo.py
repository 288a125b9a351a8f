"""The demo's billing: the real run of the last closed period, then the accountant's review — findings accepted
with a reason, a few bills left in review, the rest released with numbers and due dates."""

from __future__ import annotations

import pytest

from gridcare.billing.models import Bill, BillFinding, Rebill

pytestmark = pytest.mark.django_db


def test_demo_run_is_reviewed_and_released(system, staff, tariffs) -> None:
    from gridcare.billing import demo as billing_demo
    from gridcare.customers import demo as customers_demo
    from gridcare.metering import demo as metering_demo
    from gridcare.readings import demo as readings_demo

    customers_demo.SCALES["tiny"] = 40
    metering_demo.STOCK["tiny"] = 30
    try:
        list(customers_demo.build(system, "tiny"))
        list(metering_demo.build(system, "tiny"))
        list(readings_demo.build(system, "tiny"))
    finally:
        del customers_demo.SCALES["tiny"], metering_demo.STOCK["tiny"]
    lines = list(billing_demo.build(system, "tiny"))
    assert any("released" in line for line in lines), lines
    released = Bill.objects.filter(status="released")
    assert released.exists() and not released.filter(number=None).exists()
    assert released.values("number").distinct().count() == released.count()
    assert not released.filter(due_date=None).exists()
    in_review = Bill.objects.filter(status="review").count()
    assert in_review <= billing_demo.LEFT_IN_REVIEW  # a tiny demo has one bill in review: it is reviewed
    accepted = BillFinding.objects.filter(accepted=True)
    assert accepted.exists() and not accepted.filter(reason="").exists()
    assert not Bill.objects.filter(status="draft").exists()
    kinds = set(Rebill.objects.values_list("kind", flat=True))
    assert kinds == {"correction", "meter_error", "violation", "theft"}, lines
    assert Rebill.objects.filter(status="pending").count() == 1
    above = Rebill.objects.filter(status="posted", decided_by__username="manager")
    assert above.exists() and all(c.authority_amount > 2000 for c in above)
    correcting = Bill.objects.filter(kind="correcting")
    assert correcting.count() == Rebill.objects.filter(status="posted").count()
    assert not correcting.exclude(status="released").exists()
