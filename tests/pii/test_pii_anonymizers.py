"""Anonymizers: deterministic, keyed, independent of document order; registries list names."""

from __future__ import annotations

import pytest

from tamis.keys import PseudonymKey
from tamis.pii import PiiEngine, anonymizers, apply, detectors
from tamis.registry import UnknownNameError

KEY = PseudonymKey(bytes(range(32)), "test")
ENGINE = PiiEngine.for_mode("fast")


def redact(text: str, name: str, key: PseudonymKey = KEY) -> str:
    return apply(text, ENGINE.analyze(text), anonymizers.get(name)(key=key))


def test_placeholder() -> None:
    assert redact("écrire à a.b@c.fr", "placeholder.v1") == "écrire à <EMAIL>"


def test_pseudonym_same_value_same_token_whatever_the_spelling_and_order() -> None:
    docs = [
        "Merci à Élodie Martin (elodie@x.fr)",
        "merci à ELODIE MARTIN, tél 06 12 34 56 78",
        "Contact: +33 6 12 34 56 78 / Elodie@X.fr",
    ]
    forward = [redact(d, "pseudonym.v1") for d in docs]
    backward = [redact(d, "pseudonym.v1") for d in reversed(docs)][::-1]
    assert forward == backward
    person = forward[0].split("à ")[1].split(" ")[0]
    assert person.startswith("<PERSON_") and len(person) == len("<PERSON_123456>")
    assert person in forward[1]
    phone = forward[1].split("tél ")[1]
    assert phone in forward[2]
    email = forward[0].split("(")[1].rstrip(")")
    assert email in forward[2]


def test_pseudonym_depends_on_the_key() -> None:
    other = PseudonymKey(bytes(32), "other")
    assert redact("a.b@c.fr", "pseudonym.v1") != redact("a.b@c.fr", "pseudonym.v1", other)


def test_mask_and_drop_record() -> None:
    assert redact("tel 06.12.34.56.78", "mask.v1") == "tel **.**.**.**.**"
    assert anonymizers.get("drop_record.v1")().drops


def test_unknown_names_list_the_available_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"available: drop_record\.v1, mask\.v1"):
        anonymizers.get("shred.v1")
    with pytest.raises(UnknownNameError, match=r"available: .*email\.v1.*phone\.v1"):
        detectors.get("passport.v9")
    with pytest.raises(UnknownNameError, match="unknown PII detector"):
        PiiEngine(["email.v1", "nope.v1"])


def test_engine_takes_any_registered_names() -> None:
    engine = PiiEngine(["iban.v1"])
    assert [s.type for s in engine.analyze("a@b.fr GB82WEST12345698765432")] == ["IBAN_CODE"]
