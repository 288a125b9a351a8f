"""Issue #9, defect 12: login lockout and throttling, the login log screen, password validators, session expiry
and the production security settings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client, override_settings
from rest_framework.response import Response
from rest_framework.test import APIClient

from gridcare.core.models import AuditEntry
from gridcare.org.models import OrgUnit, Position, User

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "gridcare2026"
WRONG = "wrong-password-0"


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    """Throttle counters live in the cache (per process): no test inherits another's failures."""
    cache.clear()
    yield
    cache.clear()


def form_login(client: Client, username: str, password: str) -> HttpResponse:
    return client.post("/login/", {"username": username, "password": password})


def token_login(username: str, password: str) -> Response:
    return APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")


# --- lockout ---------------------------------------------------------------------------------------------------


def test_thirty_wrong_passwords_on_the_login_form_lock_the_account_out(org) -> None:
    client = Client()
    answers = [form_login(client, "cs_rep", WRONG).status_code for _ in range(30)]
    limit = settings.AXES_FAILURE_LIMIT
    # the first attempts are answered as wrong passwords, then the pair (user name, address) is locked out
    assert answers[: limit - 1] == [200] * (limit - 1)
    assert set(answers[limit:]) == {429}
    # and the right password does not work at once
    locked = form_login(client, "cs_rep", PASSWORD)
    assert locked.status_code == 429
    assert "锁定" in locked.content.decode() and "locked" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still signed out


def test_lockout_of_one_user_name_does_not_lock_out_another(org) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        form_login(client, "cs_rep", WRONG)
    assert form_login(client, "cg_rep", PASSWORD).status_code == 302


def test_right_password_before_the_limit_resets_the_count(org) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        form_login(client, "cs_rep", WRONG)
    assert form_login(client, "cs_rep", PASSWORD).status_code == 302
    other = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        form_login(other, "cs_rep", WRONG)
    assert form_login(other, "cs_rep", PASSWORD).status_code == 302


def test_thirty_wrong_passwords_on_the_token_endpoint_are_refused_and_then_the_right_one_too(org) -> None:
    answers = [token_login("cs_rep", WRONG).status_code for _ in range(30)]
    assert answers[0] == 400
    assert answers[-1] == 429
    assert 429 in answers[: settings.AXES_FAILURE_LIMIT + 1]
    right = token_login("cs_rep", PASSWORD)
    assert right.status_code == 429
    assert "token" not in right.json()


def test_token_lockout_by_axes_even_when_the_throttle_is_generous(org) -> None:
    with override_settings(GRIDCARE_THROTTLE_RATES={**settings.GRIDCARE_THROTTLE_RATES, "login": ""}):
        answers = [token_login("cs_rep", WRONG).status_code for _ in range(settings.AXES_FAILURE_LIMIT + 2)]
        assert answers[0] == 400 and answers[-1] == 429
        locked = token_login("cs_rep", PASSWORD)
    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "locked_out" and "锁定" in body["detail"] and "locked" in body["detail"]


def test_administrator_lifts_a_lockout_and_it_is_audited(org, staff) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        form_login(client, "cs_rep", WRONG)
    assert form_login(client, "cs_rep", PASSWORD).status_code == 429
    admin = Client()
    admin.force_login(staff("admin"))
    page = admin.get("/org/logins/")
    assert page.status_code == 200
    assert "cs_rep" in page.content.decode()
    assert admin.post("/org/logins/unlock/", {"username": "cs_rep"}).status_code == 302
    assert AuditEntry.objects.filter(action="org.unlock_login", object_id="cs_rep").count() == 1
    assert form_login(client, "cs_rep", PASSWORD).status_code == 302


# --- API throttling --------------------------------------------------------------------------------------------


def wait_for_a_fresh_window(period: int = 60, needed: float = 20.0) -> None:
    """Throttle windows are fixed (whole minutes): a test counting requests must not straddle a boundary, where
    the count starts again — so it starts in a new window when the current one is nearly over."""
    left = period - time.time() % period
    if left < needed:
        time.sleep(left + 0.05)


