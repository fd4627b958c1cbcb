"""The PyTorch baseline of `swat bench train`: training steps of the model in swat_torch.py (plain PyTorch,
fp32, dense masked attention) on random tokens, timed the way the TypeScript benchmark times its own: one
warm-up step, then the mean of STEPS steps, each forward + backward + gradient clipping + AdamW.

    python3 tools/pytorch/bench_train.py CONFIG_JSON BATCH SEQ_LEN STEPS THREADS

CONFIG_JSON is a config.json text (the benchmark passes the anchor model's), so both sides build the
same architecture. Prints one JSON line; without PyTorch it prints {"unavailable": reason} and exits 3.
The thread count also has to reach OpenBLAS and OpenMP before torch loads: the caller sets
OPENBLAS_NUM_THREADS and OMP_NUM_THREADS, and GLIBC_TUNABLES so that malloc keeps freed memory instead of
page-faulting every fresh tensor in again (src/bench/pytorch.ts says why).
"""

import json
import os
import sys
import time

try:
    import torch
except ImportError as e:
    print(json.dumps({"unavailable": f"no torch module ({e})"}))
    sys.exit(3)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swat_torch  # noqa: E402


def loaded_blas():
    """Names of the BLAS libraries this process mapped (Linux), e.g. libopenblasp-r0.3.21.so."""
    try:
        with open("/proc/self/maps") as f:
            names = {line.split("/")[-1].strip() for line in f}
    except OSError:
        return []
    return sorted(n for n in names if "blas" in n.lower())


def main():
    if len(sys.argv) != 6:
        sys.exit("usage: bench_train.py CONFIG_JSON BATCH SEQ_LEN STEPS THREADS")
    cfg = json.loads(sys.argv[1])
    B, T, steps, threads = (int(x) for x in sys.argv[2:])
    torch.set_num_threads(threads)
    params = swat_torch.init_params(cfg, seed=0)
    optimizer = swat_torch.adamw(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randint(0, cfg["vocab_size"], (B, T), generator=generator)
    targets = torch.randint(0, cfg["vocab_size"], (B, T), generator=generator)

    def step():
        optimizer.zero_grad(set_to_none=True)
        swat_torch.loss_of(swat_torch.forward(params, cfg, inputs), targets).backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        optimizer.step()

    step()  # warm-up: allocations, page faults, thread start
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    step_s = (time.perf_counter() - t0) / steps
    print(json.dumps({
        "tokens_per_s": B * T / step_s, "step_s": step_s, "steps": steps, "threads": torch.get_num_threads(),
        "parameters": sum(p.numel() for p in params.values()), "torch_version": torch.__version__, "blas": loaded_blas(),
    }))


if __name__ == "__main__":
    main()
