// wav: RIFF WAVE read (PCM 16/24/32, float 32/64) and write (float32), for vamp-cli.
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace vamp {

struct Audio {
  at::Tensor samples;  // float32 [channels, frames]
  int sample_rate = 0;
};

Audio load_wav(const std::string& path);                       // throws std::runtime_error naming the file
void save_wav(const std::string& path, const Audio& audio);  // float32 (WAVE_FORMAT_IEEE_FLOAT)

}  // namespace vamp
