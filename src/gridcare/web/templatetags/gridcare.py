"""Template helpers: form widgets with CSS classes, and table cells formatted as Chinese users expect."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

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
def cell(value: Any) -> Any:
    """Booleans as 是/否, datetimes in Asia/Shanghai, Decimals with 2 places, None as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return value
