#!/usr/bin/env python3
"""Reference hashes for the F16/BF16 conversions in convert.go.

Run with Debian's python3 (numpy and python3-torch):

    /usr/bin/python3 bert/safetensors/testdata/convert_reference.py

It prints SHA-256 digests of conversions computed by NumPy (binary16) and
PyTorch (bfloat16); convert_test.go computes the same digests with the Go
conversions over the same inputs and compares. NaN inputs and outputs are
left out (payload handling differs between implementations; the Go tests
check NaN stays NaN separately).
"""
import hashlib
import warnings

import numpy as np
import torch

warnings.simplefilter("ignore", RuntimeWarning)  # overflow to inf is expected


def digest(a):
    return hashlib.sha256(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()).hexdigest()


# Widening: every 16-bit pattern.
bits16 = np.arange(65536, dtype=np.uint32).astype(np.uint16)
f16 = bits16.view(np.float16).astype(np.float32)
keep = ~np.isnan(f16)
print("f16->f32", keep.sum(), digest(f16[keep].view(np.uint32)))

bf16 = torch.from_numpy(bits16.view(np.int16).copy()).view(torch.bfloat16).float().numpy()
keep = ~np.isnan(bf16)
print("bf16->f32", keep.sum(), digest(bf16[keep].view(np.uint32)))

# Narrowing: 2^20 float32 bit patterns spread over the whole range,
# i * 4093 mod 2^32 (NaNs dropped).
i = np.arange(1 << 20, dtype=np.uint64)
pats = ((i * 4093) % (1 << 32)).astype(np.uint32)
x = pats.view(np.float32)
x = x[~np.isnan(x)]
print("f32->f16", x.size, digest(x.astype(np.float16).view(np.uint16)))
bf = torch.from_numpy(x.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
print("f32->bf16", x.size, digest(bf))
