"""Model adapters: what the audits need from a language model, for two kinds of model.

:class:`LanguageModel` is the seam: log-likelihood of continuations given prefixes (exposure),
per-text mean token loss (membership inference) and generation (extraction). Adapters:

- :class:`~tamis.audit.reference.ReferenceGPT`: the tiny byte-level GPT tamis trains itself
  (``tamis audit train-reference``); a directory with ``tamis-reference.json``;
- :class:`HFCausalLM`: any Hugging Face causal LM saved in a local directory (``transformers``,
  loaded with ``local_files_only``: nothing is ever downloaded).

:func:`load_model` picks the adapter from the directory's contents. torch and transformers are
imported only when a model is loaded (extra ``audit``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from tamis.errors import TamisError

Strategy = Literal["greedy", "beam", "sample"]
REFERENCE_CONFIG = "tamis-reference.json"


class LanguageModel(Protocol):
    """What the audits use. Log-probabilities are natural logs."""

    name: str

    def log_likelihood(self, prefixes: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        """Sum of log p(continuation tokens | prefix) per pair."""
        ...

    def token_losses(self, texts: Sequence[str]) -> np.ndarray:
        """Mean next-token loss (nats) of each whole text."""
        ...

    def generate(
        self,
        prefixes: Sequence[str],
        max_new: int,
        strategy: Strategy = "greedy",
        *,
        num_beams: int = 4,
        top_k: int = 40,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> list[str]:
        """A continuation (without the prefix) per prefix."""
        ...


def import_torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise TamisError(
            "model audits need torch: pip install 'tamis[audit]' (torch==2.13.0)"
        ) from None
    return torch


def load_model(path: Path, *, device: str = "cpu") -> LanguageModel:
    """A tamis reference model or a local Hugging Face causal LM, from its directory."""
    path = Path(path)
    if not path.is_dir():
        raise TamisError(f"model {path}: not a directory")
    if (path / REFERENCE_CONFIG).exists():
        from tamis.audit.reference import ReferenceGPT

        return ReferenceGPT.load(path, device=device)
    if (path / "config.json").exists():
        return HFCausalLM(path, device=device)
    raise TamisError(
        f"model {path}: neither a tamis reference model ({REFERENCE_CONFIG}) nor a Hugging Face "
        "model directory (config.json)"
    )


class HFCausalLM:
    """A Hugging Face causal LM from a local directory (never from the hub)."""

    def __init__(self, path: Path, *, device: str = "cpu", batch_size: int = 16) -> None:
        torch = import_torch()
        try:
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:  # pragma: no cover - depends on the environment
            raise TamisError(
                "Hugging Face models need transformers: pip install 'tamis[audit]'"
            ) from None
        self.name = str(path)
        self.torch = torch
        self.device = device
        self.batch_size = batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)  # nosec B615  # local files only
        model: Any = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)  # nosec B615  # local files only
        self.model = model.to(device)
        self.model.eval()
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.bos = [self.tokenizer.bos_token_id] if self.tokenizer.bos_token_id is not None else []

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _score(self, pairs: list[tuple[list[int], list[int]]]) -> tuple[np.ndarray, np.ndarray]:
        """Sum of log-probs and token counts of the second part of each (context, target)."""
        torch = self.torch
        sums, counts = [], []
        for lo in range(0, len(pairs), self.batch_size):
            chunk = pairs[lo : lo + self.batch_size]
            seqs = [ctx + tgt for ctx, tgt in chunk]
            width = max(len(s) for s in seqs)
            pad = self.tokenizer.pad_token_id
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for i, s in enumerate(seqs):
                ids[i, : len(s)] = torch.tensor(s)
                mask[i, : len(s)] = 1
            with torch.no_grad():
                logits = self.model(ids.to(self.device), attention_mask=mask.to(self.device)).logits
            logp = torch.log_softmax(logits.float(), dim=-1).cpu()
            for i, (ctx, tgt) in enumerate(chunk):
                pos = torch.arange(len(ctx) - 1, len(ctx) + len(tgt) - 1)
                tok = torch.tensor(tgt)
                sums.append(float(logp[i, pos, tok].sum()) if len(tgt) else 0.0)
                counts.append(len(tgt))
        return np.array(sums), np.array(counts)

    def log_likelihood(self, prefixes: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        pairs = [
            (self.bos + self._ids(p), self._ids(c))
            for p, c in zip(prefixes, continuations, strict=True)
        ]
        return self._score(pairs)[0]

    def token_losses(self, texts: Sequence[str]) -> np.ndarray:
        pairs = []
        for t in texts:
            ids = self.bos + self._ids(t)
            pairs.append((ids[:1], ids[1:]))
        sums, counts = self._score(pairs)
        losses: np.ndarray = -sums / np.maximum(counts, 1)
        return losses

    def generate(
        self,
        prefixes: Sequence[str],
        max_new: int,
        strategy: Strategy = "greedy",
        *,
        num_beams: int = 4,
        top_k: int = 40,
        temperature: float = 1.0,
        seed: int = 0,
    ) -> list[str]:
        torch = self.torch
        torch.manual_seed(seed)
        out = []
        for prefix in prefixes:
            ids = torch.tensor([self.bos + self._ids(prefix)], device=self.device)
            kwargs: dict[str, Any] = {
                "max_new_tokens": max_new,
                "pad_token_id": self.tokenizer.pad_token_id,
            }
            if strategy == "beam":
                kwargs.update(num_beams=num_beams, do_sample=False)
            elif strategy == "sample":
                kwargs.update(do_sample=True, top_k=top_k, temperature=temperature)
            else:
                kwargs.update(do_sample=False)
            with torch.no_grad():
                gen = self.model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
            text = self.tokenizer.decode(gen[0, ids.shape[1] :], skip_special_tokens=True)
            out.append(str(text))
        return out
