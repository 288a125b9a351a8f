"""The organisation's audit actions in words, for the workbench's recent actions."""

from django.utils.translation import gettext_lazy as _

VERBS = {
    "org.create_unit": _("Created unit"),
    "org.update_unit": _("Updated unit"),
    "org.move_unit": _("Moved unit"),
    "org.update_position": _("Updated position"),
    "org.decide_position_change": _("Decided a position change of"),
    "org.set_authority_limit": _("Set an authority limit of"),
    "org.create_staff": _("Created staff account"),
    "org.update_staff": _("Updated staff account"),
    "org.staff_leave": _("Recorded the departure of"),
    "org.unlock_login": _("Unlocked the login of"),
    "org.rotate_token": _("Issued a new API token for"),
    "org.load_catalogue": _("Loaded the position catalogue"),
    "org.propose_position_change": _("Proposed a position change for"),
    "org.transfer_owned": _("Handed over the records of"),
    "org.approve_position_change": _("Approved the position change of"),
    "org.reject_position_change": _("Rejected the position change of"),
}
