"""atheris: bytes as a JSONL file of each export table; every line valid, rejected or blank."""

from __future__ import annotations

from _common import run
from tamis_fuzz import check_jsonl, count

from tamis.sources.schema import CONSENT_EVENTS, CONTENT, MEMBERS

TABLES = (CONTENT, MEMBERS, CONSENT_EVENTS)


def target(data: bytes) -> None:
    if not data:
        return
    count("atheris.jsonl")
    check_jsonl(data[1:], TABLES[data[0] % len(TABLES)])


if __name__ == "__main__":
    run(target)
