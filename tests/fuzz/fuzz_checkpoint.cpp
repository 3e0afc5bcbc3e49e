// libFuzzer target: the checkpoint reader (torch.save zip + pickle: engine/src/zip, pickle,
// checkpoint), which reads every model file.
#include "fuzz_input.h"
#include "vamp/checkpoint.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzFile f(data, size);
  try {
    vamp::load_checkpoint(f.path);
  } catch (const std::exception&) {
  }
  return 0;
}
