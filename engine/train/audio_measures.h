// audio_measures: the audio measures of the default-model issue, on mono float audio [N]:
//   log-mel distance  for n_fft 2048/512/128 with 80/40/10 mel bands (periodic Hann window, hop
//                     n_fft/4, centered frames with reflect padding, magnitude STFT, triangular
//                     peak-1 filters on the HTK mel scale 2595 log10(1 + f/700) from 0 to sr/2),
//                     the mean over bands and frames of |log10(max(mel_a, 1e-5)) -
//                     log10(max(mel_b, 1e-5))|, summed over the three scales;
//   spectral flatness per frame of the 2048-point magnitude STFT (+1e-8), geometric mean over
//                     arithmetic mean of the bins, averaged over frames (0 tonal .. ~0.84 white noise);
//   chroma cosine     energy of the 50-5000 Hz bins of a 4096-point STFT, summed over frames and
//                     folded into 12 pitch classes; cosine of the two vectors;
//   level             RMS in dB (20 log10(rms + 1e-12)).
// They compute what the reference implementation (audio_metrics.py, not in this repo)
// computes, in float32 as it does (its mel filters: codec_net.h's mel_filters with peak 1). As a
// training loss the log-mel distance is codec_net.h's metric_mel_loss.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace vamp::train {

// |STFT| [n_fft/2+1, frames] of x [N]: periodic Hann, hop n_fft/4, centered (reflect padding,
// so N must exceed n_fft/2), as torch.stft(center=True).abs().
at::Tensor magnitude_stft(const at::Tensor& x, int64_t n_fft);

// Both signals are cut to the shorter one's length (same start), as the reference does.
double log_mel_distance(const at::Tensor& a, const at::Tensor& b, int64_t sample_rate);
double spectral_flatness(const at::Tensor& x);
// Unit-length (L2) mean chroma, 12 pitch classes, index 0 = A (pitch class of 440 Hz).
at::Tensor chroma_vector(const at::Tensor& x, int64_t sample_rate);
double chroma_cosine(const at::Tensor& a, const at::Tensor& b, int64_t sample_rate);
double level_db(const at::Tensor& x);

// The four measures of an output against its input, as the issue reports them.
struct AudioMeasures {
  double mel = 0;             // log-mel distance of output to input
  double flatness_ratio = 0;  // output's flatness / input's
  double chroma = 0;          // chroma cosine of output and input
  double level_diff_db = 0;   // output's level minus input's
};
AudioMeasures measure_against(const at::Tensor& output, const at::Tensor& input, int64_t sample_rate);

}  // namespace vamp::train
