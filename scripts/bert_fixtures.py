#!/usr/bin/python3
"""Parity fixtures for petl's BERT (bert/parity_test.go): PyTorch reference outputs.

How to run (from the repository root; needs Debian's python3-torch and python3-numpy, nothing else):

    /usr/bin/python3 scripts/bert_fixtures.py            # writes bert/testdata/{tiny,odd,base}/
    /usr/bin/python3 scripts/bert_fixtures.py --only odd  # one shape

Tests and CI never run this script; they read what it wrote, which is committed. Rerunning it
rewrites the same bytes (everything is seeded).

What it does. BERT is built here from torch primitives (no transformers package), with the Hugging
Face BertModel tensor names (without the "bert." prefix) and the Hugging Face computation:
embeddings (word + position + token type, LayerNorm), L encoder layers (self-attention with the
additive padding mask, output dense, residual add & LayerNorm, feed-forward with exact erf GELU,
residual add & LayerNorm), pooler (dense + tanh on [CLS]), and a sequence-classification head
(classifier.weight/bias). The padding mask is (1 - attention_mask) * -10000, as the extended
attention mask of Hugging Face BERT before v4.31 (newer versions use the dtype's minimum; both
give padded keys probability exactly 0 in float32). Dropout is off (eval).

The reference is computed in float64 from float32 weights (so it is the exact result the float32
Go code approximates); the float32 PyTorch forward is also run and its distance to the float64
one printed, for scale.

Weights. Every tensor is drawn from a counter-based SplitMix64 stream that petl's test
reimplements in Go (bert/parity_test.go, syntheticTensor), so shapes too big to commit (BERT-base)
are regenerated bit for bit at test time:

    key    = seed XOR fnv1a64(name)
    z_i    = mix64(key + i * 0x9E3779B97F4A7C15)   (i = 1, 2, ..., wrapping mod 2^64)
    u_i    = float32((z_i >> 40) * 2 - 2^24) * 2^-24             (exact, in [-1, 1))
    w_i    = float32(base + float32(scale * u_i))                (two float32 roundings)

with (base, scale) = (1, 0.2) for LayerNorm weights, (0, 0.1) for LayerNorm and dense biases,
and (0, 0.08) for every weight matrix and embedding table.

Shapes and what is written for each (the vocabulary of tiny and odd is reduced to the ids the
batch uses, remapped in order of first use after the five special tokens, so files stay small):

  tiny  L2 H128 A2 I512, 2 labels, adapter size 16: weights from the stream (not committed);
        expected.safetensors with inputs, hidden states, pooled output, logits, loss, and the
        gradients of full fine-tuning and of adapter training.
  odd   L3 H84 A3 I200 (head size 28), 3 labels, adapter size 7: model.safetensors written here
        by hand (checks petl's reader against an independent writer; its tensors are the stream's),
        and the same expected outputs and gradients as tiny.
  base  L12 H768 A12 I3072, full 30522 vocabulary, 512 positions, 2 labels: weights from the
        stream (regenerated at test time); expected.safetensors with inputs, hidden states,
        pooled output and logits of a 2 x 12 token batch.

Tensors in expected.safetensors:
  input_ids, token_type_ids, attention_mask [B, T] I64; labels [B] I64
  hidden.0 (embeddings output) ... hidden.L [B, T, C]; pooled [B, C]; logits [B, labels]; loss []
  grad.full.<param>                 gradient of the mean cross-entropy, every parameter trainable
  adapter weights, e.g. encoder.layer.0.attention.output.adapter.down.weight [m, C]
        (Houlsby: h + up(GELU(down(h))) applied to the attention output dense's output and to the
        feed-forward output dense's output, before each residual add & LayerNorm; weights normal
        with std 1e-2, biases 0; names <sublayer>.adapter.{down,up}.{weight,bias})
  adapter.hidden.L, adapter.logits, adapter.loss   the model with adapters
  grad.adapter.<param>              gradients when training adapters, every LayerNorm
        (embeddings' included) and the classifier; the rest, pooler included, frozen
The metadata records the seed, the mask value, the adapter size and the weight source.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "golden", "wordpiece-uncased.jsonl")
VOCAB = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "vocab", "bert-base-uncased-vocab.txt")
OUT = os.path.join(os.path.dirname(__file__), "..", "bert", "testdata")
MASK_VALUE = -10000.0
SPECIALS = [0, 100, 101, 102, 103]  # [PAD] [UNK] [CLS] [SEP] [MASK]

# Each batch row: the first golden line of this source whose length is in [lo, hi].
SHAPES = {
    "tiny": dict(L=2, H=128, A=2, I=512, labels=2, adapter=16, seed=1001, maxpos=64, reduced=True,
                 grads=True, checkpoint=False,
                 batch=[("SST-2/dev", 18, 22), ("MRPC/dev", 30, 34), ("CoLA/dev", 6, 8), ("STS-B/dev", 13, 16)]),
    "odd": dict(L=3, H=84, A=3, I=200, labels=3, adapter=7, seed=2002, maxpos=64, reduced=True,
                grads=True, checkpoint=True,
                batch=[("RTE/dev", 20, 24), ("CoLA/dev", 11, 13), ("STS-B/dev", 14, 18)]),
    "base": dict(L=12, H=768, A=12, I=3072, labels=2, adapter=0, seed=3003, maxpos=512, reduced=False,
                 grads=False, checkpoint=False,
                 batch=[("STS-B/dev", 11, 12), ("SST-2/dev", 5, 7)]),
}

GAMMA = 0x9E3779B97F4A7C15
M64 = (1 << 64) - 1


def fnv1a64(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def mix64(z):
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def spec(name):
    if name.endswith("LayerNorm.weight"):
        return 1.0, 0.2
    if name.endswith(".bias"):
        return 0.0, 0.1
    return 0.0, 0.08


def synthetic(seed, name, shape):
    """The tensor of the given name and shape from the stream (see the module comment)."""
    n = int(np.prod(shape))
    key = np.uint64((seed ^ fnv1a64(name)) & M64)
    with np.errstate(over="ignore"):
        z = mix64(key + np.arange(1, n + 1, dtype=np.uint64) * np.uint64(GAMMA))
    k = (z >> np.uint64(40)).astype(np.int64)
    u = (2 * k - (1 << 24)).astype(np.float32) * np.float32(1.0 / (1 << 24))
    base, scale = spec(name)
    w = np.float32(base) + np.float32(scale) * u  # float32 * then float32 +
    return w.astype(np.float32).reshape(shape)


def tensor_shapes(c, V):
    H, I = c["H"], c["I"]
    t = [("embeddings.word_embeddings.weight", [V, H]), ("embeddings.position_embeddings.weight", [c["maxpos"], H]),
         ("embeddings.token_type_embeddings.weight", [2, H]), ("embeddings.LayerNorm.weight", [H]),
         ("embeddings.LayerNorm.bias", [H])]
    for l in range(c["L"]):
        p = f"encoder.layer.{l}."
        for n in ("query", "key", "value"):
            t += [(p + f"attention.self.{n}.weight", [H, H]), (p + f"attention.self.{n}.bias", [H])]
        t += [(p + "attention.output.dense.weight", [H, H]), (p + "attention.output.dense.bias", [H]),
              (p + "attention.output.LayerNorm.weight", [H]), (p + "attention.output.LayerNorm.bias", [H]),
              (p + "intermediate.dense.weight", [I, H]), (p + "intermediate.dense.bias", [I]),
              (p + "output.dense.weight", [H, I]), (p + "output.dense.bias", [H]),
              (p + "output.LayerNorm.weight", [H]), (p + "output.LayerNorm.bias", [H])]
    t += [("pooler.dense.weight", [H, H]), ("pooler.dense.bias", [H]),
          ("classifier.weight", [c["labels"], H]), ("classifier.bias", [c["labels"]])]
    return t


def write_safetensors(path, tensors, metadata):
    """Writes the safetensors format by hand: u64 header length, JSON header, data.
    tensors: name -> numpy array (float32 or int64). Larger elements first keeps alignment."""
    names = sorted(tensors, key=lambda n: (-tensors[n].dtype.itemsize, n))
    header, off, blobs = {"__metadata__": metadata}, 0, []
    for n in names:
        a = np.ascontiguousarray(tensors[n])
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int64): "I64"}[a.dtype]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[n] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(path + ".tmp", path)


def pick_batch(rows):
    lines = [json.loads(l) for l in open(GOLDEN)]
    out = []
    for src, lo, hi in rows:
        d = next(d for d in lines if d["source"] == src and lo <= len(d["input_ids"]) <= hi)
        out.append(d)
    return out


class Bert:
    """BERT from torch primitives over a dict of named tensors (Hugging Face names)."""

    def __init__(self, c, params):
        self.c, self.p = c, params

    def lin(self, x, name):
        return x @ self.p[name + ".weight"].T + self.p[name + ".bias"]

    def ln(self, x, name):
        return F.layer_norm(x, (x.shape[-1],), self.p[name + ".weight"], self.p[name + ".bias"], 1e-12)

    def adapter(self, h, name):
        if name + ".adapter.down.weight" not in self.p:
            return h
        return h + self.lin(F.gelu(self.lin(h, name + ".adapter.down")), name + ".adapter.up")

    def forward(self, ids, types, am):
        c, p = self.c, self.p
        B, T = ids.shape
        NH, HD = c["A"], c["H"] // c["A"]
        x = p["embeddings.word_embeddings.weight"][ids] + p["embeddings.position_embeddings.weight"][:T][None] \
            + p["embeddings.token_type_embeddings.weight"][types]
        x = self.ln(x, "embeddings.LayerNorm")
        hidden = [x]
        mask = (1.0 - am.to(x.dtype))[:, None, None, :] * MASK_VALUE
        for l in range(c["L"]):
            pre = f"encoder.layer.{l}."
            q, k, v = (self.lin(x, pre + "attention.self." + n).view(B, T, NH, HD).transpose(1, 2)
                       for n in ("query", "key", "value"))
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(HD) + mask, dim=-1)
            ctx = (probs @ v).transpose(1, 2).reshape(B, T, c["H"])
            a = self.adapter(self.lin(ctx, pre + "attention.output.dense"), pre + "attention.output")
            x1 = self.ln(x + a, pre + "attention.output.LayerNorm")
            f = F.gelu(self.lin(x1, pre + "intermediate.dense"))
            o = self.adapter(self.lin(f, pre + "output.dense"), pre + "output")
            x = self.ln(x1 + o, pre + "output.LayerNorm")
            hidden.append(x)
        pooled = torch.tanh(self.lin(x[:, 0], "pooler.dense"))
        logits = self.lin(pooled, "classifier")
        return hidden, pooled, logits


def f32(t):
    return t.detach().to(torch.float32).numpy()


def make(name, c, out_root):
    rows = pick_batch(c["batch"])
    B, T = len(rows), max(len(r["input_ids"]) for r in rows)
    ids = np.zeros((B, T), np.int64)
    types = np.zeros((B, T), np.int64)
    am = np.zeros((B, T), np.int64)
    for b, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[b, :n], types[b, :n], am[b, :n] = r["input_ids"], r["token_type_ids"], 1
    vocab_tokens = [l.rstrip("\n") for l in open(VOCAB, encoding="utf-8")]
    if c["reduced"]:
        order = list(SPECIALS)
        for r in rows:
            for i in r["input_ids"]:
                if i not in order:
                    order.append(i)
        remap = {old: new for new, old in enumerate(order)}
        ids = np.vectorize(remap.get)(ids).astype(np.int64)
        vocab_tokens = [vocab_tokens[i] for i in order]
    V = len(vocab_tokens)
    labels = np.array([b % c["labels"] for b in range(B)], np.int64)
    shapes = tensor_shapes(c, V)
    weights = {n: synthetic(c["seed"], n, s) for n, s in shapes}

    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    config = {"architectures": ["BertForSequenceClassification"], "model_type": "bert", "vocab_size": V,
              "hidden_size": c["H"], "num_hidden_layers": c["L"], "num_attention_heads": c["A"],
              "intermediate_size": c["I"], "max_position_embeddings": c["maxpos"], "type_vocab_size": 2,
              "hidden_act": "gelu", "layer_norm_eps": 1e-12, "hidden_dropout_prob": 0.1,
              "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
              "position_embedding_type": "absolute", "num_labels": c["labels"]}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    if c["reduced"]:
        with open(os.path.join(d, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("".join(t + "\n" for t in vocab_tokens))
    meta = {"seed": str(c["seed"]), "mask_value": str(MASK_VALUE), "weights": "checkpoint" if c["checkpoint"] else "stream",
            "sources": ",".join(r["source"] for r in rows)}
    if c["checkpoint"]:
        write_safetensors(os.path.join(d, "model.safetensors"), weights, {"format": "pt"})

    tid, ttypes, tam = torch.from_numpy(ids), torch.from_numpy(types), torch.from_numpy(am)
    tlabels = torch.from_numpy(labels)
    exp = {"input_ids": ids, "token_type_ids": types, "attention_mask": am, "labels": labels}

    # float32 forward, for scale only.
    p32 = {n: torch.from_numpy(w) for n, w in weights.items()}
    h32, _, _ = Bert(c, p32).forward(tid, ttypes, tam)
    # float64 reference, every parameter a leaf with a gradient (full fine-tuning).
    p64 = {n: torch.from_numpy(w).double().requires_grad_(True) for n, w in weights.items()}
    hidden, pooled, logits = Bert(c, p64).forward(tid, ttypes, tam)
    loss = F.cross_entropy(logits, tlabels)
    for i, h in enumerate(hidden):
        exp[f"hidden.{i}"] = f32(h)
    exp["pooled"], exp["logits"], exp["loss"] = f32(pooled), f32(logits), f32(loss).reshape(())
    d32 = max((h.double() - h64).abs().max().item() for h, h64 in zip(h32, hidden))
    print(f"{name}: B={B} T={T} V={V} lens={am.sum(1).tolist()} loss={loss.item():.6f} "
          f"max|float32 torch - float64| over hidden states {d32:.3g}")

    if c["grads"]:
        loss.backward()
        for n in weights:
            exp["grad.full." + n] = f32(p64[n].grad)
        # Adapter training: adapters (normal std 1e-2, biases 0), layer norms and head trained.
        g = torch.Generator().manual_seed(c["seed"])
        m, H = c["adapter"], c["H"]
        ad = {}
        for l in range(c["L"]):
            for sub in ("attention.output", "output"):
                pre = f"encoder.layer.{l}.{sub}.adapter."
                ad[pre + "down.weight"] = (torch.randn(m, H, generator=g, dtype=torch.float64) * 1e-2).float()
                ad[pre + "down.bias"] = torch.zeros(m)
                ad[pre + "up.weight"] = (torch.randn(H, m, generator=g, dtype=torch.float64) * 1e-2).float()
                ad[pre + "up.bias"] = torch.zeros(H)
        pa = {}
        for n, w in list(weights.items()) + [(n, t.numpy()) for n, t in ad.items()]:
            train = ".adapter." in n or "LayerNorm" in n or n.startswith("classifier.")
            pa[n] = torch.from_numpy(np.asarray(w)).double().requires_grad_(train)
        hidden, _, logits = Bert(c, pa).forward(tid, ttypes, tam)
        aloss = F.cross_entropy(logits, tlabels)
        aloss.backward()
        for n, t in ad.items():
            exp[n] = t.numpy()
        for i, h in enumerate(hidden):
            exp[f"adapter.hidden.{i}"] = f32(h)
        exp["adapter.logits"], exp["adapter.loss"] = f32(logits), f32(aloss).reshape(())
        for n, t in pa.items():
            if t.requires_grad:
                exp["grad.adapter." + n] = f32(t.grad)
        meta["adapter_size"] = str(m)
        print(f"{name}: adapter loss={aloss.item():.6f}, {sum(t.requires_grad for t in pa.values())} trained tensors")
    write_safetensors(os.path.join(d, "expected.safetensors"), exp, meta)
    for f in sorted(os.listdir(d)):
        print(f"  {os.path.join(d, f)}: {os.path.getsize(os.path.join(d, f)) / 1e6:.2f} MB")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=sorted(SHAPES), help="write one shape only")
    ap.add_argument("--out", default=OUT, help="output folder (default bert/testdata)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    for name, c in SHAPES.items():
        if a.only in (None, name):
            make(name, c, a.out)


if __name__ == "__main__":
    sys.exit(main())
