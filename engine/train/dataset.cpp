// dataset: WAV folders in memory, random crops and token windows.
#include "dataset.h"

#include "vamp/wav.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <dirent.h>
#include <stdexcept>

namespace vamp::train {

int64_t draw(at::Generator& gen, int64_t n) {
  return at::randint(n, {1}, gen, at::TensorOptions().dtype(at::kLong)).item<int64_t>();
}

AudioSet::AudioSet(const std::string& dir, int64_t sample_rate) : sample_rate_(sample_rate) {
  DIR* d = opendir(dir.c_str());
  if (!d) throw std::runtime_error("training data: cannot open folder " + dir);
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".wav") == 0) names_.push_back(n);
  }
  closedir(d);
  std::sort(names_.begin(), names_.end());
  if (names_.empty()) throw std::runtime_error("training data: no .wav files in " + dir);
  for (const auto& n : names_) {
    Audio a = load_wav(dir + "/" + n);
    if (a.sample_rate != sample_rate)
      throw std::runtime_error("training data: " + dir + "/" + n + " is " + std::to_string(a.sample_rate) +
                               " Hz, the codec needs " + std::to_string(sample_rate) + " Hz");
    pieces_.push_back(a.samples.mean(0).contiguous());
  }
}

double AudioSet::seconds() const {
  int64_t n = 0;
  for (const auto& p : pieces_) n += p.numel();
  return double(n) / double(sample_rate_);
}

at::Tensor AudioSet::crops(int64_t batch, int64_t n, at::Generator& gen) const {
  std::vector<double> cumulative;
  double total = 0;
  for (const auto& p : pieces_) cumulative.push_back(total += double(std::max<int64_t>(0, p.numel() - n) + 1));
  at::Tensor out = at::zeros({batch, 1, n});
  at::Tensor u = at::rand({batch, 2}, gen);
  for (int64_t b = 0; b < batch; ++b) {
    const double r = u[b][0].item<double>() * total;
    const size_t i = size_t(std::upper_bound(cumulative.begin(), cumulative.end(), r) - cumulative.begin());
    const at::Tensor& p = pieces_[std::min(i, pieces_.size() - 1)];
    const int64_t len = std::min(n, p.numel());
    const int64_t start = draw(gen, std::max<int64_t>(1, p.numel() - n + 1));
    const double gain = std::pow(10.0, -6.0 * u[b][1].item<double>() / 20.0);
    out[b][0].narrow(0, 0, len).copy_(p.narrow(0, start, len) * gain);
  }
  return out;
}

at::Tensor token_windows(const std::vector<at::Tensor>& codes, int64_t batch, int64_t frames, at::Generator& gen) {
  std::vector<at::Tensor> rows;
  int64_t total = 0;
  for (const auto& c : codes) total += std::max<int64_t>(0, c.size(1) - frames + 1);
  if (total == 0) throw std::runtime_error("training data: every piece is shorter than " + std::to_string(frames) + " frames");
  for (int64_t b = 0; b < batch; ++b) {
    int64_t r = draw(gen, total);
    for (const auto& c : codes) {
      const int64_t starts = std::max<int64_t>(0, c.size(1) - frames + 1);
      if (r < starts) {
        rows.push_back(c.narrow(1, r, frames));
        break;
      }
      r -= starts;
    }
  }
  return at::stack(rows, 0);
}

}  // namespace vamp::train
