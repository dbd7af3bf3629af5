"""Word lists of the name heuristics: frequent vocabulary from wordfreq's packaged lists."""

from __future__ import annotations

import sys

import pytest

from tamis.pii.fold import fold_key
from tamis.pii.lexicon import VOCABULARY_LANGS, VOCABULARY_ZIPF, vocabulary


def test_the_most_frequent_words_of_each_language_are_vocabulary() -> None:
    wordfreq = pytest.importorskip("wordfreq")
    vocab = vocabulary()
    for lang in VOCABULARY_LANGS:
        top = [fold_key(w) for w in wordfreq.top_n_list(lang, 300)]
        missing = [k for k in top if k and " " not in k and k not in vocab]
        assert not missing, f"{lang}: {missing[:10]}"


def test_rare_names_are_not_vocabulary() -> None:
    wordfreq = pytest.importorskip("wordfreq")
    from faker.providers.person.en_US import Provider

    vocab = vocabulary()
    checked = 0
    for name in list(Provider.last_names)[:400]:
        key = fold_key(name)
        forms = {key, name.lower()}
        zipf = max(wordfreq.zipf_frequency(f, lang) for f in forms for lang in VOCABULARY_LANGS)
        if zipf < VOCABULARY_ZIPF - 0.5:
            checked += 1
            assert key not in vocab, name
    assert checked > 50  # the sample holds enough rare names to mean something


def test_a_higher_threshold_gives_fewer_words() -> None:
    pytest.importorskip("wordfreq")
    common, everyday = vocabulary(VOCABULARY_ZIPF + 1), vocabulary()
    assert common < everyday
    assert len(everyday) > 5_000


def test_without_wordfreq_the_vocabulary_is_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wordfreq", None)  # import wordfreq raises ImportError
    assert vocabulary.__wrapped__() == frozenset()
