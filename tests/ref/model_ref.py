#!/usr/bin/python3
"""glassbox — PyTorch reference for the transformer in src/model/.

An independent, deliberately plain implementation of the same config options (layernorm or
rmsnorm, learned or rotary positions, gelu or swiglu MLP, biases on/off, tied or separate
output embedding, grouped kv heads), written with stock torch ops and autograd. For two tiny
configs it writes golden files that tests/model/test_model.c compares against:

    tests/ref/golden/model_gpt2.bin    gpt2-style: layernorm, learned positions, gelu, biases, tied
    tests/ref/golden/model_llama.bin   llama-style: rmsnorm, rope, swiglu, no biases, GQA 4/2, untied
    tests/ref/golden/model_adamw.bin   torch.optim.AdamW alone on fixed gradients (3 steps)

Run from the repository root with Debian's torch:   /usr/bin/python3 tests/ref/model_ref.py

File format (all little-endian):
    8 bytes  magic b"GBREF1\\0\\0"
    u32      tensor count
    per tensor:
        u32 name length, name bytes (UTF-8, no NUL)
        u32 dtype (0 = float32, 1 = int32)
        u32 ndim, u32 dims[ndim]
        prod(dims) elements
Tensors written:
    config      i32 [n_layer, n_head, n_kv_head, d_model, d_ff, vocab, n_ctx,
                     norm (0 layernorm, 1 rmsnorm), pos (0 learned, 1 rope), mlp (0 gelu, 1 swiglu),
                     bias, tied, fused_qkv]
    config_f    f32 [norm_eps, rope_theta]
    adamw       f32 [lr, beta1, beta2, eps, weight_decay, max_norm]
    tokens, targets   i32 (B, T)
    logits      f32 (B, T, V) and loss f32 (1): forward with the initial weights
    param.NAME  initial weights, GGUF names, (out, in) layout
    grad.NAME   d loss / d NAME at the initial weights (before clipping)
    step3.NAME  weights after 3 steps of: zero_grad, forward, backward,
                clip_grad_norm_(max_norm), AdamW.step (same tokens every step)
    losses, grad_norms  f32 (3): loss and pre-clip gradient norm of each of the 3 steps
model_adamw.bin holds adamw [lr, beta1, beta2, eps, weight_decay], param.{w,b}, and for
steps 1..3 gradK.{w,b} (the gradients fed) and stepK.{w,b} (the parameters after the step).
"""
import math
import os
import struct
import sys

import torch
import torch.nn.functional as F

B, T = 2, 8
ADAMW = dict(lr=1e-2, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1, max_norm=1.0)

CONFIGS = {
    "gpt2": dict(n_layer=2, n_head=4, n_kv_head=4, d_model=32, d_ff=64, vocab=64, n_ctx=16,
                 norm="layernorm", norm_eps=1e-5, pos="learned", rope_theta=10000.0, mlp="gelu",
                 bias=True, tied=True, fused_qkv=True),
    "llama": dict(n_layer=2, n_head=4, n_kv_head=2, d_model=32, d_ff=64, vocab=64, n_ctx=16,
                  norm="rmsnorm", norm_eps=1e-5, pos="rope", rope_theta=10000.0, mlp="swiglu",
                  bias=False, tied=False, fused_qkv=False),
}


