"""Pass 2: content records, in chronological order, one batch at a time.

Batch ``b`` covers its own slice of the period and has its own RNG stream, so it can be made in
any process. ``reply_to`` points to an earlier record of the same batch (comments answer recent
posts; feedback answers the author's latest AI prompt); reposts copy a recent public post.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tamis.sources.schema import CONTENT
from tamis.synth._io import OFFSET_BY_PERCENT, Payload, Row, encode, encode_records
from tamis.synth._members import MEMBER_ID, MemberIndex
from tamis.synth._templates import REPOST_PREFIXES, REPOST_SUFFIXES
from tamis.synth._texts import TextMaker, Truth

_US = 1_000_000
# Content kinds and their shares (%).
KINDS = ("post", "article", "comment", "message", "search_query", "ai_prompt", "ai_feedback")
_KIND_SHARES = (25, 4, 25, 20, 12, 8, 6)
_KIND_BY_PERCENT = tuple(
    kind for kind, share in zip(KINDS, _KIND_SHARES, strict=True) for _ in range(share)
)
_SENSITIVE_SHARE = 0.03
_REPOST_SHARE = 0.05
_OTHER_LANGS = frozenset({"de", "es", "it", "nl", "pt"})
_SENSITIVE_KINDS = frozenset({"post", "comment", "message", "ai_prompt"})
_REGIONAL_TAGS = {
    "fr_CA": "fr-CA",
    "fr_BE": "fr-BE",
    "en_GB": "en-GB",
    "en_IE": "en-IE",
    "pt_BR": "pt-BR",
}


@dataclass(frozen=True)
class ContentParams:
    seed: int
    fmt: str
    total: int
    batch: int
    start_s: int
    end_s: int


@dataclass
class ContentBatch:
    content: Payload
    rows: int
    by_kind: Counter[str]
    mentions: bytes
    mention_rows: int
    duplicates: bytes
    duplicate_rows: int
    sensitive: bytes
    sensitive_rows: int


def _lang_mix(lang: str) -> tuple[str, ...]:
    """Which language a member whose locale speaks ``lang`` writes in: 100 entries, one per
    percent, so that ``mix[int(random() * 100)]`` draws it."""
    if lang == "fr":
        shares = {"fr": 85, "en": 15}
    elif lang == "en":
        shares = {"en": 97, "fr": 3}
    elif lang in _OTHER_LANGS:
        shares = {lang: 35, "en": 55, "fr": 10}
    else:
        shares = {"en": 90, "fr": 10}
    return tuple(choice for choice, share in shares.items() for _ in range(share))


class ContentMaker:
    """Makes content batch ``b``: records ``b*batch`` .. ``(b+1)*batch - 1``."""

    def __init__(self, params: ContentParams, index: MemberIndex) -> None:
        self.p = params
        self.index = index
        self.texts = TextMaker(index)
        self._mixes = [_lang_mix(pool.lang) for pool in index.pools]
        self._regional = [_REGIONAL_TAGS.get(pool.key) for pool in index.pools]

    def __call__(self, b: int) -> ContentBatch:
        p = self.p
        rng = random.Random(f"tamis.synth:{p.seed}:content:{b}")  # nosec B311  # seeded, not for secrets
        r = rng.random
        texts = self.texts
        texts.seed(rng)
        fill, pick = texts.fill, texts.pick
        index = self.index
        n_members = len(index)
        alias_prob, alias = index.alias_prob, index.alias
        created, locale_of = index.created, index.locale
        mixes, regional_tags = self._mixes, self._regional

        first = b * p.batch
        n = min(p.batch, p.total - first)
        start_us = p.start_s * _US
        span_us = (p.end_s - p.start_s) * _US
        lo = start_us + span_us * first // p.total
        width = max(1, start_us + span_us * (first + n) // p.total - lo)
        times = sorted([lo + int(r() * width) for _ in range(n)])

        threads: deque[tuple[str, str]] = deque(maxlen=2048)  # what comments answer
        repostable: deque[tuple[str, str, Truth, str]] = deque(maxlen=512)
        messages: deque[str] = deque(maxlen=512)
        last_prompt: dict[int, str] = {}
        rows: list[Row] = []
        found: list[dict[str, Any]] = []
        dups: list[dict[str, Any]] = []
        topics: list[dict[str, Any]] = []
        by_kind: Counter[str] = Counter()
        for seq, t in enumerate(times, start=first):
            u = r()
            if u < 0.75:  # most instants in whole seconds, some in ms, a few in us
                t -= t % _US
            elif u < 0.95:
                t -= t % 1000
            seconds = t // _US
            for _ in range(5):  # draw by activity; the author's account must exist
                a = int(r() * n_members)
                if r() >= alias_prob[a]:
                    a = alias[a]
                if created[a] <= seconds:
                    break
            kind = _KIND_BY_PERCENT[int(r() * 100.0)]
            lang = mixes[locale_of[a]][int(r() * 100.0)]
            rid = f"rec_{seq:010d}"
            reply_to: str | None = None
            visibility = "private"
            if kind == "comment":
                if threads:
                    reply_to, visibility = threads[int(r() * len(threads))]
                else:
                    kind = "post"
            elif kind == "ai_feedback":
                reply_to = last_prompt.get(a)
                if reply_to is None:
                    kind = "ai_prompt"
            if lang in _OTHER_LANGS and kind not in ("post", "comment", "message"):
                lang = "en"
            truth: Truth = []
            topic = None
            if kind == "post" and repostable and r() < _REPOST_SHARE:
                source_id, text, source_truth, lang = repostable[int(r() * len(repostable))]
                text, truth, how = _repost(r, text, source_truth)
                dups.append({"record_id": rid, "duplicate_of": source_id, "kind": how})
            else:
                parts: list[str] = []
                if lang in _OTHER_LANGS:  # only posts, comments and messages get here
                    fill(pick(lang, kind), a, lang, parts, truth, 0)
                elif kind == "article":
                    pos = fill(pick(lang, "article"), a, lang, parts, truth, 0)
                    paragraphs = texts.templates[(lang, "paragraph")]
                    for j in rng.sample(range(len(paragraphs)), 3 + int(r() * 3)):
                        parts.append("\n\n")
                        pos = fill(paragraphs[j], a, lang, parts, truth, pos + 2)
                elif kind in _SENSITIVE_KINDS and r() < _SENSITIVE_SHARE:
                    template = pick(lang, "sensitive")
                    topic = template.topic
                    fill(template, a, lang, parts, truth, 0)
                else:
                    fill(pick(lang, kind), a, lang, parts, truth, 0)
                text = "".join(parts)
            if kind == "post":
                u = r()
                visibility = "public" if u < 0.7 else "connections" if u < 0.95 else "private"
            elif kind == "article":
                visibility = "public" if r() < 0.9 else "connections"
            elif kind == "message" and messages and r() < 0.3:
                reply_to = messages[int(r() * len(messages))]
            tag: str | None = lang
            u = r()
            if u < 0.03 or (kind == "search_query" and u < 0.4):
                tag = None  # language detection failed or was not run
            elif u < 0.4:
                regional = regional_tags[locale_of[a]]
                if regional is not None and regional.startswith(lang):
                    tag = regional
            mid = MEMBER_ID % a
            offset = OFFSET_BY_PERCENT[int(r() * 100.0)]
            rows.append((rid, mid, kind, t, text, visibility, tag, reply_to, offset))
            by_kind[kind] += 1
            if truth:
                found.append({"record_id": rid, "member_id": mid, "kind": kind, "mentions": truth})
            if topic is not None:
                topics.append({"record_id": rid, "topics": [topic], "lang": lang})
            if kind in ("post", "article", "comment"):
                if visibility != "private":
                    threads.append((rid, visibility))
                if kind == "post" and visibility == "public" and topic is None:
                    repostable.append((rid, text, truth, lang))
            elif kind == "message":
                messages.append(rid)
            elif kind == "ai_prompt":
                last_prompt[a] = rid
        return ContentBatch(
            content=encode(CONTENT, rows, p.fmt),
            rows=len(rows),
            by_kind=by_kind,
            mentions=encode_records(found),
            mention_rows=len(found),
            duplicates=encode_records(dups),
            duplicate_rows=len(dups),
            sensitive=encode_records(topics),
            sensitive_rows=len(topics),
        )


def _repost(r: Callable[[], float], text: str, truth: Truth) -> tuple[str, Truth, str]:
    """An exact copy (60%) or a near copy with a prefix or suffix; spans shifted to match."""
    u = r()
    if u < 0.6:
        return text, [dict(span) for span in truth], "exact"
    if u < 0.8:
        prefix = REPOST_PREFIXES[int(r() * len(REPOST_PREFIXES))]
        shift = len(prefix)
        moved = [
            {**span, "start": span["start"] + shift, "end": span["end"] + shift} for span in truth
        ]
        return prefix + text, moved, "near"
    suffix = REPOST_SUFFIXES[int(r() * len(REPOST_SUFFIXES))]
    return text + suffix, [dict(span) for span in truth], "near"
