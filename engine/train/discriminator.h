// discriminator: the adversarial side of codec training (HiFi-GAN's multi-period discriminator
// and a UnivNet/Vocos-style multi-resolution STFT discriminator), LSGAN losses and feature
// matching, at widths a 2-core CPU can afford.
//
// Written as codec_net is: a function of named tensors held in a Params (so the weights are a
// released-layout checkpoint, `<codec>.disc` next to the codec, resumable with AdamW through
// save_training_state / load_training_state like every other model here).
//
// Layout (every conv weight-normed: <layer>.weight_g, <layer>.weight_v, <layer>.bias):
//   mpd.<p>.convs.<i>   Conv2d [C_i, C_{i-1}, 5, 1], stride (3,1) except the last (stride 1)
//   mpd.<p>.conv_post   Conv2d [1, C_last, 3, 1]
//   mrd.<w>.convs.<i>   Conv2d [C, C or 1, 3, 9], stride (1,2) over frequency (mrd_strided of them),
//                       then one [C, C, 3, 3] stride 1
//   mrd.<w>.conv_post   Conv2d [1, C, 3, 3]
// kwargs: periods, mpd_channels, stft_windows, mrd_channels, mrd_strided (discriminator_config).
//
// One training step (DAC's order): D first, on the batch and the generator's output detached:
//   real = D(x); loss_d = discriminator_loss(real, D(y.detach())); backward; D's AdamW step.
// Then the generator: fake = D(y, /*train_weights=*/false), loss += generator_loss(fake) +
// 2 feature_matching_loss(real, fake). `real` from the D step is reused (its features come from
// D before its update, which saves a forward pass, about 0.1 s at batch 8 x 0.6 s; DAC and
// HiFi-GAN judge the batch again after the update).
#pragma once

#include "vamp/checkpoint.h"
#include "optim.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace vamp::train {

// The defaults cost about 0.8 s for one adversarial round at batch 8 x 0.6 s on this project's
// 2-core CPU (2 threads): D on real and detached fake with its backward, then D on the fake with
// fixed weights and the backward to the audio; about half a codec forward + backward at the same
// batch. Per period 0.06 s, per STFT resolution 0.16 s. 735k parameters (137k per period, 17k per
// resolution). The convolutions run at 60-70 GFLOP/s there, so the time grows with the
// multiply-adds: doubling mrd_channels costs about 2.5-3x per resolution.
struct DiscriminatorConfig {
  // Multi-period discriminator (HiFi-GAN MPD): one sub-discriminator per period. Each is a stack
  // of (5,1) convolutions over the [N/p, p] folded waveform, one per entry of mpd_channels, all
  // with stride (3,1) except the last (stride 1, as HiFi-GAN's 32,128,512,1024,1024), then a
  // (3,1) convolution to one channel.
  std::vector<int64_t> periods = {2, 3, 5, 7, 11};
  std::vector<int64_t> mpd_channels = {16, 32, 64, 128, 128};
  // Multi-resolution STFT discriminator: one sub-discriminator per window length (Hann, hop
  // window/4), reading the log power spectrogram [B, 1, frames, bins]: mrd_strided (3,9)
  // convolutions with stride 2 over frequency (the first maps 1 -> mrd_channels), one (3,3)
  // convolution, then a (3,3) convolution to one channel.
  std::vector<int64_t> stft_windows = {2048, 1024, 512};
  int64_t mrd_channels = 16;
  int64_t mrd_strided = 3;

  bool operator==(const DiscriminatorConfig& o) const {
    return periods == o.periods && mpd_channels == o.mpd_channels && stft_windows == o.stft_windows &&
           mrd_channels == o.mrd_channels && mrd_strided == o.mrd_strided;
  }
};

// A deterministic random discriminator (PyTorch's default conv init, weight norm with g = |v|),
// kwargs recording the config. Throws std::invalid_argument on an unusable config.
Checkpoint random_discriminator_checkpoint(const DiscriminatorConfig& config, uint64_t seed);
// The config a discriminator checkpoint was made with (its kwargs); throws CheckpointError.
DiscriminatorConfig discriminator_config(const Checkpoint& ck);

// One sub-discriminator's verdict: logits [B, L] (LSGAN: 1 = real, 0 = generated) and the
// hidden activations after each leaky ReLU (for feature matching; the logits are not among them).
struct Judgement {
  at::Tensor logits;
  std::vector<at::Tensor> features;
};

class Discriminator {
 public:
  // params holds a discriminator checkpoint's tensors; their shapes are checked against config
  // (std::invalid_argument naming the first wrong key).
  Discriminator(const Params& params, DiscriminatorConfig config);
  const DiscriminatorConfig& config() const { return cfg_; }

  // audio [B,1,N] (float or double; the weights are cast to the audio's type; N more than half
  // the longest STFT window) -> one Judgement per sub-discriminator: the periods in order, then
  // the STFT windows in order.
  // train_weights = false: the weights enter as constants, so a backward pass reaches the audio
  // but builds no gradient for (and spends no time on) the discriminator's parameters: the
  // generator's side of a step.
  std::vector<Judgement> operator()(const at::Tensor& audio, bool train_weights = true) const;

  size_t size() const { return names_.size(); }
  const std::string& name(size_t i) const { return names_[i]; }  // "mpd.2", ..., "mrd.2048", ...
  // Sub-discriminator i alone (for timing and per-part logging).
  Judgement judge(size_t i, const at::Tensor& audio, bool train_weights = true) const;

 private:
  at::Tensor weight(const std::string& layer, const at::Tensor& like, bool train) const;
  at::Tensor bias(const std::string& layer, const at::Tensor& like, bool train) const;
  Judgement period(int64_t p, const at::Tensor& audio, bool train) const;
  Judgement resolution(size_t r, const at::Tensor& audio, bool train) const;

  const Params& p_;
  DiscriminatorConfig cfg_;
  std::vector<std::string> names_;
  std::vector<at::Tensor> hann_;  // per STFT window, float32 on the parameters' device
};

// LSGAN (HiFi-GAN, DAC), summed over sub-discriminators:
//   discriminator_loss = sum_k mean((1 - D_k(real))^2) + mean(D_k(fake)^2)
// `fake` judged on detached generator output (the caller detaches).
at::Tensor discriminator_loss(const std::vector<Judgement>& real, const std::vector<Judgement>& fake);
//   generator_loss = sum_k mean((1 - D_k(fake))^2)
at::Tensor generator_loss(const std::vector<Judgement>& fake);

// How feature_matching_loss scales its terms.
enum class FeatureScale {
  Sum,       // DAC / HiFi-GAN: sum over sub-discriminators and layers of mean |f_real - f_fake|.
             // DAC weighs its sum 2 over 100 terms (5 periods x 5 layers, 3 resolutions x 5 bands
             // x 5 layers); the default config here has 37 (5 x 5 + 3 x 4), so weight 2 gives
             // feature matching about a third of DAC's pull on the generator, 5 about the same.
  Relative,  // EnCodec: each term divided by mean |f_real| (insensitive to how large D's hidden
             // activations grow), then averaged over all terms: a loss of order 1 whatever the
             // config, at the price of a weight no published recipe gives for it
};

// sum over sub-discriminators k and layers l of mean |f_real - f_fake| (f_real detached here), or
// the Relative form. 0 for identical audio.
at::Tensor feature_matching_loss(const std::vector<Judgement>& real, const std::vector<Judgement>& fake,
                                 FeatureScale scale = FeatureScale::Sum);

}  // namespace vamp::train
