// Where a tensor's memory lives and its ops run. The choice is made at run time: a build with
// CUDA still runs on a machine without a GPU (on the CPU), and a CPU-only build rejects "cuda".
#pragma once

#include <string>

namespace minidl {

enum class Device { CPU, CUDA };

const char* device_name(Device device);  // "cpu" or "cuda"

// True when this build has CUDA and the runtime found at least one usable GPU.
bool cuda_available();

// Why CUDA is or is not usable, in words: "NVIDIA H100 80GB HBM3 (compute 9.0)",
// "built without CUDA", "no usable GPU: the CUDA driver is missing or older than this runtime
// (no GPU on this machine?)", ...
std::string cuda_status();

// Parses a device name: "cpu", "cuda" (refused when no GPU is usable, naming the reason), or
// "auto" (CUDA when usable, else the CPU; the fallback is reported once on stderr). A refusal
// is an ArgumentError blaming "name".
Device parse_device(const std::string& name);

}  // namespace minidl
