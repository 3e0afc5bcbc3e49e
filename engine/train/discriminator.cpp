// discriminator: multi-period and multi-resolution STFT discriminators, LSGAN and feature matching.
#include "discriminator.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <stdexcept>

namespace vamp::train {

namespace {

constexpr double kSlope = 0.1;         // leaky ReLU, as HiFi-GAN, DAC and Vocos
constexpr int64_t kMpdKernel = 5, kMpdStride = 3;
constexpr double kLogFloor = 1e-5;     // log10 power floor: 50 dB under full-scale white noise per bin

std::string mpd_layer(int64_t p, size_t i) { return "mpd." + std::to_string(p) + ".convs." + std::to_string(i); }
std::string mpd_post(int64_t p) { return "mpd." + std::to_string(p) + ".conv_post"; }
std::string mrd_layer(int64_t w, int64_t i) { return "mrd." + std::to_string(w) + ".convs." + std::to_string(i); }
std::string mrd_post(int64_t w) { return "mrd." + std::to_string(w) + ".conv_post"; }

// Every conv of a config: name and weight shape [out, in, kh, kw], in checkpoint order.
std::vector<std::pair<std::string, std::vector<int64_t>>> layers(const DiscriminatorConfig& c) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  for (int64_t p : c.periods) {
    int64_t in = 1;
    for (size_t i = 0; i < c.mpd_channels.size(); ++i) {
      out.push_back({mpd_layer(p, i), {c.mpd_channels[i], in, kMpdKernel, 1}});
      in = c.mpd_channels[i];
    }
    out.push_back({mpd_post(p), {1, in, 3, 1}});
  }
  for (int64_t w : c.stft_windows) {
    const int64_t ch = c.mrd_channels;
    for (int64_t i = 0; i < c.mrd_strided; ++i) out.push_back({mrd_layer(w, i), {ch, i == 0 ? 1 : ch, 3, 9}});
    out.push_back({mrd_layer(w, c.mrd_strided), {ch, ch, 3, 3}});
    out.push_back({mrd_post(w), {1, ch, 3, 3}});
  }
  return out;
}

void check(const DiscriminatorConfig& c) {
  auto fail = [](const std::string& m) { throw std::invalid_argument("discriminator config: " + m); };
  if (c.periods.empty() && c.stft_windows.empty()) fail("no sub-discriminator (periods and stft_windows empty)");
  for (int64_t p : c.periods)
    if (p < 1) fail("periods must be >= 1");
  if (!c.periods.empty() && c.mpd_channels.empty()) fail("mpd_channels empty");
  for (int64_t ch : c.mpd_channels)
    if (ch < 1) fail("mpd_channels must be >= 1");
  for (int64_t w : c.stft_windows)
    if (w < 8 || w % 4) fail("stft_windows must be multiples of 4, >= 8");
  if (!c.stft_windows.empty() && (c.mrd_channels < 1 || c.mrd_strided < 1))
    fail("mrd_channels and mrd_strided must be >= 1");
}

}  // namespace

Checkpoint random_discriminator_checkpoint(const DiscriminatorConfig& c, uint64_t seed) {
  check(c);
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto opt = at::TensorOptions().dtype(at::kFloat);
  Checkpoint ck;
  ck.path = "<random discriminator, seed " + std::to_string(seed) + ">";
  for (const auto& [name, shape] : layers(c)) {
    // torch.nn.Conv2d's default init (weights and bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))), then
    // weight_norm as torch applies it: g = |v| per output channel, so the effective weight is v.
    const double bound = 1.0 / std::sqrt(double(shape[1] * shape[2] * shape[3]));
    const at::Tensor v = at::empty(shape, opt).uniform_(-bound, bound, gen);
    ck.add(name + ".bias", at::empty({shape[0]}, opt).uniform_(-bound, bound, gen));
    ck.add(name + ".weight_g", at::norm_except_dim(v, 2, 0));
    ck.add(name + ".weight_v", v);
  }
  ck.kwargs = py_dict({{"periods", py_int_list(c.periods)},
                       {"mpd_channels", py_int_list(c.mpd_channels)},
                       {"stft_windows", py_int_list(c.stft_windows)},
                       {"mrd_channels", py_int(c.mrd_channels)},
                       {"mrd_strided", py_int(c.mrd_strided)}});
  ck.metadata = py_dict({{"kwargs", ck.kwargs}, {"model", py_str("vamp discriminator (MPD + MRD)")}});
  return ck;
}

DiscriminatorConfig discriminator_config(const Checkpoint& ck) {
  DiscriminatorConfig c;
  c.periods = ck.kwarg_int_list("periods");
  c.mpd_channels = ck.kwarg_int_list("mpd_channels");
  c.stft_windows = ck.kwarg_int_list("stft_windows");
  c.mrd_channels = ck.kwarg_int("mrd_channels");
  c.mrd_strided = ck.kwarg_int("mrd_strided");
  try {
    check(c);
  } catch (const std::invalid_argument& e) {
    ck.fail(e.what());
  }
  return c;
}

