"""Writes of the readings app, by aggregate: routes and plans, the capture path, exception decisions."""

from gridcare.readings.actions.capture import MAX_BATCH, RecordResult, capture_reads, check_records
from gridcare.readings.actions.decisions import (
    do_accept_exception,
    do_approve_estimate,
    do_correct_exception,
    do_estimate,
    do_order_reread,
)
from gridcare.readings.actions.headend import receive_reads, settle
from gridcare.readings.actions.intervals import do_ingest_intervals
from gridcare.readings.actions.period import PeriodVeeResult, do_run_period_vee
from gridcare.readings.actions.routes import (
    do_create_route,
    do_generate_plan,
    do_load_vee_defaults,
    do_merge_routes,
    do_reorder_route,
    do_split_route,
)

__all__ = [
    "MAX_BATCH",
    "PeriodVeeResult",
    "RecordResult",
    "capture_reads",
    "check_records",
    "do_accept_exception",
    "do_approve_estimate",
    "do_correct_exception",
    "do_create_route",
    "do_estimate",
    "do_generate_plan",
    "do_ingest_intervals",
    "do_load_vee_defaults",
    "do_merge_routes",
    "do_order_reread",
    "do_reorder_route",
    "do_run_period_vee",
    "do_split_route",
    "receive_reads",
    "settle",
]
