// mask: VampNet's mask builders. See mask.h; reference: vampnet/mask.py (main 72e2675, ismir-2023
// dce1655), Interface.build_mask / make_beat_mask, app.py.
#include "vamp/mask.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace vamp::mask {

namespace {

struct Dims {
  int64_t b, k, t;
};

Dims dims_of(at::IntArrayRef shape) {
  if (shape.size() != 3) throw std::invalid_argument("mask shape must be [B, K, T]");
  for (auto s : shape)
    if (s < 0) throw std::invalid_argument("mask shape must not be negative");
  return {shape[0], shape[1], shape[2]};
}

const at::TensorOptions kLongOpts = at::TensorOptions().dtype(at::kLong);
const at::TensorOptions kFloatOpts = at::TensorOptions().dtype(at::kFloat);

void check_mask(const at::Tensor& m, const char* what) {
  if (m.dim() != 3) throw std::invalid_argument(std::string(what) + ": mask must be [B, K, T]");
  if (m.numel() > 0 && (m.max().item<int64_t>() > 1 || m.min().item<int64_t>() < 0))
    throw std::invalid_argument(std::string(what) + ": mask must be binary");
}

// Python's slice [start:stop] on a sequence of length n, step 1: the half-open range it selects.
std::pair<int64_t, int64_t> py_slice(int64_t start, int64_t stop, int64_t n) {
  auto norm = [n](int64_t i) {
    if (i < 0) i += n;
    return std::clamp<int64_t>(i, 0, n);
  };
  int64_t a = norm(start), b = norm(stop);
  return {a, std::max(a, b)};
}

int64_t floor_mod(int64_t a, int64_t m) {
  int64_t r = a % m;
  return r < 0 ? r + m : r;
}

}  // namespace

at::Generator make_generator(uint64_t seed) {
  return at::make_generator<at::CPUGeneratorImpl>(seed);
}

at::Tensor gamma(const at::Tensor& r) {
  // (r * torch.pi / 2).cos().clamp(1e-10, 1.0): the same ATen ops in the same order.
  return (r * M_PI / 2).cos().clamp(1e-10, 1.0);
}

float gamma(float r) {
  return gamma(at::full({1}, r, kFloatOpts)).item<float>();
}

at::Tensor full_mask(at::IntArrayRef shape) {
  dims_of(shape);
  return at::ones(shape, kLongOpts);
}

at::Tensor empty_mask(at::IntArrayRef shape) {
  dims_of(shape);
  return at::zeros(shape, kLongOpts);
}

at::Tensor random(at::IntArrayRef shape, double r, at::Generator& gen) {
  Dims d = dims_of(shape);
  // r = torch.tensor(r).repeat(B) (float32); probs = ones_like(z) (int64) * gamma(r)[:, None, None]
  at::Tensor g = gamma(at::full({d.b}, r, kFloatOpts)).view({d.b, 1, 1});
  at::Tensor probs = at::ones(shape, kLongOpts) * g;
  return at::bernoulli(probs, gen).round().to(at::kLong);
}

at::Tensor linear_random(at::IntArrayRef shape, double r, at::Generator& gen) {
  Dims d = dims_of(shape);
  at::Tensor rr = at::full({d.b}, r, kFloatOpts).view({d.b, 1, 1});
  at::Tensor probs = at::ones(shape, kFloatOpts) * rr;
  return at::bernoulli(probs, gen).round().to(at::kLong);
}

at::Tensor inpaint(at::IntArrayRef shape, int64_t n_prefix, int64_t n_suffix) {
  Dims d = dims_of(shape);
  at::Tensor m = full_mask(shape);
  if (n_prefix > 0) m.narrow(2, 0, std::min(n_prefix, d.t)).zero_();
  if (n_suffix > 0) {
    int64_t n = std::min(n_suffix, d.t);  // [-n:] with n > T selects everything
    m.narrow(2, d.t - n, n).zero_();
  }
  return m;
}

int64_t roll_offset(int64_t period, at::Generator& gen) {
  if (period <= 0) throw std::invalid_argument("roll_offset: period must be > 0");
  return at::randint(0, period, {1}, gen, kLongOpts).item<int64_t>();
}

at::Tensor periodic_mask(at::IntArrayRef shape, int64_t period, int64_t width, bool random_roll,
                         at::Generator& gen) {
  Dims d = dims_of(shape);
  if (period < 0 || width < 0) throw std::invalid_argument("periodic_mask: negative period or width");
  at::Tensor m = full_mask(shape);
  if (period == 0) return m;
  const int64_t h = width / 2;
  for (int64_t i = 0; i < d.b; ++i) {
    for (int64_t j = 0; j < d.t; j += period) {
      const int64_t start = std::max<int64_t>(0, j - h);
      const int64_t end = std::min(d.t - 1, j + h) + 1;
      // The reference flips a coin for each position of the hint and asserts they all came up 1.
      (void)at::bernoulli(at::ones({end - start}, kFloatOpts), gen);
      m[i].narrow(1, start, end - start).zero_();
    }
  }
  if (random_roll) {
    const int64_t r = roll_offset(period, gen);
    m = at::roll(m, {r}, {-1});
  }
  return m;
}

