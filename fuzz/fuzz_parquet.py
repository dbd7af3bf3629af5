"""atheris: bytes as a Parquet file (seeded with a valid one); InputError or every row kept."""

from __future__ import annotations

from _common import run
from tamis_fuzz import check_parquet_bytes, count

from tamis.sources.schema import CONTENT


def target(data: bytes) -> None:
    count("atheris.parquet")
    check_parquet_bytes(data, CONTENT)


if __name__ == "__main__":
    run(target)
