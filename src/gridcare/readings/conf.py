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


#: head-end receipts settled per transaction by the settle job (claimed with FOR UPDATE SKIP LOCKED)
HEADEND_SETTLE_CHUNK: int = getattr(settings, "GRIDCARE_HEADEND_SETTLE_CHUNK", 20_000)
#: minutes between two sweeps of the settle job (Celery beat) — it also runs after each receipt batch commits
HEADEND_SETTLE_EVERY_MINUTES: int = getattr(settings, "GRIDCARE_HEADEND_SETTLE_EVERY_MINUTES", 1)


def settle_after_receipt() -> bool:
    """Start the settle job after each receipt batch commits (a Celery task; inline without a broker). Off for a
    receipt-only measurement, where the sweep or ``gridcare readings_settle`` settles later."""
    return bool(getattr(settings, "GRIDCARE_HEADEND_SETTLE_AFTER_RECEIPT", True))
