"""The ``pii.redact.v1`` stage over Arrow batches."""

from __future__ import annotations

import pickle

import pyarrow as pa
import pytest

import tamis.pipeline.pii_stage  # noqa: F401  (registers the stage)
from tamis.errors import TamisError
from tamis.keys import PseudonymKey
from tamis.pipeline.stages import StageContext, stages
from tamis.registry import UnknownNameError

KEY = PseudonymKey(bytes(range(32)), "test")
CONTEXT = StageContext(KEY, "genai_training", "0" * 64)


def batch(texts: list[str | None], langs: list[str | None] | None = None) -> pa.RecordBatch:
    n = len(texts)
    return pa.record_batch(
        {
            "record_id": pa.array([f"r{i}" for i in range(n)], pa.string()),
            "lang": pa.array(langs or [None] * n, pa.string()),
            "text": pa.array(texts, pa.string()),
        }
    )


def texts_of(result_batch: pa.RecordBatch) -> list[str | None]:
    return result_batch.column(result_batch.schema.get_field_index("text")).to_pylist()


def test_contact_mode_placeholders_and_counts() -> None:
    stage = stages.get("pii.redact.v1")(CONTEXT, mode="contact")
    result = stage.process(
        batch(
            [
                "Écrivez-moi à jeanne.martin@exemple.fr ou au 06 12 34 56 78.",
                "Call me on +1 415-555-0132, thanks",
                "Rien à signaler, version 3.11.2, ISO 27001.",
                None,
                "",
            ]
        )
    )
    assert texts_of(result.batch) == [
        "Écrivez-moi à <EMAIL> ou au <PHONE>.",
        "Call me on <PHONE>, thanks",
        "Rien à signaler, version 3.11.2, ISO 27001.",
        None,
        "",
    ]
    assert result.dropped is None
    assert result.counts == {"EMAIL_ADDRESS": 1, "PHONE_NUMBER": 2}
    assert result.batch.num_rows == 5
    assert result.batch.column(0).to_pylist() == ["r0", "r1", "r2", "r3", "r4"]


def test_pseudonyms_are_keyed_and_order_independent() -> None:
    stage = stages.get("pii.redact.v1")(CONTEXT, mode="contact", anonymizer="pseudonym")
    a = "Mail: Jean.Dupont@Exemple.fr"
    b = "autre: jean.dupont@exemple.fr et 06 12 34 56 78"
    first = texts_of(stage.process(batch([a, b])).batch)
    second = texts_of(stage.process(batch([b, a])).batch)
    assert first == second[::-1]
    token = first[0].split(": ")[1]  # type: ignore[union-attr]
    assert token.startswith("<EMAIL_") and token in first[1]  # type: ignore[operator]
    other_key = StageContext(PseudonymKey(bytes(32), "other"), "p", "0" * 64)
    other = stages.get("pii.redact.v1")(other_key, mode="contact", anonymizer="pseudonym")
    assert texts_of(other.process(batch([a])).batch)[0] != first[0]


def test_mask_keeps_shape() -> None:
    stage = stages.get("pii.redact.v1")(CONTEXT, mode="contact", anonymizer="mask")
    out = texts_of(stage.process(batch(["tel 06.12.34.56.78"])).batch)
    assert out == ["tel **.**.**.**.**"]


def test_drop_record_anonymizer_drops_rows_with_pii() -> None:
    stage = stages.get("pii.redact.v1")(CONTEXT, mode="contact", anonymizer="drop_record")
    result = stage.process(batch(["a@b.fr", "nothing"]))
    assert result.dropped is not None
    assert result.dropped.to_pylist() == ["pii", None]


def test_stage_is_picklable_and_gives_the_same_result() -> None:
    stage = stages.get("pii.redact.v1")(CONTEXT, mode="fast", anonymizer="pseudonym")
    data = batch(["Merci à Jean Dupont (jean@dupont.fr), 06 12 34 56 78"])
    before = texts_of(stage.process(data).batch)
    clone = pickle.loads(pickle.dumps(stage))
    assert texts_of(clone.process(data).batch) == before


def test_unknown_options_list_the_available_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"available: .*pseudonym\.v1"):
        stages.get("pii.redact.v1")(CONTEXT, anonymizer="shred")
    with pytest.raises(TamisError, match="available: contact, fast, thorough"):
        stages.get("pii.redact.v1")(CONTEXT, mode="fastest")
    with pytest.raises(TamisError, match="available: off, drop"):
        stages.get("pii.redact.v1")(CONTEXT, sensitive="maybe")
    with pytest.raises(TamisError, match="unknown option"):
        stages.get("pii.redact.v1")(CONTEXT, colour="blue")


def test_missing_text_column_is_a_clear_error() -> None:
    stage = stages.get("pii.redact.v1")(CONTEXT)
    with pytest.raises(TamisError, match="no 'text' column"):
        stage.process(pa.record_batch({"x": pa.array(["a"])}))


def test_profile_identifiers_are_replaced_whole_found_or_not() -> None:
    """A profile's identity-document number went into the linkedin-2025 snapshot as written
    (no detector knows 'ID-FR-123456'); e-mail and phone fields are replaced whole too."""
    rows = batch(["ID-FR-123456", "jean at example dot fr", "06-12", "ID-FR-123456", ""])
    rows = rows.append_column(
        "category",
        pa.array(["user.government_id", "user.contact.email", "user.contact.phone_number",
                  "user.content.post", "user.government_id"]),
    )  # fmt: skip
    stage = stages.get("pii.redact.v1")(CONTEXT, mode="contact")
    result = stage.process(rows)
    assert texts_of(result.batch) == [
        "<ID_DOCUMENT>",
        "<EMAIL>",
        "<PHONE>",
        "ID-FR-123456",  # a post: only what the detectors find
        "",
    ]
    assert result.counts["ID_DOCUMENT"] == 1
