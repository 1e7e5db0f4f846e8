// Tensors, autograd and the functional ops (core/*.h and ops/ops.h) in one include. For the
// whole library (layers, optimizers, schedules, checkpoints, data, models) include
// <minidl/minidl.h>, which includes this header. A header for users: it reaches up into ops/,
// so no file of the library includes it (tests/check_layering.sh).
//
// Conventions of every public header:
//  - shapes are written outermost first, [N, C, H, W] for images (core/shape.h);
//  - misuse (a wrong shape, rank or device, an undefined tensor, a value out of range, a file
//    that is not what it should be) throws minidl::Error (core/error.h), whose message starts
//    with the op, layer or function and names the offending shapes or values; a function
//    that can fail in a way of its own says so next to its declaration;
//  - CUDA tensors need a build with CUDA and a usable GPU (core/device.h): otherwise making
//    one throws minidl::Error saying why.
#pragma once

#include "minidl/core/autograd.h"
#include "minidl/core/device.h"
#include "minidl/core/error.h"
#include "minidl/core/profiler.h"
#include "minidl/core/random.h"
#include "minidl/core/tensor.h"
#include "minidl/ops/ops.h"
