"""Overlap resolution: the best span wins where spans overlap, and nothing a detector found is
left in clear (the losers keep what lies outside the winners)."""

from __future__ import annotations

import random
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from tamis.pii.engine import PiiEngine
from tamis.pii.spans import Span, resolve_overlaps


def covered(spans: list[Span]) -> set[int]:
    return {i for s in spans for i in range(s.start, s.end)}


def test_a_loser_keeps_what_lies_outside_the_winner() -> None:
    text = "au 31 Rue Al Imam Al Bakri, Tunis"
    address = Span(3, 26, "STREET_ADDRESS", 0.6, "address.v1")  # 31 Rue Al Imam Al Bakri
    person = Span(10, 26, "PERSON", 0.8, "person.heuristic.v1")  # Al Imam Al Bakri
    got = resolve_overlaps([address, person], text=text)
    assert [(s.type, text[s.start : s.end]) for s in got] == [
        ("STREET_ADDRESS", "31 Rue"),  # trimmed of its trailing space
        ("PERSON", "Al Imam Al Bakri"),
    ]
    assert got[0].score == address.score and got[0].detector == address.detector


def test_a_loser_around_the_winner_keeps_both_ends_and_one_inside_it_goes() -> None:
    outer = Span(0, 20, "STREET_ADDRESS", 0.5, "a")
    inner = Span(5, 10, "PHONE_NUMBER", 0.9, "p")
    assert resolve_overlaps([outer, inner]) == [
        Span(0, 5, "STREET_ADDRESS", 0.5, "a"),
        inner,
        Span(10, 20, "STREET_ADDRESS", 0.5, "a"),
    ]
    big = Span(0, 20, "IBAN_CODE", 1.0, "i")
    assert resolve_overlaps([big, inner]) == [big]


def test_pieces_with_no_letter_or_digit_are_dropped() -> None:
    text = "Jean Dupont, 06 12 34 56 78"
    name = Span(0, 13, "PERSON", 0.4, "n")  # "Jean Dupont, "
    winner = Span(0, 11, "PERSON", 0.9, "m")
    assert resolve_overlaps([name, winner], text=text) == [winner]
    assert resolve_overlaps([name, winner]) == [winner, Span(11, 13, "PERSON", 0.4, "n")]


@st.composite
def span_sets(draw: st.DrawFn) -> tuple[str, list[Span]]:
    text = draw(st.text(alphabet="ab1 .", min_size=1, max_size=40))
    n = len(text)
    spans = []
    for _ in range(draw(st.integers(0, 6))):
        start = draw(st.integers(0, n - 1))
        end = draw(st.integers(start + 1, n))
        spans.append(
            Span(
                start,
                end,
                draw(st.sampled_from(["PERSON", "PHONE_NUMBER", "STREET_ADDRESS"])),
                draw(st.sampled_from([0.3, 0.6, 0.9])),
                draw(st.sampled_from(["d1", "d2"])),
            )
        )
    return text, spans


@given(span_sets(), st.randoms(use_true_random=False))
def test_no_found_letter_or_digit_is_left_in_clear(
    case: tuple[str, list[Span]], rnd: random.Random
) -> None:
    text, spans = case
    got = resolve_overlaps(spans, {"PHONE_NUMBER": 5}, text)
    assert all(a.end <= b.start for a, b in pairwise(got))  # no overlap
    found = {i for i in covered(spans) if text[i].isalnum()}
    assert found <= covered(got)
    assert covered(got) <= covered(spans)
    shuffled = spans[:]
    rnd.shuffle(shuffled)
    assert resolve_overlaps(shuffled, {"PHONE_NUMBER": 5}, text) == got  # order-free


def test_the_engine_leaves_no_street_number_in_clear() -> None:
    """A case from the presidio-research synthetic set: the heuristic person detector read the
    street's name as a person and outranked the address, which was dropped with its number."""
    text = "Adresse de livraison : 54 Rue Allal Ben Abdellah, Oujda"
    spans = PiiEngine.for_mode("fast").analyze(text)
    address = range(text.index("54"), text.index(","))  # 54 Rue Allal Ben Abdellah
    assert {i for i in address if text[i].isalnum()} <= covered(spans)
