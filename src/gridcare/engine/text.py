"""Text hygiene: the one rule for every piece of text gridcare accepts (API bodies, query strings, forms, files).

Refused: NUL and every other control character (tab, line feed and carriage return are allowed — they are
the multi-line text of descriptions and notes), lone surrogates (not text; PostgreSQL refuses them with a
DataError) and non-characters, and strings made only of invisible characters (zero-width spaces, BOM, NBSP,
Hangul fillers, …) which look empty on screen but are not. Plain spaces alone are left to the field (DRF and
Django forms trim them and then apply "required").

Pure Python, no Django: the engine checks tariff files with it, :mod:`gridcare.api.parsers` every JSON body and
:mod:`gridcare.core.middleware` every query string and form post.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

# C0 controls except \t \n \r, DEL, C1 controls
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NONCHAR = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")
# characters that draw nothing although they are not (Unicode) whitespace
_INVISIBLE_EXTRA = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u034f")

MAX_DEPTH = 64
"""How deeply JSON documents may nest (objects and arrays); real inputs use fewer than 10 levels."""


def _invisible(ch: str) -> bool:
    return (
        ch.isspace() or ch in _INVISIBLE_EXTRA or unicodedata.category(ch) in ("Cf", "Zs", "Zl", "Zp", "Mn")
    )


def text_problem(value: str) -> str | None:
    """Why ``value`` is not acceptable text (a bilingual message), or ``None`` when it is."""
    if value.isascii() and value.isprintable():  # the usual case, in C: no control, surrogate or invisible
        return None  # character can be in it (a run of plain spaces is left to the field, as below)
    if _SURROGATE.search(value):
        return "含有无效的 Unicode 代理字符。 (Contains a lone surrogate, which is not text.)"
    bad = _CONTROL.search(value)
    if bad:
        return f"含有控制字符 U+{ord(bad.group()):04X}。 (Contains the control character U+{ord(bad.group()):04X}.)"
    if _NONCHAR.search(value):
        return "含有 Unicode 非字符。 (Contains a Unicode non-character.)"
    if value.strip(" \t\r\n") and all(_invisible(ch) for ch in value):
        return "只含不可见字符。 (Contains only invisible characters.)"
    return None


def safe_label(value: str) -> str:
    """``value`` made safe to echo in an error message (controls and surrogates escaped)."""
    if text_problem(value) is None:
        return value
    return value.encode("unicode_escape", "backslashreplace").decode("ascii")


def iter_text_problems(doc: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(path, message)`` for every string (keys included) in a JSON-like document that fails
    :func:`text_problem`, and for nesting deeper than :data:`MAX_DEPTH`. Iterative: a hostile document
    cannot exhaust the stack. Paths read ``versions.0.components.1.label``; a path is only spelled out for a
    container or a problem (a large body of good strings builds none)."""
    stack: list[tuple[Any, str, int]] = [(doc, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            yield where or "<root>", f"嵌套超过 {MAX_DEPTH} 层。 (Nested deeper than {MAX_DEPTH} levels.)"
            continue
        if isinstance(node, str):
            problem = text_problem(node)
            if problem:
                yield where or "<root>", problem
        elif isinstance(node, dict):
            for key, child in node.items():
                key_problem = text_problem(key) if isinstance(key, str) else None
                if not key_problem and (
                    child is None or isinstance(child, bool | int | float)  # nothing to check below
                    or (isinstance(child, str) and text_problem(child) is None)
                ):  # fmt: skip
                    continue
                name = safe_label(str(key))
                child_where = f"{where}.{name}" if where else name
                if key_problem:
                    yield child_where, key_problem
                    continue
                stack.append((child, child_where, depth + 1))
        elif isinstance(node, list | tuple):
            for i, child in enumerate(node):
                if isinstance(child, str) and text_problem(child) is None:
                    continue
                stack.append((child, f"{where}.{i}" if where else str(i), depth + 1))


def iter_json_problems(text: str, doc: Any) -> Iterator[tuple[str, str]]:
    """:func:`iter_text_problems` of ``doc``, the document ``json.loads`` parsed from ``text`` — faster when the
    text is ASCII without a backslash or DEL: JSON allows no raw control character (U+0000–U+001F) inside a
    string and any other character there would need a ``\\`` escape, so every string of the document, keys
    included, is then printable ASCII and passes; only the nesting is walked (a head-end batch of 1,000 records:
    ~0.5 instead of ~5 ms)."""
    if text.isascii() and "\\" not in text and "\x7f" not in text:
        return _nesting_problems(doc)
    return iter_text_problems(doc)


_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _nesting_problems(doc: Any) -> Iterator[tuple[str, str]]:
    """Nesting deeper than :data:`MAX_DEPTH`, with the paths :func:`iter_text_problems` gives; strings are not
    looked at, a container of scalars only is passed over in C (``map(type, …)``), and a path is spelled only
    for a problem."""
    stack: list[tuple[Any, Any, int]] = [(doc, None, 0)]  # (node, (parent path, key) or None, depth)
    while stack:
        node, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            yield _path(where), f"嵌套超过 {MAX_DEPTH} 层。 (Nested deeper than {MAX_DEPTH} levels.)"
            continue
        if isinstance(node, dict):
            if _SCALAR_TYPES.issuperset(map(type, node.values())):
                continue
            children: Any = node.items()
        elif isinstance(node, list | tuple):
            if depth < MAX_DEPTH and _SCALAR_TYPES.issuperset(map(type, node)):
                continue
            if depth >= MAX_DEPTH:  # its numbers are too deep too (as iter_text_problems reports them)
                for index, child in enumerate(node):
                    if not isinstance(child, str):
                        stack.append((child, (where, index), depth + 1))
                continue
            children = enumerate(node)
        else:
            continue
        for key, child in children:
            if isinstance(child, dict | list | tuple):
                stack.append((child, (where, key), depth + 1))


def _path(where: Any) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(str(key))
    return ".".join(reversed(parts)) or "<root>"
