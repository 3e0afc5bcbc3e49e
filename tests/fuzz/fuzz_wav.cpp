// libFuzzer target: the WAV reader (engine/include/vamp/wav.h).
#include "fuzz_input.h"
#include "vamp/wav.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzFile f(data, size);
  try {
    vamp::load_wav(f.path);
  } catch (const std::exception&) {
  }
  return 0;
}
