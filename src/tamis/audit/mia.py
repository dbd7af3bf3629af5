"""Membership inference on a held-out split: loss and zlib-ratio attacks (Carlini et al. 2021).

Members are records the model trained on, non-members records of the same snapshot held out of
training (``split.parquet`` of a reference model, or any given set). Scores: ``loss`` (lower
mean loss = member) and ``zlib`` (total NLL over zlib-compressed size). Reported: ROC AUC and the
true-positive rate at a 0.1% false-positive rate (Carlini et al. 2022's low-FPR criterion; with
fewer than 1,000 non-members it is the TPR at zero false positives, and says so).

Synthetic and templated data repeat verbatim: a held-out text may also be in the training set.
Figures are reported on all pairs and on ``unique`` non-members (no normalised copy in training).
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from tamis.audit.canaries import CANARY_PREFIX
from tamis.audit.models import LanguageModel
from tamis.dedup import normalise_text


def auc(member_scores: Sequence[float], nonmember_scores: Sequence[float]) -> float:
    """ROC AUC (higher score = member), ties counted half."""
    m = np.asarray(member_scores, dtype=float)
    n = np.asarray(nonmember_scores, dtype=float)
    if not len(m) or not len(n):
        return float("nan")
    allv = np.concatenate([m, n])
    order = allv.argsort(kind="mergesort")
    ranks = np.empty(len(allv))
    sorted_v = allv[order]
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and sorted_v[j + 1] == sorted_v[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[: len(m)].sum() - len(m) * (len(m) + 1) / 2
    return float(u / (len(m) * len(n)))


def roc(
    member_scores: Sequence[float], nonmember_scores: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """(FPR, TPR) at every threshold, from (0, 0) to (1, 1)."""
    m = np.asarray(member_scores, dtype=float)
    n = np.asarray(nonmember_scores, dtype=float)
    thresholds = np.unique(np.concatenate([m, n]))[::-1]
    fpr = [0.0] + [float(np.mean(n >= t)) for t in thresholds]
    tpr = [0.0] + [float(np.mean(m >= t)) for t in thresholds]
    return np.array(fpr), np.array(tpr)


def tpr_at_fpr(
    member_scores: Sequence[float], nonmember_scores: Sequence[float], max_fpr: float = 0.001
) -> float:
    """The highest TPR at an FPR not above ``max_fpr``."""
    fpr, tpr = roc(member_scores, nonmember_scores)
    ok = fpr <= max_fpr
    return float(tpr[ok].max()) if ok.any() else 0.0


def _attack(model: LanguageModel, members: list[str], nonmembers: list[str]) -> dict[str, Any]:
    texts = members + nonmembers
    losses = np.asarray(model.token_losses(texts))
    nbytes = np.array([len(t.encode("utf-8")) + 1 for t in texts])
    zbits = np.array([8 * len(zlib.compress(t.encode("utf-8"), 9)) for t in texts])
    scores = {"loss": -losses, "zlib": -(losses * nbytes / np.log(2)) / zbits}
    out: dict[str, Any] = {}
    k = len(members)
    for name, s in scores.items():
        fpr, tpr = roc(s[:k], s[k:])
        step = max(1, len(fpr) // 200)
        out[name] = {
            "auc": round(auc(s[:k], s[k:]), 4),
            "tpr_at_0.1%_fpr": round(tpr_at_fpr(s[:k], s[k:], 0.001), 4),
            "roc": {"fpr": fpr[::step].round(4).tolist(), "tpr": tpr[::step].round(4).tolist()},
        }
    return out


def membership_inference(
    model: LanguageModel,
    table: pa.Table,
    split: pa.Table,
    *,
    max_per_side: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Loss and zlib attacks: train-split records (members) vs held-out records (non-members)."""
    which = dict(
        zip(split.column("record_id").to_pylist(), split.column("split").to_pylist(), strict=True)
    )
    ids = table.column("record_id").to_pylist()
    texts = table.column("text").to_pylist()
    norm = normalise_text(table.column("text")).to_pylist()
    train_norm = {n for r, n in zip(ids, norm, strict=True) if which.get(r) == "train"}
    members, nonmembers, unique_non = [], [], []
    for r, t, n in zip(ids, texts, norm, strict=True):
        if not t or r.startswith(CANARY_PREFIX):
            continue
        if which.get(r) == "train":
            members.append(t)
        elif which.get(r) == "holdout":
            nonmembers.append(t)
            if n not in train_norm:
                unique_non.append(t)
    rng = random.Random(f"tamis.mia.{seed}")  # nosec B311  # seeded, not for secrets
    members = rng.sample(members, min(max_per_side, len(members)))
    nonmembers = rng.sample(nonmembers, min(max_per_side, len(nonmembers)))
    unique_non = rng.sample(unique_non, min(max_per_side, len(unique_non)))
    n_non = len(nonmembers)
    return {
        "kind": "mia",
        "members": len(members),
        "nonmembers": n_non,
        "unique_nonmembers": len(unique_non),
        "low_fpr_note": (
            "TPR at 0.1% FPR"
            if n_non >= 1000
            else f"only {n_non} non-members: TPR at 0.1% FPR is the TPR at zero false positives"
        ),
        "all": _attack(model, members, nonmembers),
        "unique": _attack(model, members, unique_non) if unique_non else None,
    }
