#include "minidl/core/device.h"

#include <cstdio>
#include <mutex>

#include "minidl/core/cuda/runtime.h"
#include "minidl/core/error.h"

namespace minidl {

namespace {
struct CudaProbe {
  bool available = false;
  std::string status;
};

// The runtime is asked once per process; the answer does not change while we run.
const CudaProbe& cuda_probe() {
  static const CudaProbe probe = [] {
    CudaProbe p;
    p.available = cuda_runtime::probe(&p.status);
    return p;
  }();
  return probe;
}
}  // namespace

const char* device_name(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

bool cuda_available() { return cuda_probe().available; }

std::string cuda_status() { return cuda_probe().status; }

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::CPU;
  if (name == "cuda") {
    MINIDL_CHECK_ARGUMENT(cuda_available(), "name", "device", "cuda requested but ", cuda_status());
    return Device::CUDA;
  }
  if (name == "auto") {
    if (cuda_available()) return Device::CUDA;
    static std::once_flag reported;
    std::call_once(reported, [] {
      std::fprintf(stderr, "minidl: %s; running on the CPU\n", cuda_status().c_str());
    });
    return Device::CPU;
  }
  detail::fail_argument("name", "device", "unknown device '", name,
                        "' (expected auto, cpu or cuda)");
}

}  // namespace minidl
