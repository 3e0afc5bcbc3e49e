// sampler: generate (VampNet.generate, main branch) and the Interface.vamp orchestration.
//
// Every sampling operation is done per row on row-shaped tensors, exactly as the reference does at
// batch 1: vectorized transcendental kernels (log, cos) treat a tensor's tail differently from its
// body, so computing them over a [B, N] tensor could move a row's values by an ulp with B.
#include "vamp/sampler.h"

#include "vamp/mask.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace vamp {

SamplingParams SamplingParams::c2f_reference() {
  SamplingParams p;
  p.steps = 2;
  p.temperature = 1.0;
  p.mask_temperature = 10.5;
  p.top_p.reset();
  p.sample_cutoff = 1.0;
  return p;
}

std::vector<at::Generator> row_generators(uint64_t seed, int64_t batch) {
  std::vector<at::Generator> gens;
  for (int64_t b = 0; b < batch; ++b) gens.push_back(at::make_generator<at::CPUGeneratorImpl>(seed + uint64_t(b)));
  return gens;
}

std::vector<at::Generator> row_generators(const std::vector<uint64_t>& seeds) {
  std::vector<at::Generator> gens;
  for (uint64_t s : seeds) gens.push_back(at::make_generator<at::CPUGeneratorImpl>(s));
  return gens;
}

namespace {

// "b c t -> b (t c)" and back.
at::Tensor flatten_tc(const at::Tensor& x) { return x.permute({0, 2, 1}).reshape({x.size(0), -1}); }
at::Tensor unflatten_tc(const at::Tensor& x, int64_t c) {
  return x.view({x.size(0), -1, c}).permute({0, 2, 1}).contiguous();
}

at::Tensor normalize_mask(const at::Tensor& mask, const at::Tensor& codes, int64_t n_cond) {
  const int64_t B = codes.size(0), C = codes.size(1), T = codes.size(2);
  if (!mask.defined()) {
    at::Tensor m = at::ones({B, C, T}, at::kLong);
    m.narrow(1, 0, n_cond).zero_();
    return m;
  }
  at::Tensor m = mask.to(at::kCPU);
  if (m.dim() == 2) m = m.unsqueeze(1).expand({m.size(0), C, m.size(1)});
  if (m.dim() != 3 || m.size(0) != B || m.size(1) != C || m.size(2) != T)
    throw std::invalid_argument("mask must be [B, C, T] or [B, T] matching codes [" + std::to_string(B) + ", " +
                                std::to_string(C) + ", " + std::to_string(T) + "]");
  return m.to(at::kLong);
}

}  // namespace

std::pair<at::Tensor, at::Tensor> sample_from_logits(at::Tensor logits, bool sample, double temperature,
                                                     std::optional<double> top_p, at::Generator& gen) {
  const int64_t V = logits.size(-1);
  if (top_p && *top_p < 1.0) {
    auto sorted = logits.sort(-1, /*descending=*/true);
    at::Tensor v = std::get<0>(sorted), idx = std::get<1>(sorted);
    at::Tensor remove = v.softmax(-1).cumsum(-1).gt(*top_p);
    // shift right by one: the first token over the threshold stays
    remove = at::cat({at::zeros_like(remove.narrow(-1, 0, 1)), remove.narrow(-1, 0, V - 1)}, -1);
    logits.masked_fill_(remove.scatter(-1, idx, remove), -std::numeric_limits<double>::infinity());
  }
  at::Tensor probs = temperature > 0 ? at::softmax(logits / temperature, -1) : at::softmax(logits, -1);
  at::Tensor token;
  if (sample) {
    at::Tensor p = probs.reshape({-1, V});
    at::Tensor q = at::empty_like(p).exponential_(1, gen);
    token = p.div(q).argmax(-1).view(logits.sizes().slice(0, logits.dim() - 1));
  } else {
    token = logits.argmax(-1);
  }
  at::Tensor prob = probs.take_along_dim(token.unsqueeze(-1), -1).squeeze(-1);
  return {token, prob};
}

