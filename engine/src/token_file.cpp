// token_file: reading and writing .vtok files (token_file.h).
#include "vamp/token_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>
#include <stdexcept>

namespace vamp {
namespace {

const char kMagic[4] = {'V', 'T', 'O', 'K'};
const char kMediaType[] = "audio/x-vamp-tokens";

uint16_t read_u16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t read_u32(const uint8_t* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
void put_u16(std::vector<uint8_t>& v, uint16_t x) { v.insert(v.end(), {uint8_t(x), uint8_t(x >> 8)}); }
void put_u32(std::vector<uint8_t>& v, uint32_t x) {
  v.insert(v.end(), {uint8_t(x), uint8_t(x >> 8), uint8_t(x >> 16), uint8_t(x >> 24)});
}

// C escapes for what is not printable ASCII (as g_strescape), so an error can quote any bytes.
std::string escaped(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char oct[5];
      std::snprintf(oct, sizeof oct, "\\%03o", c);
      out += oct;
    } else {
      out += char(c);
    }
  }
  return out;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

bool to_int(const std::string& s, int* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s.c_str(), &end, 10);
  if (*end || errno || v < INT32_MIN || v > INT32_MAX) return false;
  *out = int(v);
  return true;
}

}  // namespace

std::string token_caps_string(const TokenFormat& f) {
  const int g = std::gcd(f.rate, f.hop_length);
  std::string s = std::string(kMediaType) + ", format=(string)U16LE, layout=(string)interleaved, mask=(string)" +
                  (f.has_mask ? "plane" : "none") + ", rate=(int)" + std::to_string(f.rate) +
                  ", hop-length=(int)" + std::to_string(f.hop_length) + ", framerate=(fraction)" +
                  std::to_string(f.rate / g) + "/" + std::to_string(f.hop_length / g) +
                  ", codebooks=(int)" + std::to_string(f.codebooks) + ", codebook-size=(int)" +
                  std::to_string(f.codebook_size);
  if (!f.codec_id.empty()) s += ", codec-id=(string)" + f.codec_id;
  return s;
}

bool parse_token_caps(const std::string& caps, TokenFormat* format, std::string* why) {
  auto fail = [&](const std::string& what) {
    if (why) *why = what;
    return false;
  };
  // "media/type, name=(type)value, name=value, ..." with at most simple quoted strings.
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false;
  for (char c : caps) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      parts.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(trim(cur));
  if (parts.empty() || parts[0] != kMediaType) return fail("not " + std::string(kMediaType));
  std::map<std::string, std::string> fields;
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    if (eq == std::string::npos) return fail("field without a value");
    std::string value = trim(parts[i].substr(eq + 1));
    if (!value.empty() && value[0] == '(') {  // a type annotation
      const size_t close = value.find(')');
      if (close == std::string::npos) return fail("unclosed type");
      value = trim(value.substr(close + 1));
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    fields[trim(parts[i].substr(0, eq))] = value;
  }
  TokenFormat f;
  if (fields["format"] != "U16LE" || fields["layout"] != "interleaved") return fail("not U16LE interleaved");
  if (!to_int(fields["rate"], &f.rate) || !to_int(fields["hop-length"], &f.hop_length) ||
      !to_int(fields["codebooks"], &f.codebooks) || !to_int(fields["codebook-size"], &f.codebook_size))
    return fail("rate, hop-length, codebooks and codebook-size must be integers");
  if (!f.valid()) return fail("a field out of range");
  const auto mask = fields.find("mask");
  f.has_mask = mask != fields.end() && mask->second == "plane";
  if (mask != fields.end() && !f.has_mask && mask->second != "none") return fail("mask is neither none nor plane");
  const auto id = fields.find("codec-id");
  if (id != fields.end()) f.codec_id = id->second.substr(0, 15);
  *format = f;
  return true;
}

std::vector<uint8_t> token_file_header(const TokenFormat& format) {
  const std::string caps = token_caps_string(format);
  std::vector<uint8_t> h(kMagic, kMagic + 4);
  put_u16(h, uint16_t(kTokenFileVersion));
  put_u16(h, 0);
  put_u32(h, uint32_t(caps.size()));
  h.insert(h.end(), caps.begin(), caps.end());
  return h;
}

