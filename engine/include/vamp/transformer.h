// transformer: the VampNet masked token model (coarse and coarse-to-fine share this class).
//
// Loads the released coarse.pth / c2f.pth (the original vampnet/modules/transformer.py layout) and computes the
// logits of one forward pass exactly as VampNet.forward(embedding.from_codes(codes)) does, in fp32.
// Load-time work happens once: LoRA merged into the weights (W + 0.125 * B@A, applied literally to
// the file's contents), the weight-normed classifier folded, Q/K/V fused into one matrix (with the
// 1/sqrt(d_head) attention scale folded into the queries when it is a power of two, which is exact).
// The relative position bias (layer 0's table, shared by all layers) is computed once per sequence
// length and cached. A Transformer is immutable after load and safe to use from several threads.
//
// Precision (precision.h): fp32 is the exact path above. bf16 converts the linear weights (QKV, fc,
// w_1, w_2, classifier) to bfloat16 once at load and runs those GEMMs through oneDNN; int8 packs
// QKV and w_1 as per-output-channel int8 at load and quantizes activations per call (quantized::
// linear_dynamic), the other three maps as in bf16. In both, embedding, RMSNorm, attention,
// softmax and the residual stream are fp32.
#pragma once

#include "checkpoint.h"
#include "precision.h"

#include <ATen/ATen.h>
#include <ATen/core/ivalue.h>

#include <cstdint>
#include <map>
#include <utility>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vamp {

// Constructor kwargs of VampNet that shape the weights (metadata["kwargs"] of the checkpoint).
struct TransformerConfig {
  int64_t n_heads = 20;
  int64_t n_layers = 20;
  int64_t n_codebooks = 4;
  int64_t n_conditioning_codebooks = 0;
  int64_t latent_dim = 8;
  int64_t embedding_dim = 1280;
  int64_t vocab_size = 1024;

  // Named sizes: "tiny-coarse", "tiny-c2f" (4 heads, 2 layers, d 64, like the golden models),
  // "full-coarse" (20 layers), "full-c2f" (16 layers, 14 codebooks, 4 conditioning), both d 1280,
  // 20 heads, as the released weights. Throws std::invalid_argument for any other name.
  static TransformerConfig preset(const std::string& name);
};

class Transformer {
 public:
  // Loads a released-layout checkpoint. `codebooks` are the codec's raw quantizer tables
  // (quantizer.quantizers.{i}.codebook.weight, [vocab_size, latent_dim]), at least n_codebooks of
  // them; the model embeds code i of codebook c as codebooks[c][i] and MASK as its learned vector.
  // Throws CheckpointError naming the file and key on any missing tensor or shape mismatch.
  // `precision` is resolved with resolve_precision (Auto and unsupported requests become what
  // runs; precision() and precision_note() tell which and why).
  static std::shared_ptr<Transformer> load(const std::string& path, std::vector<at::Tensor> codebooks,
                                           at::Device device = at::kCPU, Precision precision = Precision::FP32);
  // Takes the checkpoint by value: one moved in is consumed, each raw tensor let go once folded.
  static std::shared_ptr<Transformer> from_checkpoint(Checkpoint ckpt,
                                                      std::vector<at::Tensor> codebooks,
                                                      at::Device device = at::kCPU,
                                                      Precision precision = Precision::FP32);

  // codes: int64 [B, n_codebooks, T], values in [0, vocab_size], vocab_size (= mask_token()) meaning
  // MASK. Returns float32 [B, vocab_size, T * n_predicted()] with sequence index t * Cp + c (c counts
  // the predicted codebooks only), exactly the reference's VampNet.forward output.
  // Throws std::invalid_argument on a wrong shape, dtype or an out-of-range code.
  at::Tensor logits(const at::Tensor& codes) const;
  // The same values laid out token-major, [B, T * Cp, vocab_size] contiguous (what the sampler uses).
  at::Tensor token_logits(const at::Tensor& codes) const;

  // Intermediate results of one forward pass, for parity tests and debugging.
  struct Trace {
    at::Tensor latents;            // [B, latent_dim * C, T]  codebook vectors (from_codes)
    at::Tensor embedding_out;      // [B, D, T]
    at::Tensor layer_activations;  // [L, B, T, D] residual stream after each layer
    at::Tensor logits;             // [B, vocab, T * Cp]
  };
  Trace trace(const at::Tensor& codes) const;

