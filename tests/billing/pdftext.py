"""Text of a PDF without a PDF library: the page content streams decoded through each font's ToUnicode map (how a
reader copies text), so a test sees the Chinese a customer reads — and only if the font maps it back."""

from __future__ import annotations

import base64
import re
import zlib

OBJECT = re.compile(rb"(\d+) 0 obj(.*?)endobj", re.S)
STREAM = re.compile(rb"stream\r?\n(.*?)\s*endstream", re.S)
REF = rb"(\d+) 0 R"


def objects(pdf: bytes) -> dict[int, bytes]:
    return {int(m.group(1)): m.group(2) for m in OBJECT.finditer(pdf)}


def stream(body: bytes) -> bytes:
    found = STREAM.search(body)
    if found is None:
        return b""
    data, head = found.group(1), body[: found.start()]
    if b"ASCII85Decode" in head:
        data = base64.a85decode(re.sub(rb"\s", b"", data).removeprefix(b"<~").removesuffix(b"~>"))
    return zlib.decompressobj().decompress(data) if b"FlateDecode" in head else data


def _cmap(data: bytes) -> dict[bytes, str]:
    mapping: dict[bytes, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[bytes.fromhex(src.decode())] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", data, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start, end, first = int(lo, 16), int(hi, 16), int(dst, 16)
            width = len(lo) // 2
            for i, code in enumerate(range(start, end + 1)):
                mapping[code.to_bytes(width, "big")] = chr(first + i)
    return mapping


def _literal(raw: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == 0x5C:  # backslash
            nxt = raw[i + 1 : i + 2]
            if nxt.isdigit():
                digits = re.match(rb"[0-7]{1,3}", raw[i + 1 : i + 4])
                assert digits is not None
                out.append(int(digits.group(0), 8))
                i += 1 + len(digits.group(0))
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(nxt, nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return bytes(out)


TOKENS = re.compile(
    rb"/([^\s/\[\]()<>]+)\s+[\d.]+\s+Tf|\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]*>|\bT[*dDJ]\b|\bET\b", re.S
)


def text(pdf: bytes) -> str:
    """Every page's text, in drawing order (runs of a text object joined, objects on their own lines)."""
    objs = objects(pdf)
    fonts: dict[bytes, dict[bytes, str] | None] = {}
    for body in objs.values():
        for name, ref in re.findall(rb"/(\S+?) " + REF, body):
            target = objs.get(int(ref), b"")
            if b"/Type /Font" in target:
                unicode = re.search(rb"/ToUnicode " + REF, target)
                fonts[name] = _cmap(stream(objs[int(unicode.group(1))])) if unicode else None
    pages = [
        stream(objs[int(ref)])
        for body in objs.values()
        if re.search(rb"/Type /Page\b", body)
        for ref in re.findall(rb"/Contents " + REF, body)
    ]
    out: list[str] = []
    for content in pages:
        current: dict[bytes, str] | None = None
        for token in TOKENS.finditer(content):
            raw = token.group(0)
            if token.group(1) is not None:
                current = fonts.get(token.group(1))
                continue
            if raw in (b"ET", b"T*", b"Td", b"TD"):
                out.append("\n" if raw == b"ET" else "")
                continue
            data = bytes.fromhex(raw[1:-1].decode()) if raw.startswith(b"<") else _literal(raw[1:-1])
            if current is None:
                out.append(data.decode("latin-1"))
            else:
                width = len(next(iter(current))) if current else 1
                out.append("".join(current.get(data[i : i + width], "?") for i in range(0, len(data), width)))
    return "".join(out)
