// sampler: VampNet's iterative parallel decoding (one `generate` call) and the coarse + coarse-to-fine
// orchestration of the reference app (main branch Interface.vamp, the original interface.py and
// modules/transformer.py's generate).
//
// Batching rule (the two deliberate differences from the reference): the schedule's initial
// masked-token count N0 is counted per row, and every row draws from its own CPU generator
// (row b of a call seeded `seed` uses seed + b). So a row's tokens never depend on which other
// rows share its batch, and at batch 1 the output equals the reference token for token (same
// CPU kernels: Debian's libtorch 1.13 without MKL).
//
// Random stream of one row per step: if the step samples, q = exponential_(1) over the row's
// contiguous [N, vocab] probabilities and token = argmax(p / q) (what torch.multinomial does on CPU);
// then, every step, uniform_(1e-20, 1) over [1, N] for the Gumbel confidence noise.
#pragma once

#include "transformer.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace vamp {

struct SamplingParams {
  int steps = 36;                 // decoding steps S (the app's coarse default)
  double temperature = 1.0;       // sampling temperature: softmax(logits / float32(temperature)); <= 0: none
  double mask_temperature = 10.5; // Gumbel confidence noise scale, annealed as mask_temperature * (1 - r)
  std::optional<double> top_p;    // nucleus filter on the raw logits; unset or >= 1: off
  double sample_cutoff = 1.0;     // step i samples while i / S <= sample_cutoff, argmax after
  // (The reference's typical filtering is not here: its sampler discards the filter's result, so
  // the app's typical_filtering=True changes no token; golden coarse_s12_notypical checks it.)

  // The settings the reference app's coarse-to-fine stage always uses, whatever the caller
  // passed: 2 steps, temperature 1, mask temperature 10.5, cutoff 1, no top-p.
  static SamplingParams c2f_reference();
};

// One generator per batch row: row b seeded seed + b (CPU generators, the reference's stream).
std::vector<at::Generator> row_generators(uint64_t seed, int64_t batch);
// One generator per row with its own seed (rows of different streams batched together).
std::vector<at::Generator> row_generators(const std::vector<uint64_t>& seeds);

// What one step of generate did, for debugging against the reference's per-step traces.
struct StepTrace {
  int step = 0;
  at::Tensor z_in;         // [B, C, T] codes fed to the model
  at::Tensor tok;          // [B, N] sampled tokens before merging with the kept ones
  at::Tensor probs;        // [B, N] (tempered) probability of tok
  at::Tensor noise;        // [B, N] Gumbel noise
  at::Tensor num_to_mask;  // [B, 1]
  at::Tensor remask;       // [B, N] bool, true = masked again for the next step
};
using StepObserver = std::function<void(const StepTrace&)>;

// One VampNet.generate call. codes: int64 [B, C, T] (C = model.n_codebooks()); mask: [B, C, T] or
// [B, T] (repeated over codebooks), 1 = generate, 0 = keep; undefined = generate every
// non-conditioning codebook. gens: one generator per row (see row_generators), advanced in place.
// Kept tokens and the conditioning codebooks are returned unchanged. Returns int64 [B, C, T].
at::Tensor generate(const Transformer& model, const at::Tensor& codes, const at::Tensor& mask,
                    const SamplingParams& params, std::vector<at::Generator>& gens,
                    const StepObserver& observer = nullptr);

// sample_from_logits of the reference on the logits of one row, [..., vocab]: top-p filter (in
// place, on the raw logits), tempered softmax, multinomial (as argmax(p / Exp(1)) drawn from gen)
// or argmax. Returns {token int64 [...], probability float32 [...] of that token}.
std::pair<at::Tensor, at::Tensor> sample_from_logits(at::Tensor logits, bool sample, double temperature,
                                                     std::optional<double> top_p, at::Generator& gen);

