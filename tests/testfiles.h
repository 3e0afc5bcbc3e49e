// Where the tests' files are, and the token caps of the test codec: shared by the engine tests
// (through testutil.h) and the element tests, without torch.
#pragma once

#include <cstdlib>
#include <string>

namespace vamp::test {

// Path of a file in tests/data (VAMP_TEST_DATA is set by meson).
inline std::string data(const std::string& name) {
  const char* dir = std::getenv("VAMP_TEST_DATA");
  return std::string(dir ? dir : "tests/data") + "/" + name;
}

// A scratch directory for files a test writes (meson's build dir when run by meson).
inline std::string scratch(const std::string& name) {
  const char* dir = std::getenv("VAMP_TEST_TMP");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

// Token caps of the test codec (tests/data/codec_a.pth: 44.1 kHz, hop 64, 1024 entries) with
// `codebooks` per frame and mask "plane" or "none", for the element tests.
inline std::string token_caps(const std::string& mask, int codebooks = 14) {
  return "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=" + mask +
         ",rate=44100,hop-length=64,framerate=44100/64,codebooks=" + std::to_string(codebooks) +
         ",codebook-size=1024";
}

}  // namespace vamp::test
