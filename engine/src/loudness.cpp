// loudness: BS.1770 as audiotools computes it on the CPU (audiotools/core/loudness.py, Meter),
// op for op, so that the gain VampNet applies before encoding is reproduced to the last bit.
#include "vamp/loudness.h"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace vamp {

namespace {

// pyloudnorm IIRfilter.generate_coefficients, same expressions in the same order.
Biquad biquad(double G, double Q, double fc, double rate, bool high_shelf) {
  const double A = std::pow(10.0, G / 40.0);
  const double w0 = 2.0 * M_PI * (fc / rate);
  const double alpha = std::sin(w0) / (2.0 * Q);
  double b0, b1, b2, a0, a1, a2;
  if (high_shelf) {
    b0 = A * ((A + 1) + (A - 1) * std::cos(w0) + 2 * std::sqrt(A) * alpha);
    b1 = -2 * A * ((A - 1) + (A + 1) * std::cos(w0));
    b2 = A * ((A + 1) + (A - 1) * std::cos(w0) - 2 * std::sqrt(A) * alpha);
    a0 = (A + 1) - (A - 1) * std::cos(w0) + 2 * std::sqrt(A) * alpha;
    a1 = 2 * ((A - 1) - (A + 1) * std::cos(w0));
    a2 = (A + 1) - (A - 1) * std::cos(w0) - 2 * std::sqrt(A) * alpha;
  } else {
    b0 = (1 + std::cos(w0)) / 2;
    b1 = -(1 + std::cos(w0));
    b2 = (1 + std::cos(w0)) / 2;
    a0 = 1 + alpha;
    a1 = -2 * std::cos(w0);
    a2 = 1 - alpha;
  }
  return Biquad{{b0 / a0, b1 / a0, b2 / a0}, {a0 / a0, a1 / a0, a2 / a0}, 1.0};
}

void check_audio(const at::Tensor& audio, const char* what) {
  if (audio.dim() != 3)
    throw std::invalid_argument(std::string(what) + ": expected audio [B, C, N], got " +
                                std::to_string(audio.dim()) + " dims");
}

// torchaudio lfilter(clamp=False) on rows [R, 1, N]: FIR part by conv1d over the left-padded
// input, then the recursion of torchaudio's cpu_lfilter_core_loop in float32.
at::Tensor lfilter(const at::Tensor& x, const Biquad& f) {
  const auto opt = x.options();
  at::Tensor a = at::tensor({f.a[0], f.a[1], f.a[2]}, opt.dtype(at::kDouble)).to(at::kFloat);
  at::Tensor b = at::tensor({f.b[0], f.b[1], f.b[2]}, opt.dtype(at::kDouble)).to(at::kFloat);
  b = b / a.slice(0, 0, 1);
  a = a / a.slice(0, 0, 1);
  at::Tensor padded = at::constant_pad_nd(x, {2, 0}, 0);
  at::Tensor fir = at::conv1d(padded, b.flip(0).contiguous().view({1, 1, 3})).contiguous();
  const float a_fl[3] = {a[2].item<float>(), a[1].item<float>(), a[0].item<float>()};  // flipped

  const int64_t rows = fir.size(0), n = fir.size(2);
  at::Tensor out = at::zeros({rows, 1, n + 2}, opt);
  const float* in = fir.data_ptr<float>();
  float* o = out.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const float* ir = in + r * n;
    float* orow = o + r * (n + 2);
    for (int64_t i = 0; i < n; ++i) {
      float acc = ir[i];
      for (int k = 0; k < 3; ++k) acc -= orow[i + k] * a_fl[k];
      orow[i + 2] = acc;
    }
  }
  return out.slice(2, 2);
}

}  // namespace

std::vector<Biquad> k_weighting_filters(int64_t sample_rate) {
  const double rate = double(sample_rate);
  return {biquad(4.0, 1 / std::sqrt(2.0), 1500.0, rate, true), biquad(0.0, 0.5, 38.0, rate, false)};
}

at::Tensor k_weight(const at::Tensor& audio, int64_t sample_rate) {
  check_audio(audio, "k_weight");
  const int64_t B = audio.size(0), C = audio.size(1), N = audio.size(2);
  at::Tensor x = audio.to(at::kCPU, at::kFloat).contiguous().view({B * C, 1, N});
  for (const Biquad& f : k_weighting_filters(sample_rate)) x = lfilter(x, f).mul(f.passband_gain);
  return x.reshape({B, C, N}).to(audio.device());
}

