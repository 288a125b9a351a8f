"""Template helpers: form widgets with CSS classes, and values shown through the one display layer."""

from __future__ import annotations

from typing import Any

from django import template

from gridcare.web.display import (
    FieldChange,
    audit_changes,
    display,
    duration,
    field_changes,
    field_display,
    money,
    ratio,
)
from gridcare.web.workbench import describe_action

register = template.Library()


@register.filter
def with_class(field: Any, css: str) -> Any:
    existing = field.field.widget.attrs.get("class", "")
    widget_css = (
        "form-select form-select-sm"
        if field.widget_type in {"select", "nullbooleanselect"} and "sm" in css
        else css
    )
    if field.widget_type in {"select", "nullbooleanselect"} and "sm" not in css:
        widget_css = css.replace("form-control", "form-select")
    if field.widget_type == "checkbox":
        widget_css = "form-check-input"
    return field.as_widget(attrs={"class": f"{existing} {widget_css}".strip()})


@register.filter
def cell(value: Any) -> str:
    """A table cell as a person reads it (:func:`gridcare.web.display.display`)."""
    return display(value)


@register.filter(name="money")
def money_filter(value: Any) -> str:
    """An amount in 元 with two decimals and its unit (:func:`gridcare.web.display.money`); none as "—"."""
    return "—" if value is None or value == "" else money(value)


@register.filter
def show(obj: Any, name: str) -> str:
    """A field of a model instance with its choice label, unit and local time: ``{{ order|show:"status" }}``."""
    return field_display(obj, name)


@register.filter
def minutes(value: Any) -> str:
    """A number of minutes as "24 小时"."""
    return display(value) if value in (None, "") else duration(int(value))


@register.filter
def percent(value: Any) -> str:
    """A share (0.8) as "80.0 %"."""
    return display(value) if value in (None, "") else ratio(value)


@register.filter
def changes(entry: Any) -> list[FieldChange]:
    """An audit row's before/after as a field-by-field list (verbose name, old, new)."""
    return audit_changes(entry)


@register.filter
def proposed_changes(change: Any) -> list[FieldChange]:
    """A proposed change of a position (before → proposed), field by field."""
    return field_changes(type(change.position), change.before, change.changes)


@register.filter
def verb(action: str) -> str:
    """An audit action code in words ("受理工单" for ``service.create_order``)."""
    return describe_action(action)