Discriminator::Discriminator(const Params& params, DiscriminatorConfig config) : p_(params), cfg_(std::move(config)) {
  check(cfg_);
  for (const auto& [name, shape] : layers(cfg_)) {
    const std::vector<int64_t> g_shape = {shape[0], 1, 1, 1};
    const std::pair<std::string, std::vector<int64_t>> want[] = {
        {name + ".weight_v", shape}, {name + ".weight_g", g_shape}, {name + ".bias", {shape[0]}}};
    for (const auto& [key, s] : want)
      if (p_[key].sizes() != at::IntArrayRef(s))
        throw std::invalid_argument("discriminator: '" + key + "' has shape " + c10::str(p_[key].sizes()) +
                                    ", the config wants " + c10::str(at::IntArrayRef(s)));
  }
  for (int64_t p : cfg_.periods) names_.push_back("mpd." + std::to_string(p));
  const at::Device device = p_[layers(cfg_).front().first + ".bias"].device();
  for (int64_t w : cfg_.stft_windows) {
    names_.push_back("mrd." + std::to_string(w));
    hann_.push_back(at::hann_window(w, at::TensorOptions().dtype(at::kFloat)).to(device));
  }
}

// Weight norm applied on every call (gradients reach weight_g and weight_v), as codec_net does.
// Weight norm rather than plain weights: HiFi-GAN, DAC and Vocos train their discriminators with
// it, so their learning rates and loss weights are the ones tried with this parametrization; each
// filter's scale is one parameter that AdamW moves as readily as its direction; and it costs one
// norm per layer per call, nothing next to the convolutions.
at::Tensor Discriminator::weight(const std::string& layer, const at::Tensor& like, bool train) const {
  at::Tensor w = at::_weight_norm(p_[layer + ".weight_v"], p_[layer + ".weight_g"], 0);
  if (!train) w = w.detach();
  return w.scalar_type() == like.scalar_type() ? w : w.to(like.scalar_type());
}

at::Tensor Discriminator::bias(const std::string& layer, const at::Tensor& like, bool train) const {
  at::Tensor b = p_[layer + ".bias"];
  if (!train) b = b.detach();
  return b.scalar_type() == like.scalar_type() ? b : b.to(like.scalar_type());
}

// HiFi-GAN's DiscriminatorP: the waveform folded to [B, 1, N/p, p] (reflect-padded at the end to a
// multiple of p), (5,1) convolutions along N/p. A (k,1) Conv2d on [B, C, H, p] is a Conv1d on the
// p columns as separate rows, so the stack runs as Conv1d on [B*p, C, H]: the same arithmetic
// without width-1 kernels. Features are handed out in HiFi-GAN's [B, C, H, p] layout (views).
Judgement Discriminator::period(int64_t p, const at::Tensor& audio, bool train) const {
  const int64_t B = audio.size(0), N = audio.size(-1);
  at::Tensor x = audio.reshape({B, 1, N});
  if (N % p) x = at::reflection_pad1d(x, {0, p - N % p});
  const int64_t H = x.size(-1) / p;
  x = x.view({B, H, p}).transpose(1, 2).reshape({B * p, 1, H});
  auto as_2d = [&](const at::Tensor& h) { return h.view({B, p, h.size(1), h.size(2)}).permute({0, 2, 3, 1}); };
  Judgement j;
  for (size_t i = 0; i < cfg_.mpd_channels.size(); ++i) {
    const std::string l = mpd_layer(p, i);
    const int64_t stride = i + 1 < cfg_.mpd_channels.size() ? kMpdStride : 1;
    x = at::conv1d(x, weight(l, x, train).squeeze(-1), bias(l, x, train), stride, kMpdKernel / 2);
    x = at::leaky_relu(x, kSlope);
    j.features.push_back(as_2d(x));
  }
  x = at::conv1d(x, weight(mpd_post(p), x, train).squeeze(-1), bias(mpd_post(p), x, train), 1, 1);
  j.logits = as_2d(x).reshape({B, -1});
  return j;
}

