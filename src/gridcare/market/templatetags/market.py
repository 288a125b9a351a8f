"""``{% research_reports prospect=… %}`` / ``{% research_reports account=… %}``: the research reports the viewer
may read, as a card on the prospect page and the key-account 360 view (nothing without ``research.view``)."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Q
from django.urls import reverse

from gridcare.core.access import has_perm
from gridcare.market.selectors import READ_REPORTS, visible_reports

register = template.Library()


@register.inclusion_tag("market/reports_card.html", takes_context=True)
def research_reports(context: Any, prospect: Any = None, account: Any = None) -> dict[str, Any]:
    user = context["request"].user
    if not any(has_perm(user, code) for code in READ_REPORTS):
        return {"reports": None, "hidden": True}
    rows = visible_reports(user)
    new_url = None
    if prospect is not None:
        rows = rows.filter(prospect=prospect)
        if has_perm(user, "research.write"):
            new_url = reverse("market:report-create") + f"?prospect={prospect.pk}"
    elif account is not None:
        # a key account: the reports on the prospect it was won from, and those of its supply area
        condition = Q(prospect__customer_id=account.customer_id) | Q(region_id=account.org_unit_id)
        rows = rows.filter(condition)
    return {"reports": list(rows[:10]), "new_url": new_url, "hidden": False}


@register.filter
def pct(value: Any) -> str:
    """A rate already in percent (87.5) as "87.5%"; "—" when there was nothing to measure."""
    return "—" if value is None else f"{value}%"
