// istft_decoder: the codec's second decoder family, after Vocos (Siuzdak 2023). ConvNeXt blocks at
// the token frame rate predict a short-time spectrum (log magnitude and phase) and an inverse STFT
// turns it into audio. There is no upsampling stack: per second of audio it costs a few percent of
// LAC's decoder, which is what lets it train (adversarially) on a CPU.
//
// Used by Codec (inference, folded weights) and by train::CodecNet (the same function over
// trainable tensors, so the two compute the same thing by construction).
//
// Keys (under "decoder."), D = decoder_dim, L = decoder_layers, F = n_fft/2 + 1, S = hop / istft_hop:
//   embed.{weight [D, latent, 7], bias}           norm.{weight, bias} [D]
//   blocks.<i>.dwconv.{weight [D, 1, 7], bias}    blocks.<i>.norm.{weight, bias}
//   blocks.<i>.pwconv1.{weight [3D, D], bias}     blocks.<i>.pwconv2.{weight [D, 3D], bias}
//   blocks.<i>.gamma [D]                           final_norm.{weight, bias}
//   head.{weight [S * 2F, D], bias}: per token frame, S spectrum frames of F log magnitudes then F phases
// metadata.kwargs: decoder = "istft", n_fft, istft_hop (decoder_dim / decoder_layers are checked).
#pragma once

#include "checkpoint.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace vamp {

struct IstftShape {
  int64_t latent_dim = 0;
  int64_t dim = 0;        // ConvNeXt width
  int64_t layers = 0;     // ConvNeXt blocks
  int64_t n_fft = 0;      // inverse-STFT window (Hann)
  int64_t istft_hop = 0;  // inverse-STFT hop; divides the codec hop
  int64_t hop = 0;        // samples per token frame
  int64_t frames_per_token() const { return hop / istft_hop; }
  int64_t bins() const { return n_fft / 2 + 1; }
};

// Looks a tensor up by its full key ("decoder.blocks.0.norm.weight"); throws if absent.
using TensorLookup = std::function<const at::Tensor&(const std::string&)>;

// z [B, latent, T] -> audio [B, 1, T * hop]. Differentiable when the looked-up tensors are.
at::Tensor istft_decode(const TensorLookup& w, const IstftShape& s, const at::Tensor& z);

// Token frames [-n, n] around frame t that the output samples of frame t depend on.
int64_t istft_receptive_frames(const IstftShape& s);

// Every key of the layout with its shape, in file order.
std::vector<std::pair<std::string, std::vector<int64_t>>> istft_decoder_keys(const IstftShape& s);

// Reads the shape from a checkpoint's decoder keys and kwargs; fails naming the key on any
// inconsistency. latent_dim and hop come from the encoder.
IstftShape istft_shape_from(const Checkpoint& ck, int64_t latent_dim, int64_t hop);

// Appends a fresh decoder's tensors in this layout to ck (Vocos' initialization: N(0, 0.02)
// weights, zero biases, layer scale 1/L, unit norms). The caller writes the kwargs.
void add_random_istft_decoder(Checkpoint& ck, const IstftShape& s, at::Generator& gen);

}  // namespace vamp
