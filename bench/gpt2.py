"""GPT-2 plugin benchmarks: generation speed against HF ``generate``, and from-scratch quality at equal CPU time.

Run timed, one timing run at a time on the shared machine::

    TEXTGEN_CORPORA=../shared/corpora flock /tmp/textgen-bench.lock python bench/gpt2.py

* speed: the plugin's loop (the core's sampling layer over the cached decoder) against
  ``model.generate`` on the same random-weight model, same sampling (temperature 0.8,
  top-k 50, top-p 0.95), batch 1, 200 new tokens; median tokens/s over ``--runs``,
  runs alternating. Shapes: nanoGPT's baby (4x4x128), 6x384, and GPT-2 124M. The
  context is widened to 256 for the two small shapes so ``generate`` (which fails past
  the context length) can make 200 tokens.
* quality: ``baby`` at char level on Tiny Shakespeare for ``--train-seconds`` (83 s is
  nanoGPT's CPU time to reach validation loss 1.886 nats/char), then the held-out loss.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import torch
from textgen_gpt2 import GPT2Generator
from transformers import GPT2Config, GPT2LMHeadModel

import toolkit

SAMPLING = {"temperature": 0.8, "top_k": 50, "top_p": 0.95}
SHAPES = {  # name: (layers, heads, width, vocab, context)
    "baby 4x4x128": (4, 4, 128, 66, 256),
    "6x384": (6, 6, 384, 66, 256),
    "GPT-2 124M": (12, 12, 768, 50257, 1024),
}
NANOGPT_LOSS = 1.886


class ByteIds:
    """A stand-in vocabulary for random-weight models: ids in, printable text out (decode runs once)."""

    level = "bench"
    special_ids = ()

    def __init__(self, size: int) -> None:
        self.size, self.bos = size, 0

    def encode(self, text: str) -> list[int]:
        return [1 + ord(c) % (self.size - 1) for c in text]

    def decode(self, ids) -> str:
        return "".join(chr(33 + i % 90) for i in ids)

    def unknowns(self, text: str) -> list[str]:
        return []

    def unknown_nats(self, text: str) -> float:
        return 0.0


def speed(name: str, runs: int, tokens: int, device: torch.device) -> dict:
    layers, heads, width, vocab, context = SHAPES[name]
    torch.manual_seed(0)
    config = GPT2Config(n_layer=layers, n_head=heads, n_embd=width, n_positions=context, vocab_size=vocab,
                        bos_token_id=0, eos_token_id=None, pad_token_id=0)
    model = GPT2LMHeadModel(config).to(device).eval()
    gen = GPT2Generator(model, ByteIds(vocab))
    prompt = "ROMEO:"
    prompt_ids = torch.tensor([[0, *gen.encode(prompt)]], device=device)

    def ours(seed: int) -> float:
        completion = gen.complete(prompt, max_tokens=tokens, seed=seed, **SAMPLING)
        assert completion.num_tokens == tokens
        return completion.tokens_per_second

    def hf(seed: int) -> float:
        torch.manual_seed(seed)
        started = time.perf_counter()
        with torch.inference_mode():
            out = model.generate(prompt_ids, do_sample=True, max_new_tokens=tokens, **SAMPLING)  # no EOS: full length
        if device.type == "cuda":
            torch.cuda.synchronize()
        assert out.shape[1] - prompt_ids.shape[1] == tokens
        return tokens / (time.perf_counter() - started)

    ours(0), hf(0)  # warm-up
    mine, theirs = [], []
    for seed in range(1, runs + 1):
        mine.append(ours(seed))
        theirs.append(hf(seed))
    row = {"shape": name, "plugin_tok_s": statistics.median(mine), "generate_tok_s": statistics.median(theirs)}
    row["ratio"] = row["plugin_tok_s"] / row["generate_tok_s"]
    print(f"{name:<14} plugin {row['plugin_tok_s']:8.1f} tok/s   HF generate {row['generate_tok_s']:8.1f} tok/s   "
          f"ratio {row['ratio']:.2f}x   {torch.get_num_threads()} thread(s)   "
          f"(runs: plugin {[round(x) for x in mine]}, generate {[round(x) for x in theirs]})", flush=True)
    return row


def quality(seconds: float, device: str) -> dict:
    model = toolkit.train("gpt2", "tinyshakespeare", level="char", preset="baby", max_seconds=seconds,
                          device=device, progress=False)
    fit = model.training["fit"]
    nats = model.training["val_bpc"] * math.log(2)
    loop_nats = fit["best_val_bpc_estimate"] * math.log(2)
    print(f"baby char, {seconds:.0f} s budget: {fit['steps']} steps in {fit['seconds']:.1f} s "
          f"({fit['tokens_per_second']:.0f} train tok/s); held-out loss {nats:.4f} nats/char "
          f"({model.training['val_bpc']:.4f} bpc, whole val split, sliding window); loop's estimate "
          f"{loop_nats:.4f} nats/char; nanoGPT {NANOGPT_LOSS} -> {'MET' if nats <= NANOGPT_LOSS else 'MISSED'}",
          flush=True)
    return {"steps": fit["steps"], "val_nats_per_char": nats, "loop_val_nats_per_char": loop_nats}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (median)")
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma list of: " + ", ".join(SHAPES))
    parser.add_argument("--train-seconds", type=float, default=83.0, help="0 skips the training run")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("GPU: not measured: no GPU lent (torch sees no CUDA device)")
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.node()}; Python "
          f"{platform.python_version()}; torch {torch.__version__}; {torch.get_num_threads()} thread(s); "
          f"device {device}", flush=True)
    for name in [s.strip() for s in args.shapes.split(",") if s.strip()]:
        runs = args.runs if SHAPES[name][2] < 768 or device.type == "cuda" else max(3, args.runs // 2)
        speed(name, runs, args.tokens, device)
    if args.train_seconds > 0:
        quality(args.train_seconds, args.device)


if __name__ == "__main__":
    main()
