// Naive double-precision references for kernels/optimizer.h (see optimizer.h). Loops are
// written out index by index on purpose; nothing here is shared with the library's kernels.
#include "reference/optimizer.h"

#include <cassert>
#include <cmath>

namespace ref {

void sgd_step(const SgdHyper& h, Vec& param, const Vec& grad, Vec& momentum_buf) {
  assert(param.size() == grad.size());
  assert(h.momentum == 0 || momentum_buf.size() == param.size());
  for (size_t i = 0; i < param.size(); ++i) {
    const double d = grad[i] + h.weight_decay * param[i];
    if (h.momentum == 0) {
      param[i] -= h.lr * d;
      continue;
    }
    momentum_buf[i] = h.momentum * momentum_buf[i] + d;
    param[i] -= h.lr * (h.nesterov ? d + h.momentum * momentum_buf[i] : momentum_buf[i]);
  }
}

void adam_step(const AdamHyper& h, int64_t t, Vec& param, const Vec& grad, Vec& m, Vec& v) {
  assert(param.size() == grad.size() && m.size() == param.size() && v.size() == param.size());
  const double td = static_cast<double>(t);
  for (size_t i = 0; i < param.size(); ++i) {
    double g = grad[i];
    if (h.decoupled_weight_decay) param[i] -= h.lr * h.weight_decay * param[i];
    else g += h.weight_decay * param[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    const double m_hat = m[i] / (1 - std::pow(h.beta1, td));
    const double v_hat = v[i] / (1 - std::pow(h.beta2, td));
    param[i] -= h.lr * m_hat / (std::sqrt(v_hat) + h.eps);
  }
}

}  // namespace ref
