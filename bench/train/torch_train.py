#!/usr/bin/python3
"""glassbox — the PyTorch peer of bench/train/train_bench.c: the same GPT-2-layout model
(layernorm, learned positions, gelu-tanh MLP, biases, tied output embedding), the same
tokens, the same step (zero_grad, forward, backward, clip_grad_norm_(1.0), AdamW), fp32.

    /usr/bin/python3 bench/train/torch_train.py --preset gpt2-124m --batch 4 --seq 256 \
        --tokens FILE [--steps S] [--warmup W] [--threads N]

PyTorch gets its best: torch.set_num_threads(N) (it defaults to 1 here), nn.Linear (BLAS
sgemm), AdamW with foreach=True (multi-tensor; PyTorch 1.13 has no fused CPU AdamW), and
set_to_none gradients. OPENBLAS_CORETYPE is set by run.sh only where OpenBLAS would
otherwise pick a weak kernel. Prints key=value lines like train_bench."""
import argparse
import math
import resource
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# (n_layer, n_head, d_model, n_ctx) as in src/model/config.c; d_ff = 4·d_model, V = 50257
PRESETS = {"gpt2-124m": (12, 12, 768, 1024), "gpt2-10m": (6, 6, 384, 512), "gpt2-tiny": (2, 4, 128, 256)}


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1, self.ln2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.qkv, self.proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.fc, self.fcproj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x, mask):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // self.NH))
        att = torch.softmax(att.masked_fill(mask[:T, :T], float("-inf")), dim=-1)
        x = x + self.proj((att @ v).transpose(1, 2).reshape(B, T, C))
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, NH, C, n_ctx, V):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(n_ctx, C)
        self.blocks = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.lnf = nn.LayerNorm(C)
        self.register_buffer("mask", torch.triu(torch.ones(n_ctx, n_ctx, dtype=torch.bool), 1))
        for n, p in self.named_parameters():  # GPT-2 init (as gb_model_init_weights)
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * L) if n.endswith(("proj.weight", "fcproj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)
            elif "ln" in n and n.endswith("weight"):
                nn.init.ones_(p)
            else:
                nn.init.zeros_(p)

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for blk in self.blocks:
            x = blk(x, self.mask)
        logits = F.linear(self.lnf(x), self.wte.weight)  # tied output embedding
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="gpt2-10m", choices=sorted(PRESETS))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--tokens", required=True)
    a = ap.parse_args()
    threads = a.threads or torch.get_num_threads() or 1
    torch.set_num_threads(threads)
    torch.manual_seed(1337)
    L, NH, C, n_ctx = PRESETS[a.preset]
    model = GPT(L, NH, C, max(n_ctx, a.seq), a.vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.1, foreach=True)
    N = a.batch * a.seq
    ids = np.fromfile(a.tokens, dtype="<i4", count=N + 1).astype(np.int64)
    assert ids.size == N + 1 and ids.min() >= 0 and ids.max() < a.vocab, "bad token file"
    x = torch.from_numpy(ids[:N].copy()).view(a.batch, a.seq)
    y = torch.from_numpy(ids[1:].copy()).view(a.batch, a.seq)
    times, first, last = [], None, None
    for s in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        last = loss.item()
        first = last if first is None else first
        if s >= a.warmup:
            times.append(dt)
        print(f"pytorch {a.preset} step {s}: {dt:.3f} s, loss {last:.4f}", file=__import__("sys").stderr)
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"threads={torch.get_num_threads()}")
    print(f"params={sum(p.numel() for p in model.parameters())}")
    print(f"tok_s_best={N / times[0]:.2f}")
    print(f"tok_s_median={N / times[len(times) // 2]:.2f}")
    print(f"tok_s_mean={N * len(times) / sum(times):.2f}")
    print(f"peak_rss_mib={rss:.1f}")
    print(f"loss_first={first:.4f}\nloss_last={last:.4f}")


if __name__ == "__main__":
    main()
