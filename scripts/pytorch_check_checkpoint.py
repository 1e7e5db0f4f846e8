#!/usr/bin/env python3
"""Proves that PyTorch reads a minidl checkpoint: loads it with safetensors, builds the same
ResNet in PyTorch (docs/design.md, section 2, the reference model; the same parameter names),
loads the weights and BatchNorm statistics, and evaluates the CIFAR-10 test set. The accuracy
must equal what train_cifar10 reported for that epoch in metrics.csv (up to a few images of
float rounding).

    python3 scripts/pytorch_check_checkpoint.py runs/cifar10/last.safetensors $CIFAR10_DIR

Needs torch, numpy and safetensors (bench/scripts only; never a dependency of the library).
"""
import csv
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn

MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean(dim=(2, 3))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.projection = stride != 1 or cin != cout
        if self.projection:
            self.shortcut_conv = nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
            self.shortcut_bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = self.shortcut_bn(self.shortcut_conv(x)) if self.projection else x
        return torch.relu(out + shortcut)


class ResNet(nn.Module):
    def __init__(self, widths=(64, 128, 256, 512)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, widths[0], 7, 2, 3, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        blocks, cin = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(BasicBlock(cin, w, 1 if i == 0 else 2))
            cin = w
        self.stages = nn.Sequential(*blocks)
        self.head = nn.Sequential(GlobalAvgPool(), nn.Linear(cin, 10))

    def forward(self, x):
        return self.head(self.stages(self.stem(x)))


def load_test_set(data_dir):
    raw = np.fromfile(os.path.join(data_dir, "test_batch.bin"), dtype=np.uint8).reshape(-1, 3073)
    labels = torch.from_numpy(raw[:, 0].astype(np.int64))
    images = raw[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32) / 255.0
    images = (images - MEAN[None, :, None, None]) / STD[None, :, None, None]
    return torch.from_numpy(images), labels


def reported_accuracy(checkpoint, epoch):
    metrics = os.path.join(os.path.dirname(checkpoint), "metrics.csv")
    if not os.path.exists(metrics):
        return None
    with open(metrics, newline="") as f:
        for row in csv.DictReader(f):
            if int(row["epoch"]) == epoch:
                return float(row["test_acc"])
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    checkpoint, data_dir = sys.argv[1], sys.argv[2]
    tensors = load_file(checkpoint)
    with open(checkpoint, "rb") as f:  # the metadata, through the format's own header
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    epoch = int(header["__metadata__"]["epoch"])
    state = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    model = ResNet()  # the reference configuration (train_cifar10 without --dropout)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.endswith("num_batches_tracked")]
    if missing or unexpected:
        print(f"name mismatch: missing {missing}, unexpected {unexpected}", file=sys.stderr)
        return 1
    print(f"loaded {len(state)} tensors ({sum(v.numel() for k, v in state.items() if 'running' not in k)}"
          f" parameters) from {checkpoint}, epoch {epoch}")

    torch.set_num_threads(2)
    model.eval()
    images, labels = load_test_set(data_dir)
    correct = 0
    with torch.no_grad():
        for i in range(0, len(labels), 500):
            correct += (model(images[i:i + 500]).argmax(1) == labels[i:i + 500]).sum().item()
    accuracy = correct / len(labels)
    reported = reported_accuracy(checkpoint, epoch)
    print(f"PyTorch {torch.__version__} test accuracy: {100 * accuracy:.2f}% ({correct}/{len(labels)})")
    if reported is not None:
        print(f"minidl reported for epoch {epoch}: {100 * reported:.2f}%; "
              f"difference {abs(accuracy - reported) * len(labels):.0f} images")
        if abs(accuracy - reported) * len(labels) > 5:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