at::Tensor periodic_mask_at(at::IntArrayRef shape, int64_t period, int64_t width, int64_t offset) {
  Dims d = dims_of(shape);
  if (period < 0 || width < 0)
    throw std::invalid_argument("periodic_mask_at: negative period or width");
  if (period == 0) return full_mask(shape);
  const int64_t h = width / 2;
  at::Tensor row = at::empty({d.t}, kLongOpts);
  auto a = row.accessor<int64_t, 1>();
  for (int64_t t = 0; t < d.t; ++t) a[t] = floor_mod(offset + t + h, period) <= 2 * h ? 0 : 1;
  return row.view({1, 1, d.t}).expand({d.b, d.k, d.t}).contiguous();
}

at::Tensor codebook_unmask(const at::Tensor& mask, int64_t n_conditioning_codebooks) {
  at::Tensor m = mask.clone();
  if (n_conditioning_codebooks > 0)
    m.narrow(1, 0, std::min(n_conditioning_codebooks, m.size(1))).zero_();
  return m;
}

at::Tensor codebook_mask(const at::Tensor& mask, int64_t start) {
  at::Tensor m = mask.clone();
  const int64_t k = m.size(1);
  if (start < 0) start = std::max<int64_t>(0, start + k);  // Python's mask[:, start:]
  if (start < k) m.narrow(1, start, k - start).fill_(1);
  return m;
}

at::Tensor mask_and(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) throw std::invalid_argument("mask_and: masks must be same shape");
  return at::min(a, b);
}

at::Tensor mask_or(const at::Tensor& a, const at::Tensor& b) {
  if (a.sizes() != b.sizes()) throw std::invalid_argument("mask_or: masks must be same shape");
  check_mask(a, "mask_or");
  check_mask(b, "mask_or");
  return (a + b).clamp(0, 1);
}

at::Tensor dropout(const at::Tensor& mask, double p, at::Generator& gen) {
  if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("dropout: p must be in [0, 1]");
  const int64_t t = mask.size(-1);
  const auto n_drop = static_cast<int64_t>(static_cast<double>(t) * p);  // int(T * p)
  at::Tensor m = mask.clone();
  if (n_drop == 0) return m.to(at::kLong);
  at::Tensor idx = at::randint(0, t, {n_drop}, gen, kLongOpts);
  m.index_fill_(-1, idx, 1);
  return m.to(at::kLong);
}

at::Tensor dropout_ismir(const at::Tensor& mask, double p, at::Generator& gen) {
  if (!(p >= 0.0 && p <= 1.0)) throw std::invalid_argument("dropout_ismir: p must be in [0, 1]");
  check_mask(mask, "dropout_ismir");
  at::Tensor keep = mask.logical_not().to(at::kFloat);  // (~mask.bool()).float()
  at::Tensor kept = at::bernoulli(keep * (1 - p), gen);
  return kept.round().to(at::kBool).logical_not().to(at::kLong);
}

at::Tensor time_stretch_mask(at::IntArrayRef shape, int64_t factor, at::Generator& gen) {
  if (factor < 1) throw std::invalid_argument("time_stretch_mask: factor must be >= 1");
  return periodic_mask(shape, factor, 1, false, gen);
}

at::Tensor stretch_mask(const at::Tensor& mask, int64_t factor) {
  if (factor < 1) throw std::invalid_argument("stretch_mask: factor must be >= 1");
  if (factor == 1) return mask.to(at::kLong);
  at::Tensor m = mask.repeat_interleave(factor, -1);
  at::Tensor added = at::ones_like(m);
  added.slice(-1, 0, added.size(-1), factor).zero_();
  return m.to(at::kBool).logical_or(added.to(at::kBool)).to(at::kLong);
}

at::Tensor stretch_codes(const at::Tensor& codes, int64_t factor) {
  if (factor < 1) throw std::invalid_argument("stretch_codes: factor must be >= 1");
  return factor == 1 ? codes : codes.repeat_interleave(factor, -1);
}

at::Tensor apply_mask(const at::Tensor& z, const at::Tensor& mask, int64_t mask_token) {
  if (mask.dim() != 3) throw std::invalid_argument("apply_mask: mask must be [B, K, T]");
  if (mask.sizes() != z.sizes()) throw std::invalid_argument("apply_mask: mask and codes differ in shape");
  if (mask.scalar_type() != at::kLong) throw std::invalid_argument("apply_mask: mask must be int64");
  check_mask(mask, "apply_mask");
  return z * (1 - mask) + at::full_like(z, mask_token) * mask;
}

