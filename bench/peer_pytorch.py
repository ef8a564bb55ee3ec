#!/usr/bin/env python3
"""Seed 000's recipe in PyTorch, and its comparison with hdr (bench/peer_pytorch.sh runs it).

    peer_pytorch.py epoch   [--config F] [--threads N] [--layout L] [--train-limit N] [--out DIR]
    peer_pytorch.py bench   [--config F] [--threads N] [--steps S] [--repeats R] [--single K]
    peer_pytorch.py compare --hdr PATH [--config F] [--threads N] [--rounds K] [--json FILE] [--quick]

`epoch` trains one epoch of the config's recipe and evaluates on the validation and test sets (the
comparison times the whole process, start-up included). `bench` prints, as one JSON object, the
training images/s (batch of the config, augmentation included, as `hdr bench train` times it)
and the batch-1000 throughput and one-image latency (as `hdr bench infer` times them) of every
variant it tried. `compare` alternates hdr and PyTorch, round by round, and prints the medians
and ratios. Only the standard library, numpy and torch (Debian: python3-torch).
"""

import argparse
import configparser
import copy
import datetime
import gzip
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
    import torch.utils.mkldnn as mkldnn_utils
    from torch import nn
except ImportError as error:  # compare needs neither; epoch and bench say how to get them
    np = torch = F = mkldnn_utils = nn = None
    IMPORT_ERROR = error

INSTALL_HINT = "no PyTorch (or numpy) for {}: apt-get install python3-torch (Debian's, for /usr/bin/python3)"
DEFAULT_CONFIG = "configs/cnn_bn.ini"
LAYOUTS = ("nchw", "channels_last")
TORCH_GLIBC_TUNABLES = "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=4294967295"

# ----------------------------------------------------------------------------------------------
# The recipe, read from the same INI file hdr trains from (docs/config.md), so that both sides
# run the same network and hyperparameters by construction. A key this peer does not implement
# is refused rather than ignored: a silently different recipe would make the comparison wrong.

LAYER_KEYS = {
    "conv2d": {"type", "filters", "kernel", "stride", "padding", "activation", "init"},
    "dense": {"type", "units", "activation", "init"},
    "batchnorm": {"type", "momentum", "epsilon", "activation"},
    "maxpool": {"type", "size", "stride"},
    "dropout": {"type", "rate"},
    "flatten": {"type"},
    "relu": {"type"},
}


def read_config(path):
    cfg = configparser.ConfigParser(inline_comment_prefixes=("#", ";"))
    if not cfg.read(path):
        sys.exit(f"peer_pytorch: cannot read the config {path}")
    train = cfg["train"] if cfg.has_section("train") else {}
    if train.get("optimizer", "adam") != "adam":
        sys.exit(f"peer_pytorch: {path}: only train.optimizer = adam is implemented here")
    for key in ("l2", "weight_decay", "label_smoothing", "ema"):
        if float(train.get(key, "0")) != 0:
            sys.exit(f"peer_pytorch: {path}: train.{key} is not implemented here")
    return cfg


def input_shape(cfg):
    h, w, c = (int(v) for v in cfg.get("model", "input", fallback="28x28x1").split("x"))
    return c, h, w


def layer_sections(cfg):
    return [(name[len("layer."):], cfg[name]) for name in cfg.sections() if name.startswith("layer.")]


def init_weights(module, how):
    # Keras' initialisers, which hdr follows: glorot_uniform (default) or he_normal; biases 0.
    if how == "he_normal":
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
    else:
        nn.init.xavier_uniform_(module.weight)
    nn.init.zeros_(module.bias)


