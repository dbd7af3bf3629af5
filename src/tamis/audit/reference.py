"""A tiny byte-level GPT that tamis trains on a snapshot on CPU: the audits' reference model.

Small enough (~250k parameters) to train in well under a minute on two cores, big enough to
memorise what it sees often: exactly what the canary audit needs to show (exposure rising with
repetition, falling with deduplication). Bytes are the tokens (256 + BOS + EOS), one record is one
sequence. A deterministic, seeded share of the records (never canaries) is held out for the
membership-inference audit; the split is saved beside the weights (``split.parquet``).

Differential privacy (``dp_epsilon``) uses Opacus DP-SGD (per-example clipping, Gaussian noise,
RDP accountant) and accounts **per member**: each member contributes at most
``dp_max_records_per_member`` records (the first ones in snapshot order; the rest are not trained
on), and the per-record budget is derived by group privacy, so a member with k <= K records is
(epsilon, delta)-DP: a record-level (e/K, d')-DP mechanism is (e, K*exp(e*(K-1)/K)*d')-DP for a
group of K records, and ``d'`` is chosen to make that ``delta``.
"""

from __future__ import annotations

import hashlib
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from tamis.audit.canaries import CANARY_PREFIX, read_snapshot_table
from tamis.audit.models import REFERENCE_CONFIG, Strategy, import_torch
from tamis.errors import TamisError

BOS, EOS, VOCAB = 256, 257, 258


@dataclass(frozen=True)
class ReferenceConfig:
    """Architecture and training settings of the reference model."""

    d_model: int = 64
    n_layer: int = 2
    n_head: int = 4
    ctx: int = 80
    epochs: float = 3.0
    batch_size: int = 64
    lr: float = 3e-3
    holdout: float = 0.1
    seed: int = 0
    threads: int = 0  # 0: torch's default
    dp_epsilon: float | None = None
    dp_delta: float = 1e-5
    dp_max_grad_norm: float = 1.0
    dp_max_records_per_member: int = 8


def encode(text: str, ctx: int) -> list[int]:
    """BOS + UTF-8 bytes + EOS, cut to ``ctx + 1`` tokens."""
    return ([BOS, *text.encode("utf-8"), EOS])[: ctx + 1]


def decode(ids: Sequence[int]) -> str:
    out = bytearray()
    for i in ids:
        if i == EOS:
            break
        if i < 256:
            out.append(i)
    return out.decode("utf-8", errors="replace")


