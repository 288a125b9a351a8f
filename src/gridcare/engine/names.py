"""Company names and addresses compared as people mean them (防止撞单), and a fuzzy index over a million names.

:func:`normalise_name` folds full/half width and compatibility forms (Unicode NFKC), drops spaces and punctuation
and cuts the legal-form suffixes that do not tell two companies apart (有限公司, 有限责任公司, 股份, 集团 …), so
"上海华东新材料有限公司" and "上海华东新材料（集团）股份有限公司" read the same. :func:`normalise_address` does the
same for an address without cutting anything.

:class:`NameIndex` finds the names at least ``threshold`` similar (rapidfuzz's ``fuzz.ratio``, the normalised
Indel similarity 2·LCS/(len a + len b) × 100) to a query without comparing it with every name. A name of length
``b`` reaching the threshold ``t`` with a query of length ``a`` shares a common subsequence of
``L ≥ t·(a+b)/2 ≥ t·a/(2−t)`` characters with it (because ``b ≥ L``), so it misses at most ``a − ⌈t·a/(2−t)⌉`` of
the query's characters: it holds at least one of any ``a − ⌈t·a/(2−t)⌉ + 1`` of them. The index keeps, per
character, the sorted positions of the names holding it; a query takes the rarest characters it needs, unites
their lists and scores only those candidates — exactly the matches a full scan finds, at a small part of the cost.

Pure: no Django. Arrays are NumPy; the scorer is rapidfuzz.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

#: Legal-form words cut from the end of a company name (longest first), repeatedly: 集团股份有限公司 → "".
LEGAL_SUFFIXES: tuple[str, ...] = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "分公司",
    "总公司",
    "公司",
    "集团",
    "股份",
    "有限",
    "coltd",
    "ltd",
    "inc",
    "co",
)


def _letters_and_digits(text: str) -> str:
    """NFKC-folded, lower-cased, only letters and digits (punctuation, spaces and symbols dropped)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN")


def normalise_name(name: str, suffixes: Sequence[str] = LEGAL_SUFFIXES) -> str:
    """The comparable form of a company name: width and punctuation folded, legal-form suffixes cut.

    A name made only of suffix words (e.g. "有限公司") keeps its folded form rather than becoming empty."""
    text = _letters_and_digits(name)
    core = text
    cut = True
    while cut:
        cut = False
        for suffix in suffixes:
            if core.endswith(suffix) and len(core) > len(suffix) and core[: -len(suffix)] not in suffixes:
                core = core[: -len(suffix)]
                cut = True
                break
    return core or text


def normalise_address(address: str) -> str:
    """The comparable form of an address: width and punctuation folded, spaces dropped."""
    return _letters_and_digits(address)


def normalise_credit_code(code: str) -> str:
    """统一社会信用代码 as stored: folded to half width, upper case, no spaces or dashes."""
    return _letters_and_digits(code).upper()


def required_shared(length: int, threshold: float) -> int:
    """How many of a ``length``-character query's characters a name must share to reach ``threshold`` (0–100)."""
    t = threshold / 100
    if t <= 0:
        return 0
    return max(1, math.ceil(t * length / (2 - t) - 1e-9))


@dataclass(frozen=True)
class Match:
    key: int
    name: str
    score: float


class NameIndex:
    """Normalised names with an integer key each (e.g. a prospect's or customer's id, tagged by kind), searchable
    by similarity. Built once from arrays; :meth:`add` appends names to a small tail searched by a plain scan until
    the next :meth:`rebuild`."""

    def __init__(self, keys: Sequence[int] | np.ndarray, names: Sequence[str]) -> None:
        if len(keys) != len(names):
            raise ValueError("keys and names differ in length")
        self.keys = np.asarray(keys, dtype=np.int64)
        self.names = list(names)
        self._tail_keys: list[int] = []
        self._tail_names: list[str] = []
        self._build()

    def __len__(self) -> int:
        return len(self.names) + len(self._tail_names)

    def _build(self) -> None:
        lengths = np.fromiter((len(n) for n in self.names), dtype=np.int64, count=len(self.names))
        codes = np.frombuffer("".join(self.names).encode("utf-32-le"), dtype=np.uint32)
        rows = np.repeat(np.arange(len(self.names), dtype=np.int64), lengths)
        # one entry per (character, name), names ascending within a character
        pairs = np.unique((codes.astype(np.int64) << 32) | rows)
        self._rows = pairs & 0xFFFFFFFF
        self._chars, self._starts, self._counts = np.unique(
            pairs >> 32, return_index=True, return_counts=True
        )
        self._names = np.asarray(self.names, dtype=object)

    def add(self, key: int, name: str) -> None:
        self._tail_keys.append(key)
        self._tail_names.append(name)

    def rebuild(self) -> None:
        """Fold the tail into the arrays."""
        if not self._tail_names:
            return
        self.keys = np.concatenate([self.keys, np.asarray(self._tail_keys, dtype=np.int64)])
        self.names.extend(self._tail_names)
        self._tail_keys, self._tail_names = [], []
        self._build()

    @property
    def tail_size(self) -> int:
        return len(self._tail_names)

    def _postings(self, char: str) -> np.ndarray:
        at = int(np.searchsorted(self._chars, ord(char)))
        if at >= len(self._chars) or self._chars[at] != ord(char):
            return self._rows[:0]
        start = int(self._starts[at])
        return self._rows[start : start + int(self._counts[at])]

    def candidates(self, query: str, threshold: float) -> np.ndarray:
        """Rows that may reach ``threshold``: those holding one of the query's rarest needed characters."""
        if not query or not self.names:
            return np.empty(0, dtype=np.int64)
        lists = [
            self._postings(ch) for ch in query
        ]  # one list per position: a repeated character counts twice
        needed = len(query) - required_shared(len(query), threshold) + 1
        rarest = sorted(lists, key=len)[: max(needed, 1)]
        return np.unique(np.concatenate(rarest)) if rarest else np.empty(0, dtype=np.int64)

    def search(self, query: str, threshold: float, limit: int = 5) -> list[Match]:
        """The best ``limit`` names scoring at least ``threshold`` against ``query``, best first."""
        rows = self.candidates(query, threshold)
        names = self._names[rows].tolist()
        found = [
            Match(int(self.keys[rows[i]]), name, score)
            for name, score, i in process.extract(
                query, names, scorer=fuzz.ratio, score_cutoff=threshold, limit=limit
            )
        ]
        if self._tail_names:
            found.extend(
                Match(self._tail_keys[i], name, score)
                for name, score, i in process.extract(
                    query, self._tail_names, scorer=fuzz.ratio, score_cutoff=threshold, limit=limit
                )
            )
        found.sort(key=lambda m: (-m.score, m.key))
        return found[:limit]
