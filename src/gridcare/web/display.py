"""The one display layer: what a person reads for a stored value (lists, details, history, Excel, audit log).

A choice code becomes its label, ``None`` a dash, money ``1,234.56 元``, a quantity carries its unit, a duration
reads "24 小时" or "3 个工作日", a ratio "80.0 %", a datetime is shown in local time (Asia/Shanghai), and dicts or
lists become readable text — never ``{'…'}`` or ``None``.

A model declares the choices of a JSON list of codes in ``display_choices`` (``{field name: TextChoices}``) and
the units of its numeric fields in ``display_units`` (``{field name: unit}``); a unit is
:data:`MONEY`, :data:`MINUTES`, :data:`WORKING_DAYS`, :data:`RATIO` (a share, 0.8), :data:`PERMILLE` (800),
:data:`PERCENT` (already in percent), any physical unit printed after the number (``"kWh"``, ``"kVA"``), or a
function of the object answering one of those (a limit in minutes or working days depending on its clock).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _

MONEY = "元"
MINUTES = "minutes"
WORKING_DAYS = "working_days"
RATIO = "ratio"
PERMILLE = "permille"
PERCENT = "%"
#: a rate held as a fraction with up to six decimals (a power-factor adjustment 0.0075): "0.75 %"
RATE = "rate"
EMPTY = "—"
#: a unit that starts so is a unit price (元/kWh, 元/kVA, 元/天): shown with the decimals it was published with
PRICE_PREFIX = "元/"
#: the most decimals a unit price carries (RULES.md: unit prices up to 6 decimals)
PRICE_PLACES = 6

Unit = str | Callable[[Any], str]


def unit_of(field: Any, obj: Any = None) -> str | None:
    """The unit a model declares for ``field`` in ``display_units`` (resolved against ``obj`` if a function)."""
    model = getattr(field, "model", None)
    declared: Mapping[str, Unit] = getattr(model, "display_units", {}) if model is not None else {}
    unit = declared.get(getattr(field, "name", ""))
    if callable(unit):
        return unit(obj) if obj is not None else None
    return unit


def number(value: int | float | Decimal, places: int | None = None) -> str:
    """Thousands separators; ``places`` fixes the decimals (money), otherwise a Decimal keeps its own."""
    if places is not None:
        return f"{value:,.{places}f}"
    return f"{value:,}"


def money(value: int | float | Decimal) -> str:
    return f"{number(value, 2)} {MONEY}"


def in_wan(value: int | float | Decimal, unit: str) -> str:
    """A large figure in 万 (ten thousands) as Chinese reports give sales: "3,103.11 万kWh", "2,657.72 万元"."""
    return f"{number(Decimal(str(value)) / 10_000, 2)} 万{unit}"


def price(value: int | float | Decimal) -> str:
    """A unit price as Chinese bills print it: the decimals it has, at least two and at most six, without
    trailing zeros — ``0.5283``, ``0.538``, ``23.00`` — never the stored ``0.528300``."""
    exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-PRICE_PLACES)).normalize()
    exponent = exact.as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return number(exact, places)


def duration(minutes: int, *, working_days: bool = False) -> str:
    """A time limit as people say it: "3 个工作日", "24 小时", "1 小时 30 分钟", "45 分钟"."""
    if working_days:
        return ngettext("%(count)s working day", "%(count)s working days", minutes) % {"count": minutes}
    hours, rest = divmod(int(minutes), 60)
    parts = []
    if hours:
        parts.append(ngettext("%(count)s hour", "%(count)s hours", hours) % {"count": number(hours)})
    if rest or not hours:
        parts.append(ngettext("%(count)s minute", "%(count)s minutes", rest) % {"count": rest})
    return " ".join(parts)


def ratio(share: int | float | Decimal) -> str:
    """A share (0.8) as a percentage: "80.0 %"."""
    return f"{Decimal(str(share)) * 100:,.1f} %"


def with_unit(value: int | float | Decimal, unit: str, obj: Any = None) -> str:
    if unit == MONEY:
        return money(value)
    if unit == MINUTES:
        return duration(int(value))
    if unit == WORKING_DAYS:
        return duration(int(value), working_days=True)
    if unit == RATIO:
        return ratio(value)
    if unit == PERMILLE:
        return ratio(Decimal(str(value)) / 1000)
    if unit == RATE:
        return f"{price(Decimal(str(value)) * 100)} %"
    if unit.startswith(PRICE_PREFIX):
        return f"{price(value)} {unit}"
    return f"{number(value)} {unit}"


def choices_of(field: Any) -> Any:
    """The field's choices, or those the model declares in ``display_choices`` for a JSON list of codes."""
    if getattr(field, "flatchoices", None):
        return field.flatchoices
    declared = getattr(getattr(field, "model", None), "display_choices", {})
    choices = declared.get(getattr(field, "name", ""))
    return choices.choices if choices is not None else ()


