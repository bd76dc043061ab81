#!/usr/bin/python3
"""What PyTorch's dynamic int8 quantization costs on petl's parity fixtures.

    /usr/bin/python3 scripts/int8_reference.py      (from the repository root)

For each fixture shape of scripts/bert_fixtures.py (the same weights, batch and float64
reference), runs BERT with every dense product of the encoder and the pooler through
torch.ops.quantized.linear_dynamic, as torch.quantization.quantize_dynamic does (weights qint8 per
tensor, symmetric; activations quint8 per tensor, with reduce_range: 7 bits; on the x86 engine
Debian's torch has, onednn), and prints the largest |logit - float64 reference|: the figure to set beside petl's int8
(TestParityInt8 in bert/quantized_test.go logs the same measure). Nothing reads its output; tests
and CI never run it.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import bert_fixtures as bf  # noqa: E402


class QuantBert(bf.Bert):
    """bf.Bert with the frozen dense products in dynamic int8."""

    def __init__(self, c, params):
        super().__init__(c, params)
        self.packed = {}

    def lin(self, x, name):
        if ".adapter." in name or name.startswith("classifier"):
            return super().lin(x, name)
        if name not in self.packed:
            w = self.p[name + ".weight"].float()
            scale = float(w.abs().max()) / 127.5
            qw = torch.quantize_per_tensor(w, scale, 0, torch.qint8)
            self.packed[name] = torch.ops.quantized.linear_prepack(qw, self.p[name + ".bias"].float())
        shape = x.shape
        y = torch.ops.quantized.linear_dynamic(x.float().reshape(-1, shape[-1]).contiguous(), self.packed[name], True)
        return y.reshape(*shape[:-1], y.shape[-1])


def main():
    # Debian's torch has no fbgemm; onednn (its default) is the x86 engine it has, the one
    # ../shared/anchors/bert_torch.py's quantize_dynamic runs on here.
    print(f"engine {torch.backends.quantized.engine}")
    torch.set_num_threads(1)
    for name, c in bf.SHAPES.items():
        rows = bf.pick_batch(c["batch"])
        B, T = len(rows), max(len(r["input_ids"]) for r in rows)
        exp = os.path.join(bf.OUT, name, "expected.safetensors")
        ids = torch.from_numpy(read(exp, "input_ids"))
        types = torch.from_numpy(read(exp, "token_type_ids"))
        am = torch.from_numpy(read(exp, "attention_mask"))
        V = int(bf.json.load(open(os.path.join(bf.OUT, name, "config.json")))["vocab_size"])
        weights = {n: torch.from_numpy(bf.synthetic(c["seed"], n, s)) for n, s in bf.tensor_shapes(c, V)}
        want = read(exp, "logits")
        _, _, logits = QuantBert(c, weights).forward(ids, types, am)
        got = logits.detach().float().numpy()
        print(f"{name}: B={B} T={T}: PyTorch dynamic int8 max |logit - float64| = {np.abs(got - want).max():.3g} "
              f"(max |logit| {np.abs(want).max():.3g})")


def read(path, name):
    """Reads one tensor of a safetensors file written by bert_fixtures (I64 or F32)."""
    import json
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        e = header[name]
        f.seek(8 + n + e["data_offsets"][0])
        data = f.read(e["data_offsets"][1] - e["data_offsets"][0])
    dt = {"I64": np.int64, "F32": np.float32}[e["dtype"]]
    return np.frombuffer(data, dt).reshape(e["shape"])


if __name__ == "__main__":
    sys.exit(main())
