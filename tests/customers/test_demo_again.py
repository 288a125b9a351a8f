"""Issue #10 point 7: a second ``make demo`` says what it kept instead of "0 meters installed"."""

from __future__ import annotations


def test_second_demo_run_says_what_it_kept(system, staff) -> None:
    from gridcare.customers import demo as customers_demo
    from gridcare.metering import demo as metering_demo
    from gridcare.metering.models import Meter

    customers_demo.SCALES["tiny"] = 40
    metering_demo.STOCK["tiny"] = 3
    try:
        list(customers_demo.build(system, "tiny"))
        list(metering_demo.build(system, "tiny"))
        installed = Meter.objects.filter(status="installed").count()
        before = Meter.objects.count()
        again = list(metering_demo.build(system, "tiny"))
    finally:
        del customers_demo.SCALES["tiny"], metering_demo.STOCK["tiny"]
    assert Meter.objects.count() == before
    assert len(again) == 1 and "0 meters installed" not in again[0]
    assert again[0].startswith("metering: demo meters already present")
    assert f"kept {installed:,} installed, 3 in stock" in again[0]


def test_demo_service_points_are_on_tariffs_of_the_catalogue(system) -> None:
    """Demo service points name tariffs the catalogue holds, so screens can show their names (居民生活用电…) and
    the billing run can bill them — agriculture included (CN-ZJ-AGR)."""
    from gridcare.customers import demo as customers_demo
    from gridcare.customers.models import ServicePoint
    from gridcare.tariffs import demo as tariffs_demo
    from gridcare.tariffs.models import Tariff

    customers_demo.SCALES["tiny"] = 200
    try:
        list(tariffs_demo.build(system, "tiny"))
        list(customers_demo.build(system, "tiny"))
    finally:
        del customers_demo.SCALES["tiny"]
    used = set(ServicePoint.objects.values_list("tariff_code", flat=True))
    assert {"CN-ZJ-RES-TIERED", "CN-SH-GIC-TOU", "CN-LI-2PART-TOU"} <= used
    assert used <= set(Tariff.objects.values_list("code", flat=True))
