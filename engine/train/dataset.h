// dataset: the training material. A folder of WAV files kept in memory as mono audio, random
// crops of it for the codec, and random windows of its tokens for the transformers.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace vamp::train {

class AudioSet {
 public:
  // Every *.wav in `dir` (sorted by name), averaged to mono. Throws when the folder has none or a
  // file has another sample rate (we do not resample training data behind the user's back).
  AudioSet(const std::string& dir, int64_t sample_rate);
  size_t size() const { return pieces_.size(); }
  const at::Tensor& piece(size_t i) const { return pieces_[i]; }  // float32 [N]
  const std::string& name(size_t i) const { return names_[i]; }
  double seconds() const;

  // [batch, 1, n]: crops at random offsets of pieces drawn in proportion to their length,
  // each with a random gain of -6..0 dB so the codec sees several levels.
  at::Tensor crops(int64_t batch, int64_t n, at::Generator& gen) const;

 private:
  int64_t sample_rate_;
  std::vector<at::Tensor> pieces_;
  std::vector<std::string> names_;
};

// Token windows [batch, K, frames] drawn at random from a list of [K, T] code grids.
at::Tensor token_windows(const std::vector<at::Tensor>& codes, int64_t batch, int64_t frames, at::Generator& gen);

// Draws an index in [0, n) (a CPU generator, so runs are reproducible on any device).
int64_t draw(at::Generator& gen, int64_t n);

}  // namespace vamp::train