def build_model(cfg):
    """nn.Sequential of the [layer.*] sections. The last layer's softmax is left out: training
    fuses it into the loss (as hdr does), inference appends it (inference_model)."""
    c, h, w = input_shape(cfg)
    flat = None  # features once flattened
    layers = []
    for name, s in layer_sections(cfg):
        kind = s.get("type")
        if kind not in LAYER_KEYS:
            sys.exit(f"peer_pytorch: layer.{name}: type {kind} is not implemented here")
        extra = set(s.keys()) - LAYER_KEYS[kind]
        if extra:
            sys.exit(f"peer_pytorch: layer.{name}: {', '.join(sorted(extra))} not implemented here")
        activation = s.get("activation", "none")
        if kind == "conv2d":
            k, stride = int(s.get("kernel", "3")), int(s.get("stride", "1"))
            pad = k // 2 if s.get("padding", "valid") == "same" else 0
            conv = nn.Conv2d(c, int(s["filters"]), k, stride=stride, padding=pad)
            init_weights(conv, s.get("init", "glorot_uniform"))
            layers.append(conv)
            c = int(s["filters"])
            h, w = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
        elif kind == "dense":
            dense = nn.Linear(flat if flat is not None else c * h * w, int(s["units"]))
            init_weights(dense, s.get("init", "glorot_uniform"))
            layers.append(dense)
            flat = int(s["units"])
        elif kind == "batchnorm":
            # Keras' momentum is the moving average's decay; PyTorch's is its complement.
            momentum = 1.0 - float(s.get("momentum", "0.99"))
            eps = float(s.get("epsilon", "0.001"))
            if flat is None:
                layers.append(nn.BatchNorm2d(c, eps=eps, momentum=momentum))
            else:
                layers.append(nn.BatchNorm1d(flat, eps=eps, momentum=momentum))
        elif kind == "maxpool":
            size = int(s.get("size", "2"))
            stride = int(s.get("stride", str(size)))
            layers.append(nn.MaxPool2d(size, stride))
            h, w = (h - size) // stride + 1, (w - size) // stride + 1
        elif kind == "dropout":
            layers.append(nn.Dropout(float(s["rate"])))
        elif kind == "flatten":
            layers.append(nn.Flatten())
            flat = c * h * w
        elif kind == "relu":
            layers.append(nn.ReLU(inplace=True))
        if activation == "relu":
            layers.append(nn.ReLU(inplace=True))
        elif activation not in ("none", "softmax"):
            sys.exit(f"peer_pytorch: layer.{name}: activation {activation} not implemented here")
    return nn.Sequential(*layers)


def inference_model(net):
    """The network as hdr's inference runs it, probabilities out: net, then softmax."""
    return nn.Sequential(net, nn.Softmax(dim=1)).eval()


def make_optimizer(cfg, model):
    t = cfg["train"]
    return torch.optim.Adam(
        model.parameters(),
        lr=float(t.get("learning_rate", "0.001")),
        betas=(float(t.get("beta1", "0.9")), float(t.get("beta2", "0.999"))),
        eps=float(t.get("epsilon", "1e-07")),  # Keras' default, which hdr uses, not PyTorch's 1e-8
    )


# ----------------------------------------------------------------------------------------------
# Data: the same IDX files hdr reads, plain or gzipped, kept as uint8 like hdr keeps them; the
# scaling to [0, 1] and normalisation happen per batch (on the augmented batch in training).


def idx_contents(path):
    """The bytes and dimensions of an IDX file of bytes, plain or gzipped."""
    opener = open
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path, opener = path + ".gz", gzip.open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        sys.exit(f"peer_pytorch: {path} is not an IDX file of bytes")
    return data, [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(data[3])]


def read_idx(path):
    data, dims = idx_contents(path)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * len(dims)).reshape(dims)


def load_split(cfg, split):
    """uint8 images [N, 1, H, W] and int64 labels of the train or t10k IDX pair."""
    folder = cfg.get("data", "dir", fallback="data/mnist")
    images = read_idx(os.path.join(folder, f"{split}-images-idx3-ubyte"))
    labels = read_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte"))
    images = torch.from_numpy(images.copy()).unsqueeze(1)
    return images, torch.from_numpy(labels.astype(np.int64))


class Normalise:
    """uint8 -> float: x / 255, then (x - mean) / std ([data] mean and std, docs/config.md)."""

    def __init__(self, cfg):
        self.mean = cfg.getfloat("data", "mean", fallback=0.0)
        self.std = cfg.getfloat("data", "std", fallback=1.0)

    def __call__(self, images_u8):
        x = images_u8.float().mul_(1.0 / 255.0)
        if self.mean != 0.0 or self.std != 1.0:
            x.sub_(self.mean).div_(self.std)
        return x


