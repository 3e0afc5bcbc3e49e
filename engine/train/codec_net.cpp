// codec_net: differentiable LAC, the mel loss and SI-SDR.
#include "codec_net.h"

#include "vamp/snake.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>

namespace vamp::train {

namespace {
constexpr int64_t kEncoderDilations[] = {1, 3, 9};
constexpr int64_t kDecoderDilations[] = {1, 3, 5};
constexpr int64_t kMrfKernels[] = {3, 7, 11};

// Calls row_fn(row, alpha, 1 / (alpha + 1e-9)) for each row of [B, C, T], rows spread over threads.
template <typename RowFn>
void for_each_snake_row(int64_t B, const at::Tensor& alpha, RowFn&& row_fn) {
  const int64_t C = alpha.numel();
  const at::Tensor a = alpha.reshape({C}).contiguous();
  const float* ap = a.data_ptr<float>();
  at::parallel_for(0, B * C, 1, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float al = ap[row % C];
      row_fn(row, al, 1.0f / (al + 1e-9f));
    }
  });
}

// Snake on the CPU in fp32 as one pass forward and one backward (snake.h) instead of five ops
// and their backward, which stream each activation through memory a dozen times. Saves x alone.
struct FusedSnake : torch::autograd::Function<FusedSnake> {
  // x [B, C, T] contiguous fp32, alpha [1, C, 1]
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& alpha) {
    ctx->save_for_backward({x, alpha});
    const int64_t T = x.size(2);
    at::Tensor y = at::empty_like(x);
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    for_each_snake_row(x.size(0), alpha, [&](int64_t row, float al, float rinv) {
      snake_row(xp + row * T, yp + row * T, T, al, rinv);
    });
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &alpha = saved[1];
    const at::Tensor g = grads[0].contiguous();
    const int64_t B = x.size(0), C = x.size(1), T = x.size(2);
    at::Tensor gx = at::empty_like(x);
    at::Tensor galpha_rows = at::empty({B * C}, x.options().dtype(at::kDouble));
    const float *xp = x.data_ptr<float>(), *gp = g.data_ptr<float>();
    float* gxp = gx.data_ptr<float>();
    double* gap = galpha_rows.data_ptr<double>();
    for_each_snake_row(B, alpha, [&](int64_t row, float al, float rinv) {
      gap[row] = snake_backward_row(xp + row * T, gp + row * T, gxp + row * T, T, al, rinv);
    });
    return {gx, galpha_rows.view({B, C}).sum(0).to(at::kFloat).view(alpha.sizes())};
  }
};

}  // namespace

CodecNet::CodecNet(const Params& params, CodecConfig config) : p_(params), cfg_(std::move(config)) {}

at::Tensor CodecNet::conv(const std::string& prefix, const at::Tensor& x, int64_t stride, int64_t pad,
                          int64_t dilation, bool transpose) const {
  const at::Tensor w = at::_weight_norm(p_[prefix + ".weight_v"], p_[prefix + ".weight_g"], 0);
  const at::Tensor& b = p_[prefix + ".bias"];
  if (transpose) return at::conv_transpose1d(x, w, b, stride, pad, 0, 1, dilation);
  return at::conv1d(x, w, b, stride, pad, dilation);
}

at::Tensor snake(const at::Tensor& x, const at::Tensor& alpha) {
  if (x.is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 3 && x.is_contiguous() &&
      alpha.scalar_type() == at::kFloat && alpha.numel() == x.size(1))
    return FusedSnake::apply(x, alpha);
  return x + (alpha + 1e-9).reciprocal() * at::sin(alpha * x).pow(2);
}

at::Tensor CodecNet::snake(const std::string& key, const at::Tensor& x) const { return train::snake(x, p_[key]); }