// UnivNet / Vocos-style resolution discriminator on the log10 power spectrogram (centered frames,
// Hann window, hop window/4; power normalized by the window's energy, so white noise of variance
// s^2 reads log10(s^2) at every resolution). Log power rather than DAC's raw real/imaginary
// parts: the same convolutions, but the floor between a tone's partials, 40-60 dB under its
// peaks, is as visible to the convolutions as the peaks are, and that floor is what a codec
// trained on mel and waveform losses alone fills with noise. Phase is the MPD's to judge.
Judgement Discriminator::resolution(size_t r, const at::Tensor& audio, bool train) const {
  const int64_t w = cfg_.stft_windows[r], B = audio.size(0), N = audio.size(-1);
  const at::Tensor hann = hann_[r].scalar_type() == audio.scalar_type() ? hann_[r] : hann_[r].to(audio.scalar_type());
  // Frames as torch.stft(center=True) takes them, but cut without as_strided: with hop = w/4,
  // frame t is blocks t..t+3 of the signal in hop-sized blocks, so four shifted views and a cat
  // make all frames, and their backward is four slices. at::stft (its backward goes through
  // as_strided) took 0.17 s forward and backward for the 2048 window at batch 8 x 0.6 s on 2
  // threads, this 0.02 s; the result is the same to the bit.
  const int64_t hop = w / 4, T = 1 + N / hop;
  const at::Tensor blocks =
      at::reflection_pad1d(audio.reshape({B, 1, N}), {w / 2, w / 2}).narrow(2, 0, (T + 3) * hop).view({B, T + 3, hop});
  const at::Tensor frames = at::cat({blocks.narrow(1, 0, T), blocks.narrow(1, 1, T), blocks.narrow(1, 2, T),
                                     blocks.narrow(1, 3, T)}, 2);                  // [B, T, w]
  const at::Tensor spec = at::fft_rfft(frames * hann, c10::nullopt, -1);           // [B, T, F] complex
  const double energy = double(w) * 3.0 / 8.0;                                     // sum of hann^2
  const at::Tensor power = at::view_as_real(spec).pow(2).sum(-1) / energy;
  at::Tensor x = at::log10(power + kLogFloor).unsqueeze(1);                        // [B, 1, T, F]
  Judgement j;
  for (int64_t i = 0; i <= cfg_.mrd_strided; ++i) {
    const std::string l = mrd_layer(w, i);
    if (i < cfg_.mrd_strided)
      x = at::conv2d(x, weight(l, x, train), bias(l, x, train), {1, 2}, {1, 4});
    else
      x = at::conv2d(x, weight(l, x, train), bias(l, x, train), {1, 1}, {1, 1});
    x = at::leaky_relu(x, kSlope);
    j.features.push_back(x);
  }
  x = at::conv2d(x, weight(mrd_post(w), x, train), bias(mrd_post(w), x, train), {1, 1}, {1, 1});
  j.logits = x.reshape({B, -1});
  return j;
}

Judgement Discriminator::judge(size_t i, const at::Tensor& audio, bool train_weights) const {
  if (audio.dim() != 3 || audio.size(1) != 1)
    throw std::invalid_argument("discriminator: audio must be [B, 1, N], got " + c10::str(audio.sizes()));
  for (int64_t w : cfg_.stft_windows)  // centered frames reflect half a window at each end
    if (audio.size(2) <= w / 2)
      throw std::invalid_argument("discriminator: " + std::to_string(audio.size(2)) +
                                  " samples, the " + std::to_string(w) + "-sample window needs more than " +
                                  std::to_string(w / 2));
  if (i < cfg_.periods.size()) return period(cfg_.periods[i], audio, train_weights);
  return resolution(i - cfg_.periods.size(), audio, train_weights);
}

std::vector<Judgement> Discriminator::operator()(const at::Tensor& audio, bool train_weights) const {
  std::vector<Judgement> out;
  for (size_t i = 0; i < size(); ++i) out.push_back(judge(i, audio, train_weights));
  return out;
}

// --- losses ---------------------------------------------------------------------------------

at::Tensor discriminator_loss(const std::vector<Judgement>& real, const std::vector<Judgement>& fake) {
  if (real.size() != fake.size() || real.empty())
    throw std::invalid_argument("discriminator_loss: real and fake judged by different discriminators");
  at::Tensor total;
  for (size_t k = 0; k < real.size(); ++k) {
    const at::Tensor l = (1.0 - real[k].logits).pow(2).mean() + fake[k].logits.pow(2).mean();
    total = total.defined() ? total + l : l;
  }
  return total;
}

at::Tensor generator_loss(const std::vector<Judgement>& fake) {
  if (fake.empty()) throw std::invalid_argument("generator_loss: no judgement");
  at::Tensor total;
  for (const auto& j : fake) {
    const at::Tensor l = (1.0 - j.logits).pow(2).mean();
    total = total.defined() ? total + l : l;
  }
  return total;
}

at::Tensor feature_matching_loss(const std::vector<Judgement>& real, const std::vector<Judgement>& fake,
                                 FeatureScale scale) {
  if (real.size() != fake.size() || real.empty())
    throw std::invalid_argument("feature_matching_loss: real and fake judged by different discriminators");
  at::Tensor total;
  int64_t terms = 0;
  for (size_t k = 0; k < real.size(); ++k) {
    if (real[k].features.size() != fake[k].features.size())
      throw std::invalid_argument("feature_matching_loss: feature counts differ");
    for (size_t l = 0; l < real[k].features.size(); ++l) {
      const at::Tensor r = real[k].features[l].detach();
      at::Tensor t = (r - fake[k].features[l]).abs().mean();
      if (scale == FeatureScale::Relative) t = t / (r.abs().mean() + 1e-8);
      total = total.defined() ? total + t : t;
      ++terms;
    }
  }
  return scale == FeatureScale::Relative ? total / double(terms) : total;
}

}  // namespace vamp::train
