#!/usr/bin/env python3
"""Plots a train_cifar10 metrics.csv: loss and accuracy per epoch, train and test.

    python3 scripts/plot_metrics.py runs/cifar10/metrics.csv docs/results/cifar10_cpu.png
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    source, target = sys.argv[1], sys.argv[2]
    with open(source, newline="") as f:
        rows = list(csv.DictReader(f))
    required = {"epoch", "train_loss", "test_loss", "train_acc", "test_acc"}
    if not rows or not required <= set(rows[0]):
        print(f"plot_metrics: {source} has no rows with columns {sorted(required)}", file=sys.stderr)
        return 1
    epochs = [int(r["epoch"]) for r in rows]
    column = lambda name, scale=1.0: [float(r[name]) * scale for r in rows]

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4))
    loss_ax.plot(epochs, column("train_loss"), label="train")
    loss_ax.plot(epochs, column("test_loss"), label="test")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    acc_ax.plot(epochs, column("train_acc", 100), label="train")
    acc_ax.plot(epochs, column("test_acc", 100), label="test")
    best = max(column("test_acc", 100))
    acc_ax.axhline(best, color="gray", linestyle=":", label=f"best test {best:.2f}%")
    acc_ax.set(xlabel="epoch", ylabel="top-1 accuracy (%)", title="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(target, dpi=120)
    print(f"plot_metrics: wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