class Augment:
    """hdr's random affine augmentation (kernels/augment.cuh) on a float batch, with torch ops:
    per image, rotation theta, shift (tx, ty) in pixels and zoom (zx, zy); output pixel p reads
    source c + R(theta) (Z (p - c) + t) with c the image centre, sampled bilinearly with the
    edge pixels repeated (Keras' fill_mode 'nearest'). affine_grid + grid_sample with
    align_corners=True take that map in normalised coordinates (-1 and 1 = the corner pixels'
    centres): A_n = S A S^-1 and b_n = S R t, with S = diag(2 / (w - 1), 2 / (h - 1))."""

    def __init__(self, cfg):
        a = cfg["augment"] if cfg.has_section("augment") else {}
        self.enabled = str(a.get("enabled", "false")).lower() in ("true", "yes", "on", "1")
        self.rotation = math.radians(float(a.get("rotation", "0")))
        self.shift_x = float(a.get("width_shift", "0"))
        self.shift_y = float(a.get("height_shift", "0"))
        self.zoom = float(a.get("zoom", "0"))

    def __call__(self, x):
        if not self.enabled:
            return x
        n, _, h, w = x.shape

        def uniform(r):  # uniform in [-r, r), one per image
            return (torch.rand(n) * 2 - 1) * r

        zoom = (1 + uniform(self.zoom), 1 + uniform(self.zoom))
        return self.transform(x, uniform(self.rotation), uniform(self.shift_x * w), uniform(self.shift_y * h), *zoom)

    @staticmethod
    def transform(x, theta, tx, ty, zx, zy):
        """x [N, C, H, W] under per-image theta (radians), shifts (pixels) and zooms."""
        n, _, h, w = x.shape
        cos, sin = torch.cos(theta), torch.sin(theta)
        sx, sy = 2.0 / (w - 1), 2.0 / (h - 1)
        m = torch.empty(n, 2, 3)
        m[:, 0, 0] = cos * zx
        m[:, 0, 1] = -sin * zy * (sx / sy)
        m[:, 1, 0] = sin * zx * (sy / sx)
        m[:, 1, 1] = cos * zy
        m[:, 0, 2] = sx * (cos * tx - sin * ty)
        m[:, 1, 2] = sy * (sin * tx + cos * ty)
        grid = F.affine_grid(m, list(x.shape), align_corners=True)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def to_layout(t, layout):
    return t.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else t


def to_layout_model(model, layout):
    return model.to(memory_format=torch.channels_last) if layout == "channels_last" else model


def set_threads(threads):
    # OMP_NUM_THREADS (set by compare before the process starts) sizes oneDNN's and ATen's
    # OpenMP pool; set_num_threads makes sure, whatever the environment says.
    torch.set_num_threads(threads)


def require_torch():
    if torch is None:
        sys.exit(f"peer_pytorch: {INSTALL_HINT.format(sys.executable)} ({IMPORT_ERROR})")


# ----------------------------------------------------------------------------------------------
# epoch: one epoch of the recipe, validation after it, the test set at the end.


def evaluate(model, images, labels, normalise, layout, batch=1000):
    """Loss and accuracy in inference mode (no autograd, batch-norm moving statistics)."""
    model.eval()
    loss, right = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(images), batch):
            logits = model(to_layout(normalise(images[i : i + batch]), layout))
            y = labels[i : i + batch]
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            right += int((logits.argmax(1) == y).sum())
    return loss / len(images), right / len(images)


def split_train_validation(cfg, images, labels, limit, generator):
    """Keras' and hdr's split: a fraction of the (first `limit`) training images held out."""
    if limit:
        images, labels = images[:limit], labels[:limit]
    n = len(images)
    held = int(n * cfg.getfloat("data", "validation_split", fallback=0.2))
    order = torch.randperm(n, generator=generator)
    val, train = order[:held], order[held:]
    return images[train], labels[train], images[val], labels[val]


def run_epoch(args):
    require_torch()
    set_threads(args.threads)
    cfg = read_config(args.config)
    seed = cfg.getint("train", "seed", fallback=42)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    images, labels = load_split(cfg, "train")
    test_images, test_labels = load_split(cfg, "t10k")
    train_x, train_y, val_x, val_y = split_train_validation(cfg, images, labels, args.train_limit, generator)
    model = to_layout_model(build_model(cfg), args.layout)
    optimizer = make_optimizer(cfg, model)
    normalise, augment = Normalise(cfg), Augment(cfg)
    batch = cfg.getint("train", "batch_size", fallback=64)

    start = time.perf_counter()
    model.train()
    order = torch.randperm(len(train_x), generator=generator)
    loss_sum, right = torch.zeros(()), torch.zeros((), dtype=torch.int64)
    for i in range(0, len(order), batch):  # Keras and hdr keep the last, smaller batch
        rows = order[i : i + batch]
        x = to_layout(augment(normalise(train_x[rows])), args.layout)
        y = train_y[rows]
        optimizer.zero_grad(set_to_none=True)
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        loss_sum += loss.detach() * len(rows)
        right += (logits.detach().argmax(1) == y).sum()
    train_seconds = time.perf_counter() - start
    val_loss, val_acc = evaluate(model, val_x, val_y, normalise, args.layout) if len(val_x) else (math.nan, math.nan)
    test_loss, test_acc = evaluate(model, test_images, test_labels, normalise, args.layout)
    if args.out:
        # hdr saves a checkpoint at every epoch; so does this side, for the same work.
        os.makedirs(args.out, exist_ok=True)
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
        torch.save(state, os.path.join(args.out, "model.pt"))
    print(
        f"epoch 1: {len(train_x)} images in {train_seconds:.2f} s ({len(train_x) / train_seconds:.0f} images/s), "
        f"loss {float(loss_sum) / len(train_x):.4f}, accuracy {int(right) / len(train_x):.2%}; "
        f"validation ({len(val_x)}) loss {val_loss:.4f}, accuracy {val_acc:.2%}"
    )
    right_test = round(test_acc * len(test_images))
    print(f"Test accuracy: {test_acc:.2%} ({right_test} of {len(test_images)} images), loss {test_loss:.4f}")