TokenHeader parse_token_file_header(const uint8_t* data, size_t size, size_t* header_size, TokenFormat* format,
                                    std::string* why) {
  *header_size = kTokenFileFixedHeader;
  if (size >= 4 && std::memcmp(data, kMagic, 4) != 0) {
    *why = "no VTOK magic at the start: not a vamp token file";
    return TokenHeader::Corrupt;
  }
  if (size < kTokenFileFixedHeader) return TokenHeader::NeedData;
  const unsigned version = read_u16(data + 4);
  if (version != kTokenFileVersion) {
    *why = "token file version " + std::to_string(version) + "; this build reads version " +
           std::to_string(kTokenFileVersion);
    return TokenHeader::Corrupt;
  }
  const uint32_t len = read_u32(data + 8);
  if (len == 0 || len > kTokenFileMaxCaps) {
    *why = "caps length " + std::to_string(len) + " in the header is out of range (1.." +
           std::to_string(kTokenFileMaxCaps) + ")";
    return TokenHeader::Corrupt;
  }
  *header_size = kTokenFileFixedHeader + len;
  if (size < *header_size) return TokenHeader::NeedData;
  const std::string caps(reinterpret_cast<const char*>(data) + kTokenFileFixedHeader, len);
  if (caps.find('\0') != std::string::npos || !parse_token_caps(caps, format, nullptr)) {
    *why = "the header's caps are not valid token caps (codebooks 1..64, codebook-size 1..65535, positive rate "
           "and hop-length): \"" + escaped(caps) + "\"";
    return TokenHeader::Corrupt;
  }
  return TokenHeader::Ok;
}

TokenFile read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open: " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  const auto end = in.tellg();
  in.seekg(0);
  if (end < 0) throw std::runtime_error(path + ": cannot read its size");
  const size_t size = size_t(end);
  std::vector<uint8_t> head(std::min(size, kTokenFileFixedHeader + size_t(kTokenFileMaxCaps)));
  in.read(reinterpret_cast<char*>(head.data()), std::streamsize(head.size()));
  TokenFile file;
  size_t header = 0;
  std::string why;
  switch (parse_token_file_header(head.data(), head.size(), &header, &file.format, &why)) {
    case TokenHeader::Corrupt:
      throw std::runtime_error(path + ": corrupt token file header: " + why);
    case TokenHeader::NeedData:
      throw std::runtime_error(path + ": truncated token file header: the file has " + std::to_string(size) +
                               " bytes, its header needs " + std::to_string(header));
    case TokenHeader::Ok:
      break;
  }
  const size_t frame = file.format.frame_bytes(), body = size - header;
  if (body % frame != 0)
    throw std::runtime_error(path + ": the token file ends with a partial frame (" + std::to_string(body % frame) +
                             " of " + std::to_string(frame) + " bytes)");
  file.frames = int64_t(body / frame);
  const size_t k = size_t(file.format.codebooks), n = size_t(file.frames);
  std::vector<uint8_t> bytes(body);
  in.seekg(std::streamoff(header));
  in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(body));
  if (size_t(in.gcount()) != body) throw std::runtime_error(path + ": read error");
  file.tokens.resize(n * k);
  if (file.format.has_mask) file.mask.resize(n * k);
  for (size_t t = 0; t < n; ++t) {
    const uint8_t* f = bytes.data() + t * frame;
    for (size_t c = 0; c < k; ++c) file.tokens[t * k + c] = read_u16(f + 2 * c);
    if (file.format.has_mask) std::memcpy(&file.mask[t * k], f + 2 * k, k);
  }
  return file;
}

void write_token_file(const std::string& path, const TokenFile& file) {
  const size_t k = size_t(file.format.codebooks), n = size_t(file.frames);
  if (file.tokens.size() != n * k || (file.format.has_mask && file.mask.size() != n * k))
    throw std::invalid_argument(path + ": " + std::to_string(file.tokens.size()) + " tokens for " +
                                std::to_string(n) + " frames of " + std::to_string(k));
  std::vector<uint8_t> out = token_file_header(file.format);
  out.reserve(out.size() + n * file.format.frame_bytes());
  for (size_t t = 0; t < n; ++t) {
    for (size_t c = 0; c < k; ++c) put_u16(out, file.tokens[t * k + c]);
    if (file.format.has_mask) out.insert(out.end(), file.mask.begin() + long(t * k), file.mask.begin() + long(t * k + k));
  }
  std::ofstream os(path, std::ios::binary);
  if (!os) throw std::runtime_error(path + ": cannot create: " + std::strerror(errno));
  os.write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
  if (!os) throw std::runtime_error(path + ": write error");
}

}  // namespace vamp
