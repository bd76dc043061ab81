#!/usr/bin/python3
"""PyTorch CPU reference timings for petl's row kernels, single thread.

Times PyTorch's own functional operators (forward and backward) on the
BERT-base shapes used by benchmarks/rowops_test.go and prints, per operation,
the median wall time over repeats in ms and the resulting GB/s (bytes each
call must move / time), and the same from process CPU time (steadier on a
shared machine), so that petl's figures can be read side by side:

    /usr/bin/python3 benchmarks/torch_rowops.py                 # everything
    /usr/bin/python3 benchmarks/torch_rowops.py --ops layer_norm,adamw
    /usr/bin/python3 benchmarks/torch_rowops.py --threads 2 --repeats 21

Backward passes call the ATen backward operators directly
(_softmax_backward_data, native_layer_norm_backward, gelu_backward), which is
what autograd runs, without the autograd graph's bookkeeping.

Bytes per call (float32, the same convention as the Go benchmarks; small
per-row or per-column vectors such as gamma, mean and rstd are not counted):
    softmax         fwd: x in, y out = 8N        bwd: y, dy in, dx out = 12N
    layer_norm      fwd: x in, y out = 8N        bwd: dy, x in, dx out = 12N
    add_layer_norm  fwd: a, b in, s, y out = 16N (torch.add, then layer_norm)
    gelu            fwd: x in, y out = 8N        bwd: dy, x in, dx out = 12N
    bias_grad       dy in = 4N (dy.sum(0))
    adamw           p, g, m, v in; p, m, v out = 28N
where N is the number of elements (parameters for AdamW).

Uses Debian's python3-torch (run with /usr/bin/python3, not a virtualenv's
python).
"""

import argparse
import statistics
import sys
import time

import torch
import torch.nn.functional as F

GB = 1e9


def timeit(fn, repeats, min_time):
    """Median wall and CPU (process) seconds per call of fn over repeats,
    each repeat a loop long enough to last min_time seconds (after a
    warm-up). On a shared machine the CPU time is the steadier figure: it
    leaves out the time the process waited for a core."""
    fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(min_time / one))
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(inner):
            fn()
        cpu.append((time.process_time() - c0) / inner)
        wall.append((time.perf_counter() - t0) / inner)
    return statistics.median(wall), statistics.median(cpu)


def cases():
    """Yields (op, direction, shape text, bytes, setup) where setup() returns
    the function to time."""
    g = torch.Generator().manual_seed(1)

    def randn(*shape):
        return torch.randn(*shape, generator=g)

    # Softmax over the last dimension of attention scores, B x H x T x T.
    sm_shape = (8, 12, 128, 128)
    n = 8 * 12 * 128 * 128

    def softmax_fwd():
        x = randn(*sm_shape)
        return lambda: F.softmax(x, dim=-1)

    def softmax_bwd():
        y = F.softmax(randn(*sm_shape), dim=-1)
        dy = randn(*sm_shape)
        return lambda: torch._softmax_backward_data(dy, y, -1, torch.float32)

    yield "softmax", "fwd", "8x12x128x128", 8 * n, softmax_fwd
    yield "softmax", "bwd", "8x12x128x128", 12 * n, softmax_bwd

    # Layer norm over rows of width 768 (BERT-base hidden size), 1024 rows.
    rows, cols = 1024, 768
    n = rows * cols

    def ln_fwd():
        x, w, b = randn(rows, cols), randn(cols), randn(cols)
        return lambda: F.layer_norm(x, (cols,), w, b, 1e-12)

    def ln_bwd():
        x, w, b = randn(rows, cols), randn(cols), randn(cols)
        _, mean, rstd = torch.native_layer_norm(x, (cols,), w, b, 1e-12)
        dy = randn(rows, cols)
        mask = [True, True, True]
        return lambda: torch.ops.aten.native_layer_norm_backward(dy, x, (cols,), mean, rstd, w, b, mask)

    yield "layer_norm", "fwd", "1024x768", 8 * n, ln_fwd
    yield "layer_norm", "bwd", "1024x768", 12 * n, ln_bwd

    # The residual add and layer norm of a transformer block: s = a + b
    # (kept for backward), y = LayerNorm(s); two operators in PyTorch.
    def add_ln_fwd():
        a, b, w, bb = randn(rows, cols), randn(rows, cols), randn(cols), randn(cols)
        s = torch.empty(rows, cols)

        def f():
            torch.add(a, b, out=s)
            return F.layer_norm(s, (cols,), w, bb, 1e-12)

        return f

    yield "add_layer_norm", "fwd", "1024x768", 16 * n, add_ln_fwd

    # Exact (erf) GELU on the FFN activations, 1024 x 3072.
    rows, cols = 1024, 3072
    n = rows * cols

    def gelu_fwd():
        x = randn(rows, cols)
        return lambda: F.gelu(x)

    def gelu_bwd():
        x, dy = randn(rows, cols), randn(rows, cols)
        return lambda: torch.ops.aten.gelu_backward(dy, x, approximate="none")

    yield "gelu", "fwd", "1024x3072", 8 * n, gelu_fwd
    yield "gelu", "bwd", "1024x3072", 12 * n, gelu_bwd

    # Bias gradient: column sums of the FFN output gradient, 1024 x 3072.
    def bias_grad():
        dy, db = randn(rows, cols), torch.empty(cols)
        return lambda: torch.sum(dy, 0, out=db)

    yield "bias_grad", "sum(0)", "1024x3072", 4 * n, bias_grad

    # One AdamW step over 2.4M parameters (one flat tensor).
    n = 2_400_000
    for foreach in (False, None):

        def adamw(foreach=foreach):
            p = torch.nn.Parameter(randn(n))
            p.grad = randn(n)
            opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=foreach)
            opt.step()  # allocate the moment buffers
            return opt.step

        label = "step foreach=False" if foreach is False else "step default"
        yield "adamw", label, "2400000", 28 * n, adamw


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", default="", help="comma-separated subset of softmax,layer_norm,add_layer_norm,gelu,bias_grad,adamw")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    ap.add_argument("--repeats", type=int, default=11, help="timed repeats; the median is printed")
    ap.add_argument("--min-time", type=float, default=0.05, help="seconds per repeat")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    wanted = set(filter(None, args.ops.split(",")))
    torch.set_grad_enabled(False)
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'op':<16}{'pass':<20}{'shape':<15}{'ms':>10}{'GB/s':>10}{'cpu ms':>10}{'cpu GB/s':>10}")
    for op, direction, shape, nbytes, setup in cases():
        if wanted and op not in wanted:
            continue
        t, c = timeit(setup(), args.repeats, args.min_time)
        print(f"{op:<16}{direction:<20}{shape:<15}{t * 1e3:>10.3f}{nbytes / t / GB:>10.2f}{c * 1e3:>10.3f}{nbytes / c / GB:>10.2f}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
