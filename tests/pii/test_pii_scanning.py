# ruff: noqa: RUF001  (typographic characters are data here)
"""The fast scans give what the plain ones would: anchored regex scans find the matches that
``finditer`` finds, and the byte-table folding folds each character as :func:`_fold_char` does."""

from __future__ import annotations

import pickle
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from tamis.pii.base import anchored_matches
from tamis.pii.builtin import address, dob, web
from tamis.pii.fold import _fold_char, fold
from tamis.pii.spans import Span

IP_TEXT = st.text(alphabet="0123456789abcdefABCDEF:. v,-x", max_size=60)
ADDRESS_TEXT = st.lists(
    st.sampled_from(
        ["12", "3", "bis", "b", " ", " ", ", ", "rue", "Rue", "avenue", "mois", "de", "la",
         "Paix", "Victor", "Hugo", "75002", "Paris", "ruelle", "place", "-", "d'", "Apt", "4"]
    ),
    max_size=16,
).map("".join)  # fmt: skip
DOB_TEXT = st.lists(
    st.sampled_from(
        ["née le", "Né le", "born on", "Born", "DOB:", "date de naissance :", "birthday", " ",
         "12 mars 1985", "July 4, 1990", "04/07/1990", "1990-07-04", "une", "annee", "x", "İ"]
    ),
    max_size=10,
).map(" ".join)  # fmt: skip


def spans_of(matches: list[re.Match[str]]) -> list[tuple[int, int]]:
    return [m.span() for m in matches]


@settings(max_examples=300, deadline=None)
@given(IP_TEXT)
def test_anchored_ip_scans_find_what_finditer_finds(text: str) -> None:
    v4, v6 = re.compile(web.IPV4_PATTERN), re.compile(web.IPV6_PATTERN)
    assert spans_of(
        anchored_matches(v4, re.compile(web.IPV4_ANCHOR), text, frozenset("0123456789"), 3)
    ) == spans_of(list(v4.finditer(text)))
    assert spans_of(
        anchored_matches(v6, re.compile(web.IPV6_ANCHOR), text, web._HEX_COLON, 45)
    ) == spans_of(list(v6.finditer(text)))


@settings(max_examples=300, deadline=None)
@given(ADDRESS_TEXT)
def test_french_addresses_found_from_anchors_are_those_of_finditer(text: str) -> None:
    detector = address.AddressDetector()
    assert spans_of(detector._fr_matches(text)) == spans_of(list(detector._fr.finditer(text)))


@settings(max_examples=300, deadline=None)
@given(DOB_TEXT)
def test_birth_dates_found_from_anchors_are_those_of_finditer(text: str) -> None:
    detector = dob.DobDetector()
    expected = [m.span("date") for m in re.compile(dob.DOB_PATTERN).finditer(text)]
    assert [(s.start, s.end) for s in detector.detect(text)] == expected


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_fold_is_the_per_character_fold(text: str) -> None:
    assert fold(text) == "".join(_fold_char(c) for c in text)


def test_fold_handles_latin1_and_beyond_in_one_text() -> None:
    text = "Œuvre d’Ærøskøbing µ Ǣ Γιώργος café 👏"
    assert fold(text) == "".join(_fold_char(c) for c in text)
    assert fold(text) == "ouvre d aroskobing μ æ γιωργος cafe  "


def test_spans_are_tuples_that_order_compare_and_pickle() -> None:
    a = Span(3, 7, "PERSON", 0.9, "x", "why")
    b = Span(1, 2, "EMAIL_ADDRESS", 0.5, "y")
    assert sorted([a, b]) == [b, a]
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.shifted(-3) == Span(0, 4, "PERSON", 0.9, "x", "why")
    assert (a.start, a.end, a.type, a.score, a.detector, a.explanation) == tuple(a)
