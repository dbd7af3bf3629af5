"""Exposure (Carlini et al. 2019, "The Secret Sharer") of canaries in a trained model.

For each canary and control, the model's log-likelihood of the secret after its format's prefix is
compared with that of ``references`` secrets drawn from the same format:

- ``rank`` exposure: log2(N + 1) - log2(1 + #references at least as likely), bounded by
  log2(N + 1) (about 13.3 bits for 10,000 references);
- ``extrapolated`` exposure: a skew-normal distribution fitted to the references' negative
  log-likelihoods gives the share of the whole space more likely than the secret:
  -log2 P(X <= canary's), bounded by the format's bits. This is the figure used for tests.

Per repetition level, inserted canaries are compared with the never-inserted controls by a
one-sided Mann-Whitney U test (canaries more exposed than controls). The audit is **valid** only if
the highest level is detected above the controls (p < ``alpha``): a model that does not even
memorise 64 copies of a secret says nothing by showing that one copy was not memorised.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tamis.audit.canaries import FORMATS, CanarySet
from tamis.audit.models import LanguageModel
from tamis.errors import TamisError

ALPHA = 0.01


def _scipy_stats() -> Any:
    try:
        from scipy import stats
    except ImportError:  # pragma: no cover - depends on the environment
        raise TamisError("exposure needs scipy: pip install 'tamis[audit]'") from None
    return stats


def rank_exposure(ll: float, ref_ll: np.ndarray) -> float:
    """log2(N+1) - log2(1 + #references with log-likelihood >= ll)."""
    n = len(ref_ll)
    ahead = int(np.sum(ref_ll >= ll))
    return math.log2(n + 1) - math.log2(1 + ahead)


def fit_skewnorm(ref_nll: np.ndarray) -> tuple[float, float, float]:
    """Skew-normal (shape, loc, scale) fitted to references' negative log-likelihoods."""
    stats = _scipy_stats()
    a, loc, scale = stats.skewnorm.fit(ref_nll)
    return float(a), float(loc), float(scale)


def extrapolated_exposure(nll: float, params: tuple[float, float, float], bits: float) -> float:
    """-log2 P(reference NLL <= nll) under the fitted skew-normal, clipped to [0, bits]."""
    stats = _scipy_stats()
    a, loc, scale = params
    logcdf = float(stats.skewnorm.logcdf(nll, a, loc, scale))
    if not math.isfinite(logcdf):
        return bits
    return min(bits, max(0.0, -logcdf / math.log(2)))


def mann_whitney_greater(sample: list[float], controls: list[float]) -> float:
    """One-sided Mann-Whitney U p-value that ``sample`` is stochastically greater."""
    if not sample or not controls:
        return float("nan")
    stats = _scipy_stats()
    return float(stats.mannwhitneyu(sample, controls, alternative="greater").pvalue)


@dataclass
class ExposureResult:
    """Exposure per canary, summaries per level, the tests and the validity verdict."""

    references: int
    per_canary: list[dict[str, Any]]
    levels: list[dict[str, Any]]
    controls: dict[str, Any]
    valid: bool
    reason: str
    alpha: float = ALPHA
    formats: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "exposure",
            "references": self.references,
            "alpha": self.alpha,
            "valid": self.valid,
            "validity": self.reason,
            "levels": self.levels,
            "controls": self.controls,
            "formats": self.formats,
            "canaries": self.per_canary,
        }


def _summary(values: list[float]) -> dict[str, float]:
    arr = np.array(values) if values else np.array([float("nan")])
    return {
        "n": len(values),
        "mean": round(float(np.mean(arr)), 3),
        "median": round(float(np.median(arr)), 3),
        "max": round(float(np.max(arr)), 3),
    }


def draw_references(fmt: str, n: int, seed: int, exclude: frozenset[str]) -> list[str]:
    """``n`` random secrets of a format (never a canary's or control's)."""
    rng = random.Random(f"tamis.references.{fmt}.{seed}")  # nosec B311  # seeded, not for secrets
    draw = FORMATS[fmt].draw
    out: list[str] = []
    while len(out) < n:
        s = draw(rng)
        if s not in exclude:
            out.append(s)
    return out


def measure_exposure(
    model: LanguageModel,
    canaries: CanarySet,
    *,
    references: int = 10_000,
    seed: int = 0,
    alpha: float = ALPHA,
) -> ExposureResult:
    """Exposure of every canary and control, per level, with validity (see module docstring)."""
    if references < 100:
        raise TamisError("exposure: use at least 100 references")
    exclude = canaries.secrets()
    per: list[dict[str, Any]] = []
    formats: dict[str, Any] = {}
    for fmt in canaries.formats:
        prefix = FORMATS[fmt].prefix
        bits = FORMATS[fmt].bits
        refs = draw_references(fmt, references, seed, exclude)
        ref_ll = np.asarray(model.log_likelihood([prefix] * len(refs), refs))
        params = fit_skewnorm(-ref_ll)
        formats[fmt] = {
            "prefix": prefix,
            "bits": round(bits, 2),
            "reference_nll_mean": round(float(np.mean(-ref_ll)), 3),
            "skewnorm": [round(p, 4) for p in params],
        }
        group = [c for c in canaries.canaries if c.format == fmt]
        lls = np.asarray(model.log_likelihood([prefix] * len(group), [c.secret for c in group]))
        for c, ll in zip(group, lls, strict=True):
            per.append(
                {
                    "id": c.id,
                    "format": fmt,
                    "level": c.level,
                    "nll": round(float(-ll), 4),
                    "rank_exposure": round(rank_exposure(float(ll), ref_ll), 3),
                    "exposure": round(extrapolated_exposure(float(-ll), params, bits), 3),
                }
            )
    control_exp = [p["exposure"] for p in per if p["level"] == 0]
    control_rank = [p["rank_exposure"] for p in per if p["level"] == 0]
    controls = {"exposure": _summary(control_exp), "rank_exposure": _summary(control_rank)}
    levels: list[dict[str, Any]] = []
    for level in canaries.levels:
        exp = [p["exposure"] for p in per if p["level"] == level]
        rank = [p["rank_exposure"] for p in per if p["level"] == level]
        p_value = mann_whitney_greater(exp, control_exp)
        levels.append(
            {
                "level": level,
                "exposure": _summary(exp),
                "rank_exposure": _summary(rank),
                "mann_whitney_p": p_value,
                "detected": bool(p_value < alpha),
            }
        )
    top = max(levels, key=lambda x: x["level"]) if levels else None
    if top is None:
        valid, reason = False, "no inserted canaries"
    elif top["detected"]:
        valid = True
        reason = (
            f"valid: the {top['level']}-copy level is detected above controls "
            f"(Mann-Whitney p = {top['mann_whitney_p']:.2g} < {alpha})"
        )
    else:
        valid = False
        reason = (
            f"INVALID (no sensitivity): the {top['level']}-copy level is not detected above "
            f"controls (Mann-Whitney p = {top['mann_whitney_p']:.2g} >= {alpha}); this audit "
            "cannot show that lower levels are not memorised"
        )
    return ExposureResult(references, per, levels, controls, valid, reason, alpha, formats)