# ----------------------------------------------------------------------------------------------
# bench: what `hdr bench train` and `hdr bench infer` time (tools/cli/bench.cpp), in PyTorch.


def median_of_runs(fn, repeats):
    """Median seconds of `repeats` timed calls of fn after one untimed warm-up call."""
    fn()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds)


def bench_train(cfg, images, labels, layout, steps, repeats):
    """Images/s of full training steps, as hdr bench train: the first images of the training
    set, step s on rows s * batch on; each step gathers its uint8 rows, scales and augments
    them, runs forward, loss, backward and Adam. Median of `repeats` runs of `steps` steps after
    a warm-up run."""
    torch.manual_seed(cfg.getint("train", "seed", fallback=42))
    model = to_layout_model(build_model(cfg), layout).train()
    optimizer = make_optimizer(cfg, model)
    normalise, augment = Normalise(cfg), Augment(cfg)
    batch = cfg.getint("train", "batch_size", fallback=64)
    available = len(images) // batch

    def step(s):
        rows = slice((s % available) * batch, (s % available + 1) * batch)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(to_layout(augment(normalise(images[rows])), layout)), labels[rows])
        loss.backward()
        optimizer.step()

    def run():
        for s in range(steps):
            step(s)

    return steps * batch / median_of_runs(run, repeats)


def inference_variants(cfg, example):
    """(name, callable taking a float NCHW batch) for every way of running inference tried.
    Every variant runs under inference_mode (no autograd) on the eval-mode network."""
    torch.manual_seed(cfg.getint("train", "seed", fallback=42))
    eager = inference_model(build_model(cfg))
    cl = channels_last_copy(eager)
    variants = [
        ("eager, NCHW", lambda x: eager(x)),
        ("eager, channels_last", lambda x: cl(to_layout(x, "channels_last"))),
    ]
    try:  # TorchScript: trace, then freeze (weights become constants, ops fused where it can)
        with torch.no_grad():
            frozen = frozen_trace(copy.deepcopy(eager), example)
            frozen_cl = frozen_trace(channels_last_copy(eager), to_layout(example, "channels_last"))
            optimized = torch.jit.optimize_for_inference(frozen_trace(copy.deepcopy(eager), example))
        variants += [
            ("TorchScript trace + freeze, NCHW", lambda x: frozen(x)),
            ("TorchScript trace + freeze, channels_last", lambda x: frozen_cl(to_layout(x, "channels_last"))),
            ("TorchScript optimize_for_inference (oneDNN layouts)", lambda x: optimized(x)),
        ]
    except Exception as error:  # report, keep the others
        variants.append(("TorchScript", error))
    try:
        variants.append(("oneDNN tensors (torch.utils.mkldnn) for the conv blocks", mkldnn_variant(eager)))
    except Exception as error:
        variants.append(("oneDNN tensors (torch.utils.mkldnn)", error))
    return variants


def frozen_trace(model, example):
    return torch.jit.freeze(torch.jit.trace(model, example))


def channels_last_copy(model):
    return copy.deepcopy(model).to(memory_format=torch.channels_last)


def mkldnn_variant(eager):
    """The layers before the flatten as oneDNN-tensor modules (torch.utils.mkldnn converts Conv2d
    and BatchNorm2d; ReLU, max pooling and eval dropout take oneDNN tensors), back to a dense
    tensor for the head, whose BatchNorm1d has no oneDNN form. Its point: with a small batch,
    ATen's convolution otherwise leaves oneDNN for im2col + the system BLAS."""
    layers = list(eager[0])
    cut = next(i for i, layer in enumerate(layers) if isinstance(layer, nn.Flatten))
    features = mkldnn_utils.to_mkldnn(copy.deepcopy(nn.Sequential(*layers[:cut])))
    head = copy.deepcopy(nn.Sequential(*layers[cut:]))

    def run(x):
        return torch.softmax(head(features(x.to_mkldnn()).to_dense()), dim=1)

    return run


