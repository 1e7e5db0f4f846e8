// The one header a user includes.
#pragma once

#include "core/autograd.h"
#include "core/device.h"
#include "core/error.h"
#include "core/ops.h"
#include "core/profiler.h"
#include "core/random.h"
#include "core/tensor.h"
