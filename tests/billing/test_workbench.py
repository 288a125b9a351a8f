"""The billing accountant's workbench: open runs with their progress and the accounts not billed as to-dos with
links; the run page shows a running run's progress and refreshes itself."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gridcare.billing import actions
from gridcare.billing.executors import execute, run_progress, start_run
from gridcare.billing.models import BillingRun, RunChunk
from gridcare.billing.workbench import accounts_not_billed, open_runs
from tests.billing.conftest import PERIOD

pytestmark = pytest.mark.django_db


def test_open_runs_show_their_progress_until_finished(staff, customer) -> None:
    for _ in range(3):
        customer()
    accountant = staff("billing")
    run = actions.do_start_run(accountant, period=PERIOD, chunk_size=1)
    (todo,) = open_runs(accountant)
    assert todo.code == "billing.open_runs" and todo.count == 1 and todo.tone == "info"
    assert todo.url == reverse("billing:run-list")
    ((text, url, _deadline),) = todo.items
    assert f"#{run.pk}" in text and "0/3" in text and url == run.get_absolute_url()
    assert open_runs(staff("cg_rep")) == []  # no billing.run: not their to-do

    RunChunk.objects.filter(run=run, number=2).update(status=RunChunk.Status.FAILED)
    BillingRun.objects.filter(pk=run.pk).update(status=BillingRun.Status.FAILED, chunks_done=2, bills=2)
    (todo,) = open_runs(accountant)
    assert todo.tone == "danger" and "2/3" in todo.items[0][0] and "66%" in todo.items[0][0]

    execute(BillingRun.objects.get(pk=run.pk))
    assert open_runs(accountant) == []


def test_run_progress_counts_chunks_bills_and_rate(staff, customer) -> None:
    customer()
    customer()
    accountant = staff("billing")
    run = actions.do_start_run(accountant, period=PERIOD, chunk_size=1)
    waiting = run_progress(run)
    assert (waiting.chunks_done, waiting.chunks, waiting.percent, waiting.rate, waiting.running) == (
        0,
        2,
        0,
        None,
        True,
    )
    done = run_progress(execute(run))
    assert (done.chunks_done, done.bills, done.percent, done.running) == (2, 2, 100, False)
    assert done.rate is not None and done.rate > 0


def test_accounts_not_billed_are_a_todo_with_links(staff, customer) -> None:
    customer()
    unread = customer(registers={})  # no validated reads: listed, not billed
    accountant = staff("billing")
    run = start_run(accountant, period=PERIOD)
    (todo,) = accounts_not_billed(accountant)
    assert todo.code == "billing.not_billed" and todo.count == 1
    assert todo.url == f"{run.get_absolute_url()}#not-billed"
    ((text, url, _deadline),) = todo.items
    assert unread.number in text and PERIOD in text and url == unread.get_absolute_url()
    assert accounts_not_billed(staff("cg_rep")) == []


def test_workbench_and_run_page_show_open_runs_and_progress(staff, customer) -> None:
    customer()
    customer(registers={})
    accountant = staff("billing")
    client = Client()
    client.force_login(accountant)
    run = actions.do_start_run(accountant, period=PERIOD)
    page = client.get(reverse("billing:run-detail", args=[run.pk])).content.decode()
    assert 'id="run-progress"' in page and 'http-equiv="refresh"' in page and "0 / 1" in page
    workbench = client.get(reverse("workbench")).content.decode()
    assert "进行中的电费计算" in workbench and f"#{run.pk}" in workbench
    execute(run)
    page = client.get(reverse("billing:run-detail", args=[run.pk])).content.decode()
    assert 'http-equiv="refresh"' not in page and "100%" in page
    workbench = client.get(reverse("workbench")).content.decode()
    assert "未出账户" in workbench and run.get_absolute_url() in workbench


def test_a_run_is_resumed_from_the_screen_and_the_api(staff, customer) -> None:
    from rest_framework.test import APIClient

    from gridcare.billing.models import Bill

    for _ in range(3):
        customer()
    accountant = staff("billing")
    run = actions.do_start_run(accountant, period=PERIOD, chunk_size=1)
    client = Client()
    client.force_login(accountant)
    page = client.get(reverse("billing:run-detail", args=[run.pk])).content.decode()
    assert 'id="resume-run"' in page and "继续计算" in page
    answer = client.post(reverse("billing:run-resume", args=[run.pk]))
    assert answer.status_code == 302 and answer["Location"] == run.get_absolute_url()
    run.refresh_from_db()
    assert run.status == BillingRun.Status.DONE and run.bills == 3
    assert 'id="resume-run"' not in client.get(run.get_absolute_url()).content.decode()

    api = APIClient()
    api.force_authenticate(accountant)
    again = api.post(f"/api/billing/runs/{run.pk}/resume/", HTTP_IDEMPOTENCY_KEY="resume-1")
    assert again.status_code == 200 and again.json()["status"] == "done" and again.json()["bills"] == 3
    assert Bill.objects.filter(period=PERIOD).count() == 3  # nothing billed twice
    outsider = APIClient()
    outsider.force_authenticate(staff("cg_rep"))
    assert outsider.post(f"/api/billing/runs/{run.pk}/resume/").status_code in (403, 404)
    assert Client().post(reverse("billing:run-resume", args=[run.pk])).status_code == 302  # to the login
