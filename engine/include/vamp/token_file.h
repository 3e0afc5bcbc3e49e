// token_file: the .vtok token file (docs/token-file.md), shared by the plugin (vampparse,
// vamptokfilemux, the typefinder) and vamp-cli. Torch-free.
//
//   offset  size  field
//   0       4     magic "VTOK"
//   4       2     version, U16LE (1)
//   6       2     reserved, 0
//   8       4     caps length N, U32LE (1 .. kTokenFileMaxCaps)
//   12      N     the token caps as a string (as gst_caps_to_string writes them, UTF-8, no NUL)
//   12+N    ...   frames: K tokens U16LE, then (mask=plane only) K mask bytes
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace vamp {

constexpr size_t kTokenFileFixedHeader = 12;
constexpr uint32_t kTokenFileMaxCaps = 4096;
constexpr unsigned kTokenFileVersion = 1;

// What the token caps (docs/caps.md) say about a stream.
struct TokenFormat {
  int rate = 0;           // codec sample rate
  int hop_length = 0;     // audio samples per frame
  int codebooks = 0;      // K tokens per frame (1 .. 64)
  int codebook_size = 0;  // vocabulary (1 .. 65535); the value itself means MASK
  std::string codec_id;   // "" when absent
  bool has_mask = false;  // mask=plane: K mask bytes per frame
  size_t frame_bytes() const { return size_t(codebooks) * (has_mask ? 3 : 2); }
  // The caps template's ranges: positive rate and hop, K 1..64, a token and MASK in 16 bits.
  bool valid() const {
    return rate > 0 && hop_length > 0 && codebooks > 0 && codebooks <= 64 && codebook_size > 0 &&
           codebook_size <= 65535;
  }
};

// The caps string of a header, byte for byte what gst_caps_to_string writes for these caps.
std::string token_caps_string(const TokenFormat& format);
// The fields of a token caps string; false (with *why) when it is not valid token caps.
bool parse_token_caps(const std::string& caps, TokenFormat* format, std::string* why);

// The header of a file holding tokens of `format`.
std::vector<uint8_t> token_file_header(const TokenFormat& format);

enum class TokenHeader { Ok, NeedData, Corrupt };
// Parses a header from the first `size` bytes of a file. Ok: *header_size and *format are set.
// NeedData: *header_size is how many bytes the header needs (when known, else the fixed 12).
// Corrupt: *why says what is wrong, with any non-printable header bytes escaped.
TokenHeader parse_token_file_header(const uint8_t* data, size_t size, size_t* header_size, TokenFormat* format,
                                    std::string* why);

// A whole file: tokens [frames][K] and, with a mask plane, mask [frames][K] (1 = generate).
struct TokenFile {
  TokenFormat format;
  int64_t frames = 0;
  std::vector<uint16_t> tokens;
  std::vector<uint8_t> mask;
};
// Throw std::runtime_error naming the file and the fault (a corrupt or truncated header, a
// partial last frame, a token >= codebook-size is not checked here).
TokenFile read_token_file(const std::string& path);
void write_token_file(const std::string& path, const TokenFile& file);

}  // namespace vamp
