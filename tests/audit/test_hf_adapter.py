"""The Hugging Face adapter on a tiny random GPT-2 and tokenizer built locally (no download)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tamis.audit.models import HFCausalLM, load_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("hf")
    bpe = ByteLevelBPETokenizer()
    corpus = ["my phone number is 06 12 34 56 78", "hello world, data team"] * 20
    bpe.train_from_iterator(corpus, vocab_size=300, special_tokens=["<|endoftext|>"])
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>"
    )
    tok.save_pretrained(out)
    config = GPT2Config(
        vocab_size=len(tok),
        n_positions=64,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(out)
    return out


def test_hf_adapter_scores_and_generates(model_dir: Path) -> None:
    model = load_model(model_dir)
    assert isinstance(model, HFCausalLM)
    ll = model.log_likelihood(["my phone number is "] * 2, ["06 12 34 56 78", "06 99"])
    assert ll.shape == (2,) and np.all(ll < 0) and ll[0] < ll[1]  # longer: less likely
    losses = model.token_losses(["hello world", "data team"])
    assert losses.shape == (2,) and np.all(losses > 0)
    for strategy in ("greedy", "beam", "sample"):
        (out,) = model.generate(["hello"], 5, strategy)  # type: ignore[arg-type]
        assert isinstance(out, str)
