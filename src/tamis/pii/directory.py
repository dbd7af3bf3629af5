"""The member directory: every member's name compiled into one Aho-Corasick automaton.

Built once per build from the export's ``members`` table (first and last names, e-mail, phone),
it finds any mention of any member in one pass over a text, whatever the number of members:
matching runs on :func:`~tamis.pii.fold.fold`-ed text (lower case, no accents, punctuation as
spaces, same offsets as the original), so "Jean-Pierre LEFÈVRE", "jean pierre lefevre" and
"Lefèvre Jean-Pierre" all match the member Jean-Pierre Lefèvre.

Patterns start with a space and matches must end before a non-alphanumeric character, so only
whole words match. What a match means depends on its kind: a full name (first + last, either
order) is a mention in any case; a lone first or last name must be capitalised in the original
text and not be an everyday word at the start of a sentence.

The automaton is not pickled: a pickled directory carries its entries and rebuilds the
automaton on first use in the receiving process.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tamis.errors import InputError, TamisError
from tamis.pii.fold import fold, fold_key

FULL = 1
FIRST = 2
LAST = 4

DIRECTORY_COLUMNS = ("member_id", "first_name", "last_name", "email", "phone")


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A whole-word match of directory names: ``text[start:end]``, with the kinds it matched."""

    start: int
    end: int
    kinds: int


def _import_ahocorasick() -> Any:
    try:
        import ahocorasick
    except ImportError:  # pragma: no cover - depends on the environment
        raise TamisError(
            "the member directory needs pyahocorasick: pip install 'tamis[pii]'"
        ) from None
    return ahocorasick


class MemberDirectory:
    """Names, e-mails and phones of the platform's members, for identity-aware detection."""

    def __init__(
        self,
        first_names: Iterable[str | None],
        last_names: Iterable[str | None],
        emails: Iterable[str | None] = (),
        phones: Iterable[str | None] = (),
    ) -> None:
        self.first_names = [f or "" for f in first_names]
        self.last_names = [x or "" for x in last_names]
        if len(self.first_names) != len(self.last_names):
            raise TamisError("member directory: first and last name lists differ in length")
        self.emails = sorted({e.strip().lower() for e in emails if e})
        self.phones = sorted({_phone_key(p) for p in phones if p})
        self._automaton: Any = None

    def __len__(self) -> int:
        return len(self.first_names)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_automaton"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    # ----------------------------------------------------------------------------- constructors
    @classmethod
    def from_arrow(cls, table: pa.Table | pa.RecordBatch) -> MemberDirectory:
        """From the export's ``members`` table (extra columns are ignored)."""
        names = table.schema.names
        for required in ("first_name", "last_name"):
            if required not in names:
                raise InputError(
                    "the members table has no name column", file="members", field=required
                )

        def col(name: str) -> list[Any]:
            return table.column(name).to_pylist() if name in names else []

        return cls(col("first_name"), col("last_name"), col("email"), col("phone"))

    @classmethod
    def from_export(cls, export_dir: Path) -> MemberDirectory:
        """From an export directory's ``members.jsonl``, ``members.parquet`` or ``members/``."""
        return cls.from_arrow(read_members(export_dir))

    # -------------------------------------------------------------------------------- matching
    @property
    def automaton(self) -> Any:
        if self._automaton is None:
            self._automaton = self._build()
        return self._automaton

    def _build(self) -> Any:
        ahocorasick = _import_ahocorasick()
        kinds: dict[str, int] = {}

        def add(key: str, kind: int) -> None:
            if len(key) >= 2:
                kinds[" " + key] = kinds.get(" " + key, 0) | kind

        for first, last in zip(self.first_names, self.last_names, strict=True):
            f, la = fold_key(first), fold_key(last)
            if f and la:
                add(f"{f} {la}", FULL)
                add(f"{la} {f}", FULL)
            if f:
                add(f, FIRST)
            if la:
                add(la, LAST)
        automaton = ahocorasick.Automaton()
        for key in sorted(kinds):
            automaton.add_word(key, (len(key), kinds[key]))
        if not kinds:
            automaton.add_word(" \x00", (2, 0))  # an automaton needs at least one word
        automaton.make_automaton()
        return automaton

    def matches(self, text: str) -> Iterator[NameMatch]:
        """Every whole-word match in ``text`` (overlapping ones included)."""
        folded = " " + fold(text)
        n = len(text)
        for end_q, (length, kinds) in self.automaton.iter(folded):
            if not kinds:
                continue
            # padded index q <-> original q - 1; the pattern's leading space sits at q_start.
            end = end_q  # exclusive, in original offsets
            if end < n and folded[end + 1] != " ":
                continue
            yield NameMatch(end_q - length + 1, end, kinds)

    def is_member_email(self, value: str) -> bool:
        from bisect import bisect_left

        v = value.strip().lower()
        i = bisect_left(self.emails, v)
        return i < len(self.emails) and self.emails[i] == v

    def is_member_phone(self, value: str) -> bool:
        from bisect import bisect_left

        v = _phone_key(value)
        i = bisect_left(self.phones, v)
        return i < len(self.phones) and self.phones[i] == v


def _phone_key(value: str) -> str:
    from tamis.pii.anonymizers import normalise
    from tamis.pii.spans import PHONE

    return normalise(PHONE, value)


def read_members(export_dir: Path) -> pa.Table:
    """The name and contact columns of an export's ``members`` table, in any supported format."""
    export_dir = Path(export_dir)
    jsonl = export_dir / "members.jsonl"
    parquet = export_dir / "members.parquet"
    folder = export_dir / "members"
    if jsonl.exists():
        import orjson

        rows: dict[str, list[Any]] = {c: [] for c in DIRECTORY_COLUMNS}
        with jsonl.open("rb") as handle:
            for line_no, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError as err:
                    raise InputError(f"not JSON: {err}", file=str(jsonl), line=line_no) from None
                for c in DIRECTORY_COLUMNS:
                    v = obj.get(c)
                    rows[c].append(v if isinstance(v, str) else None)
        return pa.table({c: pa.array(v, pa.string()) for c, v in rows.items()})
    if parquet.exists() or folder.is_dir():
        import pyarrow.dataset as ds

        dataset = ds.dataset(parquet if parquet.exists() else folder, format="parquet")
        cols = [c for c in DIRECTORY_COLUMNS if c in dataset.schema.names]
        return dataset.to_table(columns=cols)
    raise InputError(
        "no members table (members.jsonl, members.parquet or members/) in the export",
        file=str(export_dir),
    )