at::Tensor beat_mask(const std::vector<int64_t>& beats, const std::vector<int64_t>& downbeats,
                     int64_t frames, int64_t n_codebooks, const BeatMaskOptions& opt,
                     at::Generator& gen) {
  if (frames < 0 || n_codebooks < 0) throw std::invalid_argument("beat_mask: negative size");
  if (opt.beat_downsample < 1 || opt.downbeat_downsample < 1)
    throw std::invalid_argument("beat_mask: downsample factors must be >= 1");
  if (!(opt.dropout >= 0.0 && opt.dropout <= 1.0))
    throw std::invalid_argument("beat_mask: dropout must be in [0, 1]");
  // Beats that coincide with a downbeat are removed from the beat list.
  std::vector<int64_t> up;
  for (int64_t b : beats)
    if (std::find(downbeats.begin(), downbeats.end(), b) == downbeats.end()) up.push_back(b);
  std::vector<int64_t> up_kept, down_kept;
  for (size_t i = 0; i < up.size(); i += size_t(opt.beat_downsample)) up_kept.push_back(up[i]);
  for (size_t i = 0; i < downbeats.size(); i += size_t(opt.downbeat_downsample))
    down_kept.push_back(downbeats[i]);

  at::Tensor m = at::zeros({frames}, kFloatOpts);
  auto mark = [&](const std::vector<int64_t>& idxs) {
    for (int64_t t : idxs) {
      auto [a, b] = py_slice(t - opt.before_frames, t + opt.after_frames, frames);
      at::Tensor ones = at::ones({b - a}, kFloatOpts);
      at::Tensor keep = at::bernoulli(ones * (1 - opt.dropout), gen);
      if (b > a) m.narrow(0, a, b - a).copy_(ones * keep.to(at::kLong));
    }
  };
  if (opt.upbeats) mark(up_kept);
  if (opt.downbeats) mark(down_kept);
  m = m.clamp(0, 1);
  if (opt.invert) m = 1 - m;
  return m.to(at::kBool).to(at::kLong).view({1, 1, frames}).repeat({1, n_codebooks, 1});
}

at::Tensor onset_mask(const std::vector<int64_t>& onsets, at::IntArrayRef shape, int64_t width,
                      MaskReference ref) {
  Dims d = dims_of(shape);
  if (ref == MaskReference::Ismir2023 && onsets.empty()) return empty_mask(shape);
  at::Tensor m = full_mask(shape);
  for (int64_t idx : onsets) {
    if (ref == MaskReference::Ismir2023) idx = std::clamp<int64_t>(idx, 0, std::max<int64_t>(0, d.t - 1));
    auto [a, b] = py_slice(idx - width, idx + width, d.t);
    if (b > a) m.narrow(2, a, b - a).zero_();
  }
  return m;
}

at::Tensor build_mask(at::IntArrayRef shape, const MaskSettings& p, at::Generator& gen,
                      const MaskContext& ctx) {
  Dims d = dims_of(shape);
  const bool ismir = p.reference == MaskReference::Ismir2023;
  at::Tensor m = linear_random(shape, p.rand_mask_intensity, gen);
  m = mask_and(m, inpaint(shape, seconds_to_frames(p.prefix_s, ctx.sample_rate, ctx.hop),
                          seconds_to_frames(p.suffix_s, ctx.sample_rate, ctx.hop)));
  m = mask_and(m, periodic_mask(shape, p.periodic_prompt, p.periodic_width, p.random_roll, gen));
  if (p.onset_mask_width > 0) {
    at::Tensor om = onset_mask(ctx.onsets, shape, p.onset_mask_width, p.reference);
    m = ismir ? mask_or(m, om) : mask_and(m, om);
  }
  auto beat = [&]() {
    BeatMaskOptions bo;
    bo.before_frames = seconds_to_frames(0.0, ctx.sample_rate, ctx.hop);
    bo.after_frames = seconds_to_frames(p.beat_mask_width_s, ctx.sample_rate, ctx.hop);
    bo.upbeats = !p.downbeats_only;
    return beat_mask(ctx.beats, ctx.downbeats, d.t, d.k, bo, gen).expand({d.b, d.k, d.t});
  };
  if (ismir && p.beat_mask_width_s > 0) m = mask_and(m, beat());
  m = ismir ? dropout_ismir(m, p.dropout, gen) : dropout(m, p.dropout, gen);
  m = codebook_unmask(m, p.n_conditioning_codebooks);
  m = codebook_mask(m, p.upper_codebook_mask);
  if (!ismir && p.beat_mask_width_s > 0) {
    m = mask_and(m, beat());
    m = codebook_mask(m, p.upper_codebook_mask);
  }
  return m.contiguous();
}

}  // namespace vamp::mask
