# ruff: noqa: RUF001, E501  (word lists and patterns are data; typographic characters intended)
"""Network and online identifiers: IPv4/IPv6 addresses, URLs and profile handles.

IPv6 candidates are checked with :mod:`ipaddress` (so times like ``12:30:45`` never match);
IPv4 needs four octets in range and no "version" cue before it. Every URL is reported (a link
can identify its author), with a higher score for profile URLs of social sites
(``linkedin.com/in/...``), and ``@handle`` mentions are reported as ``PROFILE_HANDLE``.
"""

from __future__ import annotations

import ipaddress
import re

from tamis.pii.base import Detector, anchored_matches, detectors
from tamis.pii.builtin._cues import negative_before
from tamis.pii.spans import HANDLE, IP, URL, Span

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4_PATTERN = rf"\d(?<![\w.]\d)\d{{0,2}}(?:\.{_OCTET}){{3}}(?![\w]|\.\d)"
IPV6_PATTERN = r"[0-9A-Fa-f:](?<![\w:.][0-9A-Fa-f:])[0-9A-Fa-f]{0,3}:(?:[0-9A-Fa-f]{0,4}:){1,6}(?:[0-9A-Fa-f]{1,4}|:)(?![\w:])"
# Literal anchors (a dot between digits, two colons around hex digits): the scan jumps to them
# in C, and the full pattern is tried only at the start of the token around them.
IPV4_ANCHOR = r"\.(?<=\d\.)(?=\d)"
IPV6_ANCHOR = r":(?=[0-9A-Fa-f]{0,4}:)"
_DIGITS = frozenset("0123456789")
_HEX_COLON = frozenset("0123456789abcdefABCDEF:")


class IpDetector:
    id = "ip.v1"
    types: tuple[str, ...] = (IP,)
    prefilter: str | None = r"\d\.\d+\.\d|[0-9A-Fa-f]*:[0-9A-Fa-f]*:"

    def __init__(self) -> None:
        self._v4 = re.compile(IPV4_PATTERN)
        self._v6 = re.compile(IPV6_PATTERN)
        self._v4_anchor = re.compile(IPV4_ANCHOR)
        self._v6_anchor = re.compile(IPV6_ANCHOR)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out = []
        for m in anchored_matches(self._v4, self._v4_anchor, text, _DIGITS, 3):
            if int(m.group().split(".", 1)[0]) > 255 or m.group()[0] == "0":
                continue
            if negative_before(text, m.start()):
                continue
            out.append(Span(m.start(), m.end(), IP, 0.85, self.id, "IPv4"))
        if ":" in text:
            for m in anchored_matches(self._v6, self._v6_anchor, text, _HEX_COLON, 45):
                value = m.group()
                if value.count(":") < 2 or sum(c.isalnum() for c in value) < 3:
                    continue
                try:
                    ipaddress.IPv6Address(value)
                except ValueError:
                    continue
                out.append(Span(m.start(), m.end(), IP, 0.85, self.id, "IPv6"))
        return out


_TLDS = (
    "com|org|net|fr|io|eu|de|uk|be|ch|ca|us|info|biz|co|me|app|dev|ai|es|it|nl|pt|pl|se|no|dk|"
    "fi|at|cz|lu|ie|au|jp|cn|in|br|ru|tv|ly|gg|gl|gov|edu"
)
# Anchors that start with a literal ("://", or a dot after "www" or before a common TLD), so
# the regex engine jumps between them in C; a repeat or a case-insensitive letter first would
# make it try every position.
_ANCHOR_RX = re.compile(rf"://|\.(?:(?<=[wW][wW][wW]\.)|(?=[A-Za-z])(?i:{_TLDS})(?![\w\-]))")
_URL_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&()*+,;=%"
)
_PATH_RX = re.compile(r"[^\s<>\"'\x00]*")
_SCHEME_RX = re.compile(r"(?i)(?:https?|ftp)://|www\.")
PROFILE_RX = re.compile(
    r"(?i)(?:linkedin\.com/(?:in|pub)/|(?:twitter|x)\.com/|facebook\.com/|fb\.com/|"
    r"instagram\.com/|github\.com/|gitlab\.com/|t\.me/|tiktok\.com/@|youtube\.com/@|"
    r"medium\.com/@|mastodon\.\w+/@|bsky\.app/profile/|malt\.fr/profile/)[\w.\-]"
)
_TRAILING = ".,;:!?)]}»\"'’"


class UrlDetector:
    """URLs with a scheme or ``www.``, and bare domains with a common TLD (``acme.fr/jobs``)."""

    id = "url.v1"
    types: tuple[str, ...] = (URL,)
    prefilter: str | None = r"(?i)://|www\.|\.[a-z]{2,4}\b"

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out: list[Span] = []
        last_end = -1
        for anchor in _ANCHOR_RX.finditer(text):
            if anchor.start() < last_end:
                continue
            # back to the start of the token (URLs hold no spaces)
            start = anchor.start()
            while start > 0 and text[start - 1] in _URL_CHARS:
                start -= 1
            while start < anchor.start() and text[start] in "([{<\"'":
                start += 1
            scheme = _SCHEME_RX.search(text, start, anchor.end())
            if scheme is not None:
                start = scheme.start()
            elif "@" in text[start : anchor.start()]:
                continue  # an e-mail address
            end = _PATH_RX.match(text, anchor.end()).end()  # type: ignore[union-attr]
            while end > start and text[end - 1] in _TRAILING:
                # keep a closing parenthesis that belongs to the URL
                if text[end - 1] == ")" and "(" in text[start : end - 1]:
                    break
                end -= 1
            if end <= start or end <= anchor.start() + 1:
                continue
            value = text[start:end]
            last_end = end
            if scheme is None:
                head = value.split("/", 1)[0]
                if "/" not in value and head.count(".") == 1 and value[0].isupper():
                    continue  # "Node.js"-like words, not domains
                if not head.replace(".", "").replace("-", "").isalnum():
                    continue
            if PROFILE_RX.search(value):
                out.append(Span(start, end, URL, 0.95, self.id, "profile URL"))
            else:
                score = 0.7 if scheme is not None else 0.55
                out.append(Span(start, end, URL, score, self.id, "URL"))
        return out


# The lookbehind sits after the "@" so the scan jumps from "@" to "@" in C.
HANDLE_PATTERN = (
    r"@(?<![\w@.\-/]@)(?P<h>[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,38}[A-Za-z0-9_])?)(?![\w@])"
)


class HandleDetector:
    """``@handle`` mentions (not e-mail addresses: nothing may stand right before the ``@``)."""

    id = "handle.v1"
    types: tuple[str, ...] = (HANDLE,)
    prefilter: str | None = r"@"

    def __init__(self) -> None:
        self._rx = re.compile(HANDLE_PATTERN)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        if "@" not in text:
            return []
        out = []
        for m in self._rx.finditer(text):
            if m.group("h").isdigit():
                continue
            out.append(Span(m.start(), m.end(), HANDLE, 0.85, self.id, "@handle"))
        return out


@detectors.register("ip.v1")
def ip_v1(**options: object) -> Detector:
    return IpDetector()


@detectors.register("url.v1")
def url_v1(**options: object) -> Detector:
    return UrlDetector()


@detectors.register("handle.v1")
def handle_v1(**options: object) -> Detector:
    return HandleDetector()