def choice_label(field: Any, value: Any) -> str | None:
    """The label of ``value`` among the field's choices (``get_FOO_display``), or None if it has none."""
    for code, label in choices_of(field):
        if code == value:
            return str(label)
    return None


def display(value: Any, field: Any = None, obj: Any = None) -> str:
    """What a person reads for ``value`` of model field ``field`` (of ``obj``, when its unit depends on it)."""
    if field is not None and value not in (None, ""):
        if isinstance(value, list) and choices_of(field):
            return display([choice_label(field, item) or item for item in value])
        label = choice_label(field, value) if isinstance(value, (str, int)) else None
        if label is not None:
            return label
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, (int, float, Decimal)):
        unit = unit_of(field, obj) if field is not None else None
        if unit:
            return with_unit(value, unit, obj)
        return number(value, 2) if isinstance(value, Decimal) else str(value)
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, Mapping):
        if not value:
            return EMPTY
        return "；".join(f"{key_label(key)}：{display(item)}" for key, item in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        if not value:
            return EMPTY
        return "、".join(display(item) for item in value)
    if isinstance(value, models.Manager):
        return display([str(item) for item in value.all()])
    if isinstance(value, Promise):
        return str(value)
    return str(value)


def key_label(key: Any) -> str:
    """A key of a stored dict in words where the shared audit keys know it."""
    label = AUDIT_KEYS.get(key) if isinstance(key, str) else None
    return capfirst(str(label)) if label is not None else display(key)


def export_value(value: Any, field: Any = None, obj: Any = None) -> Any:
    """A cell of an Excel export: numbers, dates and datetimes stay themselves so Excel can sum and sort them
    (the unit is in the column header), choices become labels, everything else is :func:`display` text."""
    if value is None or value == "":
        return None
    if field is not None and choice_label(field, value) is not None:
        return choice_label(field, value)
    if isinstance(value, bool):
        return display(value)
    if isinstance(value, (int, float, Decimal, dt.date)):
        return value
    return display(value, field, obj)


def model_field(model: Any, name: str) -> Any:
    """The concrete field ``name`` of ``model`` (a class or an instance), or None."""
    meta = getattr(model, "_meta", None)
    if meta is None:
        return None
    try:
        return meta.get_field(name)
    except (
        FieldDoesNotExist
    ):  # an audit key holding another model's value (a case's step): its field, if declared
        return getattr(model, "audit_fields", {}).get(name)


def field_display(obj: Any, name: str) -> str:
    """``obj.name`` as a person reads it (the detail-page filter ``{{ obj|show:"status" }}``)."""
    return display(getattr(obj, name, None), model_field(obj, name), obj)


# ------------------------------------------------------------------------------------------------ audit rows


@dataclass(frozen=True)
class FieldChange:
    """One line of a change: the field's verbose name, the old and the new value as a person reads them."""

    label: str
    before: str
    after: str


def audited_model(object_type: str) -> type[models.Model] | None:
    """The model of an audit row's ``object_type`` (``"service.workorder"``), None if it names no model."""
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def stored_value(raw: Any, field: Any) -> Any:
    """A value as the audit writer stored it in JSON, back in the field's type (dates, Decimals, related rows)."""
    if raw is None or field is None:
        return raw
    try:
        if field.is_relation and field.many_to_many and isinstance(raw, list):
            return related_names(field.related_model, raw)
        if isinstance(raw, (dict, list)):
            return raw
        if field.is_relation and field.many_to_one:
            return field.related_model._default_manager.filter(pk=raw).first() or raw
        if isinstance(field, models.DateTimeField) and isinstance(raw, str):
            return dt.datetime.fromisoformat(raw)
        if isinstance(field, models.DateField) and isinstance(raw, str):
            return dt.date.fromisoformat(raw)
        if isinstance(field, models.DecimalField) and isinstance(raw, (str, int, float)):
            return Decimal(str(raw))
    except (ValueError, ArithmeticError):
        return raw
    return raw


def related_names(model: Any, keys: list[Any]) -> list[str]:
    """Rows of a many-to-many list, stored as ids or codes, by name (codes nobody knows stay as they are)."""
    lookup = "pk" if all(isinstance(key, int) for key in keys) else "code"
    if lookup == "code" and model_field(model, "code") is None:
        return [str(key) for key in keys]
    rows = {getattr(row, lookup): row for row in model._default_manager.filter(**{f"{lookup}__in": keys})}
    return [
        localized_name(rows[key]) if key in rows and hasattr(rows[key], "name") else str(rows.get(key, key))
        for key in keys
    ]


def field_label(model: Any, key: str) -> str:
    """A before/after key in words: the field's verbose name, else the model's ``audit_labels`` (keys that are not
    fields, such as counts of a batch), else the shared :data:`AUDIT_KEYS`."""
    field = model_field(model, key)
    if field is not None and getattr(field, "verbose_name", None):
        return capfirst(str(field.verbose_name))
    label = getattr(model, "audit_labels", {}).get(key) or AUDIT_KEYS.get(key)
    return capfirst(str(label)) if label is not None else key


#: Words for the audit keys several actions write that are not fields of the audited model.
AUDIT_KEYS: dict[str, Any] = {
    "moved": gettext_lazy("records moved"),
    "replaced": gettext_lazy("previous token revoked"),
    "on": gettext_lazy("date"),
    "note": gettext_lazy("note"),
    "reason": gettext_lazy("reason"),
    "count": gettext_lazy("count"),
    "limit": gettext_lazy("limit"),
    "amount": gettext_lazy("amount"),
    "username": gettext_lazy("login name"),
    "attempts_removed": gettext_lazy("failed attempts cleared"),
    "meters_installed": gettext_lazy("meters installed"),
    "meters_in_stock": gettext_lazy("meters in stock"),
    "customer_id": gettext_lazy("customer"),
    "mobile": gettext_lazy("mobile"),
    "name": gettext_lazy("name"),
    "fields": gettext_lazy("fields"),
    "rows": gettext_lazy("rows"),
    "accounts": gettext_lazy("accounts"),
    "service_points": gettext_lazy("service points"),
    "contracts": gettext_lazy("contracts"),
    "on_hand": gettext_lazy("on hand"),
    "order": gettext_lazy("work order"),
    "records": gettext_lazy("records received"),
    "records_accepted": gettext_lazy("records accepted"),
    "records_duplicate": gettext_lazy("records repeated (harmless)"),
    "records_conflict": gettext_lazy("records conflicting"),
    "records_rejected": gettext_lazy("records rejected"),
    "records_no_access": gettext_lazy("records not read (door closed)"),
    "first_read": gettext_lazy("first read number"),
    "last_read": gettext_lazy("last read number"),
    "records_received": gettext_lazy("records received for settlement"),
    "receipts": gettext_lazy("head-end receipts settled"),
    "first_receipt": gettext_lazy("first receipt number"),
    "last_receipt": gettext_lazy("last receipt number"),
    "conflicts_conflict": gettext_lazy("conflicting values queued for review"),
    "conflicts_duplicate": gettext_lazy("conflicting values already stored"),
    "conflicts_rejected": gettext_lazy("conflicting values rejected"),
    "conflicts_accepted": gettext_lazy("conflicting values stored"),
    "quantity": gettext_lazy("quantity"),
    "versions": gettext_lazy("versions"),
    "parsed": gettext_lazy("definition type"),
}


def audit_changes(entry: Any) -> list[FieldChange]:
    """An audit row's before/after, field by field, through :func:`display` (verbose names, labels, local time)."""
    before, after = entry.before, entry.after
    if not isinstance(before, Mapping | None) or not isinstance(after, Mapping | None):
        return [FieldChange("", display(before), display(after))]
    return field_changes(audited_model(entry.object_type), before, after)


def field_changes(
    model: Any, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> list[FieldChange]:
    """Old and new values of ``model``'s fields (as the audit writer stores them), one line per key.

    A record's creation has no old values: its lines carry an empty ``before`` (shown without an arrow) and leave
    out the fields created empty, so a new order lists what was filled in rather than a column of "— → —"."""
    created = not before
    before, after = before or {}, after or {}
    rows = []
    for key in dict.fromkeys([*before, *after]):
        field = model_field(model, key)
        new = display(stored_value(after.get(key), field), field) if key in after else EMPTY
        if created and new == EMPTY:
            continue
        old = (
            ""
            if created
            else display(stored_value(before.get(key), field), field)
            if key in before
            else EMPTY
        )
        rows.append(FieldChange(field_label(model, key), old, new))
    return rows


def localized_name(obj: Any) -> str:
    """A catalogue row's name in the UI language: ``name_en`` in the English UI when it has one, else ``name``."""
    english = getattr(obj, "name_en", "") if (get_language() or "").startswith("en") else ""
    return str(english or obj.name)


def permission_names(codes: Iterable[str]) -> list[str]:
    """The names of permission codes in the UI language (the 403 page names what is missing, not its code)."""
    codes = list(codes)
    catalogue = apps.get_model("org", "PermissionCode")
    names = {row.code: localized_name(row) for row in catalogue.objects.filter(code__in=codes)}
    return [names.get(code, code) for code in codes]