def tensor_shapes(c):
    """(name, shape) in the order of the C tensor table, GGUF names, (out, in) matrices."""
    C, V, Fd = c["d_model"], c["vocab"], c["d_ff"]
    KVC = c["n_kv_head"] * (C // c["n_head"])
    ln_bias = c["bias"] and c["norm"] == "layernorm"
    out = [("token_embd.weight", (V, C))]
    if c["pos"] == "learned":
        out.append(("position_embd.weight", (c["n_ctx"], C)))
    for l in range(c["n_layer"]):
        p = f"blk.{l}."
        out.append((p + "attn_norm.weight", (C,)))
        if ln_bias:
            out.append((p + "attn_norm.bias", (C,)))
        if c["fused_qkv"]:
            out.append((p + "attn_qkv.weight", (C + 2 * KVC, C)))
            if c["bias"]:
                out.append((p + "attn_qkv.bias", (C + 2 * KVC,)))
        else:
            out += [(p + "attn_q.weight", (C, C)), (p + "attn_k.weight", (KVC, C)),
                    (p + "attn_v.weight", (KVC, C))]
            if c["bias"]:
                out += [(p + "attn_q.bias", (C,)), (p + "attn_k.bias", (KVC,)),
                        (p + "attn_v.bias", (KVC,))]
        out.append((p + "attn_output.weight", (C, C)))
        if c["bias"]:
            out.append((p + "attn_output.bias", (C,)))
        out.append((p + "ffn_norm.weight", (C,)))
        if ln_bias:
            out.append((p + "ffn_norm.bias", (C,)))
        if c["mlp"] == "swiglu":
            out += [(p + "ffn_gate.weight", (Fd, C)), (p + "ffn_up.weight", (Fd, C))]
            if c["bias"]:
                out += [(p + "ffn_gate.bias", (Fd,)), (p + "ffn_up.bias", (Fd,))]
        else:
            out.append((p + "ffn_up.weight", (Fd, C)))
            if c["bias"]:
                out.append((p + "ffn_up.bias", (Fd,)))
        out.append((p + "ffn_down.weight", (C, Fd)))
        if c["bias"]:
            out.append((p + "ffn_down.bias", (C,)))
    out.append(("output_norm.weight", (C,)))
    if ln_bias:
        out.append(("output_norm.bias", (C,)))
    if not c["tied"]:
        out.append(("output.weight", (V, C)))
    return out


def make_weights(c, gen):
    """Random, deliberately non-trivial weights: norm weights near 1, biases nonzero, so
    every parameter shapes the loss."""
    P = {}
    for name, shape in tensor_shapes(c):
        if name.endswith("norm.weight"):
            t = 1.0 + 0.1 * torch.randn(shape, generator=gen)
        elif name.endswith(".bias"):
            t = 0.05 * torch.randn(shape, generator=gen)
        elif "embd" in name:
            t = 0.5 * torch.randn(shape, generator=gen)
        else:
            t = 0.15 * torch.randn(shape, generator=gen)
        P[name] = t.float().requires_grad_(True)
    return P


def norm(c, x, P, prefix):
    w = P[prefix + ".weight"]
    if c["norm"] == "layernorm":
        return F.layer_norm(x, (x.shape[-1],), w, P.get(prefix + ".bias"), c["norm_eps"])
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c["norm_eps"]) * w


