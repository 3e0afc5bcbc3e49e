// codec: the LAC audio codec VampNet tokenizes with (encoder, residual vector quantizer,
// decoder), loaded unchanged from the released codec.pth. A checkpoint may instead carry an
// inverse-STFT decoder (istft_decoder.h; our default set): same encoder, quantizer and tokens.
//
// Layout and numerics follow the original lac/model/lac.py and lac/nn/quantize.py: every
// hyper-parameter comes from tensor shapes and is cross-checked against metadata.kwargs; weight
// norm is folded once at load with at::_weight_norm; the encoder, RVQ and decoder repeat the
// Python op order so results match the reference to float rounding.
#pragma once

#include "checkpoint.h"
#include "istft_decoder.h"
#include "precision.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace vamp {

struct CodecConfig {
  int64_t sample_rate = 44100;
  int64_t hop_length = 0;     // product of the decoder (== encoder) strides
  int64_t n_codebooks = 0;    // K
  int64_t codebook_size = 0;  // entries per codebook
  int64_t codebook_dim = 0;   // low-dimensional code vectors
  int64_t latent_dim = 0;     // encoder_dim * 2^len(encoder_rates)
  int64_t encoder_dim = 0;
  int64_t decoder_dim = 0;
  std::vector<int64_t> encoder_rates, decoder_rates;
  // The decoder family: "lac" (the released upsampling stack, decoder_rates) or "istft"
  // (istft_decoder.h: decoder_layers ConvNeXt blocks of decoder_dim, an inverse STFT of n_fft
  // with hop istft_hop). The encoder and quantizer are LAC's in both.
  std::string decoder = "lac";
  int64_t decoder_layers = 0, n_fft = 0, istft_hop = 0;
};

// Private state of the loaded network (folded weights).
struct CodecWeights;

class Codec {
 public:
  // Loads a LAC checkpoint (released layout, or the parametrizations.weight.original0/1 names).
  // Throws CheckpointError naming file, key and shapes on any inconsistency.
  // precision: fp32 (exact), or bf16: encoder and decoder convolutions with bfloat16 weights and
  // activations through oneDNN, Snake evaluated in fp32 and rounded once, the quantizer and the
  // final tanh in fp32. Auto/int8/unsupported requests resolve as resolve_precision(.., true).
  static std::shared_ptr<Codec> load(const std::string& path, at::Device device = at::kCPU,
                                     Precision precision = Precision::FP32);
  // Takes the checkpoint by value: one moved in is consumed, each raw tensor let go once folded.
  static std::shared_ptr<Codec> from_checkpoint(Checkpoint ckpt, at::Device device = at::kCPU,
                                                Precision precision = Precision::FP32);
  ~Codec();

  const CodecConfig& config() const { return config_; }
  at::Device device() const { return device_; }
  Precision precision() const { return precision_; }                    // fp32 or bf16
  const std::string& precision_note() const { return precision_note_; }  // why the request changed, or ""
  // 8 hex digits: CRC-32 over the raw bytes of every state_dict tensor in file order.
  const std::string& id() const { return id_; }

  // Audio float32 [B,1,N], N a multiple of hop (the caller pads) -> codes int64 [B,K,T], T = N/hop.
  // Inputs are moved to device(); results stay there.
  at::Tensor encode(const at::Tensor& audio) const;
  // The pieces of encode: encoder output [B,D,T], then the RVQ.
  at::Tensor encoder_latent(const at::Tensor& audio) const;
  struct Quantized {
    at::Tensor codes;    // int64 [B,K,T]
    at::Tensor latents;  // [B,K*codebook_dim,T]: in_proj outputs z_e of every stage
    at::Tensor z_q;      // [B,D,T]: sum of out_proj outputs (the decoder's input)
  };
  Quantized quantize(const at::Tensor& latent) const;

  // Codes int64/int32 [B,k,T], k <= K (the first k quantizers) -> audio [B,1,T*hop].
  // Throws std::out_of_range on a code outside [0, codebook_size) or k > K.
  at::Tensor decode(const at::Tensor& codes) const;
  at::Tensor from_codes(const at::Tensor& codes) const;  // -> z_q [B,D,T]
  at::Tensor decode_latent(const at::Tensor& z) const;   // z_q [B,D,T] -> audio [B,1,T*hop]

  // Raw (not normalized) codebook i: [codebook_size, codebook_dim], on device().
  at::Tensor codebook(int i) const;

  // Frames of context on each side that make windowed processing equal to a whole pass:
  // windows start at multiples of hop, are clipped at the signal edges, and keep only their
  // central frames. From the receptive field plus one frame of margin.
  int64_t encoder_context_frames() const { return enc_context_; }
  int64_t decoder_context_frames() const { return dec_context_; }

  // Windowed versions of encode/decode (chunk_frames kept per window, plus the context above).
  // Bound memory on long signals; equal to encode/decode up to conv-algorithm rounding.
  at::Tensor encode_chunked(const at::Tensor& audio, int64_t chunk_frames) const;
  at::Tensor decode_chunked(const at::Tensor& codes, int64_t chunk_frames) const;

 private:
  Codec() = default;
  CodecConfig config_;
  at::Device device_ = at::kCPU;
  Precision precision_ = Precision::FP32;
  std::string precision_note_;
  std::string id_;
  int64_t enc_context_ = 0, dec_context_ = 0;
  std::unique_ptr<CodecWeights> w_;
};

// A deterministic random-weight codec in the released key layout and kwargs (weight_g/weight_v,
// Snake alphas around 1, codebooks), for tests, the default tiny model and benchmarks.
// latent_dim and hop_length are derived (0 or the consistent value are accepted).
Checkpoint random_codec_checkpoint(const CodecConfig& cfg, uint64_t seed);

// Receptive fields computed from the configuration. Encoder: samples [lo, hi] relative
// to hop*t that frame t depends on (released codec: [-5539, 6306]). Decoder: latent frames
// [lo, hi] relative to t that the output samples of frame t depend on (released: [-17, 17]).
std::pair<int64_t, int64_t> encoder_receptive_field(const CodecConfig& cfg);
std::pair<int64_t, int64_t> decoder_receptive_field(const CodecConfig& cfg,
                                                    const std::vector<int64_t>& mrf_kernels = {3, 7, 11});

// The inverse-STFT decoder's shape of an "istft" configuration.
IstftShape istft_shape(const CodecConfig& cfg);

// The released VampNet codec's configuration, and a tiny one with the same framing (hop 768).
CodecConfig codec_preset(const std::string& name);  // "full" or "tiny"; throws std::invalid_argument

}  // namespace vamp