at::Tensor gated_loudness(const at::Tensor& kw, int64_t sample_rate) {
  check_audio(kw, "loudness");
  const int64_t nb = kw.size(0), nch = kw.size(1), length = kw.size(2);
  if (nch > 5) throw std::invalid_argument("loudness: at most 5 channels (BS.1770 channel gains)");
  const double T_g = 0.400, Gamma_a = -70.0;

  // julius.core.unfold(x, 0.4 s, 0.1 s): zero-pad to whole blocks, then strided blocks.
  const int64_t kernel = int64_t(T_g * double(sample_rate));
  const int64_t stride = int64_t(T_g * double(sample_rate) * (1.0 - 0.75));
  const int64_t n_frames = int64_t(std::ceil(double(std::max(length, kernel) - kernel) / double(stride))) + 1;
  const int64_t tgt = (n_frames - 1) * stride + kernel;
  at::Tensor padded = at::constant_pad_nd(kw.to(at::kFloat).contiguous(), {0, tgt - length}, 0).contiguous();
  at::Tensor unfolded = padded.as_strided({nb, nch, n_frames, kernel}, {nch * tgt, tgt, stride, 1}).transpose(-1, -2);

  at::Tensor G = at::tensor({1.0, 1.0, 1.0, 1.41, 1.41}, at::TensorOptions().dtype(at::kDouble))
                     .to(kw.device()).slice(0, 0, nch);
  at::Tensor z = (1.0 / (T_g * double(sample_rate))) * unfolded.square().sum(2);  // [nb, nch, frames]
  at::Tensor l = -0.691 + 10.0 * at::log10((G.view({1, nch, 1}) * z).sum(1, true));
  l = l.expand_as(z);

  at::Tensor z_avg = z.clone();
  z_avg.masked_fill_(l <= Gamma_a, 0);
  at::Tensor masked = l > Gamma_a;
  z_avg = z_avg.sum(2) / masked.sum(2);

  at::Tensor Gamma_r = -0.691 + 10.0 * at::log10((z_avg * G.view({1, nch})).sum(-1)) - 10.0;
  Gamma_r = Gamma_r.view({nb, 1, 1}).expand({nb, nch, l.size(-1)});

  z.masked_fill_(l <= Gamma_a, 0);
  z.masked_fill_(l <= Gamma_r, 0);
  masked = (l > Gamma_a) * (l > Gamma_r);
  z_avg = z.sum(2) / masked.sum(2);
  z_avg = at::where(z_avg.isnan(), at::zeros_like(z_avg), z_avg);
  z_avg.masked_fill_(z_avg == std::numeric_limits<float>::infinity(), std::numeric_limits<float>::max());
  z_avg.masked_fill_(z_avg == -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::lowest());

  at::Tensor lufs = -0.691 + 10.0 * at::log10((G.view({1, nch}) * z_avg).sum(1));
  return lufs.to(at::kFloat);
}

at::Tensor loudness(const at::Tensor& audio, int64_t sample_rate) {
  check_audio(audio, "loudness");
  at::NoGradGuard no_grad;
  at::Tensor x = audio.to(at::kFloat);
  const double duration = double(x.size(2)) / double(sample_rate);
  if (duration < 0.5) {
    const int64_t pad = int64_t((0.5 - duration) * double(sample_rate));
    x = at::constant_pad_nd(x, {0, pad}, 0);
  }
  at::Tensor l = gated_loudness(k_weight(x, sample_rate), sample_rate);
  return at::maximum(l, at::full_like(l, -70.0));
}

at::Tensor normalize(const at::Tensor& audio, int64_t sample_rate, double target_lufs) {
  at::NoGradGuard no_grad;
  at::Tensor ref = loudness(audio, sample_rate);
  at::Tensor gain = at::scalar_tensor(target_lufs, ref.options()) - ref;
  gain = at::exp(gain * (std::log(10.0) / 20.0));
  return audio.to(at::kFloat) * gain.view({-1, 1, 1});
}

at::Tensor to_mono(const at::Tensor& audio) {
  check_audio(audio, "to_mono");
  return audio.mean(1, true);
}

at::Tensor ensure_max(const at::Tensor& audio, double peak) {
  check_audio(audio, "ensure_max");
  at::NoGradGuard no_grad;
  at::Tensor p = std::get<0>(audio.abs().max(-1, true));
  at::Tensor g = at::ones_like(p);
  at::Tensor over = p > peak;
  g.masked_scatter_(over, peak / p.masked_select(over));
  return audio * g;
}

}  // namespace vamp