  // Layer 0's relative position bias for a sequence of T frames, [H, 1, T, T] (cached per T).
  at::Tensor position_bias(int64_t T) const;
  // T5 bidirectional bucket (32 buckets, max distance 128) of rel = key - query, integer-exact.
  static int64_t relative_bucket(int64_t rel);
  // Effective (merged) weight of a layer's linear map as PyTorch holds it after eval():
  // name is one of w_qs, w_ks, w_vs, fc, w_1, w_2. For parity tests. In bf16/int8 the weight as
  // stored (converted back to fp32, dequantized).
  at::Tensor effective_weight(const std::string& name, int64_t layer) const;
  // Folded classifier weight g * v / ||v||, [vocab * Cp, D, 1].
  at::Tensor classifier_weight() const;

  const TransformerConfig& config() const { return cfg_; }
  int64_t n_codebooks() const { return cfg_.n_codebooks; }
  int64_t n_conditioning_codebooks() const { return cfg_.n_conditioning_codebooks; }
  int64_t n_predicted() const { return cfg_.n_codebooks - cfg_.n_conditioning_codebooks; }
  int64_t vocab_size() const { return cfg_.vocab_size; }
  int64_t mask_token() const { return cfg_.vocab_size; }
  at::Device device() const { return device_; }
  const std::string& path() const { return path_; }
  Precision precision() const { return precision_; }             // fp32, bf16 or int8
  const std::string& precision_note() const { return precision_note_; }  // why the request changed, or ""

  // Throws std::invalid_argument unless codes is int64 [B, n_codebooks, T>0] within [0, vocab].
  void check_codes(const at::Tensor& codes) const;

 private:
  Transformer() = default;

  // A linear map y = x W^T (+ b) in the model's precision: w fp32 (fp32 mode), w16 bf16 (bf16
  // mode) or packed int8 params (int8 mode: QKV and w_1; the rest bf16); only the one in use is kept.
  struct Linear {
    at::Tensor w, w16, b;
    c10::IValue packed;
  };
  struct Layer {
    at::Tensor norm_1, norm_3;
    Linear qkv, fc, w_1, w_2;
  };

  void set_precision(Precision p);                                  // converts the weights once
  at::Tensor apply(const Linear& l, const at::Tensor& x) const;     // bf16/int8: x fp32 -> bf16/fp32
  at::Tensor weight_of(const Linear& l) const;                      // fp32 view of the stored weight
  at::Tensor forward_lowp(const at::Tensor& in, Trace* trace) const;  // bf16/int8 body of forward
  at::Tensor embed(const at::Tensor& codes, at::Tensor* latents) const;  // -> [B*T, D]
  at::Tensor forward(const at::Tensor& codes, Trace* trace) const;       // -> [B, N, V]
  at::Tensor attention(const at::Tensor& qkv, const at::Tensor& bias, int64_t B, int64_t T) const;
  // [H, T, T] in `dtype` (bf16 for the low-precision attention), cached per (T, dtype).
  at::Tensor bias_table(int64_t T, at::ScalarType dtype = at::kFloat) const;

  TransformerConfig cfg_;
  at::Device device_ = at::kCPU;
  std::string path_;
  float q_scale_ = 1.0f;        // 1/sqrt(dh) when folded into w_qkv; 1 otherwise
  float score_divisor_ = 1.0f;  // sqrt(dh) when not folded (scores are divided); 1 otherwise
  at::Tensor embed_table_;      // [C, vocab + 1, latent_dim]: codec codebook rows, then MASK
  at::Tensor in_w_, in_b_;      // out_proj as [D, C * latent_dim], [D]
  std::vector<Layer> layers_;
  at::Tensor final_norm_;
  at::Tensor rel_bias_weight_;  // [32, H]
  Linear cls_;                  // classifier: w [V * Cp, D], b [V * Cp]
  Precision precision_ = Precision::FP32;
  std::string precision_note_;
  bool reduce_range_ = false;   // int8 on fbgemm: 7-bit activations, as torch's default qconfig

  mutable std::mutex cache_mutex_;
  mutable std::map<std::pair<int64_t, at::ScalarType>, at::Tensor> bias_cache_;
};

// A checkpoint with random weights in the released key layout (LoRA keys included, unmerged, with
// non-zero lora_B so the merge matters) and released-style kwargs. Deterministic in `seed`.
Checkpoint random_transformer_checkpoint(const TransformerConfig& cfg, uint64_t seed,
                                         bool with_lora = true);

}  // namespace vamp
