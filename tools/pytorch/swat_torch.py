"""SWAT in plain PyTorch, written from the method specification (SWAT.md sections 2 and 3), not from the
TypeScript code: dense masked attention over the whole (T, T) score matrix and autograd for every gradient.
It is the independent implementation the test fixtures come from (make_fixtures.py) and the PyTorch
baseline that `swat bench train` measures (bench_train.py).

Deliberately plain: no banded kernel, no fused ops, no compilation. Parameters are a dict from the
weight names of SWAT.md section 2 to tensors, so they read and write safetensors files name for name.
"""

import math

import torch


def slope_magnitude(k, H):
    """mu_k = 2^(-8k/H), the magnitudes of the authors' code (SWAT.md section 3.1)."""
    return 2.0 ** (-8.0 * k / H)


def alibi_slopes(preset, H):
    """Per-head slopes s_h in SWAT.md's sign convention (negative favours recent keys)."""
    if preset == "balanced":
        older = [+slope_magnitude(h + 1, H) for h in range(H // 2)]
        recent = [-slope_magnitude(H - h, H) for h in range(H // 2, H)]
        return older + recent
    if preset == "negative":
        return [-slope_magnitude(h + 1, H) for h in range(H)]
    if preset == "none":
        return [0.0] * H
    return [float(s) for s in preset.split(",")]


def config(vocab_size, hidden_size, num_hidden_layers, num_heads, intermediate_size, window_size,
           attention_activation="sigmoid", alibi="balanced", use_rope=True, sigmoid_bias=0.0,
           tie_word_embeddings=True):
    """A config.json of SWAT.md section 2, with this project's extra fields."""
    return {
        "model_type": "swat", "vocab_size": vocab_size, "hidden_size": hidden_size,
        "num_hidden_layers": num_hidden_layers, "num_heads": num_heads, "window_size": window_size,
        "rope_theta": 10000.0, "intermediate_size": intermediate_size, "hidden_act": "swish",
        "norm_eps": 1e-6, "tie_word_embeddings": tie_word_embeddings, "bos_token_id": None,
        "eos_token_id": None, "initializer_range": 0.02, "max_position_embeddings": 2048,
        "attention_activation": attention_activation, "alibi_slopes": alibi_slopes(alibi, num_heads),
        "use_rope": use_rope, "sigmoid_bias": sigmoid_bias,
    }


def weight_shapes(cfg):
    """Weight names and shapes of SWAT.md section 2; linear weights are stored [out, in]."""
    d, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    shapes = {"model.embeddings.weight": (V, d)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}"
        shapes[f"{p}.attn_norm.weight"] = (d,)
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes[f"{p}.attn.{name}.weight"] = (d, d)
        shapes[f"{p}.mlp_norm.weight"] = (d,)
        shapes[f"{p}.mlp.gate_proj.weight"] = (2 * I, d)
        shapes[f"{p}.mlp.down_proj.weight"] = (d, I)
    shapes["model.norm.weight"] = (d,)
    if not cfg["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (V, d)
    return shapes


def init_params(cfg, seed, dtype=torch.float32):
    """SWAT.md section 2 initialisation: linear weights and embeddings ~ N(0, initializer_range^2), gains 1."""
    generator = torch.Generator().manual_seed(seed)
    params = {}
    for name, shape in weight_shapes(cfg).items():
        if len(shape) == 1:
            w = torch.ones(shape, dtype=dtype)
        else:
            w = torch.randn(shape, generator=generator, dtype=dtype) * cfg["initializer_range"]
        params[name] = w.requires_grad_(True)
    return params


def rms_norm(x, g, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * g


def rope(x, theta):
    """Rotate-half RoPE over the whole head; x is (B, H, T, Dh), row t at position t."""
    T, Dh = x.shape[-2], x.shape[-1]
    half = Dh // 2
    inv_freq = theta ** (-2.0 * torch.arange(half, dtype=torch.float64) / Dh)
    angle = torch.arange(T, dtype=torch.float64)[:, None] * inv_freq[None, :]
    cos, sin = angle.cos().to(x.dtype), angle.sin().to(x.dtype)
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def attention_bias(cfg, T, dtype):
    """(H, T, T) additive score bias of SWAT.md section 3: s_h * (m - n) + b where query m sees key n
    (m - window < n <= m), -inf elsewhere, so both sigma(-inf) and a softmax give those keys weight 0."""
    pos = torch.arange(T)
    distance = (pos[:, None] - pos[None, :]).to(dtype)  # (T, T): m - n
    visible = distance >= 0
    if cfg["window_size"] is not None:
        visible = visible & (distance < cfg["window_size"])
    slopes = torch.tensor(cfg["alibi_slopes"], dtype=dtype)[:, None, None]  # (H, 1, 1)
    return (slopes * distance + cfg["sigmoid_bias"]).masked_fill(~visible, float("-inf"))


def attention(q, k, v, bias, activation):
    """Dense attention over the whole (T, T) score matrix; q, k, v are (B, H, T, Dh)."""
    z = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + bias
    weights = torch.sigmoid(z) if activation == "sigmoid" else torch.softmax(z, dim=-1)
    return weights @ v


def forward(params, cfg, ids):
    """Logits (B, T, V) of token ids (B, T)."""
    B, T = ids.shape
    d, H, I = cfg["hidden_size"], cfg["num_heads"], cfg["intermediate_size"]
    eps = cfg["norm_eps"]
    heads = lambda t: t.view(B, T, H, d // H).transpose(1, 2)  # (B, T, d) -> (B, H, T, Dh)
    x = params["model.embeddings.weight"][ids]
    bias = attention_bias(cfg, T, x.dtype)
    for l in range(cfg["num_hidden_layers"]):
        p = lambda name: params[f"model.layers.{l}.{name}.weight"]
        xn = rms_norm(x, p("attn_norm"), eps)
        q, k, v = (heads(xn @ p(f"attn.{n}_proj").T) for n in "qkv")
        if cfg["use_rope"]:
            q, k = rope(q, cfg["rope_theta"]), rope(k, cfg["rope_theta"])
        o = attention(q, k, v, bias, cfg["attention_activation"]).transpose(1, 2).reshape(B, T, d)
        x = x + o @ p("attn.o_proj").T
        gu = rms_norm(x, p("mlp_norm"), eps) @ p("mlp.gate_proj").T
        a, b = gu[..., :I], gu[..., I:]
        x = x + (a * torch.sigmoid(a) * b) @ p("mlp.down_proj").T
    head = params["model.embeddings.weight" if cfg["tie_word_embeddings"] else "lm_head.weight"]
    return rms_norm(x, params["model.norm.weight"], eps) @ head.T


def loss_of(logits, targets):
    """Mean next-token cross-entropy over the targets that are not -1."""
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-1)


def adamw(params, lr, betas, eps, weight_decay):
    """torch.optim.AdamW with the usual grouping: matrices and embeddings decay, norm gains do not."""
    decay = [t for t in params.values() if t.dim() >= 2]
    rest = [t for t in params.values() if t.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps)


# ---- model directories (config.json + safetensors, as swat and Hugging Face write them) ----

SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


def read_safetensors(path):
    """{name: tensor} of a safetensors file, in the dtype the file stores (a plain reader of the format:
    8-byte little-endian header length, JSON header, data)."""
    import json
    import struct

    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = bytearray(body[begin:end])
        t = torch.frombuffer(raw, dtype=SAFETENSORS_DTYPES[info["dtype"]]) if raw else torch.zeros(0)
        out[name] = t.reshape(info["shape"])
    return out


def write_safetensors(path, tensors, metadata=None, dtype="F32"):
    """Writes {name: tensor} as a safetensors file of `dtype` (F32, F16 or BF16), in the given order."""
    import json
    import struct

    header = {"__metadata__": metadata} if metadata is not None else {}
    blobs, offset = [], 0
    for name, t in tensors.items():
        blob = tensor_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tensor_bytes(t, dtype):
    """Little-endian bytes of t in dtype (torch rounds to nearest even)."""
    import sys

    x = t.detach().to(SAFETENSORS_DTYPES[dtype]).contiguous().reshape(-1)
    if x.dtype in (torch.float16, torch.bfloat16):
        x = x.view(torch.int16)
    raw = x.numpy().tobytes() if sys.byteorder == "little" else x.numpy().byteswap().tobytes()
    return raw


def config_from_json(raw):
    """A config of this file's shape from a config.json, read with the defaults of the authors' SWATConfig
    (flash-linear-attention's swat model) for its fields and SWAT.md's for this project's extra ones:
    intermediate_size null means 256 * ceil(int(hidden_size * hidden_ratio * 2 / 3) / 256), a missing
    tie_word_embeddings means untied. Grouped key/value heads and projection biases are not SWAT."""
    if raw.get("num_kv_heads") not in (None, raw["num_heads"]) or raw.get("attention_bias") or raw.get("qkv_bias"):
        raise ValueError("grouped key/value heads or projection biases: not SWAT.md's model")
    d, H = raw["hidden_size"], raw["num_heads"]
    I = raw.get("intermediate_size")
    if I is None:
        ratio = raw.get("hidden_ratio") or 4
        I = 256 * ((int(d * ratio * 2 / 3) + 255) // 256)
    cfg = {
        "vocab_size": raw["vocab_size"], "hidden_size": d, "num_hidden_layers": raw["num_hidden_layers"],
        "num_heads": H, "window_size": raw["window_size"], "rope_theta": raw.get("rope_theta", 10000.0),
        "intermediate_size": I, "norm_eps": raw.get("norm_eps", 1e-6),
        "tie_word_embeddings": raw.get("tie_word_embeddings", False), "norm_first": raw.get("norm_first", False),
        "attention_activation": raw.get("attention_activation", "sigmoid"), "use_rope": raw.get("use_rope", True),
        "sigmoid_bias": raw.get("sigmoid_bias", 0.0),
    }
    cfg["alibi_slopes"] = raw["alibi_slopes"] if "alibi_slopes" in raw else alibi_slopes("balanced", H)
    return cfg


def load_model_dir(path):
    """(cfg, params) of a model directory: config.json, and model.safetensors or the shards that
    model.safetensors.index.json lists; weights in float64, under the weight names of SWAT.md section 2
    (the authors' norm_first layout, attn.norm / mlp.norm, renamed to attn_norm / mlp_norm)."""
    import json
    import os
    import re

    with open(os.path.join(path, "config.json")) as f:
        cfg = config_from_json(json.load(f))
    single = os.path.join(path, "model.safetensors")
    if os.path.exists(single):
        files = [single]
    else:
        with open(os.path.join(path, "model.safetensors.index.json")) as f:
            files = [os.path.join(path, s) for s in sorted(set(json.load(f)["weight_map"].values()))]
    params = {}
    for file in files:
        for name, t in read_safetensors(file).items():
            name = re.sub(r"^(model\.layers\.\d+)\.(attn|mlp)\.norm\.weight$", r"\1.\2_norm.weight", name)
            params[name] = t.to(torch.float64)
    expected = set(weight_shapes(cfg))
    if cfg["tie_word_embeddings"]:
        params.pop("lm_head.weight", None)
    if set(params) != expected:
        raise ValueError(f"{path}: weights {sorted(set(params) ^ expected)} do not match the config")
    return cfg, params


def logprobs_of(params, cfg, ids):
    """log p(ids[i+1] | ids[0..i]) for i = 0 .. len(ids) - 2, in float64."""
    x = torch.tensor([ids])
    logits = forward(params, cfg, x)[0].to(torch.float64)
    lp = torch.log_softmax(logits, dim=-1)
    return [lp[i, ids[i + 1]].item() for i in range(len(ids) - 1)]