at::Tensor CodecNet::unit(const std::string& prefix, const at::Tensor& x, int64_t k1, int64_t dilation,
                          int64_t k3) const {
  at::Tensor h = conv(prefix + ".1", snake(prefix + ".0.alpha", x), 1, (k1 - 1) * dilation / 2, dilation);
  h = conv(prefix + ".3", snake(prefix + ".2.alpha", h), 1, (k3 - 1) / 2, 1);
  return x + h;
}

at::Tensor CodecNet::encode(const at::Tensor& audio) const {
  at::Tensor x = conv("encoder.block.0", audio, 1, 3, 1);
  const size_t n = cfg_.encoder_rates.size();
  for (size_t b = 0; b < n; ++b) {
    const std::string p = "encoder.block." + std::to_string(b + 1) + ".block.";
    for (int l = 0; l < 3; ++l) x = unit(p + std::to_string(l) + ".block", x, 7, kEncoderDilations[l], 1);
    const int64_t s = cfg_.encoder_rates[b];
    x = conv(p + "4", snake(p + "3.alpha", x), s, s / 2, 1);
  }
  x = snake("encoder.block." + std::to_string(n + 1) + ".alpha", x);
  return conv("encoder.block." + std::to_string(n + 2), x, 1, 1, 1);
}

at::Tensor CodecNet::decode(const at::Tensor& z) const {
  if (cfg_.decoder == "istft")
    return istft_decode([this](const std::string& key) -> const at::Tensor& { return p_[key]; }, istft_shape(cfg_), z);
  at::Tensor x = conv("decoder.model.0", z, 1, 3, 1);
  const size_t n = cfg_.decoder_rates.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string p = "decoder.model." + std::to_string(i + 1) + ".block.";
    const int64_t s = cfg_.decoder_rates[i];
    x = conv(p + "1", snake(p + "0.alpha", x), s, s / 2, 1, /*transpose=*/true);
    at::Tensor sum;
    for (int j = 0; j < 3; ++j) {
      at::Tensor h = x;
      for (int l = 0; l < 3; ++l)
        h = unit(p + "2.mrf_blocks." + std::to_string(j) + ".block." + std::to_string(l) + ".layer", h,
                 kMrfKernels[j], kDecoderDilations[l], kMrfKernels[j]);
      sum = sum.defined() ? sum + h : h;
    }
    x = sum / 3.0;
  }
  x = snake("decoder.model." + std::to_string(n + 1) + ".alpha", x);
  return at::tanh(conv("decoder.model." + std::to_string(n + 2), x, 1, 3, 1));
}

CodecNet::Output CodecNet::forward(const at::Tensor& audio, const at::Tensor& n_quantizers) const {
  const at::Tensor latent = encode(audio);
  const int64_t B = latent.size(0), T = latent.size(2), d = cfg_.codebook_dim;
  at::Tensor residual = latent, z_q = at::zeros_like(latent);
  at::Tensor commitment = at::zeros({}, latent.options()), codebook = at::zeros({}, latent.options());
  std::vector<at::Tensor> codes, projected;
  for (int64_t i = 0; i < cfg_.n_codebooks; ++i) {
    const std::string p = "quantizer.quantizers." + std::to_string(i) + ".";
    const at::Tensor z_e = conv(p + "in_proj", residual, 1, 0, 1);  // [B,d,T]
    const at::Tensor& table = p_[p + "codebook.weight"];             // [N,d]
    at::Tensor idx_e;
    {
      // The nearest normalized codebook row by the reference's distance; the choice has no gradient.
      at::NoGradGuard no_grad;
      at::Tensor enc = z_e.detach().permute({0, 2, 1}).reshape({B * T, d});
      enc = enc / enc.norm(2, {1}, true).clamp_min(1e-12);
      at::Tensor cb = table.detach();
      cb = cb / cb.norm(2, {1}, true).clamp_min(1e-12);
      const at::Tensor dist = enc.pow(2).sum(1, true) - 2 * at::mm(enc, cb.t()) + cb.pow(2).sum(1, true).t();
      idx_e = std::get<1>(at::max(-dist, 1)).reshape({B, T});
    }
    const at::Tensor q = at::embedding(table, idx_e).transpose(1, 2);  // [B,d,T], raw rows
    const at::Tensor use = n_quantizers.defined() ? (n_quantizers > i).to(latent.scalar_type()).view({B, 1, 1})
                                                  : at::ones({B, 1, 1}, latent.options());
    commitment = commitment + ((z_e - q.detach()).pow(2).mean({1, 2}) * use.view({B})).mean();
    codebook = codebook + ((q - z_e.detach()).pow(2).mean({1, 2}) * use.view({B})).mean();
    const at::Tensor z_q_i = conv(p + "out_proj", z_e + (q - z_e).detach(), 1, 0, 1);  // straight-through
    z_q = z_q + z_q_i * use;
    residual = residual - z_q_i;
    codes.push_back(idx_e);
    projected.push_back(z_e.detach());
  }
  return {decode(z_q), at::stack(codes, 1), commitment, codebook, projected};
}

