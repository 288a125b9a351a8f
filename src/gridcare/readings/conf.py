"""The VEE rules the app runs: the stored :class:`~gridcare.readings.models.VeeRuleSetting` rows as engine rules,
or the engine's defaults where nothing is stored yet."""

from __future__ import annotations

from gridcare.engine.vee import DEFAULT_PARAMS, DEFAULT_RULES, Rule
from gridcare.readings.models import VeeRuleSetting

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
    """The on-time tolerance (抄表及时: within ± this many days of the reading day): the ``days`` of the stored
    ``outside_window`` rule, the engine default if it is not stored or switched off. A task still pending this
    many days after its reading day is a missing read."""
    stored = VeeRuleSetting.objects.filter(code="outside_window").values_list("params", flat=True).first()
    return int((stored or {}).get("days", DEFAULT_PARAMS["outside_window"]["days"]))