def bench_infer(cfg, images, repeats, single_repeats):
    """Batch-1000 images/s (median of `repeats` after a warm-up) and one-image latency (median
    of `single_repeats` single calls), as hdr bench infer: uint8 rows scaled to float inside the
    timed call, then the network, softmax included. One entry per variant; a variant whose
    output differs from eager PyTorch's, or that fails, is reported and not used."""
    normalise = Normalise(cfg)
    n = min(1000, len(images))
    batch_u8, one_u8 = images[:n], images[:1]
    results = []
    with torch.inference_mode():
        variants = inference_variants(cfg, normalise(batch_u8))
        reference = variants[0][1](normalise(batch_u8))
        for name, fn in variants:
            if isinstance(fn, Exception):
                results.append({"variant": name, "error": f"{type(fn).__name__}: {fn}"})
                continue
            try:
                for _ in range(3):  # TorchScript's profiling executor optimises after a few runs
                    fn(normalise(batch_u8)), fn(normalise(one_u8))
                diff = float((fn(normalise(batch_u8)) - reference).abs().max())
                if diff > 1e-4:
                    results.append({"variant": name, "error": f"output differs from eager by {diff:.2g}"})
                    continue
                batch_s = median_of_runs(lambda: fn(normalise(batch_u8)), repeats)
                single = []
                for _ in range(single_repeats):
                    start = time.perf_counter()
                    fn(normalise(one_u8))
                    single.append(time.perf_counter() - start)
                results.append(
                    {
                        "variant": name,
                        "images_per_second": n / batch_s,
                        "single_image_latency_ms": 1e3 * statistics.median(single),
                        "max_abs_diff": diff,
                    }
                )
            except Exception as error:
                results.append({"variant": name, "error": f"{type(error).__name__}: {error}"})
    return results


def blas_library():
    """The BLAS library the process has mapped (PyTorch's dense layers, and its convolutions
    that leave oneDNN, call it): Debian's libblas.so.3 is whichever alternative is installed,
    and the reference (netlib) one is several times slower than OpenBLAS or BLIS."""
    torch.ones(64, 64) @ torch.ones(64, 64)  # make sure it is loaded
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if re.search(r"lib(open)?blas|blis", line)}
    except OSError:
        return "unknown"
    paths = sorted(os.path.realpath(p) for p in paths if p.startswith("/"))
    return ", ".join(paths) if paths else "none mapped (PyTorch's own GEMM)"


def run_bench(args):
    require_torch()
    set_threads(args.threads)
    cfg = read_config(args.config)
    images, labels = load_split(cfg, "train")
    batch = cfg.getint("train", "batch_size", fallback=64)
    count = min(len(images), max((args.steps + 1) * batch, 1000))  # as hdr bench: the first images
    images, labels = images[:count], labels[:count]
    train = {layout: bench_train(cfg, images, labels, layout, args.steps, args.repeats) for layout in LAYOUTS}
    infer = bench_infer(cfg, images, args.repeats, args.single)
    ok = [r for r in infer if "error" not in r]
    best_layout = max(train, key=train.get)
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": blas_library(),
        "onednn": torch.backends.mkldnn.is_available(),
        "train": {
            "images_per_second": train[best_layout],
            "layout": best_layout,
            "tried": [{"layout": k, "images_per_second": v} for k, v in train.items()],
        },
        "infer": {
            "images_per_second": max(r["images_per_second"] for r in ok),
            "batch_variant": max(ok, key=lambda r: r["images_per_second"])["variant"],
            "single_image_latency_ms": min(r["single_image_latency_ms"] for r in ok),
            "single_variant": min(ok, key=lambda r: r["single_image_latency_ms"])["variant"],
            "tried": infer,
        },
    }
    print(json.dumps(result))


# ----------------------------------------------------------------------------------------------
# compare: hdr (A) and PyTorch (B) alternated, A B A B ..., each measurement in its own process,
# on the same thread count. This process only starts the others and reads what they print.


class Failed(Exception):
    pass


