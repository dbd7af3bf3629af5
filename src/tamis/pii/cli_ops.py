"""Library functions behind the ``tamis pii`` commands (the CLI is a thin layer over these).

Both read JSON Lines (one object a line; ``-`` is not special) and work in chunks, so a file of
any size runs in bounded memory:

- :func:`scan_file` writes, for every input line, the spans found in ``field`` (offsets, type,
  score, detector; never the text), one JSON object a line;
- :func:`redact_file` writes every input object back with ``field`` rewritten and all other fields
  kept, and returns the counts of entities per type.

Errors the user can fix (missing file, a line that is not JSON, a field that is not a string)
raise :class:`~tamis.errors.InputError` naming file and line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from tamis.errors import InputError
from tamis.keys import PseudonymKey
from tamis.pii.anonymizers import anonymizers, apply
from tamis.pii.directory import MemberDirectory
from tamis.pii.engine import PiiEngine
from tamis.pii.lang import guess_lang

CHUNK = 2000


def _read(path: Path, field: str) -> Iterator[list[tuple[int, dict[str, Any], str | None]]]:
    if not path.exists():
        raise InputError("no such file", file=str(path))
    chunk: list[tuple[int, dict[str, Any], str | None]] = []
    with path.open("rb") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as err:
                raise InputError(f"not JSON ({err})", file=str(path), line=line_no) from None
            if not isinstance(obj, dict):
                raise InputError("not a JSON object", file=str(path), line=line_no)
            value = obj.get(field)
            if value is not None and not isinstance(value, str):
                raise InputError("not a string", file=str(path), line=line_no, field=field)
            chunk.append((line_no, obj, value))
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _langs(chunk: list[tuple[int, dict[str, Any], str | None]], lang: str) -> list[str | None]:
    if lang != "auto":
        return [lang] * len(chunk)
    out: list[str | None] = []
    for _, obj, text in chunk:
        given = obj.get("lang")
        out.append(given if isinstance(given, str) and given else guess_lang(text or ""))
    return out


def _engine(mode: str, members_dir: Path | str | None) -> PiiEngine:
    directory = MemberDirectory.from_export(Path(members_dir)) if members_dir else None
    return PiiEngine.for_mode(mode, directory=directory)


def scan_file(
    input: Path | str,
    output: Path | str,
    field: str = "text",
    lang: str = "auto",
    members_dir: Path | str | None = None,
    mode: str = "fast",
) -> Counter[str]:
    """Write the spans found in each line's ``field`` as JSONL; return counts per type.

    Each output line is ``{"line": n, "id": <record_id or id, if any>, "lang": ..., "spans":
    [{"type", "start", "end", "score", "detector", "explanation"?}]}``.
    """
    engine = _engine(mode, members_dir)
    counts: Counter[str] = Counter()
    with Path(output).open("wb") as out:
        for chunk in _read(Path(input), field):
            langs = _langs(chunk, lang)
            results = engine.analyze_many([t for _, _, t in chunk], langs)
            for (line_no, obj, _), lang_, spans in zip(chunk, langs, results, strict=True):
                counts.update(s.type for s in spans)
                record = {
                    "line": line_no,
                    "id": obj.get("record_id", obj.get("id")),
                    "lang": lang_,
                    "spans": [s.to_dict() for s in spans],
                }
                out.write(orjson.dumps(record) + b"\n")
    return counts


def redact_file(
    input: Path | str,
    output: Path | str,
    field: str = "text",
    mode: str = "fast",
    members_dir: Path | str | None = None,
    anonymizer: str = "placeholder",
    key: PseudonymKey | None = None,
    lang: str = "auto",
) -> Counter[str]:
    """Rewrite each line's ``field`` with its entities replaced; keep the other fields.

    ``anonymizer`` is a registry name (``placeholder``, ``pseudonym``, ``mask``, or versioned);
    ``pseudonym`` uses ``key`` or, when not given, the key from ``tamis.keys.load_key()``.
    Returns counts of entities per type.
    """
    name = anonymizer if "." in anonymizer else f"{anonymizer}.v1"
    factory = anonymizers.get(name)
    if name == "pseudonym.v1" and key is None:
        from tamis.keys import load_key

        key = load_key()
    anon = factory(key=key)
    engine = _engine(mode, members_dir)
    counts: Counter[str] = Counter()
    with Path(output).open("wb") as out:
        for chunk in _read(Path(input), field):
            langs = _langs(chunk, lang)
            results = engine.analyze_many([t for _, _, t in chunk], langs)
            for (_, obj, text), spans in zip(chunk, results, strict=True):
                counts.update(s.type for s in spans)
                if text is not None and spans:
                    obj[field] = apply(text, spans, anon)
                out.write(orjson.dumps(obj) + b"\n")
    return counts
