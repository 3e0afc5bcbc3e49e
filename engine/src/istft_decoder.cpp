// istft_decoder: ConvNeXt backbone + inverse-STFT head (Vocos), shared by inference and training.
#include "vamp/istft_decoder.h"

#include <cmath>

namespace vamp {

std::vector<std::pair<std::string, std::vector<int64_t>>> istft_decoder_keys(const IstftShape& s) {
  const int64_t D = s.dim;
  std::vector<std::pair<std::string, std::vector<int64_t>>> keys = {
      {"decoder.embed.weight", {D, s.latent_dim, 7}}, {"decoder.embed.bias", {D}},
      {"decoder.norm.weight", {D}}, {"decoder.norm.bias", {D}}};
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = "decoder.blocks." + std::to_string(i) + ".";
    keys.insert(keys.end(), {{p + "dwconv.weight", {D, 1, 7}}, {p + "dwconv.bias", {D}},
                             {p + "norm.weight", {D}}, {p + "norm.bias", {D}},
                             {p + "pwconv1.weight", {3 * D, D}}, {p + "pwconv1.bias", {3 * D}},
                             {p + "pwconv2.weight", {D, 3 * D}}, {p + "pwconv2.bias", {D}},
                             {p + "gamma", {D}}});
  }
  const int64_t out = s.frames_per_token() * 2 * s.bins();
  keys.insert(keys.end(), {{"decoder.final_norm.weight", {D}}, {"decoder.final_norm.bias", {D}},
                           {"decoder.head.weight", {out, D}}, {"decoder.head.bias", {out}}});
  return keys;
}

at::Tensor istft_decode(const TensorLookup& w, const IstftShape& s, const at::Tensor& z) {
  auto norm = [&](const at::Tensor& x, const std::string& p) {  // over channels, x [B, T, D]
    return at::layer_norm(x, {s.dim}, w(p + ".weight"), w(p + ".bias"), 1e-6);
  };
  at::Tensor x = at::conv1d(z, w("decoder.embed.weight"), w("decoder.embed.bias"), 1, 3);
  x = norm(x.transpose(1, 2), "decoder.norm");  // [B, T, D] from here on
  for (int64_t i = 0; i < s.layers; ++i) {
    const std::string p = "decoder.blocks." + std::to_string(i) + ".";
    at::Tensor h = at::conv1d(x.transpose(1, 2), w(p + "dwconv.weight"), w(p + "dwconv.bias"), 1, 3, 1, s.dim);
    h = at::gelu(at::linear(norm(h.transpose(1, 2), p + "norm"), w(p + "pwconv1.weight"), w(p + "pwconv1.bias")));
    x = x + w(p + "gamma") * at::linear(h, w(p + "pwconv2.weight"), w(p + "pwconv2.bias"));
  }
  x = at::linear(norm(x, "decoder.final_norm"), w("decoder.head.weight"), w("decoder.head.bias"));
  // [B, T, S * 2F] -> S spectrum frames per token frame: [B, 2F, T * S].
  const int64_t B = x.size(0), frames = x.size(1) * s.frames_per_token(), F = s.bins();
  x = x.reshape({B, frames, 2 * F}).transpose(1, 2);
  // exp keeps quiet bins truly quiet (no noise floor). The clamp only stops a runaway start: a
  // full-scale sine peaks at n_fft / 4 (384 at n_fft 1536), so a bound near that would clip loud
  // partials (1e2 did: round trips 2 dB quiet on recorded music).
  const at::Tensor mag = at::exp(x.narrow(1, 0, F)).clamp_max(1e4);
  const at::Tensor phase = x.narrow(1, F, F);
  const at::Tensor spec = at::complex(mag * at::cos(phase), mag * at::sin(phase));
  const at::Tensor window = at::hann_window(s.n_fft, z.options().dtype(mag.scalar_type()));
  // Frame m is centered on sample m * istft_hop; with istft_hop <= n_fft / 2 every output sample
  // is covered, so the inverse is defined up to the last one.
  return at::istft(spec, s.n_fft, s.istft_hop, s.n_fft, window, /*center=*/true, /*normalized=*/false,
                   /*onesided=*/true, frames * s.istft_hop)
      .unsqueeze(1);
}

int64_t istft_receptive_frames(const IstftShape& s) {
  // embed and each block: kernel 7 (3 frames a side); the inverse STFT: half a window.
  return 3 + 3 * s.layers + (s.n_fft / 2 + s.hop - 1) / s.hop;
}

IstftShape istft_shape_from(const Checkpoint& ck, int64_t latent_dim, int64_t hop) {
  IstftShape s;
  s.latent_dim = latent_dim;
  s.hop = hop;
  const at::Tensor& embed = ck.at("decoder.embed.weight");
  if (embed.dim() != 3)
    ck.fail("key 'decoder.embed.weight' has shape " + c10::str(embed.sizes()) + ", expected [decoder_dim, " +
            std::to_string(latent_dim) + ", 7]");
  s.dim = embed.size(0);
  while (ck.has("decoder.blocks." + std::to_string(s.layers) + ".dwconv.weight")) ++s.layers;
  if (!ck.has_kwarg("n_fft") || !ck.has_kwarg("istft_hop"))
    ck.fail("an inverse-STFT decoder needs metadata.kwargs['n_fft'] and ['istft_hop']");
  s.n_fft = ck.kwarg_int("n_fft");
  s.istft_hop = ck.kwarg_int("istft_hop");
  if (s.n_fft < 4 || s.n_fft % 2 || s.istft_hop < 1 || hop % s.istft_hop || 2 * s.istft_hop > s.n_fft)
    ck.fail("metadata.kwargs n_fft " + std::to_string(s.n_fft) + ", istft_hop " + std::to_string(s.istft_hop) +
            ": expected an even n_fft >= 2 istft_hop and an istft_hop dividing the hop " + std::to_string(hop));
  for (const char* k : {"decoder_dim", "decoder_layers"}) {
    const int64_t derived = k[8] == 'd' ? s.dim : s.layers;
    if (ck.has_kwarg(k) && ck.kwarg_int(k) != derived)
      ck.fail(std::string("metadata.kwargs['") + k + "'] = " + std::to_string(ck.kwarg_int(k)) +
              " contradicts the state_dict, which implies " + std::to_string(derived));
  }
  for (const auto& [key, shape] : istft_decoder_keys(s)) ck.at(key, shape);  // throws naming key and shapes
  return s;
}

void add_random_istft_decoder(Checkpoint& ck, const IstftShape& s, at::Generator& gen) {
  const auto opt = at::TensorOptions().dtype(at::kFloat);
  for (const auto& [key, shape] : istft_decoder_keys(s)) {
    const bool bias = key.size() > 5 && key.compare(key.size() - 5, 5, ".bias") == 0;
    const bool norm = key.find("norm.weight") != std::string::npos;
    if (key.size() > 6 && key.compare(key.size() - 6, 6, ".gamma") == 0)
      ck.add(key, at::full(shape, 1.0 / double(s.layers), opt));
    else if (norm)
      ck.add(key, at::ones(shape, opt));
    else if (bias)
      ck.add(key, at::zeros(shape, opt));
    else
      ck.add(key, at::randn(shape, gen, opt).clamp_(-2.0, 2.0).mul_(0.02));
  }
  // Start quiet: log magnitudes begin near -5 instead of 0 (head.bias is the last key).
  ck.tensors.back().second.view({s.frames_per_token(), 2 * s.bins()}).narrow(1, 0, s.bins()).fill_(-5.0);
}

}  // namespace vamp
