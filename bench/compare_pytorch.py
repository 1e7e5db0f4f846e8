#!/usr/bin/env python3
"""minidl's training step against PyTorch's: the same ResNet, the same step, the same machine,
in one invocation (docs/design.md, section 5, performance protocol).

  python3 bench/compare_pytorch.py --device cpu      batch 128, 1 and 2 threads
  python3 bench/compare_pytorch.py --device cuda     batch 128 and 512
  python3 bench/compare_pytorch.py --device cpu --rounds 5 --steps 12 --mode both

minidl's side is bench/bench_train_step (--binary); PyTorch's side is this file run again as a
worker process, with the reference ResNet written out below. Both sides run the step of
examples/train_cifar10.cpp on synthetic data: forward, softmax cross-entropy with label
smoothing 0.1, zero_grad, backward, SGD (Nesterov momentum 0.9, weight decay 5e-4 on conv and
linear weights only, lr 0.05), and the loss read back every step; inference is eval() under
no_grad with one device synchronisation per step. Each side times every step on its own and
reports the median.

Why rounds: the machines we measure on have fast and slow periods (a 2-core VM varies up to 2x),
so one measurement of each side says little. Each round runs every measurement once, minidl
and PyTorch alternating, in the reverse order every other round so that a steady drift favours
neither; the table gives the median over the rounds. On the CPU every measurement is a process
of its own, so that each peak RSS (getrusage) belongs to that side, model and thread count
alone. On a GPU the memory compared is the allocators' peak (minidl's caching allocator,
torch.cuda.max_memory_allocated), so each side measures all its batch sizes (and PyTorch all
its variants) in one process per round, which saves the start-up of a CUDA process each time.

Ratios are minidl images/s divided by PyTorch images/s: above 1 means minidl is faster. On the
CPU, against PyTorch's faster layout (NCHW or channels_last) at each thread count; on a GPU,
against PyTorch eager fp32 NCHW with TF32 off and cudnn.benchmark on (its TF32 convolutions
and channels_last are shown for context).

Works with PyTorch 1.13 (Debian's python3-torch) and 2.x. The script itself needs no PyTorch:
the worker runs under the first interpreter that can import torch (this one, else Debian's
/usr/bin/python3; --python to choose). Without one it says so and exits 0.
"""
import argparse
import csv
import datetime
import gc
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict, namedtuple

PARAMETERS = 4_910_922  # models/resnet.h's reference ResNet
LEARNING_RATE = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
LABEL_SMOOTHING = 0.1
MODEL_SEED, DATA_SEED = 1, 2

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# PyTorch's variants: memory layout and whether cuDNN may use TF32 tensor cores.
Variant = namedtuple("Variant", "name label channels_last tf32")
CPU_VARIANTS = [
    Variant("nchw", "PyTorch NCHW", False, False),
    Variant("channels_last", "PyTorch channels_last", True, False),
]
CUDA_VARIANTS = [
    Variant("nchw", "PyTorch fp32 NCHW", False, False),  # the baseline of the ratios
    Variant("nchw_tf32", "PyTorch TF32 convs NCHW", False, True),  # PyTorch's default
    Variant("channels_last", "PyTorch fp32 channels_last", True, False),
]
MINIDL = "minidl"


def variants(device):
    return CUDA_VARIANTS if device == "cuda" else CPU_VARIANTS


# One timed row from either side. threads is None on a GPU; peak_mib is the allocator's peak
# (None for PyTorch on the CPU, which has no such counter); rss_mib the process's peak RSS.
Measurement = namedtuple("Measurement",
                         "label threads mode batch median_ms images_per_s peak_mib rss_mib")


# ---- PyTorch's side (runs in the worker process) -------------------------------------------

def reference_resnet():
    """The reference ResNet in PyTorch: ../shared/gpu/torch_peer_bench.py's SeedResNet, which
    matches models/resnet.h layer for layer. Defined here, not at the top of the file, because
    the script itself may run under an interpreter without torch."""
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.sc = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                     nn.BatchNorm2d(cout))
                       if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            y = F.relu(self.b1(self.c1(x)))
            return F.relu(self.b2(self.c2(y)) + self.sc(x))

    class SeedResNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64),
                                      nn.ReLU())
            self.blocks = nn.Sequential(Block(64, 64, 1), Block(64, 128, 2), Block(128, 256, 2),
                                        Block(256, 512, 2))
            self.fc = nn.Linear(512, 10)

        def forward(self, x):
            return self.fc(F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1))

    model = SeedResNet()
    count = sum(p.numel() for p in model.parameters())
    if count != PARAMETERS:
        raise SystemExit(f"error: PyTorch's model has {count:,} parameters, the reference "
                         f"{PARAMETERS:,}")
    return model