def run_process(cmd, env, what):
    """Run cmd; (wall seconds from launch to exit, stdout). Raises Failed with its output."""
    start = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if p.returncode != 0:
        tail = "\n".join((p.stdout + p.stderr).strip().splitlines()[-15:])
        raise Failed(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{tail}")
    return seconds, p.stdout


def test_accuracy(text):
    m = re.search(r"Test accuracy: ([0-9.]+)%", text)
    return float(m.group(1)) if m else None


def last_json(text, what):
    """The JSON document of a --json run (hdr prints it alone; bench prints one line)."""
    try:
        return json.loads(text[text.index("{") :])
    except ValueError as error:
        raise Failed(f"{what}: no JSON in its output ({error})") from error


class Plan:
    """The commands of one comparison: tiny settings with --quick, the real ones otherwise."""

    def __init__(self, args):
        self.args = args
        quick = args.quick
        self.steps, self.repeats = (3, 2) if quick else (50, 5)
        self.single = 20 if quick else 200  # hdr bench infer times 200 single images
        self.train_limit = 2000 if quick else 0
        self.env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            self.env[var] = str(args.threads)
        # PyTorch's CPU allocator takes every tensor from malloc, and glibc serves one above 32 MiB
        # (batch 1000's activations) with a fresh mmap, so each op pays page faults on its output:
        # without mmap and trimming, freed memory is reused (what jemalloc or tcmalloc, the usual
        # LD_PRELOAD advice for PyTorch on CPUs, also achieve). hdr runs as it is shipped.
        self.torch_env = dict(self.env)
        tunables = [self.env.get("GLIBC_TUNABLES", ""), TORCH_GLIBC_TUNABLES]
        self.torch_env["GLIBC_TUNABLES"] = ":".join(t for t in tunables if t)
        self.py = [sys.executable, os.path.abspath(__file__)]

    def hdr(self, *rest):
        return [self.args.hdr, *rest, "--device", "cpu", "--threads", str(self.args.threads)]

    def hdr_epoch(self, out):
        limit = ["--set", f"data.train_limit={self.train_limit}"] if self.train_limit else []
        return self.hdr("train", self.args.config, "--set", "train.epochs=1", *limit, "--quiet", "--out", out)

    def hdr_bench(self, what):
        extra = ["--steps", str(self.steps)] if what == "train" else []
        return self.hdr("bench", what, "--config", self.args.config, *extra, "--repeats", str(self.repeats), "--json")

    def torch_epoch(self, out, layout):
        limit = ["--train-limit", str(self.train_limit)] if self.train_limit else []
        return [*self.py, "epoch", "--config", self.args.config, "--threads", str(self.args.threads),
                "--layout", layout, "--out", out, *limit]  # fmt: skip

    def torch_bench(self):
        return [*self.py, "bench", "--config", self.args.config, "--threads", str(self.args.threads),
                "--steps", str(self.steps), "--repeats", str(self.repeats), "--single", str(self.single)]  # fmt: skip


def hdr_bench(plan):
    train = last_json(run_process(plan.hdr_bench("train"), plan.env, "hdr bench train")[1], "hdr bench train")
    infer = last_json(run_process(plan.hdr_bench("infer"), plan.env, "hdr bench infer")[1], "hdr bench infer")
    train_dev, infer_dev = train["devices"][0], infer["devices"][0]
    return {
        "train_images_per_second": train_dev["train"]["images_per_second"],
        "infer_images_per_second": infer_dev["infer"]["images_per_second"],
        "single_image_latency_ms": infer_dev["infer"]["single_image_latency_ms"],
        # The work per image hdr performs (fewer FLOPs than the direct sums where it runs
        # Winograd) and the machine's FP32 peak, for the ceiling (METRICS)
        "train_performed_mflop": train_dev["train"]["performed_mflop_per_image"],
        "infer_performed_mflop": infer_dev["infer"]["performed_mflop_per_image"],
        "single_image_performed_mflop": infer_dev["infer"]["single_image_performed_mflop"],
        "fp32_peak_gflops": max(train_dev["peaks"]["fp32_gflops"], infer_dev["peaks"]["fp32_gflops"]),
        "backend": train_dev.get("backend"),
        "version": train.get("hdr"),
    }


def torch_bench(plan):
    bench = last_json(run_process(plan.torch_bench(), plan.torch_env, "PyTorch bench")[1], "PyTorch bench")
    return {
        "train_images_per_second": bench["train"]["images_per_second"],
        "infer_images_per_second": bench["infer"]["images_per_second"],
        "single_image_latency_ms": bench["infer"]["single_image_latency_ms"],
        "bench": bench,
    }


def timed_epoch(cmd, env, out, what):
    """Seconds from launch to exit of one epoch's process, and its test accuracy (percent)."""
    seconds, text = run_process(cmd, env, what)
    shutil.rmtree(out, ignore_errors=True)
    return {"epoch_seconds": seconds, "test_accuracy_percent": test_accuracy(text)}


def run_round(plan, work):
    """A B, A B: the benchmarks of both, then the epoch of both, each pair back to back."""
    hdr, pt = hdr_bench(plan), torch_bench(plan)
    layout = pt["bench"]["train"]["layout"]  # PyTorch's epoch runs in the layout that trained fastest
    out = os.path.join(work, "hdr")
    hdr.update(timed_epoch(plan.hdr_epoch(out), plan.env, out, "hdr train"))
    out = os.path.join(work, "torch")
    pt.update(timed_epoch(plan.torch_epoch(out, layout), plan.torch_env, out, "PyTorch epoch"), epoch_layout=layout)
    return hdr, pt


# metric, label, unit, higher is better, the target for hdr's advantage
METRICS = [
    ("epoch_seconds", "one epoch, start-up + validation + test", "s", False, 4.0),
    ("train_images_per_second", "training, batch 64, augmentation included", "images/s", True, None),
    ("infer_images_per_second", "inference, batch 1000", "images/s", True, 6.0),
    ("single_image_latency_ms", "one-image latency", "ms", False, 15.0),
]


def epoch_images(config, train_limit):
    """(trained, evaluated) images of one epoch of the recipe: the training split; the validation
    split and the test set."""
    cfg = read_config(config)
    folder = cfg.get("data", "dir", fallback="data/mnist")
    total = idx_contents(os.path.join(folder, "train-labels-idx1-ubyte"))[1][0]
    total = min(total, train_limit) if train_limit else total
    held = int(total * cfg.getfloat("data", "validation_split", fallback=0.2))
    return total - held, held + idx_contents(os.path.join(folder, "t10k-labels-idx1-ubyte"))[1][0]


def ceiling(key, hdr, torch_value, peak, images):
    """hdr's advantage were each of its FLOPs run at the FP32 peak and nothing else to take time
    (no start-up, no memory traffic): what no kernel or recipe can exceed on this machine."""
    train, infer = hdr["train_performed_mflop"], hdr["infer_performed_mflop"]  # MFLOP / GFLOP/s = ms
    at_peak = {
        "epoch_seconds": (images[0] * train + images[1] * infer) / peak / 1e3,
        "train_images_per_second": 1e3 * peak / train,
        "infer_images_per_second": 1e3 * peak / infer,
        "single_image_latency_ms": hdr["single_image_performed_mflop"] / peak,
    }[key]
    higher = next(m[3] for m in METRICS if m[0] == key)
    return advantage(at_peak, torch_value, higher)


def fmt(value, unit):
    if value is None:
        return "-"
    if unit == "images/s":
        return f"{value:,.0f} {unit}"
    return f"{value:.3f} {unit}" if unit == "ms" else f"{value:.2f} {unit}"


def advantage(hdr_value, torch_value, higher_is_better):
    """hdr's advantage: hdr/PyTorch for a rate, PyTorch/hdr for a time (> 1: hdr is faster)."""
    return hdr_value / torch_value if higher_is_better else torch_value / hdr_value


def print_round(r, hdr, pt):
    print(f"round {r}: hdr     " + "; ".join(fmt(hdr[k], u) for k, _, u, _, _ in METRICS), flush=True)
    print(f"round {r}: PyTorch " + "; ".join(fmt(pt[k], u) for k, _, u, _, _ in METRICS), flush=True)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release()}