at::Tensor mask_by_random_topk(int64_t num_to_mask, const at::Tensor& probs, float temperature, at::Generator& gen,
                               at::Tensor* noise_out) {
  const int64_t N = probs.size(-1);
  at::Tensor u = at::zeros({1, N}, at::kFloat).uniform_(1e-20, 1, gen);
  at::Tensor noise = -at::log(-at::log(u));
  at::Tensor conf = at::log(probs.view({1, N})) + noise * temperature;
  at::Tensor sorted = std::get<0>(conf.sort(-1));
  const int64_t k = std::min(std::max<int64_t>(num_to_mask, 0), N - 1);
  at::Tensor cut = sorted.narrow(1, k, 1);
  if (noise_out) *noise_out = noise.view({N});
  return conf.lt(cut).view({N});
}

int64_t schedule_masked_count(int64_t i, int64_t steps, int64_t n0) {
  const float r = float(double(i + 1) / double(steps));
  return int64_t(std::floor(mask::gamma(r) * float(n0)));
}

at::Tensor generate(const Transformer& model, const at::Tensor& codes_in, const at::Tensor& mask_in,
                    const SamplingParams& params, std::vector<at::Generator>& gens, const StepObserver& observer) {
  at::NoGradGuard no_grad;
  model.check_codes(codes_in);
  const at::Tensor z = codes_in.to(at::kCPU).contiguous();
  const int64_t B = z.size(0), T = z.size(2), Ncc = model.n_conditioning_codebooks(), Cp = model.n_predicted(),
                MASK = model.mask_token(), N = T * Cp, S = params.steps;
  if (S < 1) throw std::invalid_argument("steps must be >= 1");
  if (int64_t(gens.size()) < B)
    throw std::invalid_argument("generate needs one generator per row: " + std::to_string(B) + " rows, " +
                                std::to_string(gens.size()) + " generators");
  const at::Tensor mask = normalize_mask(mask_in, z, Ncc);
  const at::Tensor cond = z.narrow(1, 0, Ncc);
  at::Tensor zm = z.masked_fill(mask.to(at::kBool), MASK);
  std::vector<int64_t> n0(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) n0[size_t(b)] = zm[b].eq(MASK).sum().item<int64_t>();

  at::Tensor tok_all;  // [B, N] of the current step, merged with the kept tokens
  for (int64_t i = 0; i < S; ++i) {
    const float r = float(double(i + 1) / double(S));
    const bool sample = double(i) / double(S) <= params.sample_cutoff;
    const float gamma = mask::gamma(r);
    const float mask_temp = (1.0f - r) * float(params.mask_temperature);
    at::Tensor logits = model.token_logits(zm).to(at::kCPU, at::kFloat);  // [B, N, V]
    at::Tensor flat = flatten_tc(zm.narrow(1, Ncc, Cp));      // [B, N]
    at::Tensor masked = flat.eq(MASK);
    tok_all = at::empty({B, N}, at::kLong);
    at::Tensor next = at::empty({B, N}, at::kLong);
    StepTrace st;
    if (observer) {
      st.step = int(i);
      st.z_in = zm.clone();
      st.tok = at::empty({B, N}, at::kLong);
      st.probs = at::empty({B, N}, at::kFloat);
      st.noise = at::empty({B, N}, at::kFloat);
      st.num_to_mask = at::empty({B, 1}, at::kLong);
      st.remask = at::empty({B, N}, at::kBool);
    }
    for (int64_t b = 0; b < B; ++b) {
      auto [tok, prob] = sample_from_logits(logits[b], sample, params.temperature, params.top_p, gens[size_t(b)]);
      const at::Tensor m = masked[b];
      if (observer) {
        st.tok[b].copy_(tok);
        st.probs[b].copy_(prob);
      }
      tok = at::where(m, tok, flat[b]);
      prob = at::where(m, prob, at::full({}, std::numeric_limits<float>::infinity(), prob.options()));
      int64_t n = int64_t(std::floor(gamma * float(n0[size_t(b)])));  // = schedule_masked_count
      if (i != S - 1) n = std::max<int64_t>(1, std::min<int64_t>(m.sum().item<int64_t>() - 1, n));
      at::Tensor noise;
      at::Tensor remask = mask_by_random_topk(n, prob, mask_temp, gens[size_t(b)], observer ? &noise : nullptr);
      if (observer) {
        st.noise[b].copy_(noise);
        st.num_to_mask[b][0] = n;
        st.remask[b].copy_(remask);
      }
      tok_all[b].copy_(tok);
      next[b].copy_(at::where(remask, at::full({}, MASK, tok.options()), tok));
    }
    if (observer) observer(st);
    zm = at::cat({cond, unflatten_tc(next, Cp)}, 1);
  }
  return at::cat({cond, unflatten_tc(tok_all, Cp)}, 1);
}

