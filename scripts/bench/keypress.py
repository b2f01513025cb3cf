"""Key press -> estimated accuracy on screen: neurotop on MODEL in tmux, the engine computing its
analysis beside. On the Neurons page, PRESSES times: move the cursor a random number of neurons,
press Space (ablate), poll the status bar (tmux capture-pane) until it shows the estimate mark,
press Space again (restore). Prints each press and the median, p95 and max."""
import random, statistics, subprocess, sys, time

session, presses = sys.argv[1], int(sys.argv[2])


def status():
    lines = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True).stdout.rstrip("\n").split("\n")
    return lines[-2] if len(lines) >= 2 else ""


def keys(*names):
    subprocess.run(["tmux", "send-keys", "-t", session, *names], check=True)


def wait(condition, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


keys("2")
time.sleep(1)
# The estimate comes after the unmasked evaluation, the pooled coefficients and the attributions
# (about 2 minutes on SmolLM2-135M with the world-v1 probes): until then a toggle is evaluated exactly.
print("waiting for the ablation estimate…", file=sys.stderr, flush=True)
deadline = time.perf_counter() + 1800
while True:
    keys("Space")
    ready = wait(lambda: "≈" in status(), 2)
    keys("Space")
    wait(lambda: "ablated" not in status(), 60)
    if ready:
        break
    if time.perf_counter() > deadline:
        sys.exit("keypress: no estimate after 30 minutes")
    time.sleep(5)

random.seed(1)
times = []
for press in range(presses):
    for _ in range(random.randint(1, 12)):
        keys("Right")
    if random.random() < 0.5:
        keys("Down")
    time.sleep(0.3)
    start = time.perf_counter()
    keys("Space")
    shown = wait(lambda: "≈" in status() or "→" in status(), 30)
    elapsed = (time.perf_counter() - start) * 1000
    times.append(elapsed)
    print(f"{press + 1:4d} {elapsed:8.1f} ms  {status().strip()[-60:] if shown else 'nothing shown in 30 s'}", flush=True)
    keys("Space")
    wait(lambda: "ablated" not in status(), 60)

times.sort()
start = time.perf_counter()
for _ in range(20):
    status()
poll = (time.perf_counter() - start) / 20 * 1000
print(f"key press -> estimate on screen, {len(times)} presses: median {statistics.median(times):.1f} ms, "
      f"p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, max {times[-1]:.1f} ms (one poll of the screen: {poll:.1f} ms)")
