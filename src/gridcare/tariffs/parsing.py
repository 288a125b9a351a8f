"""Read an uploaded definition file (YAML or JSON) into a mapping, with a clear error when it is not one."""

from __future__ import annotations

import json
from typing import Any

import yaml

from gridcare.core.errors import InvalidInput


def read_definition(data: bytes, filename: str, field: str = "file") -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput({field: f"{filename}：不是 UTF-8 文本。 (Not UTF-8 text.)"}) from None
    try:
        doc = json.loads(text) if filename.lower().endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InvalidInput({field: f"{filename}：格式错误 (cannot parse): {exc}"}) from None
    if not isinstance(doc, dict):
        raise InvalidInput({field: f"{filename}：顶层应为对象。 (The top level must be a mapping.)"})
    return doc
