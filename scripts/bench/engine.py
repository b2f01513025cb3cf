"""neurotop's engine beside PyTorch on the same work, in one run.

For each model: a forward over N tokens with full logits, and a forward plus the backward of the
largest last-position logit with respect to every block weight (embeddings frozen), median of
several runs, the same thread count for both. Run through scripts/bench/engine.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import torch
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, Qwen2Config, Qwen2ForCausalLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEUROTOP = os.path.join(ROOT, ".build", "release", "neurotop")


def make_models(cache):
    """Random-initialised checkpoints: GPT-2 small (124M, F32) and a Qwen2-0.5B-shaped model (F32 and BF16)."""
    models = {}
    gpt2 = os.path.join(cache, "gpt2-small-random")
    if not os.path.exists(os.path.join(gpt2, "model.safetensors")):
        torch.manual_seed(0)
        GPT2LMHeadModel(GPT2Config(bos_token_id=50256, eos_token_id=50256)).save_pretrained(gpt2)
    models["gpt2-small (124M, F32)"] = gpt2
    config = dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                  num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768, tie_word_embeddings=True)
    for dtype, name in [(torch.float32, "F32"), (torch.bfloat16, "BF16")]:
        folder = os.path.join(cache, f"qwen2-0.5b-random-{name.lower()}")
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            torch.manual_seed(0)
            Qwen2ForCausalLM(Qwen2Config(**config)).to(dtype).save_pretrained(folder)
        models[f"qwen2-0.5b-shaped (494M, {name})"] = folder
    return models


def median_ms(body, runs):
    body()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def torch_times(folder, tokens, runs):
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
    for name, parameter in model.named_parameters():
        # Embeddings (and a tied unembedding) frozen, as neurotop computes no gradient for them.
        frozen = any(part in name for part in ("wte", "wpe", "embed", "lm_head"))
        parameter.requires_grad_(not frozen)
    ids = torch.randint(0, model.config.vocab_size, (1, tokens), generator=torch.Generator().manual_seed(0))

    def forward():
        with torch.no_grad():
            model(ids).logits

    def forward_backward():
        model.zero_grad(set_to_none=True)
        logits = model(ids).logits[0, -1]
        logits.max().backward()

    return median_ms(forward, runs), median_ms(forward_backward, runs)


def neurotop_bench(folder, tokens, runs, threads, panels=False):
    result = subprocess.run([NEUROTOP, "bench", "engine", folder, "--tokens", str(tokens), "--runs", str(runs),
                             "--threads", str(threads), "--json"] + (["--panels"] if panels else []),
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--cache", default=os.environ.get("NEUROTOP_BENCH_CACHE", os.path.join(tempfile.gettempdir(), "neurotop-bench")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    models = make_models(args.cache)
    print(f"torch {torch.__version__}, {args.threads} threads, {args.tokens} tokens, median of {args.runs} runs\n")
    header = f"{'model':<32} {'pass':<17} {'PyTorch ms':>10} {'neurotop ms':>11} {'speed-up':>8} {'GFLOP/s':>8} {'of peak':>7}"
    print(header)
    print("-" * len(header))
    # A half-precision model runs twice: with its float32 copies kept (the default where they fit)
    # and widened a panel at a time before each GEMM (what a model too large for copies gets).
    runs = []
    for label, folder in models.items():
        runs.append((label, folder, False))
        if "BF16" in label:
            runs.append((label.replace("BF16", "BF16, panels"), folder, True))
    times = {}
    for label, folder, panels in runs:
        ours = neurotop_bench(folder, args.tokens, args.runs, args.threads, panels)
        if folder not in times:
            times[folder] = torch_times(folder, args.tokens, args.runs)
        forward, forward_backward = times[folder]
        peak = ours["sgemm_peak_gflops"]
        for name, theirs, mine, speed in [("forward", forward, ours["forward_ms"], ours["forward_gflops"]),
                                          ("forward+backward", forward_backward, ours["forward_backward_ms"], ours["forward_backward_gflops"])]:
            print(f"{label:<32} {name:<17} {theirs:10.1f} {mine:11.1f} {theirs / mine:7.2f}x {speed:8.1f} {100 * speed / peak:6.0f}%")
        copies = ours.get("widened_copy_bytes", 0)
        bound = ours["baseline_rss_bytes"] + ours["file_bytes"] + ours["activation_bytes"] + ours["largest_block_f32_bytes"] + copies
        print(f"{'':<32} neurotop peak RSS {ours['peak_rss_bytes'] / 2**20:.0f} MiB; bound {bound / 2**20:.0f} MiB "
              f"(process at start {ours['baseline_rss_bytes'] / 2**20:.0f} + file {ours['file_bytes'] / 2**20:.0f} "
              f"+ activations {ours['activation_bytes'] / 2**20:.0f} + one F32 block {ours['largest_block_f32_bytes'] / 2**20:.0f}"
              f"{f' + float32 copies {copies / 2**20:.0f}, file-backed' if copies else ''}); "
              f"sgemm peak {peak:.0f} GFLOP/s")


if __name__ == "__main__":
    main()
