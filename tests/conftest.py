"""Shared fixtures: the position catalogue and the demo organisation, built once per test database."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

# Playwright's sync API runs an event loop in the test thread; Django's ORM must still be usable there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config: pytest.Config) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # interval data written by any test (the demo in the screen crawl, API calls) stays out of the var directory
    settings.GRIDCARE_INTERVAL_STORE = Path(tempfile.mkdtemp(prefix="gridcare-test-intervals-"))
    # the translation catalogues are compiled earlier, before Django is set up: gridcare.core.pytest_plugin


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests flush the database when they finish, so they run last."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def build_demo_org() -> None:
    from gridcare.org import demo
    from gridcare.org.models import OrgUnit
    from gridcare.org.selectors import system_actor

    if OrgUnit.objects.filter(code="GC").exists():
        return
    call_command("load_catalogue", verbosity=0)
    for _line in demo.build(system_actor(), "small"):
        pass


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        build_demo_org()


@pytest.fixture
def org(db):
    """The demo organisation (rebuilt if a transactional test flushed it)."""
    build_demo_org()


@pytest.fixture
def staff(org) -> Callable[[str], object]:
    """Look up a demo staff member by username."""
    from gridcare.org.models import User

    def get(username: str) -> User:
        return User.objects.select_related("position", "org_unit").get(username=username)

    return get


@pytest.fixture
def api(staff) -> Callable[[str], APIClient]:
    """An API client authenticated with the token of a demo staff member."""

    def client_for(username: str) -> APIClient:
        user = staff(username)
        token, _ = Token.objects.get_or_create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return client_for
