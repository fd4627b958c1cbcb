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
