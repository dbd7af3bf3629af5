"""Exact and near-duplicate detection, representatives, determinism and the PII copies report."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from tamis.dedup import DedupConfig, find_duplicates, normalise_text, pii_copies, shingles
from tamis.errors import TamisError
from tamis.pii import PiiEngine


def _batches(texts: list[str | None], size: int = 3) -> list[pa.RecordBatch]:
    table = pa.table(
        {
            "record_id": pa.array([f"r{i:03d}" for i in range(len(texts))], pa.string()),
            "text": pa.array(texts, pa.string()),
        }
    )
    return table.to_batches(max_chunksize=size)


def test_normalisation_nfkc_case_whitespace() -> None:
    out = normalise_text(pa.array(["  Straße\u00a0 \uff21\uff22\uff23\tx ", "STRASSE abc X", None]))
    assert out.to_pylist() == ["strasse abc x", "strasse abc x", ""]


def test_exact_duplicates_keep_first_in_snapshot_order() -> None:
    texts = ["Hello  World", "other", "hello world", "HELLO WORLD ", "other"]
    result = find_duplicates(_batches(texts, 2), DedupConfig(near=False))
    assert result.drop.to_pylist() == ["r002", "r003", "r004"]
    assert result.representative.to_pylist() == ["r000", "r000", "r001"]
    assert result.counts() == {"records": 5, "dropped": 3, "exact": 3, "near": 0, "clusters": 2}


def test_near_duplicates_found_and_distinct_texts_kept() -> None:
    base = "Thrilled to announce that I joined the data platform team at Example Corp in Lyon"
    near = base.replace("Thrilled", "Thriled")
    other = "Our quarterly results are out, read the full analysis on the company blog today"
    result = find_duplicates(_batches([base, other, near]), DedupConfig())
    assert result.drop.to_pylist() == ["r002"]
    assert result.representative.to_pylist() == ["r000"]
    assert (result.exact, result.near, result.clusters) == (0, 1, 1)


def test_exact_off_and_near_off() -> None:
    result = find_duplicates(_batches(["a b c", "a b c"]), DedupConfig(exact=False, near=False))
    assert result.drop.to_pylist() == []


def test_deterministic_whatever_the_batching() -> None:
    rng = random.Random(3)
    words = ["data", "team", "lyon", "paris", "great", "news", "hiring", "python", "spark"]
    texts = [" ".join(rng.choice(words) for _ in range(8)) for _ in range(300)]
    a = find_duplicates(_batches(texts, 7), DedupConfig())
    b = find_duplicates(_batches(texts, 300), DedupConfig())
    assert a.drop.equals(b.drop) and a.representative.equals(b.representative)
    assert a.counts() == b.counts()


def test_config_validation_and_policy_mapping() -> None:
    cfg = DedupConfig.from_mapping(
        {"exact": True, "near": True, "threshold": 0.8, "shingle": 5, "num_perm": 128, "bands": 16}
    )
    assert cfg.bands == 16
    with pytest.raises(TamisError, match="multiple of bands"):
        DedupConfig(num_perm=100, bands=16)
    with pytest.raises(TamisError, match="available"):
        DedupConfig.from_mapping({"treshold": 0.8})


def test_shingles() -> None:
    assert shingles("abc", 5) == ["abc"]
    assert shingles("abcdef", 5) == ["abcde", "bcdef"]
    assert shingles("a b c d", 2, "word") == ["a b", "b c", "c d"]


def test_empty_input() -> None:
    result = find_duplicates([], DedupConfig())
    assert result.counts()["dropped"] == 0


def test_pii_copies_counts_without_values() -> None:
    texts = [
        "mail me at jane@example.org",
        "JANE@example.org again",
        "call 06 12 34 56 78",
        "nothing here",
    ]
    report = pii_copies(_batches(texts), PiiEngine.for_mode("contact"))
    assert report["max_copies"] == 2
    assert report["strings"] == 2
    assert report["distribution"] == {"1": 1, "2": 1}
    assert report["by_type"]["EMAIL_ADDRESS"] == {"strings": 1, "max_copies": 2}
    assert "jane" not in repr(report)
