"""Writes the PyTorch fixtures of test/model-pytorch.test.ts: for small models of every variant (sigmoid and
softmax; balanced, negative, no and explicit ALiBi slopes; RoPE on and off; a window and full attention;
tied and untied embeddings; sigmoid bias 0 and not), the weights, the token ids, and what swat_torch.py
computes from them in float64: logits, loss and the gradient of every parameter. One case also holds one
optimiser step (gradient clipping, then torch.optim.AdamW). T is longer than the window, so the band
matters.

    python3 tools/pytorch/make_fixtures.py test/fixtures/pytorch

Each case is one safetensors file (F32, as the project's reader expects): `param.<name>`, `grad.<name>`,
`inputs` and `targets` (token ids, -1 = ignored), `logits` (B*T, V), `loss` (1); its metadata holds the
config.json text, the ALiBi preset the slopes came from, and B and T. The "swat" case adds the weights
after the optimiser step, `after_step.<name>`, and its settings with the gradient norm, `optimizer`. Weights are drawn at a scale where
attention and every norm gain matter, rounded to float32 first, so both sides start from the same numbers.
"""

import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swat_torch  # noqa: E402

VOCAB, DIM, LAYERS, HEADS, MLP, WINDOW = 23, 16, 2, 4, 24, 4
BATCH, LENGTH = 2, 11  # T > window, and not a multiple of it

CASES = {
    "swat": {},
    "softmax": {"attention_activation": "softmax"},
    "negative-alibi": {"alibi": "negative"},
    "no-alibi": {"alibi": "none"},
    "explicit-slopes": {"alibi": "0.3,-0.7,0.05,-0.2"},
    "no-rope": {"use_rope": False},
    "full-attention": {"window_size": None},
    "transformer-pp": {"attention_activation": "softmax", "window_size": None, "alibi": "none"},
    "untied": {"tie_word_embeddings": False},
    "sigmoid-bias": {"sigmoid_bias": -math.log(WINDOW)},
}

# The optimiser step of the "swat" case: clipping at half the gradient norm (so it scales), then AdamW.
OPTIMIZER = {"lr": 1e-2, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1, "clip_fraction": 0.5}


def random_weights(cfg, generator):
    params = {}
    for name, shape in swat_torch.weight_shapes(cfg).items():
        if len(shape) == 1:
            w = 1 + 0.2 * torch.randn(shape, generator=generator, dtype=torch.float64)  # norm gains near 1
        elif name in ("model.embeddings.weight", "lm_head.weight"):
            w = 0.5 * torch.randn(shape, generator=generator, dtype=torch.float64)
        else:
            w = torch.randn(shape, generator=generator, dtype=torch.float64) / math.sqrt(shape[1])
        params[name] = w.to(torch.float32).to(torch.float64).requires_grad_(True)
    return params


def make_case(name, overrides, seed):
    arch = {"window_size": WINDOW, **overrides}
    alibi = arch.pop("alibi", "balanced")
    cfg = swat_torch.config(VOCAB, DIM, LAYERS, HEADS, MLP, alibi=alibi, **arch)
    generator = torch.Generator().manual_seed(seed)
    params = random_weights(cfg, generator)
    inputs = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=generator)
    targets = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=generator)
    targets[0, 3] = -1  # an ignored position

    logits = swat_torch.forward(params, cfg, inputs)
    loss = swat_torch.loss_of(logits, targets)
    loss.backward()
    # Copies: the optimiser step below changes weights and gradients in place.
    tensors = {f"param.{n}": p.detach().clone() for n, p in params.items()}
    tensors.update({f"grad.{n}": p.grad.clone() for n, p in params.items()})
    tensors.update({"inputs": inputs, "targets": targets, "logits": logits.reshape(BATCH * LENGTH, VOCAB), "loss": loss.reshape(1)})
    metadata = {"config": json.dumps(cfg), "alibi": alibi, "B": str(BATCH), "T": str(LENGTH)}

    if name == "swat":
        o = OPTIMIZER
        norm = torch.sqrt(sum((p.grad ** 2).sum() for p in params.values()))
        max_norm = o["clip_fraction"] * norm.item()
        torch.nn.utils.clip_grad_norm_(list(params.values()), max_norm)
        swat_torch.adamw(params, o["lr"], (o["beta1"], o["beta2"]), o["eps"], o["weight_decay"]).step()
        tensors.update({f"after_step.{n}": p.detach() for n, p in params.items()})
        metadata["optimizer"] = json.dumps({**{k: v for k, v in o.items() if k != "clip_fraction"}, "max_norm": max_norm, "grad_norm": norm.item()})
    return tensors, metadata


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_fixtures.py OUT_DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for seed, (name, overrides) in enumerate(CASES.items()):
        tensors, metadata = make_case(name, overrides, seed)
        path = os.path.join(out, f"{name}.safetensors")
        swat_torch.write_safetensors(path, tensors, metadata)
        print(f"{path}: loss {tensors['loss'].item():.6f}")


if __name__ == "__main__":
    main()
