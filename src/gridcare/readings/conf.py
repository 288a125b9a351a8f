"""The VEE rules the app runs: the stored :class:`~gridcare.readings.models.VeeRuleSetting` rows as engine rules,
or the engine's defaults where nothing is stored yet."""

from __future__ import annotations

from django.conf import settings

from gridcare.engine.vee import DEFAULT_RULES, Rule
from gridcare.readings.models import VeeRuleSetting

#: months of validated history the capture path hands to VEE (the previous period, the same month last year and
#: a zero-consumption run need 13; a longer gap than this compares with nothing)
HISTORY_MONTHS: int = getattr(settings, "GRIDCARE_READINGS_HISTORY_MONTHS", 25)

#: metering register code → engine register name (:data:`gridcare.engine.vee.REGISTERS`)
ENGINE_REGISTERS: dict[str, str] = {
    "active_total": "total",
    "active_sharp": "critical",
    "active_peak": "peak",
    "active_flat": "flat",
    "active_valley": "valley",
    "reactive_total": "reactive",
}


def vee_rules() -> list[Rule]:
    """Enabled rules with their stored severity and parameters; the engine defaults if none are stored."""
    stored = list(VeeRuleSetting.objects.all())
    if not stored:
        return list(DEFAULT_RULES)
    return [
        Rule(s.code, s.severity, {k: int(v) for k, v in (s.params or {}).items()})  # type: ignore[arg-type]
        for s in stored
        if s.enabled
    ]


def on_time_days() -> int:
    """抄表及时 — a read counts as on time within this many days either side of the route's reading day: the
    ``days`` of the stored ``outside_window`` rule (RULES.md §5: 2), the one setting the VEE check also uses."""
    stored = VeeRuleSetting.objects.filter(code="outside_window").values_list("params", flat=True).first()
    rule = Rule("outside_window", "warn", {k: int(v) for k, v in (stored or {}).items()})
    return rule.param("days")


def follow_up_days() -> int:
    """异常处理及时 — an exception is followed up on time when decided within this many days of being raised
    (``settings.GRIDCARE_READINGS["follow_up_days"]``)."""
    return int(settings.GRIDCARE_READINGS["follow_up_days"])


def billing_lead_days() -> int:
    """The billing day of a route in a period: its reading day plus this many days
    (``settings.GRIDCARE_READINGS["billing_lead_days"]``); exceptions must be decided by then."""
    return int(settings.GRIDCARE_READINGS["billing_lead_days"])


#: head-end receipts settled per transaction by the settle job (claimed with FOR UPDATE SKIP LOCKED)
HEADEND_SETTLE_CHUNK: int = getattr(settings, "GRIDCARE_HEADEND_SETTLE_CHUNK", 20_000)
#: minutes between two sweeps of the settle job (Celery beat) — it also runs after each receipt batch commits
HEADEND_SETTLE_EVERY_MINUTES: int = getattr(settings, "GRIDCARE_HEADEND_SETTLE_EVERY_MINUTES", 1)


def settle_after_receipt() -> bool:
    """Start the settle job after each receipt batch commits (a Celery task; inline without a broker). Off for a
    receipt-only measurement, where the sweep or ``gridcare readings settle`` settles later."""
    return bool(getattr(settings, "GRIDCARE_HEADEND_SETTLE_AFTER_RECEIPT", True))