// ---- Interface.vamp ----------------------------------------------------------------------------

namespace {

void check_vamp_inputs(const Transformer& coarse, const at::Tensor& codes, const at::Tensor& mask) {
  if (!codes.defined() || codes.dim() != 3 || codes.size(1) < coarse.n_codebooks())
    throw std::invalid_argument("codes must be [B, C >= " + std::to_string(coarse.n_codebooks()) + ", T]");
  if (!mask.defined() || mask.dim() != 3 || mask.size(1) != codes.size(1) || mask.size(2) != codes.size(2) ||
      (mask.size(0) != codes.size(0) && mask.size(0) != 1))
    throw std::invalid_argument("mask must be [B or 1, C, T] like the codes");
  if (mask.numel() && (mask.min().item<int64_t>() < 0 || mask.max().item<int64_t>() > 1))
    throw std::invalid_argument("mask must be binary (1 = generate, 0 = keep)");
}

}  // namespace

at::Tensor coarse_vamp(const Transformer& coarse, const at::Tensor& codes, const at::Tensor& mask,
                       const SamplingParams& params, int64_t window, uint64_t seed, std::vector<at::Generator>& gens) {
  std::vector<uint64_t> seeds;
  for (int64_t b = 0; b < codes.size(0); ++b) seeds.push_back(seed + uint64_t(b));
  return coarse_vamp(coarse, codes, mask, params, window, seeds, gens);
}

at::Tensor coarse_vamp(const Transformer& coarse, const at::Tensor& codes, const at::Tensor& mask,
                       const SamplingParams& params, int64_t window, const std::vector<uint64_t>& seeds,
                       std::vector<at::Generator>& gens) {
  if (int64_t(seeds.size()) != codes.size(0) || int64_t(gens.size()) < codes.size(0))
    throw std::invalid_argument("coarse_vamp needs one seed and one generator per row");
  const int64_t B = codes.size(0), T = codes.size(2), Cc = coarse.n_codebooks();
  if (window < 1) throw std::invalid_argument("coarse window must be >= 1 frame");
  at::Tensor cz = codes.narrow(1, 0, Cc);
  at::Tensor cm = mask.narrow(1, 0, Cc).expand({B, Cc, T});
  std::vector<at::Tensor> out;
  for (int64_t s = 0; s < T; s += window) {
    const int64_t len = std::min(window, T - s);
    at::Tensor chunk = cz.narrow(2, s, len);
    at::Tensor mchunk = cm.narrow(2, s, len).clone();
    for (int64_t b = 0; b < B; ++b) {
      // keep the window's first and last frame when it has any kept frame (per row)
      if (mchunk[b].eq(0).any().item<bool>()) {
        mchunk[b].select(1, 0).zero_();
        mchunk[b].select(1, len - 1).zero_();
      }
      gens[size_t(b)].set_current_seed(seeds[size_t(b)]);
    }
    at::Tensor start = chunk.masked_fill(mchunk.to(at::kBool), coarse.mask_token());
    out.push_back(generate(coarse, start, mchunk, params, gens));
  }
  at::Tensor c = at::cat(out, 2);
  if (codes.size(1) > Cc) c = at::cat({c, codes.narrow(1, Cc, codes.size(1) - Cc)}, 1);
  return c;
}