def rope(x, theta):
    """Meta's Llama formulation: adjacent pairs as complex numbers, rotated by t * freq."""
    _, Tn, _, HS = x.shape
    freqs = 1.0 / (theta ** (torch.arange(0, HS, 2)[: HS // 2].float() / HS))
    angles = torch.outer(torch.arange(Tn).float(), freqs)
    rot = torch.polar(torch.ones_like(angles), angles).view(1, Tn, 1, HS // 2)
    xc = torch.view_as_complex(x.reshape(*x.shape[:-1], HS // 2, 2))
    return torch.view_as_real(xc * rot).flatten(3)


def forward(c, P, tokens, targets):
    Bn, Tn = tokens.shape
    C, NH, NKV = c["d_model"], c["n_head"], c["n_kv_head"]
    HS, KVC = C // NH, NKV * (C // NH)
    lin = lambda x, name: F.linear(x, P[name + ".weight"], P.get(name + ".bias"))
    x = P["token_embd.weight"][tokens]
    if c["pos"] == "learned":
        x = x + P["position_embd.weight"][:Tn]
    mask = torch.triu(torch.ones(Tn, Tn, dtype=torch.bool), diagonal=1)
    for l in range(c["n_layer"]):
        p = f"blk.{l}."
        h = norm(c, x, P, p + "attn_norm")
        if c["fused_qkv"]:
            q, k, v = lin(h, p + "attn_qkv").split([C, KVC, KVC], dim=-1)
        else:
            q, k, v = lin(h, p + "attn_q"), lin(h, p + "attn_k"), lin(h, p + "attn_v")
        q, k, v = q.view(Bn, Tn, NH, HS), k.view(Bn, Tn, NKV, HS), v.view(Bn, Tn, NKV, HS)
        if c["pos"] == "rope":
            q, k = rope(q, c["rope_theta"]), rope(k, c["rope_theta"])
        k = k.repeat_interleave(NH // NKV, dim=2)  # query head h reads kv head h // (NH/NKV)
        v = v.repeat_interleave(NH // NKV, dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HS))
        att = torch.softmax(att.masked_fill(mask, float("-inf")), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bn, Tn, C)
        x = x + lin(y, p + "attn_output")
        h = norm(c, x, P, p + "ffn_norm")
        if c["mlp"] == "gelu":
            m = F.gelu(lin(h, p + "ffn_up"), approximate="tanh")
        else:
            m = F.silu(lin(h, p + "ffn_gate")) * lin(h, p + "ffn_up")
        x = x + lin(m, p + "ffn_down")
    x = norm(c, x, P, "output_norm")
    logits = F.linear(x, P["token_embd.weight"] if c["tied"] else P["output.weight"])
    loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))
    return logits, loss


def write_file(path, items):
    with open(path, "wb") as f:
        f.write(b"GBREF1\0\0")
        f.write(struct.pack("<I", len(items)))
        for name, t in items:
            t = t.detach().contiguous()
            if t.dtype == torch.float32:
                dtype = 0
            elif t.dtype == torch.int32:
                dtype = 1
            else:
                raise ValueError(f"{name}: dtype {t.dtype}")
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)) + nb)
            f.write(struct.pack("<II", dtype, t.dim()))
            f.write(struct.pack(f"<{t.dim()}I", *t.shape))
            f.write(t.numpy().astype("<f4" if dtype == 0 else "<i4").tobytes())


def make_golden(tag, c, seed):
    gen = torch.Generator().manual_seed(seed)
    P = make_weights(c, gen)
    tokens = torch.randint(0, c["vocab"], (B, T), generator=gen)
    targets = torch.randint(0, c["vocab"], (B, T), generator=gen)
    items = [
        ("config", torch.tensor([c["n_layer"], c["n_head"], c["n_kv_head"], c["d_model"],
                                 c["d_ff"], c["vocab"], c["n_ctx"],
                                 int(c["norm"] == "rmsnorm"), int(c["pos"] == "rope"),
                                 int(c["mlp"] == "swiglu"), int(c["bias"]), int(c["tied"]),
                                 int(c["fused_qkv"])], dtype=torch.int32)),
        ("config_f", torch.tensor([c["norm_eps"], c["rope_theta"]], dtype=torch.float32)),
        ("adamw", torch.tensor([ADAMW[k] for k in ("lr", "beta1", "beta2", "eps",
                                                   "weight_decay", "max_norm")],
                               dtype=torch.float32)),
        ("tokens", tokens.int()), ("targets", targets.int()),
    ]
    items += [("param." + n, P[n].clone()) for n in P]

    params = list(P.values())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": ADAMW["weight_decay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=ADAMW["lr"], betas=(ADAMW["beta1"], ADAMW["beta2"]),
                            eps=ADAMW["eps"], foreach=False)
    losses, norms = [], []
    for step in range(3):
        opt.zero_grad()
        logits, loss = forward(c, P, tokens, targets)
        loss.backward()
        if step == 0:
            items += [("logits", logits.detach().clone()), ("loss", loss.detach().reshape(1))]
            items += [("grad." + n, P[n].grad.clone()) for n in P]
        norms.append(float(torch.nn.utils.clip_grad_norm_(params, ADAMW["max_norm"])))
        losses.append(float(loss))
        opt.step()
    items += [("step3." + n, P[n].detach().clone()) for n in P]
    items += [("losses", torch.tensor(losses, dtype=torch.float32)),
              ("grad_norms", torch.tensor(norms, dtype=torch.float32))]
    path = os.path.join("tests", "ref", "golden", f"model_{tag}.bin")
    write_file(path, items)
    print(f"{path}: {sum(p.numel() for p in params)} params, loss {losses[0]:.6f}, "
          f"losses {[round(x, 6) for x in losses]}, grad norms {[round(x, 6) for x in norms]}, "
          f"{os.path.getsize(path)} bytes")


def make_adamw_golden(seed):
    """AdamW alone, fed fixed gradients, so the optimizer is compared without the model's
    rounding: a decayed matrix w (12, 10) and an undecayed vector b (10), 3 steps; some
    gradient elements are exactly 0 or far below eps."""
    gen = torch.Generator().manual_seed(seed)
    hp = dict(lr=3e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1)
    w = torch.randn((12, 10), generator=gen).requires_grad_(True)
    b = torch.randn((10,), generator=gen).requires_grad_(True)
    items = [("adamw", torch.tensor([hp[k] for k in ("lr", "beta1", "beta2", "eps", "weight_decay")],
                                    dtype=torch.float32)),
             ("param.w", w.detach().clone()), ("param.b", b.detach().clone())]
    opt = torch.optim.AdamW([{"params": [w], "weight_decay": hp["weight_decay"]},
                             {"params": [b], "weight_decay": 0.0}],
                            lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"],
                            foreach=False)
    for step in range(1, 4):
        gw = 0.01 * torch.randn((12, 10), generator=gen)
        gb = torch.randn((10,), generator=gen)
        gw[0, :3] = 0.0
        gw[1, :3] = torch.tensor([1e-9, -3e-10, 2e-8])
        gb[0] = 0.0
        w.grad, b.grad = gw.clone(), gb.clone()
        opt.step()
        items += [(f"grad{step}.w", gw), (f"grad{step}.b", gb),
                  (f"step{step}.w", w.detach().clone()), (f"step{step}.b", b.detach().clone())]
    path = os.path.join("tests", "ref", "golden", "model_adamw.bin")
    write_file(path, items)
    print(f"{path}: {os.path.getsize(path)} bytes")


def main():
    torch.set_num_threads(1)
    os.makedirs(os.path.join("tests", "ref", "golden"), exist_ok=True)
    print(f"torch {torch.__version__}", file=sys.stderr)
    make_golden("gpt2", CONFIGS["gpt2"], seed=1234)
    make_golden("llama", CONFIGS["llama"], seed=5678)
    make_adamw_golden(seed=91011)


if __name__ == "__main__":
    main()
