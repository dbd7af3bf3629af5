"""Signed membership receipts: is a member's data in a training snapshot, provably?

A snapshot's manifest commits to the sorted set of included member pseudonyms with a Merkle root,
``members_root`` (see :mod:`tamis.lineage.merkle`). A receipt, for one member, carries either an
inclusion proof (the member's pseudonym is a leaf) or a non-inclusion proof (the two adjacent
leaves around it), and is signed with the platform's Ed25519 key (:mod:`tamis.lineage.signing`).
Anyone with the receipt, the snapshot's ``members_root`` and the platform's public key can check
it offline, with hashlib and cryptography alone; ``docs/receipts.md`` has the format and a
standalone recipe.

A receipt names the member by pseudonym (``member_ref``), never by member id.

Issuing reads ``manifest.json`` and ``members.parquet`` once, rebuilds the tree, checks it against
``members_root``, and then proves and signs each member in O(log n): :class:`ReceiptIssuer`,
:func:`issue_receipt`, and :func:`issue_receipts` for many members (in worker processes when there
are many: a program that calls it must guard its entry point with ``if __name__ == "__main__"``).
:func:`write_receipts_jsonl` writes many receipts as one JSONL file (one receipt file a line),
published only when complete; :func:`verify_receipts_jsonl` checks every line of one.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import Any

import orjson

from tamis._workers import exit_with_parent, ordered_map
from tamis.errors import InputError, VerificationError
from tamis.keys import MEMBER_REF_HEX, PseudonymKey
from tamis.lineage.merkle import (
    MAX_PATH,
    InclusionProof,
    LeafProof,
    MerkleTree,
    NonInclusionProof,
    verify_inclusion,
    verify_non_inclusion,
)
from tamis.lineage.signing import (
    SigningKey,
    canonical_json,
    canonical_json_nofloat,
    load_public_key,
    public_key_id,
    verify_json,
)

RECEIPT_FORMAT = "tamis.receipt/v1"
INCLUSION = "inclusion"
NON_INCLUSION = "non_inclusion"
MANIFEST_FILE = "manifest.json"
MEMBERS_FILE = "members.parquet"
ROOT_FIELD = "members_root"
PSEUDONYM_KEY_ID_FIELD = "key_id"  # the pseudonym key's id; checked when the manifest has it
CHUNK_SIZE = 4096  # member ids per task when issuing in worker processes

_REF = re.compile(rf"[0-9a-f]{{{MEMBER_REF_HEX}}}")  # always used with fullmatch
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_SIGNATURE = re.compile(r"[0-9a-f]{128}")
_ISSUED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_TOP_KEYS = frozenset(
    {"format", "snapshot_id", "members_root", "member_ref", "kind", "proof", "issued_at"}
    | {"key_id", "signature"}
)
_LEAF_KEYS = frozenset({"ref", "index", "path"})
_PROOF_KEYS = {
    INCLUSION: frozenset({"tree_size", "leaf"}),
    NON_INCLUSION: frozenset({"tree_size", "predecessor", "successor"}),
}


def format_issued_at(value: datetime | None = None) -> str:
    """A receipt's ``issued_at``: UTC, whole seconds, ``Z`` (now when ``value`` is None)."""
    value = datetime.now(UTC) if value is None else value
    if value.tzinfo is None:
        raise ValueError("issued_at must be an aware datetime (with a time zone)")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class SnapshotMembers:
    """What receipts need from a snapshot: its id, its members root, the tree over its members."""

    snapshot_id: str
    members_root: str
    tree: MerkleTree
    pseudonym_key_id: str | None = None

    @classmethod
    def load(cls, snapshot_dir: Path | str) -> SnapshotMembers:
        """Read ``manifest.json`` and ``members.parquet`` and check the tree against the root."""
        snapshot_dir = Path(snapshot_dir)
        manifest_path = snapshot_dir / MANIFEST_FILE
        try:
            manifest = json.loads(manifest_path.read_bytes())
        except FileNotFoundError:
            raise InputError(
                "no manifest here; is this a snapshot directory?", file=str(manifest_path)
            ) from None
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read the manifest: {exc}", file=str(manifest_path)) from None
        if not isinstance(manifest, dict):
            raise InputError("the manifest is not a JSON object", file=str(manifest_path))
        snapshot_id = manifest.get("snapshot_id")
        if not isinstance(snapshot_id, str) or not snapshot_id:
            raise InputError("missing or empty", file=str(manifest_path), field="snapshot_id")
        root = manifest.get(ROOT_FIELD)
        if not isinstance(root, str) or not _HASH.fullmatch(root):
            raise InputError(
                "missing or not 64 lowercase hex digits", file=str(manifest_path), field=ROOT_FIELD
            )
        key_id = manifest.get(PSEUDONYM_KEY_ID_FIELD)
        tree = MerkleTree(_read_member_refs(snapshot_dir / MEMBERS_FILE))
        if tree.root_hex != root:
            raise VerificationError(
                f"{snapshot_dir / MEMBERS_FILE} does not match the manifest: its members hash to "
                f"{tree.root_hex}, the manifest says {ROOT_FIELD} {root}"
            )
        return cls(snapshot_id, root, tree, key_id if isinstance(key_id, str) else None)


