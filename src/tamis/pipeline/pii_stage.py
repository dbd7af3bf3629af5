"""``pii.redact.v1``: the PII engine as a pipeline stage over Arrow record batches.

Importing this module registers the stage in :data:`tamis.pipeline.stages.stages`::

    stage = stages.get("pii.redact.v1")(context, mode="fast", anonymizer="pseudonym",
                                        sensitive="drop", members="path/to/export")
    result = stage.process(batch)   # text rewritten, dropped="sensitive", counts per entity type

Options:

- ``mode``: ``contact`` (e-mail + phone), ``fast`` (all pattern detectors, member directory,
  heuristic names) or ``thorough`` (``fast`` + spaCy NER);
- ``anonymizer``: ``placeholder`` (``<EMAIL>``), ``pseudonym`` (``<PERSON_7f3a1c>``, keyed by the
  build's pseudonym key), ``mask`` or ``drop_record`` (rows with any entity are dropped, reason
  ``pii``); a versioned registry name (``pseudonym.v1``) works too;
- ``sensitive``: ``off`` or ``drop`` (rows about health, religion, politics, sexual orientation,
  trade-union membership or ethnic origin are dropped with reason ``sensitive``);
- ``members``: the member directory, as an Arrow table of the export's ``members`` table or the
  path of an export directory (``mode`` ``fast``/``thorough`` then find every member's name);
- ``threshold``: minimum span score (default 0.5).

Records of a category that is a direct identifier as a whole (a profile's identity-document
number, e-mail or phone: :data:`WHOLE_VALUE_TYPES`) are replaced whole, found or not: no
detector knows every country's identity-document format, and a malformed phone is still one.

The dependency goes one way: this module imports :mod:`tamis.pii`, never the reverse. The stage is
picklable (engines may ship it to worker processes): compiled parts are rebuilt lazily on the
other side. Rows without any candidate character are skipped with one vectorised regex over the
column before any Python runs on them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from tamis.errors import TamisError
from tamis.pii.anonymizers import DROP_REASON as PII_DROP_REASON
from tamis.pii.anonymizers import Anonymizer, anonymizers, apply
from tamis.pii.directory import MemberDirectory
from tamis.pii.engine import PiiEngine, mode_detectors
from tamis.pii.spans import EMAIL, PHONE, Span
from tamis.pipeline.stages import StageContext, StageResult, stages

SENSITIVE_REASON = "sensitive"
ANONYMIZER_ALIASES = {
    "placeholder": "placeholder.v1",
    "pseudonym": "pseudonym.v1",
    "mask": "mask.v1",
    "drop_record": "drop_record.v1",
    "drop": "drop_record.v1",
}
SENSITIVE_OPTIONS = ("off", "drop")
# Categories whose records are one identifier each (profile fields), and the type they are
# replaced as, whatever the detectors find in them.
WHOLE_VALUE_TYPES = {
    "user.government_id": "ID_DOCUMENT",
    "user.contact.email": EMAIL,
    "user.contact.phone_number": PHONE,
}
_WHOLE_VALUE_CATEGORIES = pa.array(sorted(WHOLE_VALUE_TYPES), pa.string())


@dataclass
class PiiRedactStage:
    """Detects PII in the ``text`` column, rewrites it and drops sensitive rows."""

    name: ClassVar[str] = "pii.redact.v1"

    context: StageContext
    mode: str = "contact"
    anonymizer: str = "placeholder"
    sensitive: str = "off"
    directory: MemberDirectory | None = None
    threshold: float = 0.5
    text_column: str = "text"
    _engine: PiiEngine | None = field(default=None, init=False, repr=False)
    _anon: Anonymizer | None = field(default=None, init=False, repr=False)
    _classifier: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        mode_detectors(self.mode)  # unknown mode: fail now, with the list
        name = ANONYMIZER_ALIASES.get(self.anonymizer, self.anonymizer)
        anonymizers.get(name)  # unknown anonymizer: fail now, with the list
        self.anonymizer = name
        if self.sensitive not in SENSITIVE_OPTIONS:
            raise TamisError(
                f"unknown sensitive option {self.sensitive!r} for {self.name}; "
                f"available: {', '.join(SENSITIVE_OPTIONS)}"
            )

    # Compiled parts are rebuilt in each process rather than pickled.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_engine"] = state["_anon"] = state["_classifier"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @property
    def engine(self) -> PiiEngine:
        if self._engine is None:
            self._engine = PiiEngine.for_mode(
                self.mode, directory=self.directory, threshold=self.threshold
            )
        return self._engine

    @property
    def anon(self) -> Anonymizer:
        if self._anon is None:
            self._anon = anonymizers.get(self.anonymizer)(key=self.context.key)
        return self._anon

    @property
    def classifier(self) -> Any:
        if self._classifier is None:
            from tamis.pii.sensitive import SensitiveClassifier

            self._classifier = SensitiveClassifier()
        return self._classifier

    def process(self, batch: pa.RecordBatch) -> StageResult:
        idx = batch.schema.get_field_index(self.text_column)
        if idx < 0:
            raise TamisError(f"{self.name}: the batch has no {self.text_column!r} column")
        column = batch.column(idx)
        n = batch.num_rows
        counts: Counter[str] = Counter()
        drops: list[str | None] = [None] * n

        if self.sensitive == "drop" and n:
            texts_all = column.to_pylist()
            for i, cats in enumerate(self.classifier.classify_many(texts_all)):
                if cats:
                    drops[i] = SENSITIVE_REASON
                    for cat in cats:
                        counts[f"sensitive.{cat}"] += 1

        engine = self.engine
        prefilter = engine.prefilter
        if prefilter is None:
            candidates = pc.is_valid(column)
        else:
            candidates = pc.fill_null(pc.match_substring_regex(column, prefilter), False)
        category_i = batch.schema.get_field_index("category")
        whole: list[str | None] | None = None
        if category_i >= 0:
            categories = batch.column(category_i)
            is_whole = pc.fill_null(pc.is_in(categories, value_set=_WHOLE_VALUE_CATEGORIES), False)
            if pc.any(is_whole).as_py():
                whole = pc.if_else(is_whole, categories, None).to_pylist()
                candidates = pc.or_(candidates, pc.and_(is_whole, pc.is_valid(column)))
        cand_idx = pc.indices_nonzero(candidates)
        new_column = column
        if len(cand_idx):
            texts = column.take(cand_idx).to_pylist()
            langs = None
            lang_i = batch.schema.get_field_index("lang")
            if lang_i >= 0:
                langs = batch.column(lang_i).take(cand_idx).to_pylist()
            results = engine.analyze_many(texts, langs)
            if whole is not None:
                for j, row in enumerate(cand_idx.to_pylist()):
                    category = whole[row]
                    if category is not None and texts[j]:
                        results[j] = [
                            Span(0, len(texts[j]), WHOLE_VALUE_TYPES[category], 1.0, "category.v1")
                        ]
            anon = self.anon
            replaced: list[str | None] = []
            changed = False
            for row, text, spans in zip(cand_idx.to_pylist(), texts, results, strict=True):
                if spans:
                    for s in spans:
                        counts[s.type] += 1
                    if anon.drops and drops[row] is None:
                        drops[row] = PII_DROP_REASON
                    replaced.append(apply(text, spans, anon))
                    changed = True
                else:
                    replaced.append(text)
            if changed:
                mask = pc.fill_null(candidates, False)
                new_column = pc.replace_with_mask(column, mask, pa.array(replaced, column.type))
        out = (
            batch.set_column(idx, batch.schema.field(idx), new_column)
            if new_column is not column
            else batch
        )
        dropped = pa.array(drops, pa.string()) if any(d is not None for d in drops) else None
        return StageResult(out, dropped, counts)


def load_directory(members: object) -> MemberDirectory | None:
    """A member directory from an Arrow table, an export directory path, or ``None``."""
    if members is None or isinstance(members, MemberDirectory):
        return members
    if isinstance(members, pa.Table | pa.RecordBatch):
        return MemberDirectory.from_arrow(members)
    if isinstance(members, str | Path):
        return MemberDirectory.from_export(Path(members))
    raise TamisError(
        f"pii.redact.v1: members must be an Arrow table or an export directory, "
        f"not {type(members).__name__}"
    )


@stages.register("pii.redact.v1")
def pii_redact_v1(context: StageContext, **options: object) -> PiiRedactStage:
    known = {"mode", "anonymizer", "sensitive", "members", "threshold", "text_column"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TamisError(
            f"pii.redact.v1: unknown option(s) {', '.join(unknown)}; "
            f"available: {', '.join(sorted(known))}"
        )
    members = options.get("members")
    if context.checking_only:  # the directory is read at build time; its name is checked now
        if members is not None and not (
            members == "export" or (isinstance(members, str) and Path(members).is_dir())
        ):
            raise TamisError(
                f"pii.redact.v1: members {members!r} is neither export nor an export folder"
            )
        members = None
    elif members == "export":  # the member directory of the export being built
        if context.export_dir is None:
            raise TamisError("pii.redact.v1: members: export, but this build has no export")
        members = context.export_dir
    directory = load_directory(members)
    return PiiRedactStage(
        context,
        mode=str(options.get("mode", "contact")),
        anonymizer=str(options.get("anonymizer", "placeholder")),
        sensitive=str(options.get("sensitive", "off")),
        directory=directory,
        threshold=float(options.get("threshold", 0.5)),  # type: ignore[arg-type]
        text_column=str(options.get("text_column", "text")),
    )
