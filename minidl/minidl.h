// The one header a user of the whole library includes: `#include <minidl/minidl.h>`.
//
//   tensors, autograd, ops, devices, RNG, profiler   core/minidl.h (core/*.h, ops/ops.h)
//   layers (Module, Conv2d, BatchNorm2d, Linear, ...), init, summary, inspect
//                                                    layers/*.h
//   optimizers, LR schedules                         optim/*.h
//   safetensors files, training checkpoints          io/*.h
//   datasets (yours, tensors, CIFAR-10), DataLoader, batch upload
//                                                    data/*.h
//   the reference ResNet and its block               models/*.h
//
// Why it lives in minidl/ at the top of the source tree: the library's own files include each
// other as "core/tensor.h", "layers/layers.h", ... relative to the source root, and so do
// users (the include directory is the source root in a build tree, <prefix>/include/minidl
// once installed). This file sits one level down, under minidl/, so that the same spelling
// <minidl/minidl.h> works in both trees: the build tree's include directory (the source root)
// holds minidl/minidl.h, and an install puts it at <prefix>/include/minidl/minidl.h with
// <prefix>/include on the include path too. Its own includes are found next to it once
// installed (<prefix>/include/minidl/core/...) and through the source root in a build tree.
// core/minidl.h alone stays the smaller choice when only tensors and ops are wanted.
// The raw kernels under kernels/ are installed but not included here: include them by name.
#pragma once

#include "core/minidl.h"

#include "layers/init.h"
#include "layers/inspect.h"
#include "layers/layers.h"
#include "layers/module.h"
#include "layers/summary.h"

#include "optim/optimizer.h"
#include "optim/scheduler.h"

#include "io/checkpoint.h"
#include "io/safetensors.h"

#include "data/batch_upload.h"
#include "data/cifar10.h"
#include "data/cifar10_dataset.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/transforms.h"

#include "models/basic_block.h"
#include "models/resnet.h"
