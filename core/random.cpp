#include "core/random.h"

#include <sstream>

#include "core/error.h"

namespace minidl {

std::string Generator::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void Generator::set_state(const std::string& state) {
  std::istringstream in(state);
  std::mt19937_64 restored;
  in >> restored;
  MINIDL_CHECK(!in.fail(), "Generator::set_state", "state text is not a saved generator state");
  engine_ = restored;
}

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(uint64_t seed) { default_generator() = Generator(seed); }

}  // namespace minidl
