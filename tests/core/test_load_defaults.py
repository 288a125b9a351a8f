"""Issue #10 point 7: ``gridcare load_defaults`` loads every shipped default, and running it again changes nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from gridcare.core.discovery import app_modules
from gridcare.org.models import AuthorityLimit, KPIDefinition, PermissionCode, Position
from gridcare.service.models import DispatchRule, SLAPolicy
from gridcare.tariffs.defaults import shipped_documents
from gridcare.tariffs.models import Tariff, TariffVersion

TABLES: list[Any] = [
    PermissionCode,
    Position,
    AuthorityLimit,
    KPIDefinition,
    SLAPolicy,
    DispatchRule,
    Tariff,
    TariffVersion,
]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every defaults table, all columns, plus each position's permissions."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    for model in TABLES:
        names = [f.attname for f in model._meta.concrete_fields]
        state[model.__name__] = sorted(map(tuple, model.objects.values_list(*names)), key=repr)
    state["grants"] = sorted(
        Position.permissions.through.objects.values_list("position_id", "permissioncode_id")
    )
    return state


@pytest.mark.django_db
def test_load_defaults_loads_everything_shipped() -> None:
    """Given a migrated database without service defaults or tariffs, when ``load_defaults`` runs, then the
    catalogue, the SLA policies, the dispatch rules and every shipped tariff are there, and the output says so in
    both languages."""
    SLAPolicy.objects.all().delete()
    DispatchRule.objects.all().delete()
    assert not Tariff.objects.exists()
    out = StringIO()
    call_command("load_defaults", stdout=out)
    assert Position.objects.filter(code="service_rep", read_scope="company").exists()
    assert SLAPolicy.objects.count() > 0 and DispatchRule.objects.count() > 0
    assert set(Tariff.objects.values_list("code", flat=True)) == {d["code"] for d in shipped_documents()}
    text = out.getvalue()
    assert (
        "岗位目录" in text and "position catalogue" in text and "dispatch rules" in text and "tariffs" in text
    )


@pytest.mark.django_db
def test_load_defaults_twice_changes_nothing() -> None:
    """Given the defaults loaded once, when ``load_defaults`` runs again, then no row of any defaults table
    differs (permission versions included: nothing tells the servers their caches are stale)."""
    call_command("load_defaults", stdout=StringIO())
    first = snapshot()
    out = StringIO()
    call_command("load_defaults", stdout=out)
    assert snapshot() == first
    assert "新增 0" in out.getvalue()


def test_every_app_with_defaults_registers_a_loader(db) -> None:
    """The loaders come from app discovery: org (catalogue), tariffs and service at least, each with ``load``."""
    found = {config.label: module for config, module in app_modules("defaults")}
    assert {"org", "tariffs", "service"} <= set(found)
    assert all(callable(getattr(module, "load", None)) for module in found.values())
