// libFuzzer target: the .npy reader (engine/include/vamp/npy.h), which vamp-cli reads codes with.
#include "fuzz_input.h"
#include "vamp/npy.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzFile f(data, size);
  try {
    vamp::load_npy(f.path);
  } catch (const std::exception&) {
  }
  return 0;
}
