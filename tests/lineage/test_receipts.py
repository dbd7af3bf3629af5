"""Signed membership receipts: issuing from a snapshot directory, verifying offline, tampering."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tamis.lineage.receipts as receipts_module
from tamis.errors import InputError, TamisError, VerificationError
from tamis.keys import PseudonymKey
from tamis.lineage import (
    RECEIPT_FORMAT,
    MerkleTree,
    ReceiptIssuer,
    SigningKey,
    SnapshotMembers,
    canonical_json,
    dump_receipt,
    issue_receipt,
    issue_receipts,
    load_signing_key,
    merkle_root,
    parse_receipt,
    public_key_id,
    verify_receipt,
)
from tamis.lineage.receipts import (
    export_member_ids,
    read_member_ids,
    verify_receipts_jsonl,
    write_receipts_jsonl,
)
from tamis.lineage.signing import canonical_json_nofloat

DOC = Path(__file__).resolve().parents[2] / "docs" / "receipts.md"
ISSUED = datetime(2025, 11, 3, 10, 0, tzinfo=UTC)
KEY = PseudonymKey(hashlib.sha256(b"test pseudonym key").digest(), "test")
SIGNER = SigningKey.from_seed(hashlib.sha256(b"test signing key").digest(), "test")
MEMBERS = [f"M-{i:04d}" for i in range(40)]


def make_snapshot(
    directory: Path, member_ids: list[str], *, snapshot_id: str = "snap-1", **extra: Any
) -> str:
    """A snapshot directory by hand: manifest.json and members.parquet (sorted refs + counts)."""
    directory.mkdir(parents=True, exist_ok=True)
    refs = sorted(KEY.member_ref(m) for m in member_ids)
    table = pa.table({"member_ref": pa.array(refs, pa.string()), "records": [3] * len(refs)})
    pq.write_table(table, directory / "members.parquet")
    root = merkle_root(refs)
    manifest = {"format": "tamis.snapshot/v1", "snapshot_id": snapshot_id, "members_root": root}
    (directory / "manifest.json").write_text(json.dumps({**manifest, **extra}))
    return root


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[str]]:
    """A snapshot holding every other member of MEMBERS."""
    directory = tmp_path_factory.mktemp("snapshot")
    included = MEMBERS[::2]
    return directory, make_snapshot(directory, included), included


@pytest.fixture(scope="module")
def issuer(snapshot: tuple[Path, str, list[str]]) -> ReceiptIssuer:
    return ReceiptIssuer.open(snapshot[0], KEY, SIGNER)


def test_every_included_member_gets_an_inclusion_receipt_that_verifies(
    snapshot: tuple[Path, str, list[str]], issuer: ReceiptIssuer
) -> None:
    _, root, included = snapshot
    for member_id in included:
        receipt = issuer.issue(member_id, issued_at=ISSUED)
        assert receipt["kind"] == "inclusion"
        assert receipt["member_ref"] == KEY.member_ref(member_id)
        verify_receipt(receipt, root, SIGNER.public_pem())


def test_every_excluded_member_gets_a_non_inclusion_receipt_that_verifies(
    snapshot: tuple[Path, str, list[str]], issuer: ReceiptIssuer
) -> None:
    _, root, included = snapshot
    excluded = [m for m in MEMBERS if m not in included] + ["never-seen", ""]
    edges = set()
    for member_id in excluded:
        receipt = issuer.issue(member_id, issued_at=ISSUED)
        assert receipt["kind"] == "non_inclusion"
        verify_receipt(receipt, root, SIGNER.public_pem())
        proof = receipt["proof"]
        edges.add((proof["predecessor"] is None, proof["successor"] is None))
    assert (False, False) in edges


def test_receipt_fields(issuer: ReceiptIssuer, snapshot: tuple[Path, str, list[str]]) -> None:
    receipt = issuer.issue(MEMBERS[0], issued_at=ISSUED)
    assert set(receipt) == {
        "format",
        "snapshot_id",
        "members_root",
        "member_ref",
        "kind",
        "proof",
        "issued_at",
        "key_id",
        "signature",
    }
    assert receipt["format"] == RECEIPT_FORMAT == "tamis.receipt/v1"
    assert receipt["snapshot_id"] == "snap-1"
    assert receipt["members_root"] == snapshot[1]
    assert receipt["issued_at"] == "2025-11-03T10:00:00Z"
    assert receipt["key_id"] == SIGNER.key_id == public_key_id(SIGNER.public_pem())
    assert MEMBERS[0] not in json.dumps(receipt)  # the member id never appears
    assert set(receipt["proof"]) == {"tree_size", "leaf"}
    assert receipt["proof"]["tree_size"] == len(snapshot[2])


def test_non_inclusion_before_first_after_last_and_empty(tmp_path: Path) -> None:
    refs = sorted(KEY.member_ref(m) for m in MEMBERS)
    probes = {"before": refs[0], "after": refs[-1], "middle": refs[20]}
    included = [m for m in MEMBERS if KEY.member_ref(m) not in probes.values()]
    root = make_snapshot(tmp_path / "s", included)
    issuer = ReceiptIssuer.open(tmp_path / "s", KEY, SIGNER)
    receipts = {where: issuer.issue_for_ref(ref) for where, ref in probes.items()}
    assert receipts["before"]["proof"]["predecessor"] is None
    assert receipts["before"]["proof"]["successor"]["index"] == 0
    assert receipts["after"]["proof"]["successor"] is None
    assert receipts["after"]["proof"]["predecessor"]["index"] == len(included) - 1
    for receipt in receipts.values():
        verify_receipt(receipt, root, SIGNER.public_pem())

    empty_root = make_snapshot(tmp_path / "empty", [])
    receipt = issue_receipt(tmp_path / "empty", "M-0001", KEY, SIGNER)
    assert receipt["proof"] == {"tree_size": 0, "predecessor": None, "successor": None}
    assert empty_root == hashlib.sha256(b"").hexdigest()
    verify_receipt(receipt, empty_root, SIGNER.public_pem())
    with pytest.raises(VerificationError, match="another snapshot"):
        verify_receipt(receipt, root, SIGNER.public_pem())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sets(st.sampled_from(MEMBERS)), st.sets(st.sampled_from([*MEMBERS, "x", "y"])))
def test_receipts_verify_for_random_snapshots(
    tmp_path: Path, included: set[str], asked: set[str]
) -> None:
    directory = (
        tmp_path
        / f"s{len(included)}-{hashlib.sha256(repr(sorted(included)).encode()).hexdigest()[:8]}"
    )
    root = make_snapshot(directory, sorted(included))
    for receipt in issue_receipts(directory, sorted(asked), KEY, SIGNER, workers=1):
        ref = receipt["member_ref"]
        assert receipt["kind"] == (
            "inclusion" if ref in {KEY.member_ref(m) for m in included} else "non_inclusion"
        )
        verify_receipt(receipt, root, SIGNER.public_pem())


def _verifies(data: bytes, root: str, pem: bytes) -> bool:
    try:
        verify_receipt(parse_receipt(data), root, pem)
    except VerificationError:
        return False
    return True


@pytest.mark.parametrize("member", [MEMBERS[2], MEMBERS[3]], ids=["inclusion", "non_inclusion"])
def test_flipping_any_byte_fails(
    issuer: ReceiptIssuer, snapshot: tuple[Path, str, list[str]], member: str
) -> None:
    root, pem = snapshot[1], SIGNER.public_pem()
    data = dump_receipt(issuer.issue(member, issued_at=ISSUED))
    assert _verifies(data, root, pem)
    for i in range(len(data)):
        for mask in (0x01, 0x20, 0x80):
            flipped = bytearray(data)
            flipped[i] ^= mask
            assert not _verifies(bytes(flipped), root, pem), (i, mask, chr(data[i]))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_replacing_any_byte_with_any_other_fails(data: st.DataObject) -> None:
    receipt_bytes = _sample_receipt_bytes()
    i = data.draw(st.integers(0, len(receipt_bytes) - 1))
    value = data.draw(st.integers(0, 255).filter(lambda v: v != receipt_bytes[i]))
    changed = bytearray(receipt_bytes)
    changed[i] = value
    assert not _verifies(bytes(changed), _SAMPLE[1], SIGNER.public_pem())


_SAMPLE: list[Any] = []


def _sample_receipt_bytes() -> bytes:
    if not _SAMPLE:
        tree = MerkleTree(sorted(KEY.member_ref(m) for m in MEMBERS[:7]))
        from tamis.lineage.receipts import SnapshotMembers

        members = SnapshotMembers("snap-s", tree.root_hex, tree)
        receipt = ReceiptIssuer(members, KEY, SIGNER).issue(MEMBERS[9], issued_at=ISSUED)
        _SAMPLE.extend([dump_receipt(receipt), tree.root_hex])
    data: bytes = _SAMPLE[0]
    return data


def test_another_snapshots_root_fails(tmp_path: Path, issuer: ReceiptIssuer) -> None:
    other_root = make_snapshot(tmp_path / "other", MEMBERS[1::2], snapshot_id="snap-2")
    for member in MEMBERS[:4]:
        receipt = issuer.issue(member)
        with pytest.raises(VerificationError, match="another snapshot"):
            verify_receipt(receipt, other_root, SIGNER.public_pem())


def test_wrong_public_key_fails(
    issuer: ReceiptIssuer, snapshot: tuple[Path, str, list[str]]
) -> None:
    receipt = issuer.issue(MEMBERS[0])
    other = SigningKey.generate()
    with pytest.raises(VerificationError, match="signed by key"):
        verify_receipt(receipt, snapshot[1], other.public_pem())
    # even with the key id rewritten to the other key's, the signature does not match
    relabelled = {**receipt, "key_id": other.key_id}
    with pytest.raises(VerificationError, match="signature does not match"):
        verify_receipt(relabelled, snapshot[1], other.public_pem())
    with pytest.raises(VerificationError, match="not a readable PEM"):
        verify_receipt(receipt, snapshot[1], b"not a key")


def test_a_signed_lie_is_still_caught(
    issuer: ReceiptIssuer, snapshot: tuple[Path, str, list[str]]
) -> None:
    """The platform cannot sign a non-inclusion receipt for a member who is in the root."""
    _, root, included = snapshot
    tree = issuer.members.tree
    receipt = issuer.issue(included[5], issued_at=ISSUED)
    index = receipt["proof"]["leaf"]["index"]

    def leaf(i: int) -> dict[str, Any]:
        proof = tree.leaf_proof(i)
        return {"ref": proof.ref, "index": proof.index, "path": [p.hex() for p in proof.path]}

    lies = [
        {"tree_size": len(tree), "predecessor": leaf(index - 1), "successor": leaf(index + 1)},
        {"tree_size": len(tree), "predecessor": None, "successor": leaf(index + 1)},
        {
            "tree_size": len(tree),
            "predecessor": {**leaf(index - 1), "index": index},
            "successor": leaf(index + 1),
        },
        {"tree_size": 0, "predecessor": None, "successor": None},
    ]
    for proof in lies:
        body = {k: v for k, v in receipt.items() if k != "signature"}
        body.update(kind="non_inclusion", proof=proof)
        lie = {**body, "signature": SIGNER.sign_json(body)}
        with pytest.raises(VerificationError, match="non_inclusion proof does not hold"):
            verify_receipt(lie, root, SIGNER.public_pem())


def test_malformed_receipts_say_where(
    issuer: ReceiptIssuer, snapshot: tuple[Path, str, list[str]]
) -> None:
    receipt = issuer.issue(MEMBERS[0])
    pem, root = SIGNER.public_pem(), snapshot[1]
    cases = {
        "format is not": {**receipt, "format": "tamis.receipt/v2"},
        "fields must be": {**receipt, "extra": 1},
        "member_ref": {**receipt, "member_ref": receipt["member_ref"].upper()},
        "signature": {**receipt, "signature": receipt["signature"].upper()},
        "proof.leaf.index": {
            **receipt,
            "proof": {**receipt["proof"], "leaf": {**receipt["proof"]["leaf"], "index": True}},
        },
        "kind must be": {**receipt, "kind": "maybe"},
    }
    for where, bad in cases.items():
        with pytest.raises(VerificationError, match=re.escape(where)):
            verify_receipt(bad, root, pem)
    with pytest.raises(VerificationError, match="root must be 64 hex"):
        verify_receipt(receipt, "abc", pem)
    verify_receipt(receipt, root.upper(), pem)  # a root typed in capitals is fine


def test_parse_receipt_is_strict_about_the_file(issuer: ReceiptIssuer) -> None:
    receipt = issuer.issue(MEMBERS[0])
    data = dump_receipt(receipt)
    assert data.endswith(b"}\n") and b" " not in data
    assert parse_receipt(data) == receipt
    assert parse_receipt(data.decode().rstrip("\n")) == receipt
    pretty = json.dumps(receipt, indent=2).encode()
    with pytest.raises(VerificationError, match="canonical form"):
        parse_receipt(pretty)
    assert parse_receipt(pretty, strict=False) == receipt
    with pytest.raises(VerificationError, match="not valid JSON"):
        parse_receipt(b"{")
    with pytest.raises(VerificationError, match="not a JSON object"):
        parse_receipt(b"[]")


# --- reading the snapshot -------------------------------------------------------------------


def test_members_that_do_not_match_the_manifest_are_refused(tmp_path: Path) -> None:
    make_snapshot(tmp_path, MEMBERS[:5])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["members_root"] = merkle_root(sorted(KEY.member_ref(m) for m in MEMBERS[:4]))
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(VerificationError, match="does not match the manifest"):
        issue_receipt(tmp_path, MEMBERS[0], KEY, SIGNER)


@pytest.mark.parametrize(
    ("refs", "message"),
    [
        (["A" * 32], "row 0: member_ref must be 32 lowercase hex"),
        (["a" * 32, "a" * 31], "row 1"),
        (["a" * 32, None], "row 1"),
    ],
)
def test_bad_members_file(tmp_path: Path, refs: list[str | None], message: str) -> None:
    table = pa.table({"member_ref": pa.array(refs, pa.string())})
    pq.write_table(table, tmp_path / "members.parquet")
    manifest = {"snapshot_id": "s", "members_root": "0" * 64}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match=message):
        issue_receipt(tmp_path, "M", KEY, SIGNER)


def test_members_file_with_rows_per_category_in_any_order(tmp_path: Path) -> None:
    """The set of refs is what counts: repeated rows (one per category) and any order are fine."""
    root = make_snapshot(tmp_path, MEMBERS[:6])
    refs = sorted(KEY.member_ref(m) for m in MEMBERS[:6])
    rows = [*reversed(refs), refs[2], refs[2], refs[0]]
    table = pa.table({"member_ref": rows, "category": ["post"] * len(rows)})
    pq.write_table(table, tmp_path / "members.parquet")
    receipt = issue_receipt(tmp_path, MEMBERS[2], KEY, SIGNER)
    assert receipt["proof"]["tree_size"] == 6
    verify_receipt(receipt, root, SIGNER.public_pem())


def test_bad_manifest(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no manifest here"):
        issue_receipt(tmp_path, "M", KEY, SIGNER)
    (tmp_path / "manifest.json").write_text(json.dumps({"snapshot_id": "s"}))
    with pytest.raises(InputError, match="members_root"):
        issue_receipt(tmp_path, "M", KEY, SIGNER)
    (tmp_path / "manifest.json").write_text(json.dumps({"members_root": "0" * 64}))
    with pytest.raises(InputError, match="snapshot_id"):
        issue_receipts(tmp_path, ["M"], KEY, SIGNER)  # checked before the first receipt


def test_a_snapshot_built_with_another_pseudonym_key_is_refused(tmp_path: Path) -> None:
    make_snapshot(tmp_path, MEMBERS[:3], key_id="0123456789abcdef")
    with pytest.raises(InputError, match="pseudonym key 0123456789abcdef"):
        issue_receipt(tmp_path, MEMBERS[0], KEY, SIGNER)
    make_snapshot(tmp_path, MEMBERS[:3], key_id=KEY.key_id)
    assert issue_receipt(tmp_path, MEMBERS[0], KEY, SIGNER)["kind"] == "inclusion"


def test_many_receipts_in_worker_processes_match_in_process(
    snapshot: tuple[Path, str, list[str]], issuer: ReceiptIssuer
) -> None:
    ids = [*MEMBERS, *(f"X-{i}" for i in range(60))]
    in_process = list(issuer.issue_many(ids, issued_at=ISSUED, workers=1))
    pooled = list(issuer.issue_many(ids, issued_at=ISSUED, workers=2, chunk_size=16))
    assert pooled == in_process
    assert [r["member_ref"] for r in pooled] == [KEY.member_ref(m) for m in ids]
    for receipt in pooled[::7]:
        verify_receipt(receipt, snapshot[1], SIGNER.public_pem())


@settings(max_examples=40, deadline=None)
@given(
    st.sets(st.integers(0, 300), max_size=300),
    st.lists(st.integers(0, 320), max_size=40),
    st.text(max_size=8),
)
def test_receipt_files_are_dump_receipt_byte_for_byte(
    included: set[int], asked: list[int], snapshot_id: str
) -> None:
    """dump_many writes canonical JSON by hand: it must be what dump_receipt writes, for trees of
    any size and shape (edges, empty tree) and any snapshot id (quotes, escapes, non-ASCII)."""
    refs = sorted(KEY.member_ref(f"M-{i}") for i in included)
    tree = MerkleTree(refs)
    members = SnapshotMembers(snapshot_id, tree.root_hex, tree, KEY.key_id)
    issuer = ReceiptIssuer(members, KEY, SIGNER)
    ids = [f"M-{i}" for i in asked]
    files = list(issuer.dump_many(ids, issued_at=ISSUED, workers=1))
    assert files == [dump_receipt(issuer.issue(m, issued_at=ISSUED)) for m in ids]
    for data in files[:3]:
        verify_receipt(parse_receipt(data), tree.root_hex, SIGNER.public_pem())


def test_receipt_files_from_worker_processes_match_in_process(issuer: ReceiptIssuer) -> None:
    ids = [*MEMBERS, *(f"X-{i}" for i in range(60))]
    in_process = list(issuer.dump_many(ids, issued_at=ISSUED, workers=1))
    pooled = list(issuer.dump_many(ids, issued_at=ISSUED, workers=2, chunk_size=16))
    assert pooled == in_process
    assert in_process == [dump_receipt(r) for r in issuer.issue_many(ids, issued_at=ISSUED)]


def test_receipt_files_refuse_a_tree_of_other_leaves() -> None:
    tree = MerkleTree(["a", "b"])  # SnapshotMembers.load lets no such tree through
    issuer = ReceiptIssuer(SnapshotMembers("s", tree.root_hex, tree), KEY, SIGNER)
    with pytest.raises(ValueError, match="not a member_ref"):
        list(issuer.dump_many(["M-1"], workers=1))


def test_stopping_early_stops_the_workers(issuer: ReceiptIssuer) -> None:
    ids = [f"X-{i}" for i in range(200)]
    receipts = issuer.issue_many(ids, issued_at=ISSUED, workers=2, chunk_size=8)
    first = [next(receipts) for _ in range(3)]
    receipts.close()  # terminates the pool; nothing hangs
    assert [r["member_ref"] for r in first] == [KEY.member_ref(m) for m in ids[:3]]


# --- many receipts in one JSONL file ---------------------------------------------------------


def test_a_receipts_file_is_the_receipt_files_one_a_line(
    issuer: ReceiptIssuer, snapshot: tuple[Path, str, list[str]], tmp_path: Path
) -> None:
    ids = [*MEMBERS[:9], "X-1"]
    seen: list[int] = []
    written = write_receipts_jsonl(
        issuer, ids, tmp_path / "r.jsonl", issued_at=ISSUED, workers=1, chunk_size=4,
        progress=seen.append,
    )  # fmt: skip
    assert (written.receipts, written.inclusion, written.non_inclusion) == (10, 5, 5)
    assert seen == [4, 4, 2]
    data = (tmp_path / "r.jsonl").read_bytes()
    assert data == b"".join(dump_receipt(issuer.issue(m, issued_at=ISSUED)) for m in ids)
    checked = verify_receipts_jsonl(tmp_path / "r.jsonl", snapshot[1], SIGNER.public_pem())
    assert (checked.receipts, checked.inclusion, checked.snapshot_id) == (10, 5, "snap-1")


def test_an_interrupted_receipts_file_is_never_published(
    issuer: ReceiptIssuer, tmp_path: Path
) -> None:
    out = tmp_path / "r.jsonl"
    out.write_bytes(b"the previous file\n")

    def interrupt(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_receipts_jsonl(
            issuer, MEMBERS, out, workers=1, chunk_size=4, progress=interrupt
        )  # fmt: skip
    assert out.read_bytes() == b"the previous file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl"]  # no temporary file left
    with pytest.raises(InputError, match="no such folder"):
        write_receipts_jsonl(issuer, MEMBERS, tmp_path / "nowhere" / "r.jsonl", workers=1)


def test_verify_receipts_file_stops_at_the_first_bad_line(
    issuer: ReceiptIssuer, snapshot: tuple[Path, str, list[str]], tmp_path: Path
) -> None:
    path = tmp_path / "r.jsonl"
    write_receipts_jsonl(issuer, MEMBERS[:5], path, workers=1)
    good = path.read_bytes()
    pem = SIGNER.public_pem()
    for broken, line in ((good + b"\n", 6), (good.replace(b"\n", b"\n\n", 1), 2)):
        path.write_bytes(broken)
        with pytest.raises(VerificationError, match=rf"r\.jsonl:{line}: the line is empty"):
            verify_receipts_jsonl(path, snapshot[1], pem)
    path.write_bytes(good)
    with pytest.raises(VerificationError, match=r"r\.jsonl:1: .*another snapshot"):
        verify_receipts_jsonl(path, "0" * 64, pem)
    path.write_bytes(b"")
    with pytest.raises(VerificationError, match="no receipt"):
        verify_receipts_jsonl(path, snapshot[1], pem)


@pytest.mark.parametrize("workers", [1, 2])
def test_verify_receipts_file_in_chunks_names_the_first_bad_line_in_file_order(
    issuer: ReceiptIssuer,
    snapshot: tuple[Path, str, list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    """Chunks of 3 lines checked by worker processes: counts add up, and of two bad lines in
    different chunks the earlier one is reported, whichever worker finishes first."""
    monkeypatch.setattr(receipts_module, "CHUNK_SIZE", 3)
    path = tmp_path / "r.jsonl"
    ids = [*MEMBERS[:9], "X-1", "X-2"]
    write_receipts_jsonl(issuer, ids, path, workers=1)
    seen: list[int] = []
    pem = SIGNER.public_pem()
    checked = verify_receipts_jsonl(path, snapshot[1], pem, workers=workers, progress=seen.append)
    assert (checked.receipts, checked.inclusion, checked.snapshot_id) == (11, 5, "snap-1")
    assert seen == [3, 3, 3, 2]
    lines = path.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b'"snapshot_id":"snap-1"', b'"snapshot_id":"snap-2"')
    lines[9] = b"\n"
    path.write_bytes(b"".join(lines))
    with pytest.raises(VerificationError, match=r"r\.jsonl:5: "):
        verify_receipts_jsonl(path, snapshot[1], pem, workers=workers)


def test_member_ids_from_a_text_file_or_an_export(tmp_path: Path) -> None:
    listing = tmp_path / "ids.txt"
    listing.write_bytes(b" M-1\r\n\nM-2\n\tM-3")
    assert read_member_ids(listing) == ["M-1", "M-2", "M-3"]
    listing.write_bytes(b"M-1\nM-\xff\n")
    with pytest.raises(InputError, match=r"ids\.txt:2: not UTF-8"):
        read_member_ids(listing)
    with pytest.raises(InputError, match="no such member list"):
        read_member_ids(tmp_path / "missing.txt")
    export = tmp_path / "export"
    export.mkdir()
    rows = [{"member_id": "M-2"}, {"member_id": "M-1"}, {"first_name": "Nobody"}]
    (export / "members.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    assert export_member_ids(export) == ["M-2", "M-1"]
    pq.write_table(pa.Table.from_pylist(rows), export / "members.parquet")
    (export / "members.jsonl").unlink()
    with pytest.raises(InputError, match="row 3 of the members table has no member id"):
        export_member_ids(export)


# --- the signing key ------------------------------------------------------------------------


def test_key_file_is_created_0600_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAMIS_SIGNING_KEY", raising=False)
    monkeypatch.delenv("TAMIS_SIGNING_KEY_FILE", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    key = load_signing_key()
    path = tmp_path / "tamis" / "signing.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert load_signing_key().key_id == key.key_id
    assert [p.name for p in path.parent.iterdir()] == ["signing.key"]  # no temporary file left
    assert "PRIVATE" not in repr(key) and key.key_id in repr(key)


def test_group_readable_key_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAMIS_SIGNING_KEY", raising=False)
    path = tmp_path / "k.pem"
    monkeypatch.setenv("TAMIS_SIGNING_KEY_FILE", str(path))
    load_signing_key()
    os.chmod(path, 0o640)
    with pytest.raises(TamisError, match="chmod 600"):
        load_signing_key()


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seed = hashlib.sha256(b"test signing key").digest()
    monkeypatch.setenv("TAMIS_SIGNING_KEY", seed.hex())
    assert load_signing_key().key_id == SIGNER.key_id
    monkeypatch.setenv("TAMIS_SIGNING_KEY", SIGNER.private_pem().decode())
    assert load_signing_key().key_id == SIGNER.key_id
    monkeypatch.setenv("TAMIS_SIGNING_KEY", SIGNER.private_pem().decode().replace("\n", "\\n"))
    assert load_signing_key().key_id == SIGNER.key_id
    for bad, message in (("abcd", "32-byte seed in hex"), ("-----BEGIN junk", "not a readable")):
        monkeypatch.setenv("TAMIS_SIGNING_KEY", bad)
        with pytest.raises(TamisError, match=message):
            load_signing_key()


def test_key_id_is_sha256_of_raw_public_key() -> None:
    assert SIGNER.key_id == hashlib.sha256(SIGNER.public_raw).hexdigest()[:16]
    assert SIGNER.public_pem().startswith(b"-----BEGIN PUBLIC KEY-----")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150)
@given(json_values)
def test_fast_canonical_json_is_canonical_json(value: Any) -> None:
    assert canonical_json_nofloat(value) == canonical_json(value)
    assert json.loads(canonical_json(value)) == value


# --- the documentation ----------------------------------------------------------------------


def _doc_recipe() -> str:
    text = DOC.read_text()
    match = re.search(r"<!-- recipe: verify_receipt\.py[^>]*-->\n```python\n(.*?)```", text, re.S)
    assert match, "docs/receipts.md has lost its recipe block"
    return match.group(1)


def test_doc_recipe_uses_only_hashlib_json_sys_and_cryptography() -> None:
    tree = ast.parse(_doc_recipe())
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules <= {"hashlib", "json", "sys", "cryptography"}
    assert len(_doc_recipe().splitlines()) <= 60


def test_doc_recipe_checks_real_receipts(
    tmp_path: Path, snapshot: tuple[Path, str, list[str]], issuer: ReceiptIssuer
) -> None:
    script = tmp_path / "verify_receipt.py"
    script.write_text(_doc_recipe())
    pem = tmp_path / "platform.pem"
    pem.write_bytes(SIGNER.public_pem())
    empty_root = make_snapshot(tmp_path / "empty", [])
    empty_receipt = issue_receipt(tmp_path / "empty", "M-1", KEY, SIGNER)
    other_root = make_snapshot(tmp_path / "other", MEMBERS[1::2])
    root = snapshot[1]
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        (issuer.issue(MEMBERS[0]), root, "included"),
        (issuer.issue(MEMBERS[1]), root, "not included"),
        (issuer.issue_for_ref("0" * 32), root, "not included"),
        (issuer.issue_for_ref("f" * 32), root, "not included"),
        (empty_receipt, empty_root, "not included"),
        (issuer.issue(MEMBERS[0]), other_root, None),
        (empty_receipt, root, None),
        ({**issuer.issue(MEMBERS[0]), "member_ref": KEY.member_ref(MEMBERS[2])}, root, None),
    ]
    included = issuer.issue(MEMBERS[4])
    fake = {k: v for k, v in included.items() if k != "signature"}
    index = included["proof"]["leaf"]["index"]
    tree = issuer.members.tree

    def leaf(i: int) -> dict[str, Any]:
        proof = tree.leaf_proof(i)
        return {"ref": proof.ref, "index": proof.index, "path": [p.hex() for p in proof.path]}

    fake.update(
        kind="non_inclusion",
        proof={
            "tree_size": len(tree),
            "predecessor": leaf(index - 1),
            "successor": leaf(index + 1),
        },
    )
    cases.append(({**fake, "signature": SIGNER.sign_json(fake)}, root, None))  # a signed lie
    for n, (receipt, check_root, expected) in enumerate(cases):
        path = tmp_path / f"r{n}.json"
        path.write_text(json.dumps(receipt, indent=2))  # any layout will do for the recipe
        result = subprocess.run(
            [sys.executable, "-I", str(script), str(path), check_root, str(pem)],
            capture_output=True,
            text=True,
            check=False,
        )
        if expected is None:
            assert result.returncode != 0, (n, result.stdout)
        else:
            assert result.returncode == 0, (n, result.stderr)
            assert result.stdout.strip() == expected


def test_doc_example_verifies() -> None:
    text = DOC.read_text()
    example = re.search(r"## Example\n.*?```json\n(.*?)```", text, re.S)
    root = re.search(r"with `members_root` `([0-9a-f]{64})`", text)
    pem = re.search(r"(-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----\n)", text, re.S)
    assert example and root and pem
    receipt = json.loads(example.group(1))
    verify_receipt(receipt, root.group(1), pem.group(1).encode())
    assert receipt["kind"] == "non_inclusion"
    assert receipt["proof"]["predecessor"]["index"] == 1
