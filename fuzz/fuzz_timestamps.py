"""atheris: text as a timestamp; scalar and vectorised parsers agree, TimestampError only."""

from __future__ import annotations

from _common import run
from tamis_fuzz import check_timestamp, count


def target(data: bytes) -> None:
    count("atheris.timestamps")
    check_timestamp(data.decode("utf-8", "replace"))


if __name__ == "__main__":
    run(target)
