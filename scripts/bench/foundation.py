"""Times neurotop's checkpoint and tokenizer readers beside the Hugging Face libraries.

Run through scripts/bench/foundation (which builds neurotop in release and sets up Python).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NEUROTOP = os.path.join(ROOT, ".build", "release", "neurotop")
TEXT = os.path.join(ROOT, "Tests", "Fixtures", "tokenizers", "text.txt")
TOKENIZERS = ["gpt2", "llama3", "qwen2", "spm"]


def half_gigabyte_checkpoint(folder):
    """A random Qwen2-0.5B-shaped model in BF16 (494M parameters, 0.99 GB; the engine benchmark uses it too)."""
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(0)
    config = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768,
                         tie_word_embeddings=True)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(folder)
    return folder


def time_command(args, runs=7):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    cache = os.environ.get("NEUROTOP_BENCH_CACHE", os.path.join(tempfile.gettempdir(), "neurotop-bench"))
    model = half_gigabyte_checkpoint(os.path.join(cache, "qwen2-0.5b-random-bf16"))
    size = sum(os.path.getsize(os.path.join(model, f)) for f in os.listdir(model))
    info = time_command([NEUROTOP, "info", model])
    info_json = time_command([NEUROTOP, "info", model, "--json"])
    print(f"checkpoint: {model} ({size / 1e9:.2f} GB)")
    print(f"neurotop info:        median {info * 1e3:7.1f} ms over 7 runs (process start to exit)")
    print(f"neurotop info --json: median {info_json * 1e3:7.1f} ms")

    import tokenizers
    with open(TEXT, "rb") as f:
        base = f.read().decode("utf-8")
    text = (base * (1_000_000 // len(base.encode("utf-8")) + 1))
    path = os.path.join(cache, "mixed-1mb.txt")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    nbytes = len(text.encode("utf-8"))
    print(f"\ntokenizer speed on {nbytes / 1e6:.2f} MB of mixed text (tokenizers {tokenizers.__version__}), single encode call, median of 5")
    print(f"{'tokenizer':<10} {'neurotop MB/s':>14} {'HF MB/s':>9} {'ratio':>6}  ids equal")
    for name in TOKENIZERS:
        folder = os.path.join(ROOT, "Tests", "Fixtures", "tokenizers", name)
        hf = tokenizers.Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        hf.encode(text[:1000])
        times = []
        for _ in range(5):
            start = time.perf_counter()
            reference = hf.encode(text).ids
            times.append(time.perf_counter() - start)
        hf_speed = nbytes / statistics.median(times) / 1e6
        run = subprocess.run([NEUROTOP, "tokenize", folder, "--file", path, "--json", "--timing"],
                             check=True, capture_output=True, text=True)
        ours = json.loads(run.stdout)["ids"]
        speed = float(run.stderr.strip().split(", ")[-1].split()[0])
        print(f"{name:<10} {speed:14.2f} {hf_speed:9.2f} {speed / hf_speed:6.2f}  {ours == reference}")


if __name__ == "__main__":
    sys.exit(main())
