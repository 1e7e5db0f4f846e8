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

#include "minidl/core/minidl.h"

#include "minidl/layers/init.h"
#include "minidl/layers/inspect.h"
#include "minidl/layers/layers.h"
#include "minidl/layers/module.h"
#include "minidl/layers/summary.h"

#include "minidl/optim/optimizer.h"
#include "minidl/optim/scheduler.h"

#include "minidl/io/checkpoint.h"
#include "minidl/io/safetensors.h"

#include "minidl/data/batch_upload.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/dataset.h"
#include "minidl/data/loader.h"
#include "minidl/data/transforms.h"

#include "minidl/models/basic_block.h"
#include "minidl/models/resnet.h"
