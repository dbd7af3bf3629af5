"""The member directory: every member's name, e-mail and phone, for identity-aware detection.

Built once per build (or once at a service's start) from the export's ``members`` table (first
and last names, e-mail, phone), it finds any mention of any member in one pass over a text,
whatever the number of members: matching runs on :func:`~tamis.pii.fold.fold`-ed text (lower
case, no accents, punctuation as spaces, same offsets as the original), so "Jean-Pierre LEFÈVRE",
"jean pierre lefevre" and "Lefèvre Jean-Pierre" all match the member Jean-Pierre Lefèvre.

How it is held, so that a directory of 10^6 members builds in seconds:

* one Aho-Corasick automaton over the *distinct* folded first and last names (tens of thousands
  for a million members, not one pattern per member), each pattern carrying its name id;
* the full names as a sorted array of name-id pairs, ``first, last`` and ``last, first``: a full
  name is two adjacent whole-word name matches whose pair is in the array;
* e-mails (trimmed, lower case) and phones (their last nine digits, see :func:`phone_key`) as
  sorted lists.

Everything is computed on Arrow columns: names are dictionary-encoded and only the distinct
values are folded (ASCII ones with Arrow's string kernels, others with :func:`fold_key`); e-mails
and phones are canonicalised by Arrow's string kernels too.

Patterns start with a space and matches must end before a non-alphanumeric character, so only
whole words match. What a match means depends on its kind: a full name (first + last, either
order) is a mention in any case; a lone first or last name must be capitalised in the original
text and not be an everyday word at the start of a sentence (see ``person.members.v1``).

The automaton is not pickled: a pickled directory carries its distinct names and pairs and
rebuilds the (small) automaton on first use in the receiving process.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tamis.errors import InputError, TamisError
from tamis.pii.fold import fold, fold_key

FULL = 1
FIRST = 2
LAST = 4

DIRECTORY_COLUMNS = ("member_id", "first_name", "last_name", "email", "phone")

# A phone is known by the last digits of its number (separators, country code and trunk prefix
# dropped): "06 12 34 56 78", "+33 6 12 34 56 78" and "0033612345678" are one number, and so are a
# Belgian member's "0470 12 34 56" and "+32 470 12 34 56", which an E.164 parse that must assume a
# region for national spellings would tell apart. Two numbers that share their last nine digits
# are taken for one: a non-member's number may be flagged as a member's, never the reverse.
PHONE_KEY_DIGITS = 9
MIN_PHONE_DIGITS = 6  # fewer digits than this is not a phone number: no key
_NON_DIGITS = re.compile(r"[^0-9]")
# e-mails that str.strip().lower() and Arrow's ascii_lower treat alike: printable ASCII, no space
_PLAIN_EMAIL = r"^[!-~]+$"


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
    """Names, e-mails and phones of the platform's members, for identity-aware detection.

    The four columns may be Arrow arrays (what :meth:`from_arrow` passes, without copies into
    Python) or any iterables of strings; ``None`` and empty values are skipped.
    """

    def __init__(
        self,
        first_names: Iterable[str | None] | pa.Array | pa.ChunkedArray,
        last_names: Iterable[str | None] | pa.Array | pa.ChunkedArray,
        emails: Iterable[str | None] | pa.Array | pa.ChunkedArray = (),
        phones: Iterable[str | None] | pa.Array | pa.ChunkedArray = (),
    ) -> None:
        first = _strings(first_names, "first_name")
        last = _strings(last_names, "last_name")
        if len(first) != len(last):
            raise TamisError("member directory: first and last name lists differ in length")
        self._size = len(first)
        self._names, self._kinds, self._pairs = _compile_names(first, last)
        # tuples of str: the garbage collector untracks them and never walks their items (a
        # service's collections would otherwise walk millions of them, pausing checks)
        self.emails: tuple[str, ...] = _email_keys(_strings(emails, "email"))
        self.phones: tuple[str, ...] = _phone_keys(_strings(phones, "phone"))
        self._automaton: Any = None

    def __len__(self) -> int:
        return self._size

    def __getstate__(self) -> dict[str, Any]:
        return {
            "size": self._size,
            "names": self._names,
            "kinds": self._kinds,
            "pairs": self._pairs,
            "emails": self.emails,
            "phones": self.phones,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._size = state["size"]
        self._names = state["names"]
        self._kinds = state["kinds"]
        self._pairs = state["pairs"]
        self.emails = state["emails"]
        self.phones = state["phones"]
        self._automaton = None

    @property
    def distinct_names(self) -> int:
        """How many distinct folded names (first or last) the automaton holds."""
        return len(self._names)

    @property
    def full_names(self) -> int:
        """How many distinct full names (first + last, in either order) are known."""
        return len(self._pairs)

    # ----------------------------------------------------------------------------- constructors
    @classmethod
    def from_arrow(cls, table: pa.Table | pa.RecordBatch) -> MemberDirectory:
        """From the export's ``members`` table (extra columns are ignored)."""
        names = table.schema.names

        def col(name: str) -> pa.Array | pa.ChunkedArray:
            return table.column(name) if name in names else pa.nulls(table.num_rows, pa.string())

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
        automaton = ahocorasick.Automaton()
        kinds = self._kinds.tolist()
        for name_id, name in enumerate(self._names):
            if name:
                automaton.add_word(" " + name, (len(name) + 1, kinds[name_id], name_id))
        if not len(automaton):
            automaton.add_word(" \x00", (2, 0, -1))  # an automaton needs at least one word
        automaton.make_automaton()
        return automaton

    def matches(self, text: str) -> Iterator[NameMatch]:
        """Every whole-word match in ``text`` (overlapping ones included), by end, then start."""
        folded = " " + fold(text)
        n = len(text)
        # padded index q <-> original q - 1; a pattern's leading space sits at its start.
        found: list[tuple[int, int, int, int]] = []
        for end, (length, kinds, name_id) in self.automaton.iter(folded):
            if end < n and folded[end + 1] != " ":
                continue  # not a whole word
            found.append((end - length + 1, end, kinds, name_id))
        if not found:
            return
        full = self._full_names(found) if len(found) > 1 else ()
        if not full:
            for start, end, kinds, _ in found:
                if kinds:
                    yield NameMatch(start, end, kinds)
            return
        merged: dict[tuple[int, int], int] = {}
        for start, end, kinds, _ in found:
            if kinds:
                merged[start, end] = kinds
        for span in full:
            merged[span] = merged.get(span, 0) | FULL
        for (start, end), kinds in sorted(merged.items(), key=lambda item: item[0][::-1]):
            yield NameMatch(start, end, kinds)

    def _full_names(self, found: list[tuple[int, int, int, int]]) -> list[tuple[int, int]]:
        """Spans of two adjacent name matches (one space apart) that form a member's full name."""
        pairs = self._pairs
        if not len(pairs):
            return []
        by_start: dict[int, list[int]] = {}
        for k, match in enumerate(found):
            by_start.setdefault(match[0], []).append(k)
        width = len(self._names)
        spans: list[tuple[int, int]] = []
        codes: list[int] = []
        for start, end, _, first_id in found:
            for k in by_start.get(end + 1, ()):
                spans.append((start, found[k][1]))
                codes.append(first_id * width + found[k][3])
        if not codes:
            return []
        wanted = np.array(codes, dtype=np.int64)
        at = np.searchsorted(pairs, wanted)
        hit = pairs[np.minimum(at, len(pairs) - 1)] == wanted
        return [span for span, ok in zip(spans, hit.tolist(), strict=True) if ok]

    def is_member_email(self, value: str) -> bool:
        v = value.strip().lower()
        i = bisect_left(self.emails, v)
        return i < len(self.emails) and self.emails[i] == v

    def is_member_phone(self, value: str) -> bool:
        v = phone_key(value)
        if not v:
            return False
        i = bisect_left(self.phones, v)
        return i < len(self.phones) and self.phones[i] == v


