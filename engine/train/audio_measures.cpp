// audio_measures: the default-model issue's audio measures (see the header).
#include "audio_measures.h"

#include "codec_net.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace vamp::train {

namespace {

at::Tensor mono(const at::Tensor& x) { return x.detach().to(at::kCPU, at::kFloat).flatten(); }

}  // namespace

at::Tensor magnitude_stft(const at::Tensor& x, int64_t n_fft) {
  at::NoGradGuard no_grad;
  const at::Tensor s = mono(x);
  if (s.numel() <= n_fft / 2)
    throw std::invalid_argument("magnitude_stft: " + std::to_string(s.numel()) + " samples are too few for n_fft " +
                                std::to_string(n_fft) + " (reflect padding needs more than n_fft/2)");
  // Centered frames: reflect-pad by half a window, as torch.stft(center=True) does.
  const at::Tensor padded = at::reflection_pad1d(s.view({1, -1}), {n_fft / 2, n_fft / 2}).squeeze(0);
  const at::Tensor window = at::hann_window(n_fft, at::TensorOptions().dtype(at::kFloat));  // periodic
  return at::abs(at::stft(padded, n_fft, n_fft / 4, n_fft, window, false, true, true));
}

double log_mel_distance(const at::Tensor& a, const at::Tensor& b, int64_t sample_rate) {
  at::NoGradGuard no_grad;
  const at::Tensor x = mono(a), y = mono(b);
  const int64_t n = std::min(x.numel(), y.numel());
  if (n <= 1024) magnitude_stft(x.narrow(0, 0, n), 2048);  // throws the clear too-short error
  // The same computation as the training loss that targets it.
  const MelLoss distance = metric_mel_loss(sample_rate, at::kCPU);
  return distance(x.narrow(0, 0, n).view({1, 1, n}), y.narrow(0, 0, n).view({1, 1, n})).item<double>();
}

double spectral_flatness(const at::Tensor& x) {
  at::NoGradGuard no_grad;
  const at::Tensor S = magnitude_stft(x, 2048) + 1e-8;  // [bins, frames]
  return (at::exp(at::log(S).mean(0)) / S.mean(0)).mean().item<double>();
}

at::Tensor chroma_vector(const at::Tensor& x, int64_t sample_rate) {
  at::NoGradGuard no_grad;
  const int64_t n_fft = 4096;
  const at::Tensor energy = magnitude_stft(x, n_fft).pow(2).sum(1);  // [bins], summed over frames
  auto e = energy.accessor<float, 1>();
  std::vector<double> pc(12, 0.0);
  for (int64_t k = 1; k < energy.size(0); ++k) {
    const double f = double(k) * double(sample_rate) / double(n_fft);
    if (!(f > 50.0 && f < 5000.0)) continue;
    // nearest semitone from A440 (ties to even, as numpy's round), folded into 0..11
    const int64_t semitone = int64_t(std::nearbyint(12.0 * std::log2(f / 440.0)));
    pc[size_t(((semitone % 12) + 12) % 12)] += double(e[k]);
  }
  double norm = 0;
  for (double v : pc) norm += v * v;
  norm = std::sqrt(norm) + 1e-12;
  at::Tensor out = at::empty({12}, at::kDouble);
  for (int64_t i = 0; i < 12; ++i) out[i] = pc[size_t(i)] / norm;
  return out;
}

double chroma_cosine(const at::Tensor& a, const at::Tensor& b, int64_t sample_rate) {
  const at::Tensor x = mono(a), y = mono(b);
  const int64_t n = std::min(x.numel(), y.numel());
  return (chroma_vector(x.narrow(0, 0, n), sample_rate) * chroma_vector(y.narrow(0, 0, n), sample_rate))
      .sum()
      .item<double>();
}

double level_db(const at::Tensor& x) {
  const double rms = std::sqrt(mono(x).to(at::kDouble).pow(2).mean().item<double>());
  return 20.0 * std::log10(rms + 1e-12);
}

AudioMeasures measure_against(const at::Tensor& output, const at::Tensor& input, int64_t sample_rate) {
  AudioMeasures m;
  m.mel = log_mel_distance(output, input, sample_rate);
  m.flatness_ratio = spectral_flatness(output) / std::max(1e-12, spectral_flatness(input));
  m.chroma = chroma_cosine(output, input, sample_rate);
  m.level_diff_db = level_db(output) - level_db(input);
  return m;
}

}  // namespace vamp::train
