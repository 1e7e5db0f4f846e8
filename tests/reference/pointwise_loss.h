// Double-precision references for kernels/pointwise_loss.h: the mean over n elements of a loss
// between input x and target y of the same size, forward and backward (g the gradient of the
// scalar loss). Conventions: reference/common.h.
#pragma once

#include "reference/common.h"

namespace ref {

struct LossGrads {
  Vec dinput, dtarget;
};

double mse_loss(const Vec& x, const Vec& y);                        // (1 / n) sum (x - y)^2
LossGrads mse_loss_backward(const Vec& x, const Vec& y, double g);  // +-2 g (x - y) / n
double l1_loss(const Vec& x, const Vec& y);                         // (1 / n) sum |x - y|
LossGrads l1_loss_backward(const Vec& x, const Vec& y, double g);   // +-g sign(x - y) / n
// (1 / n) sum -(y log s + (1 - y) log(1 - s)), s = sigmoid(x): the textbook form, which is
// fine in double for the moderate logits of the tests.
double bce_with_logits(const Vec& x, const Vec& y);
// dinput = g (s - y) / n; dtarget = -g log(s / (1 - s)) / n = -g x / n.
LossGrads bce_with_logits_backward(const Vec& x, const Vec& y, double g);

}  // namespace ref