// --- losses ---------------------------------------------------------------------------------

at::Tensor mel_filters(int64_t sample_rate, int64_t n_fft, int64_t n_mels, bool area_normalized) {
  auto hz_to_mel = [](double f) { return 2595.0 * std::log10(1.0 + f / 700.0); };
  auto mel_to_hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
  const int64_t bins = n_fft / 2 + 1;
  const double top = hz_to_mel(sample_rate / 2.0);
  std::vector<double> edges;
  for (int64_t i = 0; i < n_mels + 2; ++i) edges.push_back(mel_to_hz(top * double(i) / double(n_mels + 1)));
  at::Tensor fb = at::zeros({n_mels, bins});
  auto acc = fb.accessor<float, 2>();
  for (int64_t m = 0; m < n_mels; ++m) {
    const double lo = edges[size_t(m)], mid = edges[size_t(m) + 1], hi = edges[size_t(m) + 2];
    for (int64_t k = 0; k < bins; ++k) {
      const double f = double(k) * sample_rate / double(n_fft);
      const double w = std::max(0.0, std::min((f - lo) / (mid - lo), (hi - f) / (hi - mid)));
      acc[m][k] = float(area_normalized ? w * 2.0 / (hi - lo) : w);  // Slaney-style area normalization, or peak 1
    }
  }
  return fb;
}

MelLoss::MelLoss(int64_t sample_rate, at::Device device, std::vector<int64_t> windows, std::vector<int64_t> mels,
                 bool area_normalized)
    : windows_(std::move(windows)) {
  if (mels.size() != windows_.size()) throw std::invalid_argument("MelLoss: one mel band count per window");
  for (size_t i = 0; i < windows_.size(); ++i) {
    hann_.push_back(at::hann_window(windows_[i], at::TensorOptions().dtype(at::kFloat)).to(device));
    filters_.push_back(mel_filters(sample_rate, windows_[i], mels[i], area_normalized).to(device));
  }
}

MelLoss metric_mel_loss(int64_t sample_rate, at::Device device) {
  return MelLoss(sample_rate, device, {2048, 512, 128}, {80, 40, 10}, /*area_normalized=*/false);
}

at::Tensor MelLoss::log_mel(const at::Tensor& x, size_t s) const {
  const int64_t w = windows_[s];
  // Centered frames: reflect-pad by half a window, as torch.stft(center=True) does.
  const at::Tensor padded = at::reflection_pad1d(x, {w / 2, w / 2}).squeeze(1);
  const at::Tensor spec = at::stft(padded, w, w / 4, w, hann_[s], false, true, true);  // [B,F,frames]
  const at::Tensor mag = at::abs(spec);
  return at::log10(at::matmul(filters_[s], mag).clamp_min(1e-5));
}

