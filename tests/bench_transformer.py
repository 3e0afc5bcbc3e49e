#!/usr/bin/python3
"""The VampNet forward pass in plain PyTorch eager, op for op as the reference code runs it
(vampnet/modules/transformer.py + layers.py + activations.py, main branch, eval mode): the
baseline bench_transformer compares our engine against.

    bench_transformer.py WEIGHTS.pth CODEBOOKS.npy CODES.npy THREADS REPEAT [OURS_LOGITS.npy]

Loads the checkpoint with torch.load (LoRA merged once, as eval() does), runs REPEAT forwards on
CODES [B,C,T] and prints "python_ms <best>"; with OURS_LOGITS it also prints the max abs
difference to our logits.
"""
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def rms_norm(x, w):
    var = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(var + 1e-6)
    return w * x


def new_gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def bucket(relative_position, num_buckets=32, max_distance=128):
    relative_buckets = 0
    num_buckets //= 2
    relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
    relative_position = torch.abs(relative_position)
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    large = max_exact + (torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return relative_buckets + torch.where(is_small, relative_position, large)


class Reference:
    def __init__(self, path, codebooks):
        ck = torch.load(path, map_location="cpu")
        sd, kw = ck["state_dict"], ck["metadata"]["kwargs"]
        self.H, self.L = kw["n_heads"], kw["n_layers"]
        self.C, self.ncc = kw["n_codebooks"], kw["n_conditioning_codebooks"]
        self.V = kw["vocab_size"]

        def w(key):  # loralib eval(): weight += (B @ A) * scaling, once
            W = sd[key + ".weight"].clone()
            if key + ".lora_A" in sd:
                W += (sd[key + ".lora_B"] @ sd[key + ".lora_A"]) * 0.125
            return W

        self.mask_vec = sd["embedding.special.MASK"]
        self.out_proj_w, self.out_proj_b = sd["embedding.out_proj.weight"], sd["embedding.out_proj.bias"]
        self.layers = []
        for i in range(self.L):
            p = f"transformer.layers.{i}."
            self.layers.append(dict(
                n1=sd[p + "norm_1.weight"], wq=w(p + "self_attn.w_qs"), wk=w(p + "self_attn.w_ks"),
                wv=w(p + "self_attn.w_vs"), fc=w(p + "self_attn.fc"), n3=sd[p + "norm_3.weight"],
                w1=w(p + "feed_forward.w_1"), w2=w(p + "feed_forward.w_2")))
        self.rel = sd["transformer.layers.0.self_attn.relative_attention_bias.weight"]
        self.norm = sd["transformer.norm.weight"]
        self.g, self.v, self.cb = (sd["classifier.layers.0.weight_g"], sd["classifier.layers.0.weight_v"],
                                   sd["classifier.layers.0.bias"])
        self.codebooks = codebooks

    def from_codes(self, codes):
        lat = []
        for i in range(self.C):
            table = torch.cat([self.codebooks[i], self.mask_vec[i:i + 1]], 0)
            lat.append(F.embedding(codes[:, i, :], table).transpose(1, 2))
        return torch.cat(lat, 1)

    def attention(self, y, layer, bias, x_mask):
        H = self.H
        B, T, D = y.shape
        q = F.linear(y, layer["wq"]).view(B, T, H, D // H).permute(2, 0, 1, 3)
        k = F.linear(y, layer["wk"]).view(B, T, H, D // H).permute(2, 0, 1, 3)
        v = F.linear(y, layer["wv"]).view(B, T, H, D // H).permute(2, 0, 1, 3)
        attn = torch.einsum("hblk,hbtk->hblt", [q, k]) / np.sqrt(q.shape[-1])
        attn += bias
        attn = attn.masked_fill(x_mask[None] == 0, -1e9)
        attn = torch.softmax(attn, dim=3)
        out = torch.einsum("hblt,hbtv->hblv", [attn, v])
        out = out.permute(1, 2, 0, 3).reshape(B, T, D)
        return F.linear(out, layer["fc"])

    def forward(self, codes):
        latents = self.from_codes(codes)
        x = F.conv1d(latents, self.out_proj_w, self.out_proj_b).transpose(1, 2)
        B, T, _ = x.shape
        x_mask = torch.ones(B, T).unsqueeze(-2)
        pos = torch.arange(T)
        bias = F.embedding(bucket(pos[None, :] - pos[:, None]), self.rel).permute(2, 0, 1).unsqueeze(1)
        for layer in self.layers:
            x = x + self.attention(rms_norm(x, layer["n1"]), layer, bias, x_mask)
            u = F.linear(rms_norm(x, layer["n3"]), layer["w1"])
            a, g = u.chunk(2, dim=-1)
            x = x + F.linear(a * new_gelu(g), layer["w2"])
        x = rms_norm(x, self.norm).transpose(1, 2)
        W = torch._weight_norm(self.v, self.g, 0)  # the weight_norm hook, every forward
        out = F.conv1d(x, W, self.cb)
        cp = self.C - self.ncc
        return out.view(B, self.V, cp, T).permute(0, 1, 3, 2).reshape(B, self.V, T * cp)


def main():
    path, cb_path, codes_path, threads, repeat = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    codebooks = torch.from_numpy(np.load(cb_path))
    codes = torch.from_numpy(np.load(codes_path)).long()
    model = Reference(path, codebooks)
    times = []
    with torch.no_grad():
        logits = model.forward(codes)  # warm-up
        for _ in range(int(repeat)):
            t0 = time.perf_counter()
            logits = model.forward(codes)
            times.append((time.perf_counter() - t0) * 1000.0)
    print(f"python_ms {min(times):.1f}")
    if len(sys.argv) > 6:
        ours = torch.from_numpy(np.load(sys.argv[6]))
        print(f"max_abs_diff {(ours - logits).abs().max().item():.3g}")


if __name__ == "__main__":
    main()
