"""Secrets: the pseudonym key ring (environment, file, directory; rotation) and a grep of every
output tamis produces (snapshot files, manifests, reports, receipts, the registry, CLI output and
logs, API responses) for the keys' material: hex, raw bytes and base64. Zero hits allowed."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tamis.errors import TamisError
from tamis.keys import (
    ACTIVE_KEY_NAME,
    KEY_ENV,
    KEY_FILE_ENV,
    RETIRED_KEYS_ENV,
    PseudonymKey,
    load_key,
    load_keyring,
    rotate_key,
)
from tamis_testing import write_export

CUTOFF = "2026-01-01T00:00:00Z"
HEX_A = "aa" * 32
HEX_B = "bb" * 32


# -- the key ring ---------------------------------------------------------------------------------


def test_env_ring_with_retired_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, HEX_A)
    monkeypatch.setenv(RETIRED_KEYS_ENV, f"{HEX_B}, {'cc' * 32}")
    ring = load_keyring()
    assert ring.active.secret.hex() == HEX_A and len(ring.retired) == 2
    old = ring.retired[0]
    assert load_key(key_id=old.key_id).secret.hex() == HEX_B
    assert load_key().key_id == ring.active.key_id
    with pytest.raises(TamisError, match="no pseudonym key has key_id 0000") as err:
        load_key(key_id="0000")
    assert ring.active.key_id in str(err.value)
    assert HEX_A not in repr(ring) and HEX_B not in repr(ring)
    monkeypatch.setenv(RETIRED_KEYS_ENV, "zz")
    with pytest.raises(TamisError, match="hexadecimal"):
        load_keyring()


def test_key_file_ring_and_rotation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(KEY_ENV)
    path = tmp_path / "keys" / "pseudonym.key"
    first = load_key(path)  # created on first use, mode 0600, one key: as before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keyring(path).retired == ()
    ring = rotate_key(path)
    assert ring.active.key_id != first.key_id
    assert [k.key_id for k in ring.retired] == [first.key_id]
    assert load_key(path, key_id=first.key_id).secret == first.secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = rotate_key(path)
    assert [k.key_id for k in again.retired] == [ring.active.key_id, first.key_id]
    path.chmod(0o644)
    with pytest.raises(TamisError, match="chmod 600"):
        load_key(path)


def test_key_directory_ring_and_rotation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(KEY_ENV)
    folder = tmp_path / "ring"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv(KEY_FILE_ENV, str(folder))
    first = load_key()
    assert (folder / ACTIVE_KEY_NAME).exists()
    ring = rotate_key()
    assert (folder / f"{first.key_id}.key").exists()
    assert load_key(key_id=first.key_id).secret == first.secret
    assert load_key().key_id == ring.active.key_id != first.key_id
    (folder / f"{first.key_id}.key").chmod(0o640)
    with pytest.raises(TamisError, match="readable by group or others"):
        load_keyring()
    (folder / f"{first.key_id}.key").chmod(0o600)
    folder.chmod(0o755)
    with pytest.raises(TamisError, match="key directory"):
        load_keyring()


def test_rotation_with_an_env_key_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, HEX_A)
    with pytest.raises(TamisError, match=RETIRED_KEYS_ENV):
        rotate_key()


# -- nothing leaks --------------------------------------------------------------------------------


def _needles(secret: bytes) -> dict[str, bytes]:
    return {
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
        "raw": secret,
        "base64": base64.b64encode(secret).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(secret).rstrip(b"="),
        "hex-half": secret.hex()[:32].encode(),  # a truncated key is still key material
    }


def _hits(haystacks: dict[str, bytes], secrets_: dict[str, bytes]) -> list[str]:
    found = []
    for where, data in haystacks.items():
        for name, secret in secrets_.items():
            for form, needle in _needles(secret).items():
                if needle in data:
                    found.append(f"{name} ({form}) in {where}")
    return found


def _run(env: dict[str, str], outputs: dict[str, bytes], *args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tamis.cli", *args], capture_output=True, env=env, timeout=600
    )
    name = " ".join(args[:2])
    outputs[f"stdout of tamis {name}"] = result.stdout
    outputs[f"stderr of tamis {name}"] = result.stderr
    assert result.returncode == 0, (args, result.stderr.decode()[-2000:])


def _has_command(env: dict[str, str], *path: str) -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "tamis.cli", *path, "--help"], capture_output=True, env=env
    )
    return result.returncode == 0


def test_no_key_material_in_any_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tamis.lineage.signing import load_signing_key

    monkeypatch.delenv(KEY_ENV)
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    monkeypatch.setenv(KEY_FILE_ENV, str(keys))
    monkeypatch.setenv("TAMIS_SIGNING_KEY_FILE", str(keys / "signing.pem"))
    old_key = load_key()
    signer = load_signing_key()
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env["TAMIS_DB"] = f"sqlite:///{out / 'registry.db'}"
    members = [
        {"member_id": f"m{i}", "country": "FR", "birth_date": "1980-05-05",
         "created_at": "2020-01-01T00:00:00Z", "first_name": "Camille", "last_name": f"M{i}",
         "email": f"c{i}@example.fr", "skills": ["SQL"]}
        for i in range(1, 6)
    ]  # fmt: skip
    content = [
        {"record_id": f"r{i}", "member_id": f"m{i % 5 + 1}", "kind": "post",
         "visibility": "public", "created_at": "2025-06-01T12:00:00+02:00", "lang": "fr",
         "text": f"Post {i}: écrivez à c{i}@example.fr"}
        for i in range(20)
    ] + [{"record_id": "bad", "member_id": "m1", "kind": "post", "visibility": "public",
          "created_at": "not a date", "text": "x"}]  # fmt: skip
    export = write_export(out / "export", members, content)
    outputs: dict[str, bytes] = {}
    build = ["--export", str(export), "--policy", "linkedin-2025", "--cutoff", CUTOFF]
    _run(env, outputs, "consent", "set", "m5", "--allow")  # consent comes from the registry
    _run(env, outputs, "snapshot", "build", *build, "--out", str(out / "snap-old"))
    _run(env, outputs, "snapshot", "verify", str(out / "snap-old"))
    _run(env, outputs, "snapshot", "show", str(out / "snap-old"))
    _run(env, outputs, "consent", "set", "m2", "--object")
    _run(env, outputs, "consent", "history", "m2")
    if _has_command(env, "report", "compliance"):
        _run(env, outputs, "report", "compliance", "--snapshot", str(out / "snap-old"),
             "--export", str(export), "--out", str(out / "report.html"))  # fmt: skip
    if _has_command(env, "receipt", "issue"):
        _run(env, outputs, "receipt", "issue", "m1", "--snapshot", str(out / "snap-old"),
             "--out", str(out / "receipt-m1.json"))  # fmt: skip

    # Rotation: a new snapshot uses the new key; the old snapshot's pseudonyms stay computable.
    new_key = rotate_key().active
    _run(env, outputs, "snapshot", "build", *build, "--out", str(out / "snap-new"))
    import json

    old_manifest = json.loads((out / "snap-old" / "manifest.json").read_text())
    new_manifest = json.loads((out / "snap-new" / "manifest.json").read_text())
    assert old_manifest["key_id"] == old_key.key_id != new_manifest["key_id"] == new_key.key_id
    recovered = load_key(key_id=old_manifest["key_id"])
    assert recovered.member_ref("m1") == old_key.member_ref("m1")
    from tamis.lineage.receipts import issue_receipt

    receipt = issue_receipt(out / "snap-old", "m1", recovered, signer)
    outputs["receipt of the old snapshot after rotation"] = json.dumps(receipt).encode()
    with pytest.raises(TamisError, match="pseudonym key"):
        issue_receipt(out / "snap-old", "m1", load_key(), signer)

    outputs.update(_api_responses(out, export, monkeypatch))
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        outputs[str(path.relative_to(out))] = path.read_bytes()
    assert len(outputs) > 20
    secrets_ = {
        "pseudonym key (old)": old_key.secret,
        "pseudonym key (new)": new_key.secret,
        "signing key seed": signer._seed(),
    }
    assert _hits(outputs, secrets_) == []
    pem_body = b"".join(signer.private_pem().splitlines()[1:-1])
    assert not [where for where, data in outputs.items() if pem_body in data]


def _api_responses(out: Path, export: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    try:
        from fastapi.testclient import TestClient

        from tamis.service import MemorySender, ServiceConfig, create_app
    except ImportError:
        return {}
    config = ServiceConfig(
        db=f"sqlite:///{out / 'service.db'}",
        export=export,
        snapshots=out,
        session_secret="secrets-test-" + "s" * 40,
        dpo_token="dpo-" + "t" * 40,
    )
    answers: dict[str, bytes] = {}
    with TestClient(create_app(config, sender=MemorySender())) as client:
        login = client.post("/api/v1/session", json={"member_id": "m1"})
        csrf = login.json()["csrf_token"]
        calls = [
            ("GET", "/api/v1/health", None),
            ("GET", "/api/v1/me", None),
            ("GET", "/api/v1/me/setting", None),
            ("PUT", "/api/v1/me/setting", {"value": False}),
            ("GET", "/api/v1/me/history", None),
            ("GET", "/api/v1/me/data-use", None),
            ("GET", "/api/v1/dpo/stats", None),
        ]
        for method, path, body in calls:
            headers = {"x-csrf-token": csrf, "authorization": "Bearer dpo-" + "t" * 40}
            if path.startswith("/api/v1/me") or path == "/api/v1/health":
                headers.pop("authorization")
            response = client.request(method, path, json=body, headers=headers)
            head = "".join(f"{k}: {v}\n" for k, v in response.headers.items()).encode()
            answers[f"API {method} {path}"] = head + response.content
        answers["API POST /api/v1/session"] = login.content
    return answers


@given(st.lists(st.text(), max_size=20), st.binary(min_size=32, max_size=64))
def test_member_refs_in_bulk_are_the_member_refs(member_ids: list[str], secret: bytes) -> None:
    key = PseudonymKey(secret, "test")
    assert key.member_refs(member_ids) == [key.member_ref(m) for m in member_ids]
