// codec_net: the LAC codec as a differentiable function of its checkpoint tensors, for training.
//
// Same layers, paddings and op order as engine/src/codec.cpp, but weight norm is applied on every call
// (so gradients reach weight_g and weight_v) and the quantizer is the training-time RVQ of
// lac/nn/quantize.py: straight-through codes, commitment and codebook losses, quantizer dropout.
// Whatever this computes with dropout off is what Codec computes from the saved file.
#pragma once

#include "vamp/codec.h"
#include "optim.h"

#include <ATen/ATen.h>

namespace vamp::train {

class CodecNet {
 public:
  // params holds a codec checkpoint's tensors (e.g. from random_codec_checkpoint); config is its shape.
  CodecNet(const Params& params, CodecConfig config);
  const CodecConfig& config() const { return cfg_; }

  struct Output {
    at::Tensor audio;            // [B,1,N] reconstruction
    at::Tensor codes;            // [B,K,T] (codebooks past a row's dropout count are still computed)
    at::Tensor commitment_loss;  // scalar, summed over the quantizers in use, as lac
    at::Tensor codebook_loss;
    std::vector<at::Tensor> projected;  // each quantizer's in_proj output z_e [B,d,T], detached
  };
  // audio [B,1,N], N a multiple of the hop. n_quantizers: int64 [B] codebooks used per row
  // (undefined = all).
  Output forward(const at::Tensor& audio, const at::Tensor& n_quantizers = {}) const;

  at::Tensor encode(const at::Tensor& audio) const;  // -> latent [B,D,T]
  at::Tensor decode(const at::Tensor& z) const;      // latent [B,D,T] -> audio [B,1,T*hop]

 private:
  at::Tensor conv(const std::string& prefix, const at::Tensor& x, int64_t stride, int64_t pad, int64_t dilation,
                  bool transpose = false) const;
  at::Tensor snake(const std::string& key, const at::Tensor& x) const;
  at::Tensor unit(const std::string& prefix, const at::Tensor& x, int64_t k1, int64_t dilation, int64_t k3) const;

  const Params& p_;
  CodecConfig cfg_;
};

// DAC's multi-scale mel loss: L1 between log10 mel spectrograms (clamped at 1e-5) at window
// lengths 32..2048 with 5..320 mel bands, hop = window / 4, Hann windows, summed over scales.
// Other scales and peak-1 filters give the default-model issue's log-mel distance (metric_mel_loss).
class MelLoss {
 public:
  MelLoss(int64_t sample_rate, at::Device device, std::vector<int64_t> windows = {32, 64, 128, 256, 512, 1024, 2048},
          std::vector<int64_t> mels = {5, 10, 20, 40, 80, 160, 320}, bool area_normalized = true);
  at::Tensor operator()(const at::Tensor& estimate, const at::Tensor& reference) const;  // [B,1,N] each
  // log10 mel spectrogram at one scale, [B, mels, frames]
  at::Tensor log_mel(const at::Tensor& x, size_t scale) const;
  size_t scales() const { return windows_.size(); }

 private:
  std::vector<int64_t> windows_;
  std::vector<at::Tensor> hann_, filters_;  // filters: [mels, window/2+1]
};

// Snake, x + (alpha + 1e-9)^-1 sin(alpha x)^2 with alpha [1, C, 1], differentiable in x and
// alpha. On the CPU in fp32 it runs fused (one pass each way, snake.h); elsewhere as torch ops.
at::Tensor snake(const at::Tensor& x, const at::Tensor& alpha);

// Scale-invariant SDR in dB per row, [B] (the usual definition, zero-mean signals).
at::Tensor si_sdr(const at::Tensor& estimate, const at::Tensor& reference);
// Pearson correlation per row, [B]. SI-SDR = 10 log10(r^2 / (1 - r^2)), so 1 - r is a bounded
// waveform loss with the same optimum and no blow-up while the output is still uncorrelated.
at::Tensor correlation(const at::Tensor& estimate, const at::Tensor& reference);

// Restarts dead codebook entries (a short run otherwise ends with most of them unused): counts the
// codes a quantizer emitted since the last call and moves every unused row onto a random z_e of the
// current batch. Returns the number of rows moved. The layout is unchanged (codebook.weight).
class CodeRestarter {
 public:
  // Quantizers below `first` are left alone (fixed codebooks).
  CodeRestarter(int64_t n_codebooks, int64_t codebook_size, int64_t first = 0);
  void count(const at::Tensor& codes);  // [B,K,T]
  int64_t restart(const Params& params, const std::vector<at::Tensor>& projected, at::Generator& gen);

 private:
  std::vector<at::Tensor> used_;  // [codebook_size] bool per quantizer
  int64_t first_ = 0;
};

// The log-mel distance as a loss: n_fft 2048/512/128 with 80/40/10 bands, peak-1 filters.
// Unlike DAC's area-normalized bands, whose clamp hides everything below ~1e-3 at high
// frequencies, it sees a noise floor in quiet bands (what spectral flatness measures).
MelLoss metric_mel_loss(int64_t sample_rate, at::Device device);

// L1 between log10 STFT magnitudes (clamped at 1e-5) at these windows (Hann, hop window / 4),
// summed over windows. At 2048-4096 samples the bins resolve single partials, so a decoder whose
// overlapping frames disagree in phase (smearing each partial over neighbouring bins, and pitch
// over neighbouring semitones) pays for it, which no mel band sees.
at::Tensor log_stft_loss(const at::Tensor& estimate, const at::Tensor& reference,
                         const std::vector<int64_t>& windows = {4096, 2048});

// L1 between log10 frame energies (mean square over `window` samples, hop window / 4, floored at
// -80 dB): 1 is 10 dB. The log-magnitude losses above take the median of what the decoder cannot
// know (fine detail) and so undershoot the mean power; a round trip came out 2 dB quiet, its
// variations 5 dB. This term prices the loudness itself.
at::Tensor level_loss(const at::Tensor& estimate, const at::Tensor& reference, int64_t window = 2048);

// Mel filterbank [n_mels, n_fft/2+1] with the HTK mel scale and triangular bands, area-normalized
// (Slaney) or peak 1.
at::Tensor mel_filters(int64_t sample_rate, int64_t n_fft, int64_t n_mels, bool area_normalized = true);

}  // namespace vamp::train
