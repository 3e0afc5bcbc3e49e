// evaluate: the quality measurements of a trained set on held-out audio (issue 7's floor):
// codec round trip against a 3 kHz low-pass of the same audio, masked-token accuracy against a
// unigram baseline, and whether a periodic-prompt variation keeps the input's harmony (chroma).
#pragma once

#include "vamp/codec.h"
#include "dataset.h"
#include "vamp/transformer.h"

#include <ATen/ATen.h>

#include <vector>

namespace vamp::train {

// Where in the spectrum a round trip loses: per frequency band, the band's share of the input's
// energy, the output's energy in it over the input's, and the band's SNR (input vs the error).
struct BandQuality {
  double lo_hz = 0, hi_hz = 0;
  double input_share = 0, energy_ratio = 0, snr_db = 0;  // means over pieces
};

struct CodecQuality {
  double mel_codec = 0;    // multi-scale mel distance (MelLoss) of decode(encode(x)) to x, mean per piece
  double mel_lowpass = 0;  // the same for x low-passed at 3 kHz
  double mel_coarse = 0;   // decode from the first 4 codebooks only (what generative compression sends)
  double si_sdr = 0;       // dB, mean over pieces, all codebooks
  double si_sdr_first4 = 0, si_sdr_first8 = 0;  // the same decoded from the first 4 / 8 codebooks
  std::vector<BandQuality> bands;  // 0-150, 150-500, 500-2k, 2k-6k, 6k-Nyquist Hz
  int pieces = 0;
};
CodecQuality evaluate_codec(const Codec& codec, const AudioSet& heldout, double seconds);

struct TokenQuality {
  double accuracy = 0;          // coarse model argmax on the masked tokens, one forward pass
  double unigram_accuracy = 0;  // always answering each codebook's most frequent training token
  int64_t tokens = 0;
};
// Periodic prompt: every `period`-th frame kept, the rest of the coarse codebooks masked; windows of
// `frames` frames over each held-out piece.
TokenQuality evaluate_masked_accuracy(const Transformer& coarse, const Codec& codec, const AudioSet& train,
                                      const AudioSet& heldout, int64_t period, int64_t frames);

struct ChromaQuality {
  double with_input = 0;  // mean Pearson correlation of the variation's chroma with its input's
  double with_other = 0;  // the same for another held-out piece against that input
  int wins = 0;           // pieces where with_input > with_other
  int pieces = 0;
};
ChromaQuality evaluate_variation(const Codec& codec, const Transformer& coarse, const Transformer* c2f,
                                 const AudioSet& heldout, int64_t period, int64_t frames, double seconds,
                                 uint64_t seed);

// Mean chroma (12 pitch classes, C first) of mono audio [N], normalized to sum 1.
at::Tensor chroma(const at::Tensor& audio, int64_t sample_rate);
// Brick-wall low-pass through the FFT: every component above cutoff_hz removed.
at::Tensor lowpass(const at::Tensor& audio, int64_t sample_rate, double cutoff_hz);

}  // namespace vamp::train
