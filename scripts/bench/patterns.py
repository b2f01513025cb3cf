"""Method 2 per sample: neurotop beside PyTorch doing the same work in one run.

Per sample: a forward, the backward of the largest last-position logit to every block's 2-D
weights, a = |w * grad| for all of them, a += into the domain's sums, per-block squared norms, and
per step the per-block cosines of the pairs METHODS.md compares (sample k of every two domains;
sample k against k + n/2 within a domain). PyTorch does it sample by sample, holding the domains'
sums and at most domains + 1 sample vectors in memory; neurotop runs a step's samples together and
reduces each sample's gradient panel by panel (its sums in a file-backed map). The token ids are
the same pseudo-random sequences on both sides. Run through scripts/bench/patterns.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import torch
from transformers import AutoModelForCausalLM

from engine import NEUROTOP, make_models

MASK = (1 << 64) - 1


def sequence(d, k, tokens, vocab):
    """Sample k of domain d: the generator of `neurotop bench patterns`."""
    state = (0x9E3779B97F4A7C15 + d * 1000 + k) & MASK
    ids = []
    for _ in range(tokens):
        state = (state * 6364136223846793005 + 1442695040888963407) & MASK
        ids.append((state >> 33) % vocab)
    return ids


def torch_per_sample(folder, tokens, domains, samples):
    model = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
    blocks = model.transformer.h
    weights = [[p for name, p in block.named_parameters() if p.dim() == 2] for block in blocks]
    chosen = {id(p) for block in weights for p in block}
    for p in model.parameters():
        p.requires_grad_(id(p) in chosen)
    sizes = [sum(p.numel() for p in block) for block in weights]
    total = sum(sizes)
    sums = torch.zeros(domains, total)
    cosines = {}

    def measure(d, k):
        ids = torch.tensor([sequence(d, k, tokens, model.config.vocab_size)])
        model.zero_grad(set_to_none=True)
        logits = model(ids).logits[0, -1]
        logits.max().backward()
        a = torch.cat([(p.detach() * p.grad).abs().flatten() for block in weights for p in block])
        sums[d] += a
        parts = torch.split(a, sizes)
        norms = [torch.dot(x.double(), x.double()).item() for x in parts]
        return parts, norms

    def record(pair, x, y):
        for block, (p, q) in enumerate(zip(x[0], y[0])):
            xx, yy = x[1][block], y[1][block]
            dot = torch.dot(p.double(), q.double()).item()
            cosines.setdefault((block, pair), []).append(dot / (xx * yy) ** 0.5 if xx > 0 and yy > 0 else 0.0)

    half = samples // 2
    step_times = []
    for step in range(half):
        start = time.perf_counter()
        current = [measure(d, step) for d in range(domains)]
        for a in range(domains):
            for b in range(a + 1, domains):
                record((a, b), current[a], current[b])
        for d in range(domains):
            partner = measure(d, step + half)
            record((d, d), current[d], partner)
            current[d] = partner
        for a in range(domains):
            for b in range(a + 1, domains):
                record((a, b), current[a], current[b])
        step_times.append((time.perf_counter() - start) * 1e3)
    timed = step_times[1:] if len(step_times) > 1 else step_times
    return statistics.median(timed) / (2 * domains)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--domains", type=int, default=5)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--cache", default=os.environ.get("NEUROTOP_BENCH_CACHE", os.path.join(tempfile.gettempdir(), "neurotop-bench")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.cache, exist_ok=True)
    folder = make_models(args.cache)["gpt2-small (124M, F32)"]
    ours = json.loads(subprocess.run([NEUROTOP, "bench", "patterns", folder, "--tokens", str(args.tokens), "--domains", str(args.domains),
                                      "--samples", str(args.samples), "--threads", str(args.threads), "--json"],
                                     check=True, capture_output=True, text=True).stdout)
    theirs = torch_per_sample(folder, args.tokens, args.domains, args.samples)
    print(f"gpt2-small (124M, F32), {args.domains} domains x {args.samples} samples of {args.tokens} tokens, {args.threads} threads")
    print(f"  per sample   neurotop {ours['per_sample_ms']:8.1f} ms   PyTorch {theirs:8.1f} ms   {theirs / ours['per_sample_ms']:.2f}x")
    print(f"  neurotop peak RssAnon {ours['peak_rss_anon_bytes'] / 2**30:.2f} GiB, peak RSS {ours['peak_rss_bytes'] / 2**30:.2f} GiB "
          f"(with the file-backed domain sums) for a {ours['file_bytes'] / 2**30:.2f} GiB checkpoint, "
          f"{ours['block_weights'] / 1e6:.1f}M block weights")


if __name__ == "__main__":
    main()