at::Tensor MelLoss::operator()(const at::Tensor& estimate, const at::Tensor& reference) const {
  at::Tensor total = at::zeros({}, estimate.options());
  for (size_t s = 0; s < windows_.size(); ++s)
    total = total + at::l1_loss(log_mel(estimate, s), log_mel(reference, s));
  return total;
}

at::Tensor log_stft_loss(const at::Tensor& estimate, const at::Tensor& reference, const std::vector<int64_t>& windows) {
  at::Tensor total = at::zeros({}, estimate.options());
  for (const int64_t w : windows) {
    const at::Tensor hann = at::hann_window(w, estimate.options());
    auto log_mag = [&](const at::Tensor& x) {
      const at::Tensor padded = at::reflection_pad1d(x, {w / 2, w / 2}).squeeze(1);
      return at::log10(at::abs(at::stft(padded, w, w / 4, w, hann, false, true, true)).clamp_min(1e-5));
    };
    total = total + at::l1_loss(log_mag(estimate), log_mag(reference));
  }
  return total;
}

at::Tensor level_loss(const at::Tensor& estimate, const at::Tensor& reference, int64_t window) {
  auto log_energy = [&](const at::Tensor& x) {
    return at::log10(at::avg_pool1d(x.pow(2), {window}, {window / 4}).clamp_min(1e-8));
  };
  return at::l1_loss(log_energy(estimate), log_energy(reference));
}

at::Tensor si_sdr(const at::Tensor& estimate, const at::Tensor& reference) {
  const at::Tensor e = estimate.flatten(1) - estimate.flatten(1).mean(1, true);
  const at::Tensor r = reference.flatten(1) - reference.flatten(1).mean(1, true);
  const at::Tensor scale = (e * r).sum(1, true) / (r.pow(2).sum(1, true) + 1e-8);
  const at::Tensor target = scale * r;
  const at::Tensor noise = e - target;
  return 10.0 * at::log10((target.pow(2).sum(1) + 1e-8) / (noise.pow(2).sum(1) + 1e-8));
}

at::Tensor correlation(const at::Tensor& estimate, const at::Tensor& reference) {
  const at::Tensor e = estimate.flatten(1) - estimate.flatten(1).mean(1, true);
  const at::Tensor r = reference.flatten(1) - reference.flatten(1).mean(1, true);
  return (e * r).sum(1) / ((e.pow(2).sum(1) * r.pow(2).sum(1)).sqrt() + 1e-8);
}

CodeRestarter::CodeRestarter(int64_t n_codebooks, int64_t codebook_size, int64_t first) : first_(first) {
  for (int64_t i = 0; i < n_codebooks; ++i) used_.push_back(at::zeros({codebook_size}, at::kBool));
}

void CodeRestarter::count(const at::Tensor& codes) {
  const at::Tensor c = codes.to(at::kCPU);
  for (size_t i = 0; i < used_.size(); ++i) used_[i].index_fill_(0, c.select(1, int64_t(i)).flatten(), true);
}

int64_t CodeRestarter::restart(const Params& params, const std::vector<at::Tensor>& projected, at::Generator& gen) {
  at::NoGradGuard no_grad;
  int64_t moved = 0;
  for (size_t i = size_t(first_); i < used_.size(); ++i) {
    const at::Tensor dead = used_[i].logical_not().nonzero().flatten();
    used_[i].zero_();
    if (dead.numel() == 0) continue;
    const at::Tensor z = projected[i].permute({0, 2, 1}).reshape({-1, projected[i].size(1)});  // [B*T,d]
    const at::Tensor pick = at::randint(z.size(0), {dead.numel()}, gen, at::TensorOptions().dtype(at::kLong));
    const at::Tensor& table = params["quantizer.quantizers." + std::to_string(i) + ".codebook.weight"];
    table.index_copy_(0, dead.to(table.device()), z.index_select(0, pick.to(z.device())));
    moved += dead.numel();
  }
  return moved;
}

}  // namespace vamp::train
