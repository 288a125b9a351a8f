"""PDF building blocks shared by every document (bills, monthly reports): a Chinese font and table styles.

The Chinese font is **embedded** (a subset of a TrueType font, setting ``GRIDCARE_PDF_FONT``, default Debian's
WenQuanYi Micro Hei from ``fonts-wqy-microhei``) so a bill prints the same on every reader, phone or printer; where
the font file is missing the built-in CID font STSong-Light is used (not embedded: the reader supplies it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import TableStyle

DEFAULT_FONT_FILE = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
EMBEDDED = "GridcareCJK"
FALLBACK = "STSong-Light"
#: header background and grid of every table
HEADER_BACKGROUND = colors.HexColor("#e8eef7")
GRID = colors.HexColor("#9aa5b1")


def font_file() -> Path:
    return Path(getattr(settings, "GRIDCARE_PDF_FONT", "") or DEFAULT_FONT_FILE)


def cjk_font() -> str:
    """The registered name of the Chinese font: the embedded TrueType font, or the CID fallback."""
    registered = pdfmetrics.getRegisteredFontNames()
    if EMBEDDED in registered:
        return EMBEDDED
    path = font_file()
    if path.is_file():
        pdfmetrics.registerFont(TTFont(EMBEDDED, str(path), subfontIndex=0))
        return EMBEDDED
    if FALLBACK not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK))
    return FALLBACK


def styles(font: str) -> dict[str, ParagraphStyle]:
    """Paragraph styles of a document in ``font``: title, heading, body, small and right-aligned body."""
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=1),
        "heading": ParagraphStyle(
            "heading", fontName=font, fontSize=11, leading=16, spaceBefore=6, spaceAfter=2
        ),
        "body": ParagraphStyle("body", fontName=font, fontSize=9, leading=12),
        "small": ParagraphStyle("small", fontName=font, fontSize=7.5, leading=10),
        "right": ParagraphStyle("right", fontName=font, fontSize=9, leading=12, alignment=2),
    }


def grid_style(*extra: Any, header: bool = True) -> TableStyle:
    """A table with a grid, a shaded header row (``header``) and cells centred vertically, plus ``extra``."""
    commands: list[Any] = [
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), HEADER_BACKGROUND))
    return TableStyle([*commands, *extra])
