"""Issue #10 point 3: no raw data on any screen.

Every demo position opens its workbench, every menu page and the first detail page behind every list, in the
zh-hans UI; none may show a 5xx, a Python dict/list, ``None``/``nan`` or a choice *code* where its label belongs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterator

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client

from gridcare.core.discovery import app_modules
from gridcare.org.demo import STAFF
from gridcare.org.models import User
from gridcare.org.selectors import system_actor
from gridcare.web.menu import menu_for

pytestmark = pytest.mark.django_db

#: Raw Python/JSON renderings that never belong on a screen.
RAW_PATTERNS = [
    re.compile(r"\{'"),
    re.compile(r"\[\{"),
    re.compile(r"'\}"),
    re.compile(r"(?<![\w.])None(?![\w.])"),
    re.compile(r"(?<![\w.])nan(?![\w.])"),
]

#: Choice codes that may appear as words on a screen. Empty: every code found so far was a real leak and is fixed;
#: add an entry only with the reason it is a normal word where it shows.
ALLOWED_CODES: frozenset[str] = frozenset()

#: Pages that show login names, which a person types and the demo chose equal to some codes ("billing",
#: "repair", "metering"): there those words are names, not codes.
LOGIN_NAME_PAGES = ("/org/staff/", "/org/logins/", "/system/audit/")
LOGIN_NAMES = {row[0] for row in STAFF}

SCALES = {"customers": 60, "metering": 10, "service": 40}


def choice_codes() -> set[str]:
    """Every stored code of a choice field in gridcare, lower-cased, that could pass for a word on the screen."""
    codes: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith("gridcare."):
            continue
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or ():
                if isinstance(value, str) and re.fullmatch(r"[a-z][a-z0-9_]{2,}", value):
                    codes.add(value)
    return codes - ALLOWED_CODES


CODES = choice_codes()
CODE_PATTERN = re.compile(
    r"(?<![\w./-])(" + "|".join(sorted(map(re.escape, CODES), key=len, reverse=True)) + r")(?![\w/-])"
)


def visible_text(page: str) -> str:
    """What a person reads: the page without scripts, styles, tags and attributes, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def problems(text: str, allowed: Collection[str] = ()) -> list[str]:
    """The raw patterns and choice codes found in ``text``, each with the words around its first occurrence."""
    matches = [match for pattern in RAW_PATTERNS if (match := pattern.search(text))]
    codes: dict[str, re.Match[str]] = {}
    for match in CODE_PATTERN.finditer(text):
        if match.group(1) not in allowed:
            codes.setdefault(match.group(1), match)
    return [f"{match.group(0)!r} in {context(text, match)!r}" for match in [*matches, *codes.values()]]


def context(text: str, match: re.Match[str]) -> str:
    return " ".join(text[max(match.start() - 30, 0) : match.end() + 30].split())


@pytest.fixture(scope="module")
def demo(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[None]:
    """The demo utility (org already present) with small customers, meters and orders, rolled back afterwards."""
    from gridcare.core.management.commands.demo import refresh_statistics
    from gridcare.customers import demo as customers_demo
    from gridcare.metering import demo as metering_demo
    from gridcare.service import demo as service_demo

    customers_demo.SCALES["crawl"] = SCALES["customers"]
    metering_demo.STOCK["crawl"] = SCALES["metering"]
    service_demo.SIZES["crawl"] = SCALES["service"]
    try:
        with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
            actor = system_actor()
            for _config, module in app_modules("demo"):
                for _line in module.build(actor, "crawl"):
                    pass
            refresh_statistics()  # as `gridcare demo` does: plans for the loaded tables, not the empty ones
            yield
            transaction.set_rollback(True)
    finally:
        del customers_demo.SCALES["crawl"], metering_demo.STOCK["crawl"], service_demo.SIZES["crawl"]


def pages_of(client: Client, user: User) -> Iterator[tuple[str, str | None]]:
    """(url, html) of the workbench, every menu page, the first detail page behind each list and the tabs that
    detail page loads (``hx-get``)."""
    urls = ["/"] + [item.url for _group, items in menu_for(user) for item in items]
    for url in urls:
        response = client.get(url)
        yield url, response.content.decode() if response.status_code < 500 else None
        rows = (response.context or {}).get("rows") if response.status_code == 200 else None
        objects = (row[0] if isinstance(row, (tuple, list)) else row for row in rows or ())
        detail = next((obj.get_absolute_url() for obj in objects if hasattr(obj, "get_absolute_url")), None)
        if detail:
            answer = client.get(detail)
            page = answer.content.decode() if answer.status_code < 500 else None
            yield detail, page
            for tab in sorted(set(re.findall(r'hx-get="(/[^"?]+/[^"?]*)"', page or ""))):
                fragment = client.get(html.unescape(tab))
                yield tab, fragment.content.decode() if fragment.status_code < 500 else None


@pytest.mark.parametrize("username", [row[0] for row in STAFF if row[0] != "customer"])
def test_no_raw_data_on_any_screen(demo: None, username: str) -> None:
    user = User.objects.get(username=username)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user)
    failures = []
    for url, page in pages_of(client, user):
        if page is None:
            failures.append(f"{url}: server error")
            continue
        found = problems(visible_text(page), LOGIN_NAMES if url.startswith(LOGIN_NAME_PAGES) else ())
        if found:
            failures.append(f"{url}: {', '.join(found)}")
    assert not failures, f"{username} sees raw data:\n" + "\n".join(failures)


def test_the_crawl_catches_raw_values() -> None:
    found = problems(visible_text("<td>{'status': 'accepted'}</td>"))
    assert [item.split(" in ")[0] for item in found] == ['"{\'"', '"\'}"', "'accepted'"]
    found = problems(visible_text("<td>None</td><td>[{1}]</td>"))
    assert [item.split(" in ")[0] for item in found] == ["'[{'", "'None'"]
    assert problems(visible_text('<a title="accepted" href="/x/?status=accepted">已受理</a>')) == []
    assert problems(visible_text("<script>var x = {'a': None};</script> 24 小时")) == []


def test_a_dunning_steps_audit_values_read_as_labels() -> None:
    """Given a case's audit row holding a step's kind and delivery (keys that are no field of the case), then the
    audit log shows their labels, not the codes (cg_head's audit page showed "步骤： → reconnected")."""
    from django.utils import translation

    from gridcare.ledger.models import DunningCase
    from gridcare.web.display import field_changes

    with translation.override("zh-hans"):
        changes = field_changes(DunningCase, None, {"step": "reconnected", "channel": "sms"})
    shown = " ".join(change.after for change in changes)
    assert "reconnected" not in shown and "sms" not in shown
    assert len(changes) == 2 and all(change.after for change in changes)