# ----------------------------------------------------------------------------- building blocks
def _strings(values: Iterable[str | None] | pa.Array | pa.ChunkedArray, field: str) -> pa.Array:
    """One Arrow string array from a column or any iterable of strings (``None`` allowed)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], pa.string())
    if not isinstance(values, pa.Array):
        try:
            values = pa.array(list(values), pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise InputError(f"member directory: not strings: {exc}", field=field) from None
    if isinstance(values.type, pa.DictionaryType):
        values = values.dictionary_decode()
    if values.type == pa.null():
        return pa.array([None] * len(values), pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise InputError(f"member directory: {field} is {values.type}, not text", field=field)
    return values


def fold_keys(values: pa.Array) -> pa.Array:
    """:func:`fold_key` of every string of an Arrow array (nulls fold to ``""``).

    ASCII strings are folded by Arrow's kernels (lower case, runs of anything but letters and
    digits as one space, trimmed: exactly what :func:`fold_key` does to ASCII); the others, a few
    per cent of names, by :func:`fold_key` itself.
    """
    values = pc.fill_null(values, "")
    folded = pc.utf8_trim(
        pc.replace_substring_regex(pc.ascii_lower(values), "[^a-z0-9]+", " "), " "
    )
    other = pc.invert(pc.string_is_ascii(values))
    if not pc.any(other).as_py():
        return folded
    rest = pc.filter(values, other).to_pylist()
    return pc.replace_with_mask(folded, other, pa.array([fold_key(v) for v in rest], folded.type))


def _compile_names(
    first: pa.Array, last: pa.Array
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Distinct folded names, their kinds (``FIRST``/``LAST`` bits) and the full-name pairs.

    A full name is coded ``a * len(names) + b`` for the name ids ``a`` then ``b`` as they read in
    a text; both orders of every member's first and last name are in the sorted pair array.
    """
    first_enc = pc.dictionary_encode(first)
    last_enc = pc.dictionary_encode(last)
    first_folded = fold_keys(first_enc.dictionary)
    last_folded = fold_keys(last_enc.dictionary)
    both = pc.dictionary_encode(
        pa.concat_arrays([first_folded, last_folded.cast(first_folded.type)])
    )
    names: tuple[str, ...] = tuple(both.dictionary.to_pylist())
    name_ids = both.indices.to_numpy().astype(np.int64)
    usable = pc.utf8_length(both.dictionary).to_numpy() > 0
    name_ids = np.where(usable[name_ids], name_ids, -1)  # "" is no name
    first_ids, last_ids = name_ids[: len(first_folded)], name_ids[len(first_folded) :]

    long_enough = pc.utf8_length(both.dictionary).to_numpy() >= 2  # a lone letter is no name
    kinds = np.zeros(len(names), dtype=np.uint8)
    for ids, kind in ((first_ids, FIRST), (last_ids, LAST)):
        ids = ids[ids >= 0]
        kinds[ids[long_enough[ids]]] |= kind

    def per_member(encoded: pa.DictionaryArray, ids: np.ndarray) -> np.ndarray:
        index = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64)
        return np.where(index >= 0, ids[np.maximum(index, 0)] if len(ids) else -1, -1)

    member_first = per_member(first_enc, first_ids)
    member_last = per_member(last_enc, last_ids)
    named = (member_first >= 0) & (member_last >= 0)
    a, b = member_first[named], member_last[named]
    width = len(names)
    pairs = np.concatenate([a * width + b, b * width + a])
    pairs.sort()
    if len(pairs) > 1:  # distinct, without np.unique's hash table (a sort is several times faster)
        pairs = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    return names, kinds, pairs


