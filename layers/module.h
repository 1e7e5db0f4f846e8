// Module: the base of every layer and model, in the shape of the LibTorch C++ frontend.
// A module owns named parameters (trained), named buffers (state such as BatchNorm's running
// statistics, saved in checkpoints but not trained) and named child modules. Names compose
// with dots: "stage2.0.conv1.weight".
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "minidl/core/tensor.h"

namespace minidl {

class Module {
 public:
  virtual ~Module() = default;

  // The one-input form: every layer of the library maps one tensor to one tensor, and this is
  // what operator() and Sequential call. A module that needs more inputs (a U-Net step that
  // takes its encoder's skip, a loss module with a target) writes its own forward with them,
  // forward(x, skip) say, and calls it directly, as LibTorch does; it leaves this one alone,
  // and calling it with one input (inside a Sequential, say) is an Error naming the module.
  virtual Tensor forward(const Tensor& x);
  Tensor operator()(const Tensor& x) { return forward(x); }

  // Parameters of this module and, recursively, its children, in registration order.
  std::vector<Tensor> parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }
  int64_t parameter_count() const;  // total number of trainable scalars

  // Training mode (the default) or evaluation mode, for this module and all its children.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Moves every parameter and buffer to `device` in place: tensor handles held elsewhere
  // (by an optimizer, say) see the move.
  void to(Device device);
  void zero_grad();

  // A short description for summaries, e.g. "Conv2d(3, 64, kernel=7, stride=2, padding=3)".
  virtual std::string describe() const = 0;

 protected:
  // Registers and returns the tensor, marked as requiring grad. Errors naming it (also for
  // register_buffer and register_module): an undefined tensor or null module, and a name that is
  // empty, holds a '.' (the separator of named_parameters' paths), or is already taken by a
  // parameter, buffer or child of this module: two entries of one name would make a
  // checkpoint's names ambiguous, and loading would fill one of them twice.
  Tensor register_parameter(const std::string& name, Tensor tensor);
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    require_new_name(name, "register_module", module != nullptr);
    children_.emplace_back(name, module);
    return module;
  }

 private:
  // The checks of the register_* functions above; `defined`: the tensor or module is not null.
  void require_new_name(const std::string& name, const char* op, bool defined) const;
  void collect(const std::string& prefix, bool buffers,
               std::vector<std::pair<std::string, Tensor>>& out) const;

  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

}  // namespace minidl
