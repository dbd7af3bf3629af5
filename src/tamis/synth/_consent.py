"""Consent histories that exercise every rule of the data contract's consent semantics.

Each member gets a scenario (most get none: no event, the region's default applies). A scenario
yields the member's events and one ground-truth line for ``_truth/consent_edge_cases.jsonl``:
the label, the events' ids and what a correct reader concludes at :data:`CONSENT_CUTOFF`:

- ``allow`` / ``object``: the value of the latest event with ``ts <= cutoff`` (compared as
  instants; an objection wins a tie);
- ``default``: no event at or before the cutoff, the region's default applies;
- ``invalid``: an event cannot be parsed, the member is out (``consent_invalid``);
- ``unknown_member``: the events name a member that is not in the members table.

Times are placed relative to the policy dates (region start, cutoff), not to the content period.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import orjson

from tamis.synth._io import OFFSETS, Row, format_ts, format_ts_naive
from tamis.synth._world import CONSENT_CUTOFF, MAIN_START

SETTING = "genai_training"
_US = 1_000_000
_DAY = 86400
_C = int(CONSENT_CUTOFF.timestamp())
_LO = int(MAIN_START.timestamp()) - 700 * _DAY  # earliest consent event (late 2023)
_HI = _C + 58 * _DAY  # latest consent event (end of February 2026)
_Z = 0
_OFFSET = {suffix: i for i, (suffix, _) in enumerate(OFFSETS)}

# label -> (weight in % of members, note). A "malformed_" label puts the member out.
LABELS: dict[str, tuple[float, str]] = {
    "allow_only": (5.0, "one explicit allow"),
    "objection_before_start": (3.0, "objection before the region's start: counts"),
    "objection_after_start": (5.0, "objection between the region's start and the cutoff"),
    "objection_after_cutoff": (2.0, "objection after the cutoff: changes nothing"),
    "reallow": (1.5, "objection then allow, both before the cutoff"),
    "reallow_after_cutoff": (0.8, "objection before the cutoff, allow after it"),
    "toggles": (1.5, "several changes; the latest at or before the cutoff wins"),
    "tie_same_instant": (0.3, "allow and objection at the same instant: objection wins"),
    "tie_same_instant_offsets": (
        0.3,
        "allow and objection at the same instant written with different offsets",
    ),
    "offset_reorder": (0.5, "string order of the timestamps differs from instant order"),
    "offset_cutoff_before": (0.3, "local date after the cutoff, instant before it"),
    "offset_cutoff_after": (0.3, "local date before the cutoff, instant after it"),
    "at_cutoff_exact": (0.2, "objection exactly at the cutoff instant: counts (ts <= cutoff)"),
    "fractional_seconds": (0.3, "events a microsecond apart"),
    "duplicate_event": (0.5, "the same event (same id, same content) twice: ignore the repeat"),
    "unsorted_events": (0.5, "events not in chronological order in the file"),
    "malformed_missing_ts": (0.05, "an event without ts"),
    "malformed_ts_no_offset": (0.05, "an event whose ts has no offset"),
    "malformed_bad_date": (0.05, "an event whose ts is not a calendar date (Feb 30)"),
    "malformed_value_string": (0.05, 'an event whose value is the string "false"'),
    "malformed_value_null": (0.05, "an event whose value is null"),
    "malformed_unknown_setting": (0.05, "an event for a misspelt setting (genai_trainig)"),
    "malformed_unknown_channel": (0.05, "an event whose channel is not allowed"),
    "malformed_not_json": (0.05, "a line that is not JSON (truncated)"),
}
UNKNOWN_MEMBER_LABEL = "unknown_member"
_ALLOW_CHANNELS = (("settings_page", 0.7), ("api", 0.85), ("import", 0.95), ("support", 1.0))
_OBJECTION_CHANNELS = (
    ("objection_form", 0.4),
    ("settings_page", 0.75),
    ("support", 0.85),
    ("api", 0.95),
    ("import", 1.0),
)
JSONL_ONLY = frozenset(
    {"malformed_ts_no_offset", "malformed_bad_date", "malformed_value_string", "malformed_not_json"}
)
NOTES = {**{k: v[1] for k, v in LABELS.items()}, UNKNOWN_MEMBER_LABEL: "member not in members"}


def labels_for(fmt: str) -> tuple[str, ...]:
    """The labels a consent file in ``fmt`` can carry (Parquet cannot hold a bad line)."""
    labels = [k for k in LABELS if fmt == "jsonl" or k not in JSONL_ONLY]
    return (*labels, UNKNOWN_MEMBER_LABEL)


@dataclass
class _Event:
    value: Any  # bool, or a malformed stand-in
    us: int | None
    offset: int = _Z
    channel: str = ""
    setting: str = SETTING
    raw: str | None = None  # the JSONL rendering of a malformed event
    repeat: int = 1
    event_id: str = field(default="")


class ConsentMaker:
    """Draws scenarios and renders their events as rows for one consent file."""

    def __init__(self, rng: random.Random, fmt: str) -> None:
        self.rng = rng
        self.fmt = fmt
        self.labels = labels_for(fmt)
        scenario_labels = [k for k in self.labels if k != UNKNOWN_MEMBER_LABEL]
        self._labels = scenario_labels
        total = 0.0
        self._cum: list[float] = []
        for k in scenario_labels:
            total += LABELS[k][0]
            self._cum.append(total)
        self._none_weight = 100.0 - total
        self.malformed = 0
        self.counts: dict[str, int] = dict.fromkeys(self.labels, 0)

    def draw_label(self) -> str | None:
        u = self.rng.random() * 100.0
        if u < self._none_weight:
            return None
        u -= self._none_weight
        for label, cum in zip(self._labels, self._cum, strict=True):
            if u < cum:
                return label
        return self._labels[-1]

    # -- scenarios ---------------------------------------------------------------------------

    def _t(self, lo: int, hi: int) -> int:
        """A whole-second instant in [lo, hi), in microseconds."""
        return (lo + int(self.rng.random() * max(1, hi - lo))) * _US

    def _off(self) -> int:
        return 0 if self.rng.random() < 0.75 else 1 + int(self.rng.random() * (len(OFFSETS) - 1))

    def _channel(self, value: bool) -> str:
        u = self.rng.random()
        for channel, cum in _ALLOW_CHANNELS if value else _OBJECTION_CHANNELS:
            if u < cum:
                return channel
        return "settings_page"

    def _ev(self, value: bool, us: int, offset: int | None = None) -> _Event:
        return _Event(value, us, self._off() if offset is None else offset, self._channel(value))

    def _build(self, label: str, start: int) -> list[_Event]:
        ev, t, rng = self._ev, self._t, self.rng
        if label == "allow_only":
            return [ev(True, t(_LO, _C))]
        if label == "objection_before_start":
            return [ev(False, t(max(_LO, start - 300 * _DAY), start))]
        if label == "objection_after_start":
            return [ev(False, t(start, _C))]
        if label == "objection_after_cutoff":
            return [ev(False, t(_C + 1, _HI))]
        if label == "reallow":
            t1 = t(_LO, _C - 10 * _DAY)
            return [ev(False, t1), ev(True, t(t1 // _US + 1, _C))]
        if label == "reallow_after_cutoff":
            return [ev(False, t(_LO, _C)), ev(True, t(_C + 1, _HI))]
        if label in ("toggles", "unsorted_events"):
            hi = _HI if label == "toggles" else _C
            times = sorted({t(_LO, hi) for _ in range(3 + int(rng.random() * 3))})
            value = rng.random() < 0.5
            events = []
            for us in times:
                events.append(ev(value, us))
                value = not value
            return events[::-1] if label == "unsorted_events" else events
        if label == "tie_same_instant":
            us, off = t(_LO, _C), self._off()
            return [ev(False, us, off), ev(True, us, off)]  # a "last line wins" reader is wrong
        if label == "tie_same_instant_offsets":
            us = t(_LO, _C)
            return [ev(False, us, _OFFSET["+02:00"]), ev(True, us, _Z)]
        if label == "offset_reorder":
            first = t(_LO, _C - _DAY)
            later_value = rng.random() < 0.5
            if rng.random() < 0.5:  # earlier instant at +02:00 sorts after the later one at Z
                pair = [(first, _OFFSET["+02:00"]), (first + 3600 * _US, _Z)]
            else:  # later instant at -05:00 sorts before the earlier one at Z
                pair = [(first, _Z), (first + 3600 * _US, _OFFSET["-05:00"])]
            return [ev(not later_value, pair[0][0], pair[0][1]), ev(later_value, *pair[1])]
        if label == "offset_cutoff_before":  # 2026-01-01T00:30:00+01:00
            return [ev(False, (_C - 1800) * _US, _OFFSET["+01:00"])]
        if label == "offset_cutoff_after":  # 2025-12-31T20:00:00-05:00
            return [ev(True, t(_LO, _C - _DAY)), ev(False, (_C + 3600) * _US, _OFFSET["-05:00"])]
        if label == "at_cutoff_exact":
            off = _Z if rng.random() < 0.5 else _OFFSET["+01:00"]
            return [ev(True, t(_LO, _C - _DAY)), ev(False, _C * _US, off)]
        if label == "fractional_seconds":
            us = t(_LO, _C)
            return [ev(False, us), ev(True, us + 1)]
        if label == "duplicate_event":
            event = ev(rng.random() < 0.4, t(_LO, _C))
            event.repeat = 2
            return [event]
        if label.startswith("malformed_"):
            base = ev(True, t(_LO, _C - 30 * _DAY))
            bad = ev(False, t(base.us // _US + 1 if base.us else _LO, _C))
            self._spoil(label, bad)
            return [base, bad] if rng.random() < 0.5 else [bad, base]
        raise AssertionError(label)

    def _spoil(self, label: str, event: _Event) -> None:
        if label == "malformed_missing_ts":
            event.raw = "missing_ts"
            event.us = None
        elif label == "malformed_ts_no_offset":
            event.raw = "ts_no_offset"
        elif label == "malformed_bad_date":
            event.raw = "bad_date"
        elif label == "malformed_value_string":
            event.raw = "value_string"
        elif label == "malformed_value_null":
            event.value = None
        elif label == "malformed_unknown_setting":
            event.setting = "genai_trainig"
        elif label == "malformed_unknown_channel":
            event.channel = "email"
        elif label == "malformed_not_json":
            event.raw = "not_json"

    # -- rendering -----------------------------------------------------------------------------

    def member_events(
        self, label: str, member_id: str, start: int
    ) -> tuple[list[Row], dict[str, Any], int]:
        """Rows for ``member_id`` under ``label``; the truth line; the earliest event (s).

        Event ids derive from the member id (``evt_<member number>-<n>``): unique, and the same
        whichever process generates them."""
        events = self._build(label, start)
        rows: list[Row] = []
        stem = "evt_" + member_id.rpartition("_")[2]
        for n, event in enumerate(events):
            event.event_id = f"{stem}-{n}"
            for _ in range(event.repeat):
                rows.append(self._row(event, member_id))
        self.counts[label] += 1
        earliest = min((e.us for e in events if e.us is not None), default=_C * _US) // _US
        truth = {
            "member_id": member_id,
            "label": label,
            "expected": "invalid" if label.startswith("malformed_") else _expected(events),
            "event_ids": [e.event_id for e in events],
            "note": NOTES[label],
        }
        return rows, truth, earliest

    def unknown_member(self, member_id: str) -> tuple[list[Row], dict[str, Any]]:
        events = [self._ev(False, self._t(_LO, _C))]
        if self.rng.random() < 0.5:
            events.append(self._ev(True, self._t(_LO, _C)))
        rows: list[Row] = []
        stem = "evt_" + member_id.rpartition("_")[2]
        for n, event in enumerate(events):
            event.event_id = f"{stem}-{n}"
            rows.append(self._row(event, member_id))
        self.counts[UNKNOWN_MEMBER_LABEL] += 1
        truth = {
            "member_id": member_id,
            "label": UNKNOWN_MEMBER_LABEL,
            "expected": UNKNOWN_MEMBER_LABEL,
            "event_ids": [e.event_id for e in events],
            "note": NOTES[UNKNOWN_MEMBER_LABEL],
        }
        return rows, truth

    def _row(self, e: _Event, member_id: str) -> Row:
        if e.raw is not None and self.fmt == "jsonl":
            self.malformed += 1
            return _raw_line(e, member_id)
        if e.value is None or e.us is None or e.setting != SETTING or e.channel == "email":
            self.malformed += 1
        return (e.event_id, member_id, e.setting, e.value, e.us, e.channel, e.offset)


def _raw_line(e: _Event, member_id: str) -> bytes:
    assert e.us is not None or e.raw == "missing_ts"
    record: dict[str, Any] = {
        "event_id": e.event_id,
        "member_id": member_id,
        "setting": e.setting,
        "value": e.value,
        "ts": format_ts(e.us, e.offset) if e.us is not None else None,
        "channel": e.channel,
    }
    if e.raw == "missing_ts":
        del record["ts"]
    elif e.raw == "ts_no_offset":
        record["ts"] = format_ts_naive(e.us or 0)
    elif e.raw == "bad_date":
        record["ts"] = "2025-02-30T10:00:00Z"
    elif e.raw == "value_string":
        record["value"] = "false" if e.value is False else "true"
    line = orjson.dumps(record)
    if e.raw == "not_json":
        line = line[: len(line) * 2 // 3]  # cut mid-record: still names the member
    return line + b"\n"


def _expected(events: list[_Event]) -> str:
    """What a correct reader decides at the cutoff from well-formed ``events``."""
    best: tuple[int, int] | None = None  # (instant, 0 for objection so that it wins a tie)
    for e in events:
        if e.us is None or e.us > _C * _US:
            continue
        key = (e.us, 1 if e.value else 0)
        if best is None or key[0] > best[0] or (key[0] == best[0] and key[1] < best[1]):
            best = key
    if best is None:
        return "default"
    return "allow" if best[1] == 1 else "object"
