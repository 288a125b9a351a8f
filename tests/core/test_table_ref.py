"""Hand-written SQL takes table and column names from the models' metadata, never spelled out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps

import gridcare
from gridcare.core.rows import TableRef
from gridcare.customers.models import ServicePoint


def test_table_ref_names_come_from_the_model() -> None:
    point = TableRef(ServicePoint, "sp")
    assert str(point) == f'"{ServicePoint._meta.db_table}" sp'
    assert f"{point}" == str(point)
    assert point.account_id == point.account == 'sp."account_id"'
    assert TableRef(ServicePoint).address == '"address"'
    with pytest.raises(AttributeError):
        _ = point.no_such_field


def test_no_source_file_spells_a_model_table_name() -> None:
    # given every model's table name
    tables = {m._meta.db_table for m in apps.get_models() if m.__module__.startswith("gridcare.")}
    names = "|".join(sorted(map(re.escape, tables), key=len, reverse=True))
    pattern = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+\"?(" + names + r")\b", re.IGNORECASE)
    root = Path(gridcare.__file__).parent
    # when the SQL in the code outside migrations is searched for them
    found = [
        f"{path.relative_to(root)}: {match.group(1)}"
        for path in root.rglob("*.py")
        if "migrations" not in path.parts
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    # then none is written out
    assert found == []
