"""For migrations: raw SQL that differs by database (triggers, functions) as one operation."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def sql_by_vendor(forward: dict[str, list[str]], backward: dict[str, list[str]]) -> migrations.RunPython:
    """Run the statements listed for the database's vendor (``"postgresql"``, ``"sqlite"``; none for others),
    ``backward`` when unapplied. Never elided when migrations are squashed."""

    def run(statements: dict[str, list[str]]) -> Any:
        def execute(apps: Any, schema_editor: Any) -> None:
            for sql in statements.get(schema_editor.connection.vendor, []):
                schema_editor.execute(sql, None)

        return execute

    return migrations.RunPython(run(forward), run(backward), elidable=False)
