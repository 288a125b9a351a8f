"""The actions of key accounts and market development, one module per aggregate."""

from gridcare.keyaccounts.actions.portfolio import (
    do_classify_key_accounts,
    do_designate_key_account,
    do_load_rule_defaults,
)
from gridcare.keyaccounts.actions.prospects import (
    Registration,
    do_convert_prospect,
    do_decide_collision,
    do_expire_registrations,
    do_register_prospect,
    do_update_prospect,
    do_view_prospect_contact,
)
from gridcare.keyaccounts.actions.visits import do_change_plan_item, do_generate_visit_plan, do_record_visit

__all__ = [
    "Registration",
    "do_change_plan_item",
    "do_classify_key_accounts",
    "do_convert_prospect",
    "do_decide_collision",
    "do_designate_key_account",
    "do_expire_registrations",
    "do_generate_visit_plan",
    "do_load_rule_defaults",
    "do_record_visit",
    "do_register_prospect",
    "do_update_prospect",
    "do_view_prospect_contact",
]