at::Tensor coarse_to_fine(const Transformer& c2f, const at::Tensor& codes, const at::Tensor& mask_in,
                          const SamplingParams& params, int64_t window, std::vector<at::Generator>& gens) {
  const int64_t B = codes.size(0), T = codes.size(2), C = c2f.n_codebooks();
  if (window < 1) throw std::invalid_argument("c2f window must be >= 1 frame");
  at::Tensor z = codes;
  at::Tensor mask = mask_in.expand({B, mask_in.size(1), T}).clone();
  if (z.size(1) < C) {  // missing fine codebooks: zeros, generated
    z = at::cat({z, at::zeros({B, C - z.size(1), T}, at::kLong)}, 1);
    mask = at::cat({mask, at::ones({B, C - mask.size(1), T}, at::kLong)}, 1);
  }
  z = z.narrow(1, 0, C);
  mask = mask.narrow(1, 0, C);
  const int64_t padded = (T + window - 1) / window * window;
  if (padded > T) {  // the last window padded with token 0, mask 1 (then trimmed)
    z = at::cat({z, at::zeros({B, C, padded - T}, at::kLong)}, 2);
    mask = at::cat({mask, at::ones({B, C, padded - T}, at::kLong)}, 2);
  }
  mask = mask.clone();
  mask.narrow(1, 0, c2f.n_conditioning_codebooks()).zero_();  // after padding, as the reference
  std::vector<at::Tensor> out;
  for (int64_t s = 0; s < padded; s += window)
    out.push_back(generate(c2f, z.narrow(2, s, window), mask.narrow(2, s, window), params, gens));
  return at::cat(out, 2).narrow(2, 0, T).contiguous();
}

at::Tensor vamp(const Transformer& coarse, const Transformer* c2f, const at::Tensor& codes_in,
                const at::Tensor& mask_in, const VampParams& p, uint64_t seed, at::Tensor* coarse_out) {
  std::vector<uint64_t> seeds;
  for (int64_t b = 0; codes_in.defined() && codes_in.dim() == 3 && b < codes_in.size(0); ++b)
    seeds.push_back(seed + uint64_t(b));
  return vamp(coarse, c2f, codes_in, mask_in, p, seeds, coarse_out);
}

at::Tensor vamp(const Transformer& coarse, const Transformer* c2f, const at::Tensor& codes_in,
                const at::Tensor& mask_in, const VampParams& p, const std::vector<uint64_t>& seeds,
                at::Tensor* coarse_out) {
  at::NoGradGuard no_grad;
  check_vamp_inputs(coarse, codes_in, mask_in);
  if (p.time_stretch < 1) throw std::invalid_argument("time stretch must be >= 1");
  if (p.feedback_steps < 1) throw std::invalid_argument("feedback steps must be >= 1");
  at::Tensor z = codes_in.to(at::kCPU, at::kLong);
  const int64_t B = z.size(0);
  if (int64_t(seeds.size()) != B)
    throw std::invalid_argument("vamp needs one seed per row: " + std::to_string(B) + " rows, " +
                                std::to_string(seeds.size()) + " seeds");
  at::Tensor mask = mask_in.to(at::kCPU, at::kLong).expand({B, z.size(1), z.size(2)}).contiguous();
  if (p.time_stretch > 1) {
    const int64_t K = p.time_stretch;
    z = z.repeat_interleave(K, -1);
    mask = mask.repeat_interleave(K, -1);
    at::Tensor added = at::ones_like(mask);
    added.slice(2, 0, added.size(2), K).zero_();
    mask = mask.to(at::kBool).logical_or(added.to(at::kBool)).to(at::kLong);
  }
  std::vector<at::Generator> gens = row_generators(seeds);
  at::Tensor zv = z;
  for (int f = 0; f < p.feedback_steps; ++f) zv = coarse_vamp(coarse, zv, mask, p.coarse, p.coarse_window, seeds, gens);
  if (coarse_out) *coarse_out = zv;
  if (!c2f) return zv;
  return coarse_to_fine(*c2f, zv, mask, p.c2f, p.c2f_window, gens);
}

}  // namespace vamp
