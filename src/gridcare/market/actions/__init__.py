"""The actions of market research, surveys and the contractor register, one module per aggregate."""

from gridcare.market.actions.contractors import (
    do_add_qualification,
    do_record_performance,
    do_register_contractor,
)
from gridcare.market.actions.research import do_add_attachment, do_write_report
from gridcare.market.actions.surveys import (
    do_close_survey,
    do_create_survey,
    do_draw_sample,
    do_record_interview,
    do_view_sample_phone,
)

__all__ = [
    "do_add_attachment",
    "do_add_qualification",
    "do_close_survey",
    "do_create_survey",
    "do_draw_sample",
    "do_record_interview",
    "do_record_performance",
    "do_register_contractor",
    "do_view_sample_phone",
    "do_write_report",
]
