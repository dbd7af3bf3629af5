"""Memorisation audits of models trained on snapshots.

- :mod:`~tamis.audit.canaries`: plant random secrets at repetition levels in an audit copy;
- :mod:`~tamis.audit.exposure`: exposure vs controls, Mann-Whitney, validity (sensitivity);
- :mod:`~tamis.audit.extraction`: greedy/beam completion, sampled generations vs the snapshot;
- :mod:`~tamis.audit.mia`: loss and zlib membership inference (AUC, TPR at 0.1% FPR);
- :mod:`~tamis.audit.models`: adapters (tamis reference GPT, local Hugging Face causal LMs);
- :mod:`~tamis.audit.reference`: the tiny byte-level GPT, optionally DP-SGD (Opacus) per member;
- :mod:`~tamis.audit.report`: HTML report with plots and a pass/fail verdict.

Everything that needs torch, transformers, scipy or matplotlib imports it on use (extra ``audit``).
"""

from __future__ import annotations

from tamis.audit.canaries import FORMATS, Canary, CanarySet, draw_canaries, plant

__all__ = ["FORMATS", "Canary", "CanarySet", "draw_canaries", "plant"]