def time_steps(step, warmup, steps):
    """Sorted milliseconds of `steps` timed calls of step(), after `warmup` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)


def torch_step(model, mode, device, variant, images, labels):
    """One training or inference step of PyTorch, the same work as bench_train_step's."""
    import torch
    import torch.nn.functional as F

    def inputs():
        x = images.to(device, non_blocking=True)
        return x.contiguous(memory_format=torch.channels_last) if variant.channels_last else x

    if mode == "infer":
        model.eval()

        def infer():
            with torch.no_grad():
                model(inputs())
            if device == "cuda":
                torch.cuda.synchronize()
        return infer

    # As minidl's decay_groups(): decay on weights of rank >= 2 (conv, linear) only.
    params = list(model.parameters())
    optimizer = torch.optim.SGD(
        [{"params": [p for p in params if p.dim() >= 2], "weight_decay": WEIGHT_DECAY},
         {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
        lr=LEARNING_RATE, momentum=MOMENTUM, nesterov=True)

    def train():
        loss = F.cross_entropy(model(inputs()), labels.to(device, non_blocking=True),
                               label_smoothing=LABEL_SMOOTHING)
        optimizer.zero_grad(set_to_none=True)  # minidl's zero_grad() drops the gradients too
        loss.backward()
        optimizer.step()
        return loss.item()
    return train


def measure_torch(variant, mode, batch, args):
    import torch
    cuda = args.device == "cuda"
    if cuda:
        torch.backends.cudnn.allow_tf32 = variant.tf32
        gc.collect()  # the previous variant's model and optimizer, before the peak restarts
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    torch.manual_seed(DATA_SEED)
    images = torch.randn(batch, 3, 32, 32)
    labels = torch.arange(batch) % 10
    if cuda:
        images, labels = images.pin_memory(), labels.pin_memory()
    torch.manual_seed(MODEL_SEED)
    model = reference_resnet().to(args.device)
    if variant.channels_last:
        model = model.to(memory_format=torch.channels_last)
    times = time_steps(torch_step(model, mode, args.device, variant, images, labels),
                       args.warmup, args.steps)
    median = statistics.median(times)
    return {"label": variant.label, "mode": mode, "batch": batch, "median_ms": median,
            "images_per_s": batch * 1000 / median,
            "peak_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None,
            "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def torch_worker(args):
    """Measures the variants named in --torch-worker and prints one JSON line per row."""
    import torch
    if args.device == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = False  # the classifier's matmul: fp32 everywhere
    else:
        torch.set_num_threads(args.threads[0])
    by_name = {v.name: v for v in variants(args.device)}
    for batch in args.batch:
        for name in args.torch_worker.split(","):
            for mode in modes(args):
                row = measure_torch(by_name[name], mode, batch, args)
                print("RESULT " + json.dumps(row), flush=True)


def torch_probe():
    """What the interpreter's PyTorch is and whether it sees a GPU, as one JSON line."""
    import torch
    info = {"version": torch.__version__, "cuda": torch.cuda.is_available(), "gpu": None}
    if info["cuda"]:
        info["gpu"] = (f"{torch.cuda.get_device_name()} (PyTorch's CUDA {torch.version.cuda}, "
                       f"cuDNN {torch.backends.cudnn.version()})")
    print(json.dumps(info))


# ---- running both sides --------------------------------------------------------------------

def modes(args):
    return ["train", "infer"] if args.mode == "both" else [args.mode]


def find_torch(args):
    """(interpreter, probe info) of the first interpreter that imports torch, else (None, tried)."""
    candidates = [args.python] if args.python else [sys.executable, "/usr/bin/python3"]
    tried = []
    for python in dict.fromkeys(candidates):  # in order, without repeats
        if not os.path.exists(python):
            continue
        tried.append(python)
        probe = subprocess.run([python, os.path.abspath(__file__), "--torch-probe"],
                               capture_output=True, text=True)
        if probe.returncode == 0:
            return python, json.loads(probe.stdout.strip().splitlines()[-1])
    return None, tried


def run_process(command, env_threads=None):
    """Runs one side's process; its stdout, or the end of its output and exit 1 if it fails."""
    env = dict(os.environ)
    if env_threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(env_threads)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.stdout.write(done.stdout[-2000:] + done.stderr[-2000:])
        sys.exit(f"error: exit status {done.returncode} from: {shlex.join(command)}")
    return done.stdout


def run_minidl(args, batches, threads):
    """bench_train_step's rows as Measurements. When it finds no GPU, says so and exits 0."""
    with tempfile.TemporaryDirectory() as scratch:
        csv_path = os.path.join(scratch, "step.csv")
        command = [args.binary, "--device", args.device, "--batch", ",".join(map(str, batches)),
                   "--steps", str(args.steps), "--warmup", str(args.warmup), "--mode", args.mode,
                   "--csv", csv_path]
        if threads is not None:
            command += ["--threads", str(threads)]
        stdout = run_process(command, threads)
        if not os.path.exists(csv_path):  # "no usable GPU for --device cuda ..."
            print(stdout.strip())
            sys.exit(0)
        with open(csv_path) as f:
            lines = f.read().splitlines()
    parameters = next((l for l in lines if l.startswith("# model: ")), "")
    if str(PARAMETERS) not in parameters:
        sys.exit(f"error: minidl's model is not the reference ResNet ({parameters!r})")
    rows = csv.DictReader(l for l in lines if not l.startswith("#"))
    return [Measurement(MINIDL, threads, r["mode"], int(r["batch"]), float(r["median_ms"]),
                        float(r["images_per_s"]), float(r["allocator_peak_mib"]),
                        float(r["peak_rss_mib"])) for r in rows]


def run_torch(args, python, chosen, batches, threads):
    """The worker's rows for the chosen variants as Measurements."""
    command = [python, os.path.abspath(__file__),
               "--torch-worker", ",".join(v.name for v in chosen), "--device", args.device,
               "--batch", ",".join(map(str, batches)), "--steps", str(args.steps),
               "--warmup", str(args.warmup), "--mode", args.mode]
    if threads is not None:
        command += ["--threads", str(threads)]
    rows = [json.loads(line[len("RESULT "):]) for line in run_process(command, threads).splitlines()
            if line.startswith("RESULT ")]
    return [Measurement(r["label"], threads, r["mode"], r["batch"], r["median_ms"],
                        r["images_per_s"], r["peak_mib"], r["rss_mib"]) for r in rows]


def jobs(args, python):
    """The processes of one round, in order, each a function returning its rows."""
    if args.device == "cpu":
        found = []
        for threads in args.threads:
            for batch in args.batch:
                found.append(lambda t=threads, b=batch: run_minidl(args, [b], t))
                for v in CPU_VARIANTS:
                    found.append(
                        lambda v=v, t=threads, b=batch: run_torch(args, python, [v], [b], t))
        return found
    return [lambda: run_minidl(args, args.batch, None),
            lambda: run_torch(args, python, CUDA_VARIANTS, args.batch, None)]


def run_rounds(args, python):
    """Every job once per round, the order reversed every other round. Returns the rows."""
    rows = []
    round_jobs = jobs(args, python)
    for r in range(args.rounds):
        for job in (round_jobs if r % 2 == 0 else round_jobs[::-1]):
            found = job()
            for m in found:
                print(f"  round {r + 1}/{args.rounds}  {m.label:<27} {threads_text(m.threads):<10}"
                      f" batch {m.batch:<4} {m.mode:<5} {m.median_ms:9.2f} ms/step "
                      f"{rate(m.images_per_s):>8} images/s", flush=True)
            rows += found
    return rows


# ---- the report ----------------------------------------------------------------------------

def threads_text(threads):
    return "" if threads is None else f"{threads} thread" + ("s" if threads > 1 else "")


Summary = namedtuple("Summary", "median_ms images_per_s low high peak_mib rss_mib")


def summarize(rows):
    """Per (label, threads, mode, batch): medians over the rounds, the images/s range, peaks."""
    grouped = defaultdict(list)
    for m in rows:
        grouped[(m.label, m.threads, m.mode, m.batch)].append(m)
    summaries = {}
    for key, ms in grouped.items():
        rates = [m.images_per_s for m in ms]
        peaks = [m.peak_mib for m in ms if m.peak_mib is not None]
        summaries[key] = Summary(statistics.median(m.median_ms for m in ms),
                                 statistics.median(rates), min(rates), max(rates),
                                 max(peaks) if peaks else None, max(m.rss_mib for m in ms))
    return summaries


def git_commit(binary):
    """The commit the binary was built from: the COMMIT file next to it when there is one
    (scripts/gpu_pack.sh writes it, and .git may not travel to the GPU machine), else
    `git describe --always --dirty` of this checkout."""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(binary)), "COMMIT")) as f:
            return f.read().strip() + " (the COMMIT file next to the binary)"
    except OSError:
        pass
    try:
        return subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"], check=True,
                              capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def nvidia_driver():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                              check=True, capture_output=True, text=True).stdout.split()[0]
    except (OSError, IndexError, subprocess.CalledProcessError):
        return "unknown"


