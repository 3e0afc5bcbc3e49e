// heldout_measures: the default-model issue's report on held-out clips. For each clip: the codec
// round trip (all codebooks), Opus at 8 kbps (the yardstick), and a variation made as
// pipelines/vary-file.sh makes one (the same mask, windows and sampling, through the engine's
// streaming classes that the elements drive), each measured against the clip (audio_measures.h);
// then the medians over clips and the floors.
#pragma once

#include "audio_measures.h"
#include "vamp/vamp.h"

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace vamp::train {

// pipelines/vary-file.sh's settings (its defaults and pipelines/env.sh's): vampmask
// periodic-prompt=7 periodic-width=1 upper-codebook-mask=9 seed=0, vampsample window-frames=460
// context-frames=115 steps=24 c2f-steps=2 seed=0 precision=fp32, every other property at its
// default; vampenc emits all the codec's codebooks.
struct VariationSettings {
  int64_t period = 7;
  int64_t width = 1;
  int64_t keep_codebooks = 9;  // upper-codebook-mask
  int window_frames = 460;
  int context_frames = 115;
  int steps = 24;
  int c2f_steps = 2;
  uint64_t seed = 0;  // the mask's and the sampler's
};

// audio [N] at the codec's rate, N a multiple of the hop -> codes [T][K] (uint16, frame-major), as
// vampenc emits them (StreamEncoder, all codebooks).
std::vector<uint16_t> encode_clip(const std::shared_ptr<CodecModel>& codec, const at::Tensor& audio);
// codes [T][k] -> audio [T * hop], as vampdec decodes them (StreamDecoder).
at::Tensor decode_clip(const std::shared_ptr<CodecModel>& codec, const std::vector<uint16_t>& codes, int k);
// The codes of encode_clip -> a variation's codes [T][k_out] (vampmask ! vampsample). c2f may be
// null. k_out: set to the codebooks per output frame.
std::vector<uint16_t> vary_codes(const std::shared_ptr<TransformerModel>& coarse,
                                 const std::shared_ptr<TransformerModel>& c2f, const std::vector<uint16_t>& codes,
                                 int k_in, const VariationSettings& s, int& k_out);

struct ClipMeasures {
  std::string name;
  double seconds = 0;
  AudioMeasures round_trip, opus, variation;
};

struct HeldoutMeasures {
  std::vector<ClipMeasures> clips;
  AudioMeasures median_round_trip, median_opus, median_variation;  // each measure's median over clips
  bool has_opus = false;  // libopus in this build (else the opus rows are zero)
  bool has_variation = false;  // a coarse model was given (else the variation rows are zero)
};

struct HeldoutOptions {
  double max_seconds = 0;  // > 0: the first max_seconds of each clip; else the whole clip
  int opus_bitrate = 8000;
  bool opus_fullband = true;  // as gst's opusenc (the yardstick); false: libopus's own choice
  VariationSettings variation;
  std::string wav_out;  // non-empty: writes <clip>.{input,roundtrip,opus,variation}.wav there
  std::function<void(const ClipMeasures&)> on_clip;  // called as each clip is done (progress)
};

// Every *.wav in `dir` (sorted, mixed to mono, at the codec's rate), each cut to whole frames.
// coarse may be null: no variation (the codec alone is measured).
HeldoutMeasures measure_heldout(const std::shared_ptr<CodecModel>& codec,
                                const std::shared_ptr<TransformerModel>& coarse,
                                const std::shared_ptr<TransformerModel>& c2f, const std::string& dir,
                                const HeldoutOptions& options);

double median(std::vector<double> v);

// The floors on the medians.
struct Floor {
  std::string what, bound;
  double value = 0;
  bool met = false;
  bool measured = true;  // false: the bound needs Opus and this build has no libopus, or a variation
                         // and no coarse model was given
};
std::vector<Floor> heldout_floors(const HeldoutMeasures& m);

}  // namespace vamp::train
