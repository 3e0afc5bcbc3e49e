// train: training our own codec, coarse and c2f models in the released checkpoint layout, with the
// engine's modules, on CPU or CUDA. What vamp-train runs; the saved files load with Codec::load and
// Transformer::load like the released weights.
#pragma once

#include "vamp/codec.h"
#include "vamp/transformer.h"

#include <ATen/ATen.h>

#include <string>

namespace vamp::train {

struct RunOptions {
  std::string data;           // folder of 44.1 kHz WAV files
  std::string out;            // the model file; <out>.state holds the optimizer for resuming
  std::string log;            // loss log CSV (default <out>.log.csv)
  std::string init;           // start from this model's weights (fresh optimizer) instead of random ones
  int64_t steps = 1000;       // total optimizer steps (a resumed run continues to this count)
  int64_t batch = 8;
  double lr = 3e-4;           // peak learning rate (warm-up, then cosine decay to 10%)
  int64_t seed = 1;
  at::Device device = at::kCPU;
  int64_t save_every = 250;   // steps between saves of model and state
  double max_minutes = 0;     // > 0: the schedule also runs on the clock and the run ends, saved, by then
};

struct CodecTrainOptions : RunOptions {
  CodecConfig config;             // widths, strides (hop), codebooks
  double crop_seconds = 0.6;      // training excerpt length
  double quantizer_dropout = 0.5; // fraction of each batch decoded from a random number of codebooks
  bool decoder_only = false;      // train the decoder alone: the tokens stay, so do models trained on them
  int64_t grow_to = 0;            // > the --init codec's count: new RVQ stages appended (random); the
                                  // existing stages keep their codes (decoder_only then trains the
                                  // decoder and the new stages)
  int64_t widen_to = 0;           // > the --init codec's decoder_dim: its decoder widened to this
                                  // (with_decoder_dim), the encoder and codebooks untouched
  int64_t shorten_to = 0;         // > 0: the --init codec's iSTFT decoder keeps its first this many
                                  // ConvNeXt blocks (with_decoder_layers), to fine-tune a smaller one
  bool adversarial = false;       // discriminators (discriminator.h) with LSGAN and feature-matching
                                  // losses; their weights and optimizer resume from <out>.disc(.state)
  int64_t adversarial_after = 0;  // steps of reconstruction losses alone before the discriminators join
  bool correlation_loss = false;  // 100 (1 - r) with the input waveform even with discriminators or an
                                  // iSTFT decoder: holds the phase, hence the pitch, without pulling the
                                  // level down as L1 does (L1 and this are always on for LAC without
                                  // discriminators)
  bool stft_loss = false;         // log-magnitude STFT loss at 4096/2048 (log_stft_loss): pitch-resolving
  bool level_loss = false;        // log frame-energy loss (level_loss): the output as loud as the input
  bool new_decoder = false;       // --init's decoder replaced by a fresh one of config's family and shape
                                  // (with_decoder): e.g. a LAC codec's tokens with an iSTFT decoder
};

struct TransformerTrainOptions : RunOptions {
  std::string codec;              // the codec whose tokens and codebooks the model uses
  TransformerConfig config;       // sizes; n_codebooks/n_conditioning_codebooks pick coarse or c2f
  int64_t frames = 256;           // sequence length in codec frames
  double dropout = 0.1;
  bool bf16 = false;              // mixed precision: bfloat16 products, fp32 weights (CPUs with native bf16)
};

void train_codec(const CodecTrainOptions& opt);
void train_transformer(const TransformerTrainOptions& opt);

// A codec checkpoint with RVQ stages appended up to n (random, as a fresh codec's). Stage i
// quantizes what stages 0..i-1 left, so the old stages' codes stay what they were. Throws if n is
// below the codec's count.
Checkpoint with_codebooks(const Checkpoint& ck, int64_t n, uint64_t seed);

// A codec checkpoint whose decoder has `dim` channels (decoder_dim) instead of the codec's, and
// decodes exactly as before: every layer's old channels keep their weights and read no new
// channel, the new channels start as a fresh codec's (Snake alpha 1) and reach the output only
// once training gives them weight. Encoder and quantizer are copied. Throws if dim is smaller.
Checkpoint with_decoder_dim(const Checkpoint& ck, int64_t dim, uint64_t seed);

// A codec checkpoint with the encoder and quantizer of `ck` and a fresh decoder of `shape`'s family
// and size (decoder, decoder_dim, decoder_rates or decoder_layers/n_fft/istft_hop); the tokens stay.
Checkpoint with_decoder(const Checkpoint& ck, const CodecConfig& shape, uint64_t seed);

// A codec checkpoint whose iSTFT decoder keeps only its first n ConvNeXt blocks (the rest of the
// codec copied): a smaller decoder that starts from the trained one. Throws unless n is below the
// codec's count.
Checkpoint with_decoder_layers(const Checkpoint& ck, int64_t n, uint64_t seed);

// A transformer checkpoint (c2f) grown to the codebooks of `fresh`, a random checkpoint of the
// larger model: every weight comes from `ck` except what the new codebooks need. Their input
// columns start at zero, so the grown model predicts the old codebooks exactly as `ck` did;
// their MASK embeddings and classifier rows come from `fresh`. Throws unless only the number of
// codebooks differs (and grows).
Checkpoint with_transformer_codebooks(const Checkpoint& ck, const Checkpoint& fresh);

// The learning-rate schedule position in [0, 1] of a run: steps done, or the clock if sooner.
double run_progress(const RunOptions& opt, int64_t step, double seconds);

}  // namespace vamp::train