def print_torch_side(bench, plan):
    """What PyTorch ran on and every variant it tried, with the ones used."""
    print()
    onednn = "on" if bench["onednn"] else "off"
    print(f"PyTorch {bench['torch']}, {bench['threads']} threads, oneDNN {onednn}, BLAS: {bench['blas']}")
    print(f"PyTorch's processes ran with GLIBC_TUNABLES={plan.torch_env['GLIBC_TUNABLES']}")
    if re.search(r"/blas/libblas", bench["blas"]):
        print("  note: that is the reference (netlib) BLAS, which PyTorch's dense layers and its small-batch")
        print("  convolutions call: PyTorch is slower than it can be. Debian's libtorch recommends OpenBLAS:")
        print("  apt-get install libopenblas0, then rerun (hdr does not use a BLAS).")
    print("PyTorch variants tried (last round):")
    for t in bench["train"]["tried"]:
        print(f"  training, {t['layout']}: {t['images_per_second']:,.0f} images/s")
    for t in bench["infer"]["tried"]:
        if "error" in t:
            print(f"  inference, {t['variant']}: not used ({t['error']})")
        else:
            print(f"  inference, {t['variant']}: {t['images_per_second']:,.0f} images/s batch 1000, "
                  f"{t['single_image_latency_ms']:.3f} ms one image")  # fmt: skip
    print(f"  used: training {bench['train']['layout']}; batch 1000 {bench['infer']['batch_variant']}; "
          f"one image {bench['infer']['single_variant']}")  # fmt: skip


def print_summary(summary, rounds):
    print()
    title = f"median of {len(rounds)} round(s)"
    print(f"{title:<45} {'hdr':>16} {'PyTorch':>16} {'hdr advantage':>14} {'at peak':>8} {'target':>7}")
    for key, label, unit, _, target in METRICS:
        s = summary[key]
        print(f"{label:<45} {fmt(s['hdr'], unit):>16} {fmt(s['torch'], unit):>16} "
              f"{s['advantage']:>13.2f}x {s['ceiling']:>7.2f}x {'>= %gx' % target if target else '':>7}")  # fmt: skip
    accuracies = [(x["hdr"]["test_accuracy_percent"], x["torch"]["test_accuracy_percent"]) for x in rounds]
    print(f"test accuracy after the epoch, per round (hdr, PyTorch): {accuracies}")
    print("hdr advantage: hdr/PyTorch for images/s, PyTorch/hdr for seconds and milliseconds; target: the issue's")
    print(f"at peak: the advantage were every FLOP of hdr's run at the FP32 peak {summary['peak_gflops']:.0f} GFLOP/s "
          "(hdr bench's, best of the rounds) and nothing else to take time: the most any kernel or recipe can reach")  # fmt: skip


