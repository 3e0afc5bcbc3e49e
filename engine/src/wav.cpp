#include "vamp/wav.h"

#include <cstring>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace vamp {
namespace {

uint32_t u32(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(b[0]) | uint32_t(b[1]) << 8 | uint32_t(b[2]) << 16 | uint32_t(b[3]) << 24;
}
uint16_t u16(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return uint16_t(b[0] | b[1] << 8);
}
void put(std::ofstream& o, uint32_t v, int n) {
  for (int i = 0; i < n; ++i) o.put(char((v >> (8 * i)) & 0xff));
}

}  // namespace

Audio load_wav(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < 12 || std::memcmp(data.data(), "RIFF", 4) || std::memcmp(data.data() + 8, "WAVE", 4))
    throw std::runtime_error(path + ": not a RIFF/WAVE file");
  int format = 0, channels = 0, rate = 0, bits = 0;
  const char* pcm = nullptr;
  size_t pcm_bytes = 0;
  for (size_t p = 12; p + 8 <= data.size();) {
    uint32_t len = u32(&data[p + 4]);
    size_t body = p + 8, avail = std::min<size_t>(len, data.size() - body);
    if (!std::memcmp(&data[p], "fmt ", 4) && avail >= 16) {
      format = u16(&data[body]);
      channels = u16(&data[body + 2]);
      rate = int(u32(&data[body + 4]));
      bits = u16(&data[body + 14]);
      if (format == 0xfffe && avail >= 26) format = u16(&data[body + 24]);  // WAVE_FORMAT_EXTENSIBLE
    } else if (!std::memcmp(&data[p], "data", 4)) {
      pcm = &data[body];
      pcm_bytes = avail;
    }
    p = body + len + (len & 1);
  }
  if (!pcm || channels <= 0 || rate <= 0) throw std::runtime_error(path + ": no fmt or data chunk");
  if (!((format == 1 && (bits == 16 || bits == 24 || bits == 32)) || (format == 3 && (bits == 32 || bits == 64))))
    throw std::runtime_error(path + ": unsupported sample format (PCM 16/24/32 or float 32/64 only)");
  const size_t width = size_t(bits / 8), frames = pcm_bytes / (width * size_t(channels));
  at::Tensor out = at::empty({int64_t(frames), channels}, at::kFloat);
  float* o = out.data_ptr<float>();
  for (size_t n = 0; n < frames * size_t(channels); ++n) {
    const char* s = pcm + n * width;
    if (format == 3 && bits == 32) std::memcpy(&o[n], s, 4);
    else if (format == 3) { double d; std::memcpy(&d, s, 8); o[n] = float(d); }
    else if (bits == 16) o[n] = float(int16_t(u16(s))) / 32768.0f;
    else if (bits == 24) {
      const auto* b = reinterpret_cast<const unsigned char*>(s);
      int32_t v = int32_t(uint32_t(b[0]) << 8 | uint32_t(b[1]) << 16 | uint32_t(b[2]) << 24) / 256;
      o[n] = float(v) / 8388608.0f;
    }
    else o[n] = float(double(int32_t(u32(s))) / 2147483648.0);
  }
  return {out.t().contiguous(), rate};
}

void save_wav(const std::string& path, const Audio& audio) {
  at::Tensor s = audio.samples.detach().to(at::kCPU, at::kFloat);
  if (s.dim() == 1) s = s.unsqueeze(0);
  s = s.t().contiguous();  // interleave
  const uint32_t channels = uint32_t(s.size(1)), bytes = uint32_t(s.numel() * 4);
  std::ofstream o(path, std::ios::binary);
  if (!o) throw std::runtime_error(path + ": cannot create");
  o.write("RIFF", 4);
  put(o, 36 + bytes, 4);
  o.write("WAVEfmt ", 8);
  put(o, 16, 4);
  put(o, 3, 2);
  put(o, channels, 2);
  put(o, uint32_t(audio.sample_rate), 4);
  put(o, uint32_t(audio.sample_rate) * channels * 4, 4);
  put(o, channels * 4, 2);
  put(o, 32, 2);
  o.write("data", 4);
  put(o, bytes, 4);
  o.write(static_cast<const char*>(s.data_ptr()), bytes);
  if (!o) throw std::runtime_error(path + ": write error");
}

}  // namespace vamp
