"""Writes of the tariff catalogue; every definition is validated by the engine before it is stored."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from gridcare.core import audit
from gridcare.core.actions import action
from gridcare.core.errors import InvalidInput
from gridcare.engine.tariff import TariffError, parse_tariff
from gridcare.engine.urdb import UrdbError, parse_urdb
from gridcare.org.models import User
from gridcare.tariffs.models import Tariff, TariffVersion
from gridcare.tariffs.selectors import tariff_document

HEADER_FIELDS = ("code", "name", "province", "customer_class", "description")


def _version_body(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in raw.items() if k not in ("valid_from", "valid_to")}


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _required_date(value: Any) -> dt.date:
    """A date the schema already required (``valid_from``)."""
    day = _as_date(value)
    if day is None:
        raise InvalidInput({"valid_from": "请填写生效日期。 (A start date is required.)"})
    return day


@action("tariffs.import_tariff", permission="tariff.manage")
def do_import_tariff(actor: User, document: Mapping[str, Any]) -> Tariff:
    """Add a Chinese tariff with all its versions from a definition (YAML/JSON already parsed)."""
    try:
        parsed = parse_tariff(document)
    except TariffError as exc:
        raise InvalidInput({"definition": exc.problems}) from None
    if Tariff.objects.filter(code=parsed.code).exists():
        raise InvalidInput(
            {"code": f"电价编码「{parsed.code}」已存在；请新增版本。 (Tariff code exists; add a version.)"}
        )
    tariff = Tariff.objects.create(
        code=parsed.code,
        name=parsed.name,
        province=parsed.province,
        customer_class=parsed.customer_class,
        description=parsed.description,
    )
    for raw in document["versions"]:
        TariffVersion.objects.create(
            tariff=tariff,
            valid_from=_required_date(raw["valid_from"]),
            valid_to=_as_date(raw.get("valid_to")),
            body=audit.json_value(_version_body(raw)),
            source=str(raw.get("source", ""))[:200],
        )
    audit.record(
        actor,
        "tariffs.import_tariff",
        tariff,
        after={**audit.snapshot(tariff, HEADER_FIELDS), "versions": len(document["versions"])},
    )
    return tariff


@action("tariffs.add_version", permission="tariff.manage")
def do_add_tariff_version(actor: User, tariff: Tariff, version: Mapping[str, Any]) -> TariffVersion:
    """A new price version (调价): the open version before it is closed the day the new one starts."""
    tariff = Tariff.objects.select_for_update().get(pk=tariff.pk)
    try:
        valid_from = _as_date(version.get("valid_from"))
    except ValueError:
        raise InvalidInput({"valid_from": "日期格式应为 YYYY-MM-DD。 (Expected YYYY-MM-DD.)"}) from None
    if valid_from is None:
        raise InvalidInput({"valid_from": "请填写生效日期。 (valid_from is required.)"})
    open_before = tariff.versions.filter(valid_from__lt=valid_from, valid_to__isnull=True).first()
    if open_before is not None:
        open_before.valid_to = valid_from
    candidates = []
    for v in tariff.versions.all():
        end = open_before.valid_to if open_before is not None and v.pk == open_before.pk else v.valid_to
        candidates.append((v, end))
    doc = tariff_document(tariff)
    doc["versions"] = [
        {**v.body, "valid_from": v.valid_from.isoformat(), "valid_to": end.isoformat() if end else None}
        for v, end in candidates
    ] + [audit.json_value(dict(version))]
    try:
        parse_tariff(doc)
    except TariffError as exc:
        raise InvalidInput({"version": exc.problems}) from None
    if open_before is not None:
        open_before.save(update_fields=["valid_to"])
        audit.record(
            actor,
            "tariffs.close_version",
            open_before,
            before={"valid_to": None},
            after={"valid_to": valid_from.isoformat()},
        )
    created = TariffVersion.objects.create(
        tariff=tariff,
        valid_from=valid_from,
        valid_to=_as_date(version.get("valid_to")),
        body=audit.json_value(_version_body(version)),
        source=str(version.get("source", ""))[:200],
    )
    audit.record(actor, "tariffs.add_version", created, after={"valid_from": valid_from.isoformat()})
    return created


@action("tariffs.import_urdb", permission="tariff.manage")
def do_import_urdb_tariff(actor: User, document: Mapping[str, Any], *, code: str = "") -> Tariff:
    """Add an OpenEI URDB tariff; a definition missing what billing needs is refused, naming what is missing."""
    try:
        parsed = parse_urdb(document)
    except UrdbError as exc:
        raise InvalidInput({"definition": [str(exc)]}) from None
    code = code or f"URDB-{document.get('label') or document.get('name', 'tariff')}"[:64]
    if Tariff.objects.filter(code=code).exists():
        raise InvalidInput({"code": f"电价编码「{code}」已存在。 (Tariff code exists.)"})
    tariff = Tariff.objects.create(
        code=code,
        name=str(document.get("name") or code)[:200],
        kind=Tariff.Kind.URDB,
        description=f"{document.get('utility', '')}".strip(),
        urdb_document=audit.json_value(dict(document)),
    )
    audit.record(
        actor,
        "tariffs.import_urdb",
        tariff,
        after={"code": code, "name": tariff.name, "parsed": type(parsed).__name__},
    )
    return tariff