def _build_module(cfg: ReferenceConfig) -> Any:
    torch = import_torch()
    nn = torch.nn
    functional = torch.nn.functional

    class Block(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            d = cfg.d_model
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.fc = nn.Linear(d, 4 * d)
            self.out = nn.Linear(4 * d, d)

        def forward(self, x: Any) -> Any:
            b, t, d = x.shape
            h = cfg.n_head
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
            y = functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            return x + self.out(functional.gelu(self.fc(self.ln2(x))))

    class TinyGPT(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.tok = nn.Embedding(VOCAB, cfg.d_model)
            self.pos = nn.Embedding(cfg.ctx, cfg.d_model)
            self.blocks = nn.ModuleList([Block() for _ in range(cfg.n_layer)])
            self.ln = nn.LayerNorm(cfg.d_model)
            self.head = nn.Linear(cfg.d_model, VOCAB, bias=False)

        def forward(self, idx: Any) -> Any:
            b, t = idx.shape
            pos = torch.arange(t, device=idx.device).unsqueeze(0).expand(b, t)
            x = self.tok(idx) + self.pos(pos)
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    return TinyGPT()


def _held_out(record_id: str, seed: int, share: float) -> bool:
    if record_id.startswith(CANARY_PREFIX) or share <= 0:
        return False
    h = hashlib.sha256(f"tamis.holdout.{seed}\x00{record_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < share


def _tensors(seqs: list[list[int]], ctx: int) -> tuple[Any, Any]:
    torch = import_torch()
    x = torch.full((len(seqs), ctx), EOS, dtype=torch.long)
    y = torch.full((len(seqs), ctx), -100, dtype=torch.long)
    for i, s in enumerate(seqs):
        n = len(s) - 1
        x[i, :n] = torch.tensor(s[:-1])
        y[i, :n] = torch.tensor(s[1:])
    return x, y


def dp_record_budget(epsilon: float, delta: float, k: int) -> tuple[float, float]:
    """The per-record (epsilon, delta) that makes any group of ``k`` records (epsilon, delta)-DP."""
    eps_r = epsilon / k
    delta_r = delta / (k * math.exp(eps_r * (k - 1)))
    return eps_r, delta_r


def train_reference(
    snapshot: Path, out: Path, cfg: ReferenceConfig | None = None, *, force: bool = False
) -> dict[str, Any]:
    """Train the reference model on a snapshot (or audit copy) and save it to ``out``."""
    cfg = cfg or ReferenceConfig()
    torch = import_torch()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not force:
        raise TamisError(f"{out} exists and is not empty; use --force to replace the model")
    table = read_snapshot_table(Path(snapshot))
    ids = table.column("record_id").to_pylist()
    texts = table.column("text").to_pylist()
    members = table.column("member_ref").to_pylist()
    split = ["holdout" if _held_out(r, cfg.seed, cfg.holdout) else "train" for r in ids]
    train_idx = [i for i, s in enumerate(split) if s == "train"]
    capped = 0
    if cfg.dp_epsilon is not None:
        per_member: dict[str, int] = {}
        kept = []
        for i in train_idx:
            n = per_member.get(members[i], 0)
            if n < cfg.dp_max_records_per_member:
                kept.append(i)
            else:
                split[i] = "capped"
                capped += 1
            per_member[members[i]] = n + 1
        train_idx = kept
    if not train_idx:
        raise TamisError("no records to train on")

    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    x, y = _tensors([encode(texts[i] or "", cfg.ctx) for i in train_idx], cfg.ctx)
    dataset = torch.utils.data.TensorDataset(x, y)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=cfg.batch_size, shuffle=True, generator=gen, drop_last=False
    )
    model = _build_module(cfg)
    params = sum(p.numel() for p in model.parameters())
    epochs = max(1, math.ceil(cfg.epochs))
    total_steps = max(1, int(cfg.epochs * len(loader)))
    dp: dict[str, Any] | None = None
    engine = None
    if cfg.dp_epsilon is None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=0.0)
    else:
        try:
            from opacus import PrivacyEngine
        except ImportError:  # pragma: no cover - depends on the environment
            raise TamisError("DP training needs opacus: pip install 'tamis[audit]'") from None
        eps_r, delta_r = dp_record_budget(
            cfg.dp_epsilon, cfg.dp_delta, cfg.dp_max_records_per_member
        )
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "secure RNG turned off": fine for an audit model
            engine = PrivacyEngine(accountant="rdp", secure_mode=False)
            model, optimizer, loader = engine.make_private_with_epsilon(
                module=model,
                optimizer=optimizer,
                data_loader=loader,
                target_epsilon=eps_r,
                target_delta=delta_r,
                epochs=epochs,
                max_grad_norm=cfg.dp_max_grad_norm,
            )
        dp = {
            "member_epsilon": cfg.dp_epsilon,
            "member_delta": cfg.dp_delta,
            "max_records_per_member": cfg.dp_max_records_per_member,
            "record_epsilon_target": eps_r,
            "record_delta": delta_r,
            "noise_multiplier": float(optimizer.noise_multiplier),
            "max_grad_norm": cfg.dp_max_grad_norm,
            "records_capped": capped,
            "accounting": "RDP (Opacus), group privacy over K records per member",
        }
        total_steps = epochs * len(loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / 20) * max(0.1, 1 - s / total_steps)
    )
    loss_fn = torch.nn.functional.cross_entropy
    started = time.perf_counter()
    step, last = 0, float("nan")
    model.train()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus' hook and accountant warnings
        for _ in range(epochs):
            for xb, yb in loader:
                if step >= total_steps:
                    break
                if len(xb) == 0:
                    continue
                width = int((yb != -100).sum(dim=1).max())  # trim the batch's padding
                xb, yb = xb[:, : max(1, width)], yb[:, : max(1, width)]
                optimizer.zero_grad(set_to_none=True)
                logits = model(xb)
                loss = loss_fn(logits.reshape(-1, VOCAB), yb.reshape(-1), ignore_index=-100)
                loss.backward()
                optimizer.step()
                scheduler.step()
                last = float(loss)
                step += 1
    seconds = time.perf_counter() - started
    if engine is not None and dp is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eps_spent = float(engine.get_epsilon(dp["record_delta"]))
        k = cfg.dp_max_records_per_member
        dp["record_epsilon_spent"] = eps_spent
        dp["member_epsilon_spent"] = eps_spent * k
        dp["member_delta_spent"] = k * math.exp(eps_spent * (k - 1)) * dp["record_delta"]
        model = model._module
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / "model.pt")
    pq.write_table(
        pa.table({"record_id": pa.array(ids, pa.string()), "split": pa.array(split, pa.string())}),
        out / "split.parquet",
    )
    summary: dict[str, Any] = {
        "format": "tamis.reference-model.v1",
        "config": asdict(cfg),
        "parameters": params,
        "records_trained": len(train_idx),
        "records_held_out": split.count("holdout"),
        "steps": step,
        "final_loss": round(last, 4),
        "seconds": round(seconds, 2),
        "snapshot": str(snapshot),
        "dp": dp,
    }
    (out / REFERENCE_CONFIG).write_bytes(
        orjson.dumps(summary, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    )
    return summary


class ReferenceGPT:
    """The :class:`~tamis.audit.models.LanguageModel` adapter of a trained reference model."""

    def __init__(self, module: Any, cfg: ReferenceConfig, name: str, batch_size: int = 256):
        self.torch = import_torch()
        self.module = module.eval()
        self.cfg = cfg
        self.name = name
        self.batch_size = batch_size

    @classmethod
    def load(cls, path: Path, *, device: str = "cpu") -> ReferenceGPT:
        torch = import_torch()
        info = orjson.loads((Path(path) / REFERENCE_CONFIG).read_bytes())
        cfg = ReferenceConfig(**info["config"])
        module = _build_module(cfg)
        module.load_state_dict(torch.load(Path(path) / "model.pt", map_location=device))
        return cls(module, cfg, str(path))

    def _logp(self, seqs: list[list[int]]) -> Any:
        torch = self.torch
        x, _ = _tensors([[*s, EOS] for s in seqs], self.cfg.ctx)
        x = x[:, : max(1, min(self.cfg.ctx, max(len(s) for s in seqs)))]
        with torch.no_grad():
            return torch.log_softmax(self.module(x), dim=-1)

    def _sum_targets(
        self, pairs: list[tuple[list[int], list[int]]]
    ) -> tuple[np.ndarray, np.ndarray]:
        torch = self.torch
        sums = np.zeros(len(pairs))
        counts = np.zeros(len(pairs))
        for lo in range(0, len(pairs), self.batch_size):
            chunk = pairs[lo : lo + self.batch_size]
            seqs = [(ctx + tgt)[: self.cfg.ctx] for ctx, tgt in chunk]
            logp = self._logp(seqs)
            for j, (ctx, tgt) in enumerate(chunk):
                end = min(len(ctx) + len(tgt), self.cfg.ctx)
                pos = torch.arange(len(ctx) - 1, end - 1)
                if len(pos):
                    tok = torch.tensor((ctx + tgt)[len(ctx) : end])
                    sums[lo + j] = float(logp[j, pos, tok].sum())
                counts[lo + j] = len(pos)
        return sums, counts

    def log_likelihood(self, prefixes: Sequence[str], continuations: Sequence[str]) -> np.ndarray:
        pairs = [
            ([BOS, *p.encode("utf-8")], list(c.encode("utf-8")))
            for p, c in zip(prefixes, continuations, strict=True)
        ]
        return self._sum_targets(pairs)[0]

    def token_losses(self, texts: Sequence[str]) -> np.ndarray:
        pairs = []
        for t in texts:
            ids = encode(t, self.cfg.ctx)
            pairs.append((ids[:1], ids[1:]))
        sums, counts = self._sum_targets(pairs)
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
        if strategy == "beam":
            return [self._beam(p, max_new, num_beams) for p in prefixes]
        torch = self.torch
        gen = torch.Generator().manual_seed(seed)
        starts = [[BOS, *p.encode("utf-8")] for p in prefixes]
        seqs = [list(s) for s in starts]
        done = [False] * len(seqs)
        for _ in range(max_new):
            active = [i for i, d in enumerate(done) if not d and len(seqs[i]) < self.cfg.ctx]
            if not active:
                break
            logp = self._logp([seqs[i] for i in active])
            for row, i in enumerate(active):
                last = logp[row, len(seqs[i]) - 1]
                if strategy == "sample":
                    logits = last / max(temperature, 1e-6)
                    vals, idx = torch.topk(logits, min(top_k, VOCAB))
                    probs = torch.softmax(vals, dim=-1)
                    nxt = int(idx[torch.multinomial(probs, 1, generator=gen)])
                else:
                    nxt = int(torch.argmax(last))
                seqs[i].append(nxt)
                if nxt == EOS:
                    done[i] = True
        return [decode(s[len(st) :]) for s, st in zip(seqs, starts, strict=True)]

    def _beam(self, prefix: str, max_new: int, width: int) -> str:
        torch = self.torch
        start = [BOS, *prefix.encode("utf-8")]
        beams: list[tuple[float, list[int]]] = [(0.0, start)]
        finished: list[tuple[float, list[int]]] = []
        for _ in range(max_new):
            live = [(s, b) for s, b in beams if len(b) < self.cfg.ctx]
            if not live:
                break
            logp = self._logp([b for _, b in live])
            cands: list[tuple[float, list[int]]] = []
            for row, (score, b) in enumerate(live):
                vals, idx = torch.topk(logp[row, len(b) - 1], width)
                for v, t in zip(vals.tolist(), idx.tolist(), strict=True):
                    cands.append((score + v, [*b, t]))
            cands.sort(key=lambda c: -c[0])
            beams = []
            for score, b in cands:
                (finished if b[-1] == EOS else beams).append((score, b))
                if len(beams) >= width:
                    break
            if not beams:
                break
        best = max(finished + beams, key=lambda c: c[0])
        return decode(best[1][len(start) :])