def run_compare(args):
    plan = Plan(args)
    started = datetime.datetime.now().astimezone()
    hdr_version = run_process([args.hdr, "--version"], plan.env, "hdr --version")[1].strip().splitlines()
    print(f"peer comparison: {args.hdr} ({'; '.join(hdr_version[:2])}) vs PyTorch ({sys.executable}), "
          f"{args.threads} thread(s), {args.rounds} round(s)"
          f"{'; --quick: tiny settings, the figures mean nothing' if args.quick else ''}")  # fmt: skip
    print("each round: hdr bench train + infer, PyTorch bench, hdr epoch, PyTorch epoch")
    print("per round: " + "; ".join(label for _, label, _, _, _ in METRICS), flush=True)
    rounds = []
    with tempfile.TemporaryDirectory(prefix="peer_pytorch.") as work:
        for r in range(1, args.rounds + 1):
            try:
                hdr, pt = run_round(plan, work)
            except Failed as error:
                sys.exit(f"peer_pytorch: {error}")
            print_round(r, hdr, pt)
            rounds.append({"round": r, "hdr": hdr, "torch": pt})

    bench = rounds[-1]["torch"]["bench"]
    print_torch_side(bench, plan)
    summary = summarise(rounds, epoch_images(args.config, plan.train_limit))
    print_summary(summary, rounds)

    if args.json:
        doc = {
            "schema": "hdr-peer-pytorch/1",
            "date": started.isoformat(timespec="seconds"),
            "command": args.command or " ".join(sys.argv),
            "machine": machine(),
            "threads": args.threads,
            "quick": args.quick,
            "config": args.config,
            "hdr": {"binary": args.hdr, "version": hdr_version, "backend": rounds[-1]["hdr"]["backend"]},
            "torch": {
                **{k: bench[k] for k in ("torch", "threads", "blas", "onednn")},
                "python": sys.executable,
                "glibc_tunables": plan.torch_env["GLIBC_TUNABLES"],
            },
            "rounds": rounds,
            "medians": summary,
        }
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)
        print(f"JSON: {args.json}")


def summarise(rounds, images):
    """Per metric: each side's median over the rounds, hdr's advantage of the medians and its
    ceiling at the best FP32 peak of the rounds; `images`: epoch_images'."""
    peak = max(x["hdr"]["fp32_peak_gflops"] for x in rounds)
    summary = {"peak_gflops": peak}
    for key, _, unit, higher, target in METRICS:
        h = statistics.median(x["hdr"][key] for x in rounds)
        t = statistics.median(x["torch"][key] for x in rounds)
        summary[key] = {"unit": unit, "hdr": h, "torch": t, "advantage": advantage(h, t, higher),
                        "ceiling": ceiling(key, rounds[-1]["hdr"], t, peak, images), "target": target}  # fmt: skip
    return summary


# ----------------------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", default=DEFAULT_CONFIG, help=f"the recipe (default {DEFAULT_CONFIG})")
    common.add_argument("--threads", type=int, default=os.cpu_count(), help="threads (default: all cores)")

    epoch = sub.add_parser("epoch", parents=[common], help="one epoch, validation, test")
    epoch.add_argument("--layout", choices=LAYOUTS, default="nchw")
    epoch.add_argument("--train-limit", type=int, default=0, help="only the first N training images (0: all)")
    epoch.add_argument("--out", help="folder for the checkpoint")

    bench = sub.add_parser("bench", parents=[common], help="training and inference throughput, JSON")
    bench.add_argument("--steps", type=int, default=50)
    bench.add_argument("--repeats", type=int, default=5)
    bench.add_argument("--single", type=int, default=200, help="single-image runs timed")

    compare = sub.add_parser("compare", parents=[common], help="hdr and PyTorch alternated")
    compare.add_argument("--hdr", required=True)
    compare.add_argument("--rounds", type=int, default=3)
    compare.add_argument("--json")
    compare.add_argument("--quick", action="store_true")
    compare.add_argument("--command", help="the command line to record (the wrapper's)")

    args = parser.parse_args()
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    {"epoch": run_epoch, "bench": run_bench, "compare": run_compare}[args.mode](args)


if __name__ == "__main__":
    main()
