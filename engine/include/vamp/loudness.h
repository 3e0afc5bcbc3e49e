// loudness: ITU-R BS.1770 integrated loudness exactly as the reference (audiotools' Meter on the
// CPU, pyloudnorm's K-weighting biquads through torchaudio's lfilter), and the pre-processing
// VampNet applies before encoding: channel mean, -24 LUFS gain, peak limit.
//
// Audio tensors are [B, C, N] float32 (AudioSignal.audio_data layout).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace vamp {

// One K-weighting stage, pyloudnorm's float64 coefficients normalized by a0 (a[0] == 1).
struct Biquad {
  double b[3];
  double a[3];
  double passband_gain;
};

// K-weighting for a sample rate: {high shelf +4 dB at 1500 Hz, high pass at 38 Hz}.
std::vector<Biquad> k_weighting_filters(int64_t sample_rate);

// The K-weighted signal, [B, C, N] -> [B, C, N] float32 (each stage in float32 as lfilter runs it).
at::Tensor k_weight(const at::Tensor& audio, int64_t sample_rate);

// Meter.integrated_loudness of an already K-weighted [B, C, N] signal: 0.4 s blocks every 0.1 s
// (last partial block zero-padded), gates at -70 LUFS and -10 LU. [B] float32, may be -inf.
at::Tensor gated_loudness(const at::Tensor& k_weighted, int64_t sample_rate);

// AudioSignal.loudness(): inputs shorter than 0.5 s zero-padded, result floored at -70. [B] float32.
at::Tensor loudness(const at::Tensor& audio, int64_t sample_rate);

// AudioSignal.normalize(target): audio * exp((target - loudness) * ln(10) / 20), per batch item.
at::Tensor normalize(const at::Tensor& audio, int64_t sample_rate, double target_lufs = -24.0);

// AudioSignal.to_mono(): mean over channels, [B, C, N] -> [B, 1, N].
at::Tensor to_mono(const at::Tensor& audio);

// ensure_max_of_audio(peak): items whose |sample| exceeds peak are divided by their maximum.
at::Tensor ensure_max(const at::Tensor& audio, double peak = 1.0);

}  // namespace vamp
