"""Writes the checkpoint fixtures of test/interop.test.ts: small model directories in the shapes the PyTorch
side writes them, read by swat as they are.

    python3 tools/pytorch/make_checkpoints.py test/fixtures/checkpoints

- authors-bf16-sharded: config.json field for field as the authors' SWATConfig.save_pretrained writes it
  (flash-linear-attention's swat model: every field, intermediate_size null with hidden_ratio 4, untied
  embeddings, num_kv_heads null, fuse_* flags, architectures, torch_dtype), BF16 weights split into shards
  by huggingface_hub's rule (a new shard when the next tensor would pass the limit) with
  model.safetensors.index.json;
- norm-first-f16: the authors' norm_first layout (the norms inside the attention and MLP modules, weights
  attn.norm / mlp.norm), F16, one file, tied embeddings;
- legacy-f32: a config with only the fields of the authors' legacy training configs (no intermediate_size,
  hidden_ratio or rope_theta: their defaults apply), F32.

Each directory holds expected.json: token ids (longer than the window), the log-probabilities swat_torch.py
computes in float64 from exactly the stored weights ("logprobs"), and from the float32 weights they were
rounded from ("logprobs_original"), so a test can check both the reading and the dtype's precision. The
files are written by this script with its own safetensors writer (swat_torch.write_safetensors), not by
transformers or safetensors, which need not be installed.
"""

import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import swat_torch  # noqa: E402

VOCAB, LENGTH = 23, 12


def authors_config(hidden_size, layers, heads, window, **fields):
    """config.json as SWATConfig.save_pretrained writes it: all of the class's fields, with its defaults."""
    config = {
        "architectures": ["SWATForCausalLM"], "attention_bias": False, "bos_token_id": 1, "elementwise_affine": True,
        "eos_token_id": 2, "fuse_cross_entropy": True, "fuse_norm": True, "hidden_act": "swish", "hidden_ratio": 4,
        "hidden_size": hidden_size, "initializer_range": 0.02, "intermediate_size": None,
        "max_position_embeddings": 2048, "model_type": "swat", "norm_eps": 1e-06, "norm_first": False,
        "num_heads": heads, "num_hidden_layers": layers, "num_kv_heads": None, "pad_token_id": None,
        "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
        "transformers_version": "4.46.0", "use_cache": True, "vocab_size": VOCAB, "window_size": window,
    }
    config.update(fields)
    return config


CASES = {
    "authors-bf16-sharded": {
        "config": authors_config(16, 2, 4, 4, torch_dtype="bfloat16"), "dtype": "BF16", "max_shard_bytes": 12000,
    },
    "norm-first-f16": {
        "config": authors_config(16, 2, 4, 4, torch_dtype="float16", norm_first=True, tie_word_embeddings=True,
                                 intermediate_size=24, hidden_ratio=None),
        "dtype": "F16",
    },
    "legacy-f32": {
        # The fields of the authors' legacy/training/configs/swat_340M.json, at a small size.
        "config": {
            "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2, "fuse_cross_entropy": True,
            "fuse_norm": True, "hidden_act": "swish", "hidden_size": 8, "initializer_range": 0.02,
            "max_position_embeddings": 8192, "model_type": "swat", "num_heads": 2, "num_hidden_layers": 1,
            "norm_eps": 1e-06, "tie_word_embeddings": True, "use_cache": True, "vocab_size": VOCAB, "window_size": 3,
        },
        "dtype": "F32",
    },
}


def random_weights(cfg, generator):
    """Float32 weights at a scale where attention and every norm gain matter (as make_fixtures.py draws)."""
    params = {}
    for name, shape in swat_torch.weight_shapes(cfg).items():
        if len(shape) == 1:
            w = 1 + 0.2 * torch.randn(shape, generator=generator, dtype=torch.float64)
        elif name in ("model.embeddings.weight", "lm_head.weight"):
            w = 0.5 * torch.randn(shape, generator=generator, dtype=torch.float64)
        else:
            w = torch.randn(shape, generator=generator, dtype=torch.float64) / math.sqrt(shape[1])
        params[name] = w.to(torch.float32)
    return params


def stored_name(cfg, name):
    """The norm_first layout's names of the two norms of a block."""
    if cfg["norm_first"]:
        for module in ("attn", "mlp"):
            name = name.replace(f".{module}_norm.weight", f".{module}.norm.weight")
    return name


def shards(tensors, dtype, max_bytes):
    """huggingface_hub's split: in order, a new shard when the next tensor would pass max_bytes; a tensor
    larger than max_bytes alone."""
    width = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    out, current, size = [], [], 0
    for name, t in tensors.items():
        bytes_ = t.numel() * width
        if bytes_ > max_bytes:
            out.append([name])
            continue
        if current and size + bytes_ > max_bytes:
            out.append(current)
            current, size = [], 0
        current.append(name)
        size += bytes_
    if current:
        out.append(current)
    return out


def write_case(out, name, case, seed):
    path = os.path.join(out, name)
    os.makedirs(path, exist_ok=True)
    raw = case["config"]
    cfg = swat_torch.config_from_json(raw)
    generator = torch.Generator().manual_seed(seed)
    original = random_weights(cfg, generator)
    tensors = {stored_name(cfg, n): w for n, w in original.items()}
    dtype = case["dtype"]
    groups = shards(tensors, dtype, case.get("max_shard_bytes", math.inf))
    if len(groups) == 1:
        swat_torch.write_safetensors(os.path.join(path, "model.safetensors"), tensors, {"format": "pt"}, dtype)
    else:
        weight_map, total = {}, 0
        for i, names in enumerate(groups):
            file = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
            swat_torch.write_safetensors(os.path.join(path, file), {n: tensors[n] for n in names}, {"format": "pt"}, dtype)
            for n in names:
                weight_map[n] = file
                total += len(swat_torch.tensor_bytes(tensors[n], dtype))
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
            json.dump(index, f, indent=2, sort_keys=True)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(raw, f, indent=2, sort_keys=True)
    ids = torch.randint(0, VOCAB, (LENGTH,), generator=generator).tolist()
    _, stored = swat_torch.load_model_dir(path)
    expected = {
        "ids": ids,
        "logprobs": swat_torch.logprobs_of(stored, cfg, ids),
        "logprobs_original": swat_torch.logprobs_of({n: w.to(torch.float64) for n, w in original.items()}, cfg, ids),
    }
    with open(os.path.join(path, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(f"{path}: {len(groups)} file(s), {dtype}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_checkpoints.py OUT_DIR")
    for seed, (name, case) in enumerate(CASES.items()):
        write_case(sys.argv[1], name, case, 100 + seed)


if __name__ == "__main__":
    main()