def print_preamble(args, probe):
    now = datetime.datetime.now(datetime.timezone.utc)
    print(f"date:    {now:%Y-%m-%d %H:%M} UTC")
    # The load says whether other work shared the machine: on 2 cores it slows the 2-thread
    # runs most, since each OpenMP thread then waits for a core.
    machine = (f"{cpu_model()}, {os.cpu_count()} logical CPUs, "
               f"{platform.system()} {platform.release()}, load average {os.getloadavg()[0]:.2f} "
               f"at the start")
    if args.device == "cuda":
        machine = f"{probe['gpu']}, driver {nvidia_driver()}; host {machine}"
    print(f"machine: {machine}")
    print(f"minidl:  {args.binary}")
    print(f"PyTorch: {probe['version']} (under {args.python})")
    print(f"command: python3 {shlex.join(sys.argv)}")
    print(f"commit:  {git_commit(args.binary)}")
    print(f"method:  {args.rounds} alternating rounds; each row the median over the rounds of a "
          f"median of {args.steps} timed steps (after {args.warmup} warm-up)")


def print_table(title, rows, ratio_to, memory_header, memory_text):
    """rows: (group, label, Summary); ratio_to(group) is the Summary minidl is divided by;
    memory_text(Summary) fills the last column."""
    print(f"\n{title}")
    print(f"{'':<10} {'':<27} {'ms/step':>9} {'images/s':>9} {'rounds (images/s)':>18} "
          f"{'minidl/this':>11}  {memory_header}")
    for group, label, s in rows:
        ratio = ""
        if label != MINIDL:
            ratio = f"{minidl_of(rows, group).images_per_s / s.images_per_s:.2f}x"
        mark = " <" if label != MINIDL and s is ratio_to(group) else ""
        print(f"{group:<10} {label:<27} {s.median_ms:9.2f} {rate(s.images_per_s):>9} "
              f"{rate(s.low):>8}-{rate(s.high):<9} {ratio:>11}{mark:2} {memory_text(s)}")


