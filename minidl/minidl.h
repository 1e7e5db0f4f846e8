// The one header a user of the whole library includes: `#include <minidl/minidl.h>`.
//
//   tensors, autograd, ops, devices, RNG, profiler   core/minidl.h (core/*.h, ops/ops.h)
//   layers (Module, Conv2d, BatchNorm2d, Linear, ...), init, summary, inspect
//                                                    layers/*.h
//   optimizers, LR schedules, weight averages        optim/*.h
//   safetensors files, training checkpoints          io/*.h
//   datasets (yours, tensors, CIFAR-10), DataLoader, batch upload
//                                                    data/*.h
//   the reference ResNet and its block, FastNet     models/*.h
//
// Every header is spelled <minidl/<dir>/<name>.h>, in the library as in a user's program: the
// one include directory minidl exports holds only minidl/ (<prefix>/include once installed;
// build/include in a build tree, whose minidl/ links to the source directories and to this
// file). <minidl/core/minidl.h> alone stays the smaller choice when only tensors and ops are
// wanted.
// The raw kernels under kernels/ are installed but not included here: include them by name.
#pragma once

#include "minidl/core/minidl.h"

#include "minidl/layers/init.h"
#include "minidl/layers/inspect.h"
#include "minidl/layers/layers.h"
#include "minidl/layers/module.h"
#include "minidl/layers/summary.h"
#include "minidl/layers/test_time_augmentation.h"

#include "minidl/optim/moving_average.h"
#include "minidl/optim/optimizer.h"
#include "minidl/optim/scheduler.h"

#include "minidl/io/checkpoint.h"
#include "minidl/io/crc32c.h"
#include "minidl/io/safetensors.h"

#include "minidl/data/batch_upload.h"
#include "minidl/data/cifar10.h"
#include "minidl/data/cifar10_dataset.h"
#include "minidl/data/dataset.h"
#include "minidl/data/loader.h"
#include "minidl/data/resident_loader.h"
#include "minidl/data/transforms.h"

#include "minidl/models/basic_block.h"
#include "minidl/models/fast_net.h"
#include "minidl/models/resnet.h"