def _email_keys(values: pa.Array) -> tuple[str, ...]:
    """Sorted distinct canonical e-mails (``strip().lower()``), empties left out."""
    values = pc.drop_null(values)
    plain = pc.match_substring_regex(values, _PLAIN_EMAIL)
    others = pc.unique(pc.filter(values, pc.invert(plain))).to_pylist()  # a few, if any
    keys = pa.concat_arrays(
        [
            pc.ascii_lower(pc.filter(values, plain)),
            pa.array([v.strip().lower() for v in others], values.type),
        ]
    )
    return _sorted_distinct(keys)


def _phone_keys(values: pa.Array) -> tuple[str, ...]:
    """Sorted distinct :func:`phone_key` of every phone (one vectorised pass), empties left out."""
    digits = pc.replace_substring_regex(pc.drop_null(values), "[^0-9]", "")
    digits = pc.filter(digits, pc.greater_equal(pc.utf8_length(digits), MIN_PHONE_DIGITS))
    return _sorted_distinct(pc.utf8_slice_codeunits(digits, -PHONE_KEY_DIGITS))


def _sorted_distinct(keys: pa.Array) -> tuple[str, ...]:
    """Distinct non-empty strings in ``str`` order (UTF-8 byte order is code point order)."""
    keys = pc.filter(keys, pc.greater(pc.utf8_length(keys), 0))
    keys = pc.take(keys, pc.sort_indices(keys))
    if len(keys) > 1:  # equal strings are neighbours once sorted
        first = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1))
        keys = pc.filter(keys, pa.concat_arrays([pa.array([True]), first]))
    return tuple(keys.to_pylist())


def phone_key(value: str) -> str:
    """The key a phone number is known by: its last nine ASCII digits (``""`` if under six)."""
    digits = _NON_DIGITS.sub("", value)
    return digits[-PHONE_KEY_DIGITS:] if len(digits) >= MIN_PHONE_DIGITS else ""


def read_members(export_dir: Path) -> pa.Table:
    """The name and contact columns of an export's ``members`` table, in any supported format.

    ``members.jsonl`` goes through Arrow's JSON reader; a file it refuses (a value that is not a
    string, a line that is not an object, a repeated key...) is read again line by line, where a
    line that is not JSON gives the names its raw text holds (``"first_name": "..."``), one
    that is JSON but not an object gives none, and a value that is not a string counts as
    absent. The build's reader quarantines such lines and counts them: the directory, which only
    finds names to redact, does not stop the build over them. A column the table lacks (in
    Parquet, where a JSONL file would give nulls) counts as absent.
    """
    export_dir = Path(export_dir)
    jsonl = export_dir / "members.jsonl"
    parquet = export_dir / "members.parquet"
    folder = export_dir / "members"
    if jsonl.exists():
        table = _read_members_jsonl_arrow(jsonl)
        if table is not None:
            return table
        import orjson

        from tamis.sources.reader import raw_string_values

        rows: dict[str, list[Any]] = {c: [] for c in DIRECTORY_COLUMNS}
        with jsonl.open("rb") as handle:
            for line in handle:
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError:
                    # A broken line (the build quarantines it) may still name a member whom
                    # other members' posts mention: its names are taken from the raw text.
                    obj = {
                        c: next(iter(raw_string_values(line, c)), None) for c in DIRECTORY_COLUMNS
                    }
                if not isinstance(obj, dict):
                    continue
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


def _read_members_jsonl_arrow(path: Path) -> pa.Table | None:
    """The directory columns of a ``members.jsonl`` as Arrow reads them, or ``None`` if it can't."""
    import pyarrow.json as pj

    schema = pa.schema([(c, pa.string()) for c in DIRECTORY_COLUMNS])
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    try:
        table = pj.read_json(path, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    return table.select(list(DIRECTORY_COLUMNS))
