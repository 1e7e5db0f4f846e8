// Every double-precision reference, one line per op family (each mirrors a header of
// kernels/; tests/reference/common.h gives the conventions they share).
#pragma once

#include "reference/batch_norm.h"             // kernels/batch_norm.h
#include "reference/conv2d.h"                 // kernels/conv2d.h, kernels/winograd_transforms.h
#include "reference/elementwise.h"            // kernels/elementwise.h
#include "reference/gemm.h"                   // kernels/gemm.h
#include "reference/optimizer.h"              // kernels/optimizer.h
#include "reference/pooling.h"                // kernels/pooling.h
#include "reference/softmax_cross_entropy.h"  // kernels/softmax_cross_entropy.h
