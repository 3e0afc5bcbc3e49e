// libFuzzer target: the .vtok reader (engine/include/vamp/token_file.h), header and whole file.
#include "fuzz_input.h"
#include "vamp/token_file.h"

#include <exception>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t header = 0;
  vamp::TokenFormat format;
  std::string why;
  if (vamp::parse_token_file_header(data, size, &header, &format, &why) == vamp::TokenHeader::Ok &&
      vamp::token_caps_string(format).empty())
    __builtin_trap();  // a parsed header always has caps
  vamp::parse_token_caps(std::string(reinterpret_cast<const char*>(data), size), &format, &why);
  FuzzFile f(data, size);
  try {
    const vamp::TokenFile file = vamp::read_token_file(f.path);
    if (file.tokens.size() != size_t(file.frames) * size_t(file.format.codebooks)) __builtin_trap();
  } catch (const std::exception&) {
  }
  return 0;
}
