"""Every audit action code the code base writes has a verb, so no screen shows ``service.create_order``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import gridcare
from gridcare.web.workbench import action_verbs

SOURCE = Path(gridcare.__file__).parent
CODE = re.compile(r"[a-z]+\.[a-z_]+")
#: Callables whose argument names an audit action: ``@action(code)``, ``audit.record(actor, code, …)``,
#: ``audit.bulk_record(actor, code, rows)``.
#: ``_save_step(actor, code, …)`` (the service desk's transitions).
WRITERS = {"action": 0, "record": 1, "bulk_record": 1, "_save_step": 1}


def written_action_codes() -> dict[str, str]:
    """{action code: file that writes it} for every literal code handed to an audit writer."""
    found: dict[str, str] = {}
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in WRITERS:
                continue
            args = [
                *node.args[WRITERS[name] : WRITERS[name] + 1],
                *(k.value for k in node.keywords if k.arg == "action"),
            ]
            for part in (sub for arg in args for sub in ast.walk(arg)):  # also both codes of `a if … else b`
                if (
                    isinstance(part, ast.Constant)
                    and isinstance(part.value, str)
                    and CODE.fullmatch(part.value)
                ):
                    found.setdefault(part.value, str(path.relative_to(SOURCE)))
    return found


def test_the_collector_finds_the_writers() -> None:
    codes = written_action_codes()
    assert {"service.create_order", "org.create_unit", "core.set_calendar_override"} <= set(codes)
    assert {"service.approve_compensation", "service.reject_compensation", "service.dispatch"} <= set(codes)
    assert len(codes) > 40


def test_every_audit_action_has_a_verb() -> None:
    verbs = action_verbs()
    missing = {code: where for code, where in written_action_codes().items() if code not in verbs}
    assert not missing, f"audit actions without a verb in a workbench.py VERBS: {missing}"
