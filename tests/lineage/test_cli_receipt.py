"""`tamis receipt` from the command line: receipts derive the member's pseudonym with the key the
snapshot was built with, so a snapshot built before a key rotation still gets receipts that verify
(with `tamis receipt verify`) and name the member as that snapshot knows them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tamis.cli import app
from tamis.keys import KEY_ENV, KEY_FILE_ENV, RETIRED_KEYS_ENV, load_key, rotate_key
from tamis.lineage.receipts import parse_receipt, verify_receipt
from tamis_testing import write_export

CUTOFF = "2026-01-01T00:00:00Z"
runner = CliRunner()


def _export(root: Path) -> Path:
    members = [
        {"member_id": f"m{i}", "country": "FR", "birth_date": "1980-05-05",
         "created_at": "2020-01-01T00:00:00Z", "first_name": "Camille", "last_name": f"M{i}",
         "email": f"c{i}@example.fr", "skills": ["SQL"]}
        for i in range(1, 5)
    ] + [
        {"member_id": "minor", "country": "FR", "birth_date": "2015-05-05",
         "created_at": "2024-01-01T00:00:00Z", "first_name": "Jeune", "last_name": "Membre",
         "email": "j@example.fr", "skills": []}
    ]  # fmt: skip
    content = [
        {"record_id": f"r{i}-{n}", "member_id": member["member_id"], "kind": "post",
         "visibility": "public", "created_at": "2025-06-01T12:00:00+02:00", "lang": "en",
         "text": f"Post number {n} about data pipelines"}
        for i, member in enumerate(members) for n in range(2)
    ]  # fmt: skip
    return write_export(root, members, content, [])  # consent from the export: no objection


def _cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, (args, result.output)
    return result.output


def _snapshot(export: Path, out: Path) -> dict[str, object]:
    # The text stages rewrite text, never who is in the snapshot: skipping them keeps this test
    # away from the PII models while members.parquet and the manifest are the real ones.
    _cli(
        "snapshot", "build", "--export", str(export), "--policy", "minimal",
        "--cutoff", CUTOFF, "--out", str(out), "--no-stages", "-q",
    )  # fmt: skip
    manifest: dict[str, object] = json.loads((out / "manifest.json").read_text())
    return manifest


def _receipt(member: str, snapshot: Path, tmp: Path) -> tuple[dict[str, object], Path]:
    path = tmp / f"receipt-{member}-{snapshot.name}.json"
    _cli("receipt", member, "--snapshot", str(snapshot), "--out", str(path))
    return json.loads(path.read_bytes()), path


def _verifies(path: Path, manifest: dict[str, object], pem: Path) -> str:
    root = str(manifest["members_root"])
    return _cli("receipt", "verify", str(path), "--root", root, "--public-key", str(pem))


@pytest.fixture
def key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The pseudonym key ring in a key file (rotatable), not in the environment; the commands
    run in ``tmp_path``, so that no registry of the current folder (./.tamis) is used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.delenv(RETIRED_KEYS_ENV, raising=False)
    path = tmp_path / "keys" / "pseudonym.key"
    monkeypatch.setenv(KEY_FILE_ENV, str(path))
    return path


def test_receipts_of_an_old_snapshot_verify_after_a_key_rotation(
    key_file: Path, tmp_path: Path
) -> None:
    export = _export(tmp_path / "export")
    old_key = load_key()
    old = tmp_path / "snap-old"
    old_manifest = _snapshot(export, old)
    assert old_manifest["key_id"] == old_key.key_id
    pem = tmp_path / "platform.pem"
    _cli("keys", "public", "--out", str(pem))
    (tmp_path / "before").mkdir()
    before, _ = _receipt("m1", old, tmp_path / "before")

    new_key = rotate_key().active
    assert new_key.key_id != old_key.key_id
    assert load_key().key_id == new_key.key_id  # the active key is now the new one

    # The old snapshot: the member is named with the old key, the receipt verifies.
    included, path = _receipt("m1", old, tmp_path)
    assert included["kind"] == "inclusion"
    assert included["member_ref"] == old_key.member_ref("m1") != new_key.member_ref("m1")
    assert included["member_ref"] == before["member_ref"]
    assert "included" in _verifies(path, old_manifest, pem)
    excluded, path = _receipt("minor", old, tmp_path)
    assert excluded["kind"] == "non_inclusion"
    assert excluded["member_ref"] == old_key.member_ref("minor")
    assert "not included" in _verifies(path, old_manifest, pem)
    every = tmp_path / "old.jsonl"
    _cli(
        "receipt", "issue-all", "--snapshot", str(old), "--export", str(export), "--out", str(every)
    )
    first = json.loads(every.read_bytes().splitlines()[0])
    assert first["member_ref"] == old_key.member_ref("m1") and first["kind"] == "inclusion"
    checked = _cli(
        "receipt", "verify", str(every), "--all", "--root", str(old_manifest["members_root"]),
        "--public-key", str(pem),
    )  # fmt: skip
    assert "5 receipts: 4 included, 1 not included" in checked

    # A snapshot built after the rotation uses the new key, and so do its receipts.
    new = tmp_path / "snap-new"
    new_manifest = _snapshot(export, new)
    assert new_manifest["key_id"] == new_key.key_id
    receipt, path = _receipt("m1", new, tmp_path)
    assert receipt["member_ref"] == new_key.member_ref("m1")
    assert "included" in _verifies(path, new_manifest, pem)


def test_retired_keys_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, key_file: Path, tmp_path: Path
) -> None:
    export = _export(tmp_path / "export")
    old_hex, new_hex = "a1" * 32, "b2" * 32
    monkeypatch.setenv(KEY_ENV, old_hex)
    old = tmp_path / "snap-old"
    manifest = _snapshot(export, old)
    pem = tmp_path / "platform.pem"
    _cli("keys", "public", "--out", str(pem))
    monkeypatch.setenv(KEY_ENV, new_hex)
    monkeypatch.setenv(RETIRED_KEYS_ENV, old_hex)
    receipt, path = _receipt("m2", old, tmp_path)
    assert receipt["member_ref"] == load_key(key_id=str(manifest["key_id"])).member_ref("m2")
    assert "included" in _verifies(path, manifest, pem)


def test_a_snapshot_whose_key_is_gone_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, key_file: Path, tmp_path: Path
) -> None:
    export = _export(tmp_path / "export")
    old = tmp_path / "snap-old"
    manifest = _snapshot(export, old)
    monkeypatch.setenv(KEY_ENV, "c3" * 32)  # a new key, and the old one was not kept
    result = runner.invoke(app, ["receipt", "m1", "--snapshot", str(old)])
    assert result.exit_code == 1
    assert f"no pseudonym key has key_id {manifest['key_id']}" in result.output
    assert "signature" not in result.output  # no receipt was written


# -- many receipts: tamis receipt issue-all -------------------------------------------------------


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


@pytest.fixture(autouse=True)
def _in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no registry of the current folder (./.tamis) is used


def test_issue_all_from_a_member_list_verifies_line_by_line(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    snapshot = tmp_path / "snap"
    manifest = _snapshot(export, snapshot)
    pem = tmp_path / "platform.pem"
    _cli("keys", "public", "--out", str(pem))
    asked = ["m3", "ghost", "m1", "minor", "m2", "m4"]  # ghost: no such member; minor: excluded
    listing = tmp_path / "members.txt"
    listing.write_text("\n".join(["  m3 ", "ghost", "", "m1", "minor\r", "m2", "m4"]) + "\n")
    out = tmp_path / "out" / "receipts.jsonl"
    out.parent.mkdir()
    summary = _cli(
        "receipt", "issue-all", "--snapshot", str(snapshot), "--members", str(listing),
        "--out", str(out), "--workers", "1",
    )  # fmt: skip
    assert "6 receipts" in summary and "4 inclusion, 2 non-inclusion" in summary
    assert [p.name for p in out.parent.iterdir()] == ["receipts.jsonl"]  # no temporary file left

    key = load_key()
    public = pem.read_bytes()
    lines = _lines(out)
    assert len(lines) == len(asked)
    for member, line in zip(asked, lines, strict=True):
        receipt = parse_receipt(line)  # strict: each line is a receipt file, byte for byte
        verify_receipt(receipt, str(manifest["members_root"]), public)
        assert receipt["member_ref"] == key.member_ref(member)
        want = "non_inclusion" if member in ("ghost", "minor") else "inclusion"
        assert receipt["kind"] == want, member
    checked = _cli(
        "receipt", "verify", str(out), "--all", "--root", str(manifest["members_root"]),
        "--public-key", str(pem),
    )  # fmt: skip
    assert "6 receipts: 4 included, 2 not included" in checked


def test_issue_all_from_the_export_covers_every_member(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    snapshot = tmp_path / "snap"
    _snapshot(export, snapshot)
    out = tmp_path / "receipts.jsonl"
    out.write_text("an older file\n")
    _cli(
        "receipt", "issue-all", "--snapshot", str(snapshot), "--export", str(export),
        "--out", str(out),
    )  # fmt: skip
    key = load_key()
    refs = [json.loads(line)["member_ref"] for line in _lines(out)]
    assert refs == [key.member_ref(m) for m in ("m1", "m2", "m3", "m4", "minor")]


def test_verify_all_names_the_first_line_that_fails(tmp_path: Path) -> None:
    export = _export(tmp_path / "export")
    snapshot = tmp_path / "snap"
    manifest = _snapshot(export, snapshot)
    pem = tmp_path / "platform.pem"
    _cli("keys", "public", "--out", str(pem))
    out = tmp_path / "receipts.jsonl"
    _cli(
        "receipt", "issue-all", "--snapshot", str(snapshot), "--export", str(export),
        "--out", str(out),
    )  # fmt: skip
    lines = _lines(out)
    receipt = json.loads(lines[2])
    receipt["kind"] = "non_inclusion" if receipt["kind"] == "inclusion" else "inclusion"
    lines[2] = json.dumps(receipt, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    lines[4] = lines[4][:-20] + b"0" * 19 + b"\n"  # a later failure: not the one reported
    out.write_bytes(b"".join(lines))
    args = ["receipt", "verify", str(out), "--all"]
    result = runner.invoke(
        app, [*args, "--root", str(manifest["members_root"]), "--public-key", str(pem)]
    )
    assert result.exit_code == 1
    assert f"{out}:3: receipt does not verify" in " ".join(result.output.split())


@pytest.mark.parametrize("flags", [["--members", "nowhere.txt"], []])
def test_issue_all_without_a_readable_member_list_says_so(tmp_path: Path, flags: list[str]) -> None:
    export = _export(tmp_path / "export")
    snapshot = tmp_path / "snap"
    _snapshot(export, snapshot)
    out = tmp_path / "receipts.jsonl"
    flags = [f if f != "nowhere.txt" else str(tmp_path / f) for f in flags]
    result = runner.invoke(
        app, ["receipt", "issue-all", "--snapshot", str(snapshot), *flags, "--out", str(out)]
    )
    assert result.exit_code == 1
    message = " ".join(result.output.split())
    if flags:
        assert f"{tmp_path / 'nowhere.txt'}: no such member list" in message
    else:
        assert "--members FILE or --export DIR" in message
    assert not out.exists()