def _read_member_refs(path: Path) -> list[str]:
    """The distinct ``member_ref`` values of ``members.parquet``, ascending.

    Each must be 32 lowercase hex digits; the file may hold several rows per member (e.g. counts
    by category) and may be in any order: the set is what the root commits to.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        column = pq.read_table(path, columns=["member_ref"]).column("member_ref")
    except FileNotFoundError:
        raise InputError("the snapshot has no members file", file=str(path)) from None
    except (OSError, KeyError, pa.ArrowException) as exc:
        raise InputError(f"cannot read the member_ref column: {exc}", file=str(path)) from None
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        raise InputError(f"member_ref is {column.type}, not string", file=str(path))
    valid = pc.match_substring_regex(column, f"^{_REF.pattern}$")
    bad_rows = pc.invert(pc.fill_null(valid, False))
    if pc.any(bad_rows).as_py():
        bad = pc.indices_nonzero(bad_rows)[0].as_py()
        raise InputError(
            f"row {bad}: member_ref must be {MEMBER_REF_HEX} lowercase hex digits",
            file=str(path),
            field="member_ref",
        )
    refs: list[str] = pc.unique(column).sort().to_pylist()  # byte order = str order for hex
    return refs


class ReceiptIssuer:
    """Issues signed receipts for one snapshot: the tree is built once, each receipt in O(log n)."""

    def __init__(self, members: SnapshotMembers, key: PseudonymKey, signer: SigningKey) -> None:
        if members.pseudonym_key_id is not None and members.pseudonym_key_id != key.key_id:
            raise InputError(
                f"the snapshot was built with pseudonym key {members.pseudonym_key_id}, "
                f"not with this one ({key.key_id} from {key.source}); its receipts would be wrong",
                field=PSEUDONYM_KEY_ID_FIELD,
            )
        self.members = members
        self.key = key
        self.signer = signer
        self._key_id = signer.key_id

    @classmethod
    def open(cls, snapshot_dir: Path | str, key: PseudonymKey, signer: SigningKey) -> ReceiptIssuer:
        """Read the snapshot's members and check them against its manifest."""
        return cls(SnapshotMembers.load(snapshot_dir), key, signer)

    def issue(self, member_id: str, *, issued_at: datetime | str | None = None) -> dict[str, Any]:
        """The signed receipt of the member with this id."""
        return self.issue_for_ref(self.key.member_ref(member_id), issued_at=issued_at)

    def issue_for_ref(
        self, member_ref: str, *, issued_at: datetime | str | None = None
    ) -> dict[str, Any]:
        """The signed receipt of the member with this pseudonym."""
        if isinstance(issued_at, str):
            if not _ISSUED_AT.fullmatch(issued_at):
                raise ValueError(f"issued_at {issued_at!r} is not YYYY-MM-DDTHH:MM:SSZ")
            stamp = issued_at
        else:
            stamp = format_issued_at(issued_at)
        receipt, message = self._unsigned(member_ref, stamp)
        receipt["signature"] = self.signer.sign(message).hex()
        return receipt

    def _leaf(self, index: int) -> dict[str, Any]:
        tree = self.members.tree
        return {"ref": tree.ref(index), "index": index, "path": tree.path_hex(index)}

    def _locate(self, member_ref: str) -> tuple[int, bool, int]:
        """Where ``member_ref`` is (or would be) in the tree, whether it is there, the tree size."""
        if not _REF.fullmatch(member_ref):
            raise ValueError(f"a member_ref is {MEMBER_REF_HEX} lowercase hex digits")
        tree = self.members.tree
        index, found = tree.locate(member_ref)
        return index, found, len(tree)

    def _unsigned(self, member_ref: str, stamp: str) -> tuple[dict[str, Any], bytes]:
        """The receipt without its signature, and the canonical bytes to sign."""
        index, found, size = self._locate(member_ref)
        if found:
            kind = INCLUSION
            proof: dict[str, Any] = {"tree_size": size, "leaf": self._leaf(index)}
        else:
            kind = NON_INCLUSION
            proof = {
                "tree_size": size,
                "predecessor": self._leaf(index - 1) if index > 0 else None,
                "successor": self._leaf(index) if index < size else None,
            }
        receipt: dict[str, Any] = {
            "format": RECEIPT_FORMAT,
            "snapshot_id": self.members.snapshot_id,
            "members_root": self.members.members_root,
            "member_ref": member_ref,
            "kind": kind,
            "proof": proof,
            "issued_at": stamp,
            "key_id": self._key_id,
        }
        # a receipt holds no floats, so the fast canonical form is the canonical form
        return receipt, canonical_json_nofloat(receipt)

    def dump_many(
        self,
        member_ids: Iterable[str],
        *,
        issued_at: datetime | None = None,
        workers: int | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> Iterator[bytes]:
        """Receipt files for many members, in order: what :func:`dump_receipt` writes for each
        receipt of :meth:`issue_many`, byte for byte, without building the receipts as dicts.

        With more than one chunk of ids and more than one worker (default: one per CPU), worker
        processes (started with ``spawn``) issue whole chunks: each gets the snapshot's tree, the
        pseudonym key and the signing key once, then member ids in and receipt files out.
        """
        stamp = format_issued_at(issued_at)
        workers = _cpu_count() if workers is None else max(1, workers)
        ids = iter(member_ids)
        first = list(islice(ids, chunk_size))
        if workers == 1 or len(first) < chunk_size:
            member_ref, head = self.key.member_ref, self._file_head(stamp)
            for member_id in first:
                yield self._receipt_file(member_ref(member_id), head)
            for member_id in ids:
                yield self._receipt_file(member_ref(member_id), head)
            return
        for files in self._files_in_pool(first, ids, stamp, workers, chunk_size):
            yield from files

    def _file_head(self, stamp: str) -> tuple[str, str, str]:
        """The parts of a receipt's canonical JSON that all receipts of one call share: before
        ``kind``, between ``member_ref`` and ``proof``, and the end (``snapshot_id``)."""
        if not _ISSUED_AT.fullmatch(stamp):
            raise ValueError(f"issued_at {stamp!r} is not YYYY-MM-DDTHH:MM:SSZ")

        def text(value: str) -> str:  # a JSON string exactly as canonical_json writes it
            return canonical_json(value).decode("utf-8")

        return (
            f'{{"format":{text(RECEIPT_FORMAT)},"issued_at":{text(stamp)},'
            f'"key_id":{text(self._key_id)},"kind":',
            f',"members_root":{text(self.members.members_root)},"proof":',
            f',"snapshot_id":{text(self.members.snapshot_id)}}}',
        )

    def _receipt_file(self, member_ref: str, head: tuple[str, str, str]) -> bytes:
        """One receipt file, written straight as canonical JSON (keys in sorted order at every
        level; tests check it against :func:`dump_receipt` of :meth:`issue_for_ref`)."""
        index, found, size = self._locate(member_ref)
        if found:
            kind = INCLUSION
            proof = f'{{"leaf":{self._leaf_json(index)},"tree_size":{size}}}'
        else:
            kind = NON_INCLUSION
            pred = self._leaf_json(index - 1) if index > 0 else "null"
            succ = self._leaf_json(index) if index < size else "null"
            proof = f'{{"predecessor":{pred},"successor":{succ},"tree_size":{size}}}'
        before, middle, end = head
        body = f'{before}"{kind}","member_ref":"{member_ref}"{middle}{proof}'
        signature = self.signer.sign(f"{body}{end}".encode()).hex()
        return f'{body},"signature":"{signature}"{end}\n'.encode()

    def _leaf_json(self, index: int) -> str:
        tree = self.members.tree
        ref = tree.ref(index)
        if not _REF.fullmatch(ref):  # SnapshotMembers.load lets none through; a tree made by hand
            raise ValueError(f"leaf {index} of the tree is not a member_ref: {ref!r}")
        path = '","'.join(tree.path_hex(index))
        path = f'"{path}"' if path else ""
        return f'{{"index":{index},"path":[{path}],"ref":"{ref}"}}'

    def _files_in_pool(
        self,
        first: list[str],
        ids: Iterator[str],
        stamp: str,
        workers: int,
        chunk_size: int,
    ) -> Iterator[list[bytes]]:
        """Chunks of receipt files, in order, issued by worker processes."""
        setup = (self.members, self.key, self.signer._seed(), self.signer.source)
        chunks = chain([first], iter(lambda: list(islice(ids, chunk_size)), []))
        yield from ordered_map(
            partial(_issue_chunk, stamp=stamp),
            chunks,
            workers=workers,
            initializer=_init_issuer,
            initargs=setup,
        )

    def issue_many(
        self,
        member_ids: Iterable[str],
        *,
        issued_at: datetime | None = None,
        workers: int | None = None,
        chunk_size: int = CHUNK_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Receipts for many members, in the order of ``member_ids``, all with one ``issued_at``.

        Signing is most of the cost (an Ed25519 signature is some 50 to 60 us of CPU on the
        2-core development machine). With more than one chunk of ids and more than one worker
        (default: one per CPU), worker processes issue whole chunks (see :meth:`dump_many`) and
        this process only reads their receipt files back; at most two chunks per worker are in
        flight, so memory stays bounded whatever the consumer's pace.
        """
        stamp = format_issued_at(issued_at)
        workers = _cpu_count() if workers is None else max(1, workers)
        ids = iter(member_ids)
        first = list(islice(ids, chunk_size))
        if workers == 1 or len(first) < chunk_size:
            for member_id in first:
                yield self.issue(member_id, issued_at=stamp)
            for member_id in ids:
                yield self.issue(member_id, issued_at=stamp)
            return
        for files in self._files_in_pool(first, ids, stamp, workers, chunk_size):
            for data in files:
                yield orjson.loads(data)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


_issuer: ReceiptIssuer | None = None  # in a worker process: the issuer it runs


def _init_issuer(members: SnapshotMembers, key: PseudonymKey, seed: bytes, source: str) -> None:
    global _issuer
    exit_with_parent()
    _issuer = ReceiptIssuer(members, key, SigningKey.from_seed(seed, source))


def _issue_chunk(member_ids: list[str], stamp: str) -> list[bytes]:
    """Receipt files for a chunk of member ids (in a worker process)."""
    assert _issuer is not None, "receipt worker not initialised"
    member_ref, head = _issuer.key.member_ref, _issuer._file_head(stamp)
    return [_issuer._receipt_file(member_ref(m), head) for m in member_ids]


def issue_receipt(
    snapshot_dir: Path | str,
    member_id: str,
    key: PseudonymKey,
    signer: SigningKey,
    *,
    issued_at: datetime | None = None,
) -> dict[str, Any]:
    """The signed receipt of one member for the snapshot in ``snapshot_dir``."""
    return ReceiptIssuer.open(snapshot_dir, key, signer).issue(member_id, issued_at=issued_at)


def issue_receipts(
    snapshot_dir: Path | str,
    member_ids: Iterable[str],
    key: PseudonymKey,
    signer: SigningKey,
    *,
    issued_at: datetime | None = None,
    workers: int | None = None,
) -> Iterator[dict[str, Any]]:
    """Signed receipts for many members (in order), reading the snapshot and building the tree once.

    The snapshot is read, and checked against its manifest, before this returns.
    """
    issuer = ReceiptIssuer.open(snapshot_dir, key, signer)
    return issuer.issue_many(member_ids, issued_at=issued_at, workers=workers)


def dump_receipt(receipt: Mapping[str, Any]) -> bytes:
    """A receipt file's bytes: the receipt's canonical JSON and one newline."""
    return canonical_json_nofloat(dict(receipt)) + b"\n"  # a receipt holds no floats


def parse_receipt(data: bytes | str, *, strict: bool = True) -> dict[str, Any]:
    """Read a receipt file; with ``strict``, byte for byte as :func:`dump_receipt` wrote it.

    Raises :class:`VerificationError` for a file that is not a JSON object (or, with ``strict``,
    that was reformatted: then any changed byte fails, even a space).
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        receipt = json.loads(raw)
    except ValueError as exc:
        raise VerificationError(f"the receipt is not valid JSON: {exc}") from None
    if not isinstance(receipt, dict):
        raise VerificationError("the receipt is not a JSON object")
    if strict and raw not in (canonical_json(receipt), canonical_json(receipt) + b"\n"):
        raise VerificationError(
            "the receipt file is not in the canonical form it was issued in (was it reformatted "
            "or edited?); tamis receipt files are canonical JSON and one newline"
        )
    return receipt


def _fail(reason: str) -> VerificationError:
    return VerificationError(f"receipt does not verify: {reason}")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _expect(ok: bool, where: str) -> None:
    if not ok:
        raise _fail(f"malformed receipt: {where}")


def _leaf_from_json(value: object, where: str) -> LeafProof:
    _expect(isinstance(value, dict) and set(value) == _LEAF_KEYS, f"{where} must be ref/index/path")
    assert isinstance(value, dict)
    ref, index, path = value["ref"], value["index"], value["path"]
    _expect(isinstance(ref, str) and bool(_REF.fullmatch(ref)), f"{where}.ref")
    _expect(_is_int(index), f"{where}.index")
    _expect(isinstance(path, list) and len(path) <= MAX_PATH, f"{where}.path")
    _expect(all(isinstance(p, str) and _HASH.fullmatch(p) for p in path), f"{where}.path")
    return LeafProof(ref, index, tuple(bytes.fromhex(p) for p in path))


def _check_shape(receipt: Mapping[str, Any]) -> InclusionProof | NonInclusionProof:
    """Check every field's presence, type and spelling; return the proof."""
    _expect(isinstance(receipt, Mapping), "not a JSON object")
    _expect(receipt.get("format") == RECEIPT_FORMAT, f"format is not {RECEIPT_FORMAT!r}")
    _expect(set(receipt) == _TOP_KEYS, f"fields must be {', '.join(sorted(_TOP_KEYS))}")
    _expect(isinstance(receipt["snapshot_id"], str), "snapshot_id")
    for field, pattern in (
        ("members_root", _HASH),
        ("member_ref", _REF),
        ("issued_at", _ISSUED_AT),
        ("key_id", _KEY_ID),
        ("signature", _SIGNATURE),
    ):
        value = receipt[field]
        _expect(isinstance(value, str) and bool(pattern.fullmatch(value)), field)
    kind, proof = receipt["kind"], receipt["proof"]
    _expect(kind in _PROOF_KEYS, f"kind must be {INCLUSION!r} or {NON_INCLUSION!r}")
    _expect(isinstance(proof, dict) and set(proof) == _PROOF_KEYS[kind], f"{kind} proof fields")
    _expect(_is_int(proof["tree_size"]), "proof.tree_size")
    if kind == INCLUSION:
        return InclusionProof(proof["tree_size"], _leaf_from_json(proof["leaf"], "proof.leaf"))
    neighbours = [
        None if proof[side] is None else _leaf_from_json(proof[side], f"proof.{side}")
        for side in ("predecessor", "successor")
    ]
    return NonInclusionProof(proof["tree_size"], neighbours[0], neighbours[1])


def verify_receipt(receipt: Mapping[str, Any], root_hex: str, public_key_pem: bytes) -> None:
    """Check a receipt against a snapshot's ``members_root`` and the platform's public key.

    Returns nothing when the receipt holds; raises :class:`VerificationError` saying why it does
    not (malformed, another key, altered, another snapshot, or a proof that does not hold).
    Needs only hashlib and cryptography: no snapshot data, no pipeline.
    """
    root = root_hex.strip().lower() if isinstance(root_hex, str) else ""
    if not _HASH.fullmatch(root):
        raise VerificationError(f"the root must be 64 hex digits, got {root_hex!r}")
    public_key = load_public_key(public_key_pem)
    proof = _check_shape(receipt)
    expected_key_id = public_key_id(public_key_pem)
    if receipt["key_id"] != expected_key_id:
        raise _fail(
            f"it was signed by key {receipt['key_id']}, but the public key given is "
            f"{expected_key_id}"
        )
    body = {name: value for name, value in receipt.items() if name != "signature"}
    try:
        verify_json(public_key, body, receipt["signature"])
    except VerificationError as exc:
        raise _fail(str(exc)) from None
    if receipt["members_root"] != root:
        raise _fail(
            f"it is for the snapshot with members_root {receipt['members_root']}, not {root} "
            "(another snapshot?)"
        )
    try:
        if isinstance(proof, InclusionProof):
            verify_inclusion(proof, receipt["member_ref"], bytes.fromhex(root))
        else:
            verify_non_inclusion(proof, receipt["member_ref"], bytes.fromhex(root))
    except VerificationError as exc:
        raise _fail(f"the {receipt['kind']} proof does not hold: {exc}") from None


# -- many receipts in one file ------------------------------------------------------------------


def read_member_ids(path: Path | str) -> list[str]:
    """Member ids from a text file, one a line (surrounding blanks dropped, blank lines skipped)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such member list", file=str(path)) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a member list (one id a line)", file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read the member list: {exc.strerror}", file=str(path)) from None
    ids = []
    for line_no, line in enumerate(raw.splitlines(), 1):
        try:
            member_id = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise InputError("not UTF-8 text", file=str(path), line=line_no) from None
        if member_id:
            ids.append(member_id)
    return ids


def export_member_ids(export_dir: Path | str) -> list[str]:
    """The ``member_id`` column of an export's members table (JSONL, Parquet file or folder).

    A row without a member id is an error naming its row (1-based, in table order): a receipt
    cannot be issued for it, and leaving it out silently would answer fewer members than asked.
    """
    import pyarrow.compute as pc

    from tamis.pii.directory import read_members

    table = read_members(Path(export_dir))
    if "member_id" not in table.column_names:
        raise InputError("the members table has no member_id column", file=str(export_dir))
    column = table.column("member_id")
    blank = pc.equal(pc.utf8_trim_whitespace(column), "")
    missing = pc.fill_null(pc.or_kleene(pc.is_null(column), blank), True)
    if pc.any(missing).as_py():
        row = pc.indices_nonzero(missing)[0].as_py() + 1
        raise InputError(
            f"row {row} of the members table has no member id",
            file=str(export_dir),
            field="member_id",
        )
    ids: list[str] = column.to_pylist()
    return ids


@dataclass(frozen=True)
class ReceiptsFile:
    """What :func:`write_receipts_jsonl` wrote."""

    path: Path
    receipts: int
    inclusion: int
    seconds: float

    @property
    def non_inclusion(self) -> int:
        return self.receipts - self.inclusion


_INCLUSION_MARK = b'"kind":"inclusion"'  # in a receipt file's canonical JSON (refs are hex)


def write_receipts_jsonl(
    issuer: ReceiptIssuer,
    member_ids: Sequence[str],
    out: Path | str,
    *,
    workers: int | None = None,
    issued_at: datetime | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> ReceiptsFile:
    """Write one receipt per member id to ``out``, one receipt file a line (JSONL), in order.

    The receipts go to a temporary file in ``out``'s folder that is renamed to ``out`` once all
    are written and flushed to disk: ``out`` is never half-written, and a failure or an interrupt
    leaves the previous ``out`` (if any) as it was. ``progress(n)`` is told of every ``n``
    receipts written.
    """
    out = Path(out)
    folder = out.parent
    if not folder.is_dir():
        raise InputError("no such folder for the receipts file", file=str(folder))
    if out.is_dir():
        raise InputError("is a folder; name the receipts file (e.g. receipts.jsonl)", file=str(out))
    started = time.perf_counter()
    tmp = folder / f".{out.name}.{secrets.token_hex(8)}.tmp"
    count = inclusion = pending = 0
    try:
        with tmp.open("xb") as handle:
            for data in issuer.dump_many(
                member_ids, issued_at=issued_at, workers=workers, chunk_size=chunk_size
            ):
                handle.write(data)
                count += 1
                inclusion += _INCLUSION_MARK in data
                pending += 1
                if progress is not None and pending == chunk_size:
                    progress(pending)
                    pending = 0
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    if progress is not None and pending:
        progress(pending)
    return ReceiptsFile(out, count, inclusion, time.perf_counter() - started)


@dataclass(frozen=True)
class ReceiptsChecked:
    """What :func:`verify_receipts_jsonl` checked: every line held."""

    receipts: int
    inclusion: int
    snapshot_id: str | None

    @property
    def non_inclusion(self) -> int:
        return self.receipts - self.inclusion


def verify_receipts_jsonl(
    path: Path | str,
    root_hex: str,
    public_key_pem: bytes,
    *,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ReceiptsChecked:
    """Check every line of a receipts JSONL file (as :func:`write_receipts_jsonl` writes it).

    Stops at the first line that does not verify: :class:`VerificationError` naming the file and
    the line (1-based) and why. An empty line, or a file with no receipt, fails too. A file of
    more than one chunk of lines is checked by ``workers`` processes (default: one per CPU;
    checking a signature is most of the cost), chunk by chunk, the first failure in file order
    being the one reported.
    """
    path = Path(path)
    root = root_hex.strip().lower() if isinstance(root_hex, str) else ""
    if not _HASH.fullmatch(root):
        raise VerificationError(f"the root must be 64 hex digits, got {root_hex!r}")
    load_public_key(public_key_pem)  # a bad key is said once, not as line 1's fault
    workers = _cpu_count() if workers is None else max(1, workers)
    count = inclusion = 0
    snapshot_id: str | None = None
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read the receipts: {exc.strerror}", file=str(path)) from None
    with handle:
        chunks = _numbered_chunks(handle, CHUNK_SIZE)
        first = next(chunks, None)
        if first is None:
            raise VerificationError(f"{path}: no receipt in the file")
        everything = chain([first], chunks)
        if workers == 1 or len(first[1]) < CHUNK_SIZE:
            results: Iterator[_CheckedChunk] = (
                _check_lines(chunk, root, public_key_pem) for chunk in everything
            )
        else:
            results = ordered_map(
                _check_chunk,
                everything,
                workers=workers,
                initializer=_init_checker,
                initargs=(root, public_key_pem),
            )
        for checked in results:
            if checked.failure is not None:
                line_no, why = checked.failure
                raise VerificationError(f"{path}:{line_no}: {why}")
            count += checked.receipts
            inclusion += checked.inclusion
            snapshot_id = snapshot_id or checked.snapshot_id
            if progress is not None:
                progress(checked.receipts)
    return ReceiptsChecked(count, inclusion, snapshot_id)


@dataclass(frozen=True)
class _CheckedChunk:
    """A chunk of lines checked: counts up to its first failure, and that failure if any."""

    receipts: int
    inclusion: int
    snapshot_id: str | None
    failure: tuple[int, str] | None  # (line number, why)


def _numbered_chunks(lines: Iterable[bytes], size: int) -> Iterator[tuple[int, list[bytes]]]:
    """``(number of the first line, lines)`` by ``size`` lines."""
    iterator = iter(lines)
    first = 1
    while chunk := list(islice(iterator, size)):
        yield first, chunk
        first += len(chunk)


def _check_lines(chunk: tuple[int, list[bytes]], root: str, pem: bytes) -> _CheckedChunk:
    first, lines = chunk
    count = inclusion = 0
    snapshot_id: str | None = None
    for line_no, line in enumerate(lines, first):
        try:
            if not line.strip():
                raise VerificationError("the line is empty; one receipt a line")
            receipt = parse_receipt(line)
            verify_receipt(receipt, root, pem)
        except VerificationError as exc:
            return _CheckedChunk(count, inclusion, snapshot_id, (line_no, str(exc)))
        count += 1
        inclusion += receipt["kind"] == INCLUSION
        snapshot_id = snapshot_id or receipt["snapshot_id"]
    return _CheckedChunk(count, inclusion, snapshot_id, None)


_checker: tuple[str, bytes] | None = None  # in a worker process: the root and the public key


def _init_checker(root: str, pem: bytes) -> None:
    global _checker
    exit_with_parent()
    _checker = (root, pem)


def _check_chunk(chunk: tuple[int, list[bytes]]) -> _CheckedChunk:
    """:func:`_check_lines` in a worker process."""
    assert _checker is not None, "receipt checker not initialised"
    return _check_lines(chunk, *_checker)