def rate(images_per_s):
    """One decimal where it matters (the CPU's hundreds of images/s), none on a GPU's tens of
    thousands."""
    return f"{images_per_s:.1f}" if images_per_s < 1000 else f"{images_per_s:.0f}"


def minidl_of(rows, group):
    return next(s for g, label, s in rows if g == group and label == MINIDL)


def rss_text(s):
    """Peak RSS, and minidl's allocator peak (PyTorch has no such counter on the CPU)."""
    if s.peak_mib is None:
        return f"{s.rss_mib:8.0f}"
    return f"{s.rss_mib:8.0f} (allocator {s.peak_mib:.0f})"


def report_cpu(args, summaries):
    for mode in modes(args):
        for batch in args.batch:
            rows, best = [], {}
            for t in args.threads:
                group = threads_text(t)
                for label in [MINIDL] + [v.label for v in CPU_VARIANTS]:
                    rows.append((group, label, summaries[(label, t, mode, batch)]))
                best[group] = max((summaries[(v.label, t, mode, batch)] for v in CPU_VARIANTS),
                                  key=lambda s: s.images_per_s)
            what = "training step" if mode == "train" else "inference"
            print_table(f"{what}, batch {batch}, CPU (< marks PyTorch's faster layout, which "
                        f"the ratio below uses)",
                        rows, best.get, "peak RSS MiB", rss_text)
            ratios = [f"{group} {minidl_of(rows, group).images_per_s / s.images_per_s:.2f}x"
                      for group, s in best.items()]
            print(f"minidl / PyTorch's best layout ({mode}, batch {batch}): {', '.join(ratios)}")
            if len(args.threads) > 1:
                lo, hi = args.threads[0], args.threads[-1]
                scaling = []
                for label in [MINIDL] + [v.label for v in CPU_VARIANTS]:
                    speedup = (summaries[(label, hi, mode, batch)].images_per_s /
                               summaries[(label, lo, mode, batch)].images_per_s)
                    scaling.append(f"{label} {speedup:.2f}x")
                print(f"scaling {lo} -> {hi} threads ({mode}, batch {batch}): {', '.join(scaling)}")


