"""A tariff version as staff read it (电价表): components as rows with prices and units, tiers with their
thresholds, the TOU schedule as a 24-hour band per season — built from the engine's parsed definition
(:mod:`gridcare.engine.tariff`), never from the stored JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from gridcare.engine.money import PRICE_DEC, QTY_DEC
from gridcare.engine.tariff import (
    DAY_TYPES,
    PERIOD_LABELS,
    PERIODS,
    TIER_NAMES,
    BasicCharge,
    Component,
    FixedCharge,
    FlatEnergy,
    Fund,
    MinimumCharge,
    PowerFactor,
    TariffVersion,
    Tier,
    TieredEnergy,
    TouEnergy,
    TouSchedule,
    TouTieredEnergy,
)
from gridcare.web.display import money, number
from gridcare.web.display import price as unit_price

HOURS = tuple(range(24))


def price(scaled: int) -> str:
    """A unit price held in 1e-6 元, with the decimals it was published with (at least two)."""
    return unit_price(Decimal(scaled).scaleb(-PRICE_DEC))


def quantity(scaled: int) -> str:
    value = Decimal(scaled).scaleb(-QTY_DEC).normalize()
    return number(value.quantize(Decimal(1)) if value == value.to_integral() else value)


def months_text(months: list[int]) -> str:
    """Month numbers as runs: [1, 2, 3, 10, 11, 12] → "1–3、10–12 月"."""
    runs: list[list[int]] = []
    for month in months:
        if runs and runs[-1][-1] == month - 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    spans = "、".join(f"{run[0]}–{run[-1]}" if len(run) > 1 else str(run[0]) for run in runs)
    return _("months %(spans)s") % {"spans": spans}


@dataclass(frozen=True)
class Line:
    """One priced line of a component: what, and its price or value with the unit."""

    label: str
    value: str


@dataclass(frozen=True)
class TierRow:
    name: str
    thresholds: str
    price: str


@dataclass
class ComponentView:
    label: str
    lines: list[Line] = field(default_factory=list)
    tiers: list[TierRow] = field(default_factory=list)
    tier_price_label: str = ""


@dataclass(frozen=True)
class Band:
    """One day of a season: its name and the period of each hour (for the coloured cells)."""

    name: str
    hours: list[tuple[int, str, str]]  # (hour, period code for the CSS class, period label)


@dataclass(frozen=True)
class Season:
    months: str
    bands: list[Band]


@dataclass
class VersionView:
    components: list[ComponentView]
    seasons: list[Season]
    legend: list[Line]


def tier_rows(tiers: tuple[Tier, ...], basis: str) -> list[TierRow]:
    """Each tier with its upper threshold (by month when the thresholds are seasonal)."""
    rows = []
    lower: tuple[int | None, ...] = (0,) * 12
    unit = _("kWh per year") if basis == "annual" else _("kWh per month")
    for index, tier in enumerate(tiers):
        name = TIER_NAMES[index] if index < len(TIER_NAMES) else str(index + 1)
        groups: dict[tuple[int | None, int | None], list[int]] = {}
        for month in range(12):
            groups.setdefault((lower[month], tier.upto[month]), []).append(month + 1)
        parts = []
        for (low, high), months in groups.items():
            span = (
                _("above %(low)s") % {"low": quantity(low or 0)}
                if high is None
                else f"{quantity(low or 0)} – {quantity(high)}"
            )
            parts.append(span if len(groups) == 1 else f"{months_text(months)}：{span}")
        rows.append(TierRow(name, f"{'；'.join(parts)} {unit}", price(tier.price)))
        lower = tier.upto
    return rows


def period_lines(prices: Mapping[str, int]) -> list[Line]:
    return [
        Line(PERIOD_LABELS[period], f"{price(prices[period])} {_('元/kWh')}")
        for period in PERIODS
        if period in prices
    ]


def component_view(component: Component) -> ComponentView:
    view = ComponentView(component.label)
    per_kwh = _("元/kWh")
    if isinstance(component, FixedCharge):
        unit = _("元/month") if component.per == "month" else _("元/day")
        view.lines.append(Line(_("Fixed charge"), f"{price(component.price)} {unit}"))
    elif isinstance(component, FlatEnergy):
        view.lines.append(Line(_("Energy price"), f"{price(component.price)} {per_kwh}"))
    elif isinstance(component, TieredEnergy):
        view.tiers = tier_rows(component.tiers, component.basis)
        view.tier_price_label = _("Price (元/kWh)")
    elif isinstance(component, TouEnergy):
        view.lines = period_lines(component.prices)
    elif isinstance(component, TouTieredEnergy):
        view.lines = period_lines(component.prices)
        view.tiers = tier_rows(component.tiers, component.basis)
        view.tier_price_label = _("Surcharge (元/kWh)")
    elif isinstance(component, BasicCharge):
        if component.capacity_price is not None:
            view.lines.append(
                Line(_("By capacity"), f"{price(component.capacity_price)} {_('元/kVA·month')}")
            )
        if component.demand_price is not None:
            view.lines.append(
                Line(_("By maximum demand"), f"{price(component.demand_price)} {_('元/kW·month')}")
            )
        view.lines.append(
            Line(
                _("Demand above the contract"),
                _("above %(pct)s %% charged at %(times)s × the price")
                % {"pct": component.overrun_pct, "times": component.overrun_multiplier},
            )
        )
        view.lines.append(
            Line(
                _("Minimum contracted demand"),
                _("%(pct)s %% of the capacity") % {"pct": component.min_contract_pct},
            )
        )
    elif isinstance(component, PowerFactor):
        standard = f"{Decimal(component.standard).scaleb(-2):.2f}"
        view.lines.append(
            Line(_("Adjustment table"), _("Power factor standard %(standard)s") % {"standard": standard})
        )
        view.lines.append(
            Line(_("Reward capped at power factor"), f"{Decimal(component.reward_cap_pf).scaleb(-2):.2f}")
        )
        if component.min_capacity_kva:
            view.lines.append(Line(_("Applies from"), f"{number(component.min_capacity_kva)} kVA"))
    elif isinstance(component, Fund):
        view.lines.append(Line(component.label, f"{price(component.price)} {per_kwh}"))
    elif isinstance(component, MinimumCharge):
        view.lines.append(
            Line(_("Minimum charge per month"), money(Decimal(component.amount).scaleb(-PRICE_DEC)))
        )
    return view


def seasons(schedule: TouSchedule) -> list[Season]:
    """Months with the same day bands grouped into a season; weekend and holiday bands shown only when they
    differ from the weekday."""
    day_names = {"weekday": _("Working day"), "weekend": _("Weekend"), "holiday": _("Public holiday")}
    grouped: dict[tuple[tuple[int, ...], ...], list[int]] = {}
    for month, days in enumerate(schedule.table, start=1):
        grouped.setdefault(tuple(days), []).append(month)
    result = []
    for days, months in grouped.items():
        bands = []
        every_day = all(day == days[0] for day in days)
        for index, day_type in enumerate(DAY_TYPES):
            if index and days[index] == days[0]:
                continue
            periods = [PERIODS[period] for period in days[index]]
            hours = [
                (hour, period, PERIOD_LABELS[period]) for hour, period in zip(HOURS, periods, strict=True)
            ]
            bands.append(Band(_("Every day") if every_day else day_names[day_type], hours))
        result.append(Season(months_text(months), bands))
    return result


def version_view(version: TariffVersion) -> VersionView:
    energy = version.energy
    prices = dict(energy.prices) if isinstance(energy, TouEnergy | TouTieredEnergy) else {}
    used = version.tou.periods_used() if version.tou is not None else set()
    legend = [
        Line(
            period,
            PERIOD_LABELS[period] + (f" {price(prices[period])} {_('元/kWh')}" if period in prices else ""),
        )
        for period in PERIODS
        if period in used
    ]
    return VersionView(
        components=[component_view(c) for c in version.components],
        seasons=seasons(version.tou) if version.tou is not None else [],
        legend=legend,
    )