// mask_by_random_topk on one row: probs [N] (+inf for positions not masked), num_to_mask n:
// the n lowest of log(p) + temperature * Gumbel noise (uniform_(1e-20, 1) over [1, N] from gen)
// become true. Returns bool [N]; *noise receives the noise when given.
at::Tensor mask_by_random_topk(int64_t num_to_mask, const at::Tensor& probs, float temperature,
                               at::Generator& gen, at::Tensor* noise = nullptr);

// The schedule: tokens left masked after step i of S when N0 were masked at the start,
// floor(clamp(cos(float32((i + 1) / S) * pi / 2), 1e-10, 1) * N0), before generate's clamping.
int64_t schedule_masked_count(int64_t i, int64_t steps, int64_t n0);

// ---- The app's whole flow --------------------------------------------------------------------

struct VampParams {
  SamplingParams coarse;                                  // the caller's settings (coarse stage)
  SamplingParams c2f = SamplingParams::c2f_reference();   // fixed in the reference app
  int feedback_steps = 1;          // coarse passes over its own output, same mask each time
  int time_stretch = 1;            // K: each frame repeated K times, inserted frames generated
  int64_t coarse_window = 575;     // A frames per coarse window (10 s at 44.1 kHz / hop 768)
  int64_t c2f_window = 173;        // B frames per c2f window (3 s)
};

// Coarse stage (Interface.coarse_vamp): windows of p.coarse_window frames over the first
// coarse.n_codebooks() codebooks; a window with any kept frame also keeps its first and last frame
// (per row); every window re-seeds each row's generator with seed + b. Codebooks past the coarse
// ones are returned unchanged. codes/mask int64 [B, C >= coarse codebooks, T].
at::Tensor coarse_vamp(const Transformer& coarse, const at::Tensor& codes, const at::Tensor& mask,
                       const SamplingParams& params, int64_t window, uint64_t seed,
                       std::vector<at::Generator>& gens);
// The same with row b re-seeded seeds[b] (one seed per row) instead of seed + b.
at::Tensor coarse_vamp(const Transformer& coarse, const at::Tensor& codes, const at::Tensor& mask,
                       const SamplingParams& params, int64_t window, const std::vector<uint64_t>& seeds,
                       std::vector<at::Generator>& gens);

// Coarse-to-fine stage (Interface.coarse_to_fine): codes padded with zero codebooks up to
// c2f.n_codebooks() (generated), mask's conditioning rows set to 0, windows of `window` frames with
// the last one padded (token 0, mask 1) and trimmed. Continues the generators, no re-seed.
at::Tensor coarse_to_fine(const Transformer& c2f, const at::Tensor& codes, const at::Tensor& mask,
                          const SamplingParams& params, int64_t window, std::vector<at::Generator>& gens);

// Interface.vamp at any batch (rows independent): time stretch, feedback_steps coarse passes,
// then coarse-to-fine (skipped when c2f is null). codes int64 [B, C, T]; mask int64 [B or 1, C, T]
// (1 = generate). Row b uses seed + b. Returns [B, max(C, c2f codebooks), T * K]; *coarse_out (when
// given) receives the coarse stage's output (coarse codebooks generated, the rest the input's).
at::Tensor vamp(const Transformer& coarse, const Transformer* c2f, const at::Tensor& codes,
                const at::Tensor& mask, const VampParams& params, uint64_t seed,
                at::Tensor* coarse_out = nullptr);
// The same with one seed per row (seeds.size() == B): row b uses seeds[b] where the call above
// uses seed + b, so vamp(..., seed) == vamp(..., {seed, seed + 1, ...}). This is how the
// scheduler batches windows of different streams: each row's tokens equal its window run alone.
at::Tensor vamp(const Transformer& coarse, const Transformer* c2f, const at::Tensor& codes,
                const at::Tensor& mask, const VampParams& params, const std::vector<uint64_t>& seeds,
                at::Tensor* coarse_out = nullptr);

}  // namespace vamp