def report_cuda(args, summaries):
    baseline = CUDA_VARIANTS[0].label
    for mode in modes(args):
        rows = []
        for batch in args.batch:
            for label in [MINIDL] + [v.label for v in CUDA_VARIANTS]:
                rows.append((f"batch {batch}", label, summaries[(label, None, mode, batch)]))
        what = "training step" if mode == "train" else "inference"
        print_table(f"{what}, GPU (< marks {baseline}, TF32 off: the ratio below)",
                    rows, lambda group: next(s for g, l, s in rows if g == group and l == baseline),
                    "peak device MiB", lambda s: f"{s.peak_mib:8.0f}")
        ratios, peaks = [], []
        for batch in args.batch:
            ours = summaries[(MINIDL, None, mode, batch)]
            theirs = summaries[(baseline, None, mode, batch)]
            ratios.append(f"b{batch} {ours.images_per_s / theirs.images_per_s:.2f}x")
            peaks.append(f"b{batch} {ours.peak_mib:.0f} / {theirs.peak_mib:.0f}")
        print(f"minidl / PyTorch fp32 NCHW ({mode}): {', '.join(ratios)}")
        print(f"peak device MiB, minidl / PyTorch fp32 NCHW ({mode}): {', '.join(peaks)}")


# ---- command line --------------------------------------------------------------------------

def int_list(flag):
    def parse(text):
        try:
            values = [int(item) for item in text.split(",") if item]
        except ValueError:
            values = []
        if not values or min(values) < 1:
            raise argparse.ArgumentTypeError(
                f"{flag} expects positive integers separated by commas, got '{text}'")
        return values
    return parse


def positive_int(flag, low=1):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"{flag} expects an integer >= {low}, got '{text}'")
        return value
    return parse


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--binary", default=os.path.join(REPO, "build", "bench", "bench_train_step"),
                   help="minidl's bench_train_step (default: build/bench/bench_train_step)")
    p.add_argument("--batch", type=int_list("--batch"),
                   help="batch sizes (default: 128 on the CPU, 128,512 on a GPU)")
    p.add_argument("--threads", type=int_list("--threads"), default=[1, 2],
                   help="CPU threads of each side, compared one count at a time (default 1,2)")
    p.add_argument("--rounds", type=positive_int("--rounds"), default=3,
                   help="alternating rounds (default 3)")
    p.add_argument("--steps", type=positive_int("--steps"),
                   help="timed steps per measurement (default: 5 on the CPU, 30 on a GPU)")
    p.add_argument("--warmup", type=positive_int("--warmup", low=0),
                   help="untimed steps before them (default: 2 on the CPU, 5 on a GPU)")
    p.add_argument("--mode", choices=["train", "infer", "both"], default="train")
    p.add_argument("--python", help="the interpreter for PyTorch's side (default: this one if "
                                    "it imports torch, else /usr/bin/python3)")
    # The worker and the probe: this file run again as PyTorch's side.
    p.add_argument("--torch-worker", help=argparse.SUPPRESS)
    p.add_argument("--torch-probe", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    cuda = args.device == "cuda"
    args.batch = args.batch or ([128, 512] if cuda else [128])
    args.steps = args.steps or (30 if cuda else 5)
    args.warmup = args.warmup if args.warmup is not None else (5 if cuda else 2)
    if cuda:
        args.threads = [None]  # the host threads are not what a GPU comparison is about
    return args


def main():
    args = parse_args()
    if args.torch_probe:
        return torch_probe()
    if args.torch_worker:
        return torch_worker(args)

    if not os.access(args.binary, os.X_OK):
        sys.exit(f"error: no minidl benchmark at {args.binary}: build it (cmake --build build "
                 f"--target bench_train_step) or name it with --binary")
    python, probe = find_torch(args)
    if python is None:
        print(f"compare_pytorch: no PyTorch to compare with (tried {', '.join(probe)}); on "
              f"Debian: apt-get install python3-torch")
        return 0
    args.python = python
    if args.device == "cuda" and not probe["cuda"]:
        print(f"compare_pytorch: no usable GPU for --device cuda (PyTorch {probe['version']} "
              f"sees none); nothing compared")
        return 0
    print(f"minidl against PyTorch: the reference ResNet ({PARAMETERS:,} parameters), "
          f"--device {args.device}, --mode {args.mode}")
    print_preamble(args, probe)
    summaries = summarize(run_rounds(args, python))
    (report_cuda if args.device == "cuda" else report_cpu)(args, summaries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
