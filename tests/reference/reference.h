// Every double-precision reference, one line per op family (each mirrors a header of
// kernels/; tests/reference/common.h gives the conventions they share).
#pragma once

#include "reference/activation.h"             // kernels/activation.h
#include "reference/batch_norm.h"             // kernels/batch_norm.h
#include "reference/conv2d.h"                 // kernels/conv2d.h, kernels/winograd_transforms.h
#include "reference/elementwise.h"            // kernels/elementwise.h
#include "reference/gemm.h"                   // kernels/gemm.h
#include "reference/optimizer.h"              // kernels/optimizer.h
#include "reference/pointwise_loss.h"         // kernels/pointwise_loss.h
#include "reference/pooling.h"                // kernels/pooling.h
#include "reference/reduce_dim.h"             // kernels/reduce_dim.h
#include "reference/shape_ops.h"              // kernels/shape_ops.h
#include "reference/softmax.h"                // kernels/softmax.h
#include "reference/softmax_cross_entropy.h"  // kernels/softmax_cross_entropy.h
