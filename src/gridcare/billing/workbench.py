"""The billing app's part of the workbench registry (gridcare.web.workbench): its actions in words."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

VERBS = {
    "billing.start_run": _("Started the billing run"),
    "billing.begin_run": _("Began rating the billing run"),
    "billing.rate_chunk": _("Rated the chunk"),
    "billing.chunk_failed": _("Recorded a failed chunk"),
    "billing.finish_run": _("Finished the billing run"),
}
VERBS.update(
    {
        "billing.release": _("Released bills"),
        "billing.accept_finding": _("Accepted a finding of the bill review"),
        "billing.rerate": _("Re-rated the bill"),
    }
)
