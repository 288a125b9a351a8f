"""The readings app's part of the workbench registry (gridcare.web.workbench): its actions in words."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

VERBS = {
    "readings.create_route": _("Created reading route"),
    "readings.reorder_route": _("Reordered reading route"),
    "readings.split_route": _("Split reading route"),
    "readings.merge_routes": _("Merged reading routes into"),
    "readings.generate_plan": _("Generated the reading plan of"),
    "readings.load_vee_defaults": _("Loaded the validation rules"),
    "readings.accept_exception": _("Accepted the reading exception"),
    "readings.correct_exception": _("Corrected the reading of"),
    "readings.order_reread": _("Ordered a re-read of"),
    "readings.estimate": _("Estimated the reading of"),
    "readings.approve_estimate": _("Approved the estimate of"),
    "readings.capture": _("Received"),
    "readings.capture_read": _("Entered reading"),
    "readings.receive": _("Received head-end reads"),
    "readings.settle": _("Settled head-end reads"),
}
