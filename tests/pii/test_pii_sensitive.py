"""The GDPR Art. 9 classifier: positives and negatives in French and English."""

from __future__ import annotations

import pyarrow as pa
import pytest

import tamis.pipeline.pii_stage  # noqa: F401
from tamis.keys import PseudonymKey
from tamis.pii.sensitive import SensitiveClassifier
from tamis.pipeline.stages import StageContext, stages

CLF = SensitiveClassifier()

POSITIVES = [
    ("trade_union", "Je suis délégué syndical CGT depuis dix ans."),
    ("trade_union", "Fier de représenter mes collègues au syndicat."),
    ("trade_union", "Our union rep negotiated a better deal for the night shift."),
    ("trade_union", "Proud trade union member since 2010."),
    ("health", "J'ai été diagnostiquée d'un cancer en 2021."),
    ("health", "I have been on sick leave for burnout since March."),
    ("health", "Ma santé mentale va mieux depuis la thérapie."),
    ("religion", "Je prie chaque vendredi à la mosquée."),
    ("religion", "As a practising Catholic, Sundays are for Mass."),
    ("political_opinion", "J'ai voté pour la France insoumise."),
    ("political_opinion", "I voted for the Democrats in every election."),
    ("sexual_orientation", "Mon coming out au travail s'est bien passé."),
    ("sexual_orientation", "As a gay man in tech, representation matters."),
    ("ethnic_origin", "Je suis d'origine marocaine et fière de l'être."),
    ("ethnic_origin", "As a Black woman in engineering, I rarely see role models."),
]
NEGATIVES = [
    "La santé financière de l'entreprise est bonne.",
    "The European Union published new AI rules.",
    "Rendez-vous au 4 Church Street.",
    "J'ai un parti pris pour Rust.",
    "We take pride in our work.",
    "Tournez à gauche après le pont.",
    "Our code health dashboard is green.",
    "Union de deux ensembles en Python.",
    "Le son de cette enceinte est excellent.",
    "Nous recrutons un data engineer à Lyon.",
    "Third-party cookies are going away.",
]


@pytest.mark.parametrize(("category", "text"), POSITIVES)
def test_positive(category: str, text: str) -> None:
    assert category in CLF.classify(text)


@pytest.mark.parametrize("text", NEGATIVES)
def test_negative(text: str) -> None:
    assert CLF.classify(text) == []


def test_stage_drops_sensitive_rows_with_reason() -> None:
    context = StageContext(PseudonymKey(bytes(range(32)), "t"), "p", "0" * 64)
    stage = stages.get("pii.redact.v1")(context, mode="contact", sensitive="drop")
    batch = pa.record_batch(
        {"text": ["Délégué syndical CFDT, joignable au 06 12 34 56 78", "Hello world", None]}
    )
    result = stage.process(batch)
    assert result.dropped is not None
    assert result.dropped.to_pylist() == ["sensitive", None, None]
    assert result.counts["sensitive.trade_union"] == 1
    assert result.batch.column(0)[0].as_py() == "Délégué syndical CFDT, joignable au <PHONE>"