def test_api_is_throttled_per_user(api) -> None:
    client = api("cs_rep")
    api("cg_rep")  # both tokens made before the window starts
    wait_for_a_fresh_window()
    with override_settings(GRIDCARE_THROTTLE_RATES={**settings.GRIDCARE_THROTTLE_RATES, "user": "3/min"}):
        answers = [client.get("/api/org/units/?page_size=1").status_code for _ in range(4)]
        assert api("cg_rep").get("/api/org/units/?page_size=1").status_code == 200  # another user: own budget
        refused = client.get("/api/org/units/?page_size=1")
    assert answers == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert "请求过于频繁" in refused.data["detail"] and "Too many requests" in refused.data["detail"]
    assert int(refused["Retry-After"]) >= 1


def test_default_rates_are_high_for_signed_in_users_and_strict_for_logins() -> None:
    from gridcare.api.throttling import parse_rate

    user = parse_rate(settings.GRIDCARE_THROTTLE_RATES["user"])
    login = parse_rate(settings.GRIDCARE_THROTTLE_RATES["login"])
    assert user is not None and user[0] / user[1] >= 300  # the intake benchmark's 300 requests/s
    assert login is not None and login[0] / login[1] <= 1


# --- login log -------------------------------------------------------------------------------------------------


def test_login_log_shows_successes_and_failures_to_the_administrator_only(org, staff) -> None:
    client = Client()
    form_login(client, "cg_rep", WRONG)
    form_login(client, "cg_rep", PASSWORD)
    token_login("hx_rep", PASSWORD)
    admin = Client()
    admin.force_login(staff("admin"))
    page = admin.get("/org/logins/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-result="failure"' in html and 'data-result="success"' in html
    assert "hx_rep" in html and "/api/auth/token/" in html
    assert "/org/logins/" in admin.get("/").content.decode()  # in the administrator's menu
    failures_only = admin.get("/org/logins/?result=failure&username=cg_rep").content.decode()
    assert 'data-result="success"' not in failures_only and 'data-result="failure"' in failures_only
    rep = Client()
    rep.force_login(staff("cs_rep"))
    assert rep.get("/org/logins/").status_code == 403
    assert "/org/logins/" not in rep.get("/").content.decode()


# --- passwords and sessions ------------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short-pw1", "1234567890123", "password1234", "wangwu-wangwu"])
def test_weak_passwords_are_refused(api, password: str) -> None:
    before = User.objects.count()
    response = api("system").post(
        "/api/org/staff/",
        {
            "username": "wangwu-wangwu",
            "full_name": "王五",
            "password": password,
            "position": Position.objects.get(code="service_rep").pk,
            "org_unit": OrgUnit.objects.get(code="CG").pk,
        },
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "password" in response.data["errors"]
    assert User.objects.count() == before


def test_demo_password_is_valid_under_the_validators() -> None:
    from django.contrib.auth.password_validation import validate_password

    validate_password(PASSWORD)


def test_sessions_expire() -> None:
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


# --- production settings ---------------------------------------------------------------------------------------


def run_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("GRIDCARE_", "DATABASE_URL", "DJANGO_"))
    }
    environment |= {"PYTHONPATH": str(ROOT / "src"), "GRIDCARE_VAR_DIR": str(tmp_path), **env}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gridcare.cli",
            "check",
            "--deploy",
            "--fail-level",
            "WARNING",
        ],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_https_declared(tmp_path: Path) -> None:
    result = run_check(
        tmp_path,
        GRIDCARE_DEBUG="0",
        GRIDCARE_HTTPS="1",
        GRIDCARE_SECRET_KEY="a-real-secret-key-of-sufficient-length-and-variety-0123456789-xyz",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_without_https(tmp_path: Path) -> None:
    result = run_check(tmp_path, GRIDCARE_DEBUG="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # HSTS
    assert "gridcare.W001" in result.stderr + result.stdout  # the public demo secret key
