// mask: VampNet's mask builders (vampnet/mask.py and the Interface/app code that combines them).
//
// Convention: a mask is an int64 tensor [B, K, T] (batch, codebooks, frames) with
// 1 = generate (masked) and 0 = keep (prompt, "hint"). Every builder is a pure function of its
// arguments; builders that consume random numbers take the CPU generator to draw from and consume it
// exactly as the reference does with torch's default generator (same kernels, same order, same
// counts, including draws that have no effect), so that
//     torch.manual_seed(s); m = builder(...)      ==  gen = make_generator(s); m = builder(..., gen)
// and the generator is left in the same state. Builders named after a reference function follow the
// `main` branch (commit 72e2675) unless their name says otherwise (`dropout_ismir`).
//
// Note the naming trap of the reference: mask_and (elementwise min) masks only where both masks
// mask, so it is the UNION of the hints; mask_or (clamped sum) is the INTERSECTION of the hints.
#pragma once

#include "mask_settings.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace vamp::mask {

// ---- conversions -------------------------------------------------------------------------------

// A CPU generator in the state torch.manual_seed(seed) leaves the default generator in.
at::Generator make_generator(uint64_t seed);

// ---- schedule ----------------------------------------------------------------------------------

// _gamma(r) = clamp(cos(r * pi / 2), 1e-10, 1), elementwise, in r's dtype (float32 in the
// reference). The masking schedule of generate(): after step i of S, floor(gamma((i+1)/S) * N0)
// positions stay masked.
at::Tensor gamma(const at::Tensor& r);
float gamma(float r);  // the same for one float32 value

// ---- builders (shape = {B, K, T}) ---------------------------------------------------------------

at::Tensor full_mask(at::IntArrayRef shape);   // all ones: generate everything
at::Tensor empty_mask(at::IntArrayRef shape);  // all zeros: keep everything

// Training mask: iid bernoulli(gamma(r)) per element (one bernoulli over [B,K,T]).
at::Tensor random(at::IntArrayRef shape, double r, at::Generator& gen);

// iid bernoulli(r) per element (1 = generate); consumes B*K*T draws even for r = 0 or 1.
at::Tensor linear_random(at::IntArrayRef shape, double r, at::Generator& gen);

// Ones, with the first n_prefix and the last n_suffix frames kept (all codebooks). No RNG.
at::Tensor inpaint(at::IntArrayRef shape, int64_t n_prefix, int64_t n_suffix);

// The reference periodic_mask: ones; for every frame j < T with j % period == 0 the frames
// max(0, j - width/2) .. min(T-1, j + width/2) are kept (so an even width keeps width+1 frames).
// For each hint (per batch row) it draws one bernoulli over ones (no effect, but RNG is consumed);
// random_roll then draws randint(0, period) and rolls the whole mask right by it along time
// (wrapping, so the spacing is irregular at the seam when T % period != 0). period 0 -> full mask,
// no RNG. period < 0 or width < 0 throws.
at::Tensor periodic_mask(at::IntArrayRef shape, int64_t period, int64_t width, bool random_roll,
                         at::Generator& gen);

// The streaming periodic mask: no RNG, phase taken from the absolute frame index. Frame t of the
// tensor is absolute frame n = offset + t, and it is kept iff n lies within width/2 of a multiple of
// period, i.e. ((n + width/2) mod period) <= 2 * (width/2) (mathematical mod; the multiple may be
// negative or lie outside the tensor). So a stream cut into buffers of any sizes, each built with
// its own first frame as offset, gets exactly the mask of the whole stream built at once.
//
// Relation to periodic_mask(shape, period, width, random_roll=false) (offset 0): identical on every
// frame except the last width/2 frames of the tensor, where the reference does not keep the
// frames before a multiple of period that falls at or past T (it only places hints at j < T); the
// streaming version keeps them, since that hint lies in the next buffer. For width <= 1 they are
// identical everywhere. The reference's random_roll by r keeps frames with (t - r) % period == 0,
// which is offset = -r here (roll_offset() draws r the way the reference does).
// period 0 -> full mask.
at::Tensor periodic_mask_at(at::IntArrayRef shape, int64_t period, int64_t width, int64_t offset);

// The roll the reference's random_roll draws: randint(0, period) (one draw). period must be > 0.
int64_t roll_offset(int64_t period, at::Generator& gen);

// mask[:, :n] = 0: keep the first n (conditioning) codebooks. Returns a copy.
at::Tensor codebook_unmask(const at::Tensor& mask, int64_t n_conditioning_codebooks);
// mask[:, start:] = 1: regenerate every codebook >= start. Returns a copy.
at::Tensor codebook_mask(const at::Tensor& mask, int64_t start);

// Elementwise min (masked where both are masked = union of the hints).
at::Tensor mask_and(const at::Tensor& a, const at::Tensor& b);
// clamp(a + b, 0, 1) (masked where either is masked = intersection of the hints).
at::Tensor mask_or(const at::Tensor& a, const at::Tensor& b);

// main's dropout: int(T * p) frame indices drawn with randint(0, T) (with replacement) are set to 1
// in every batch row and codebook. Throws unless 0 <= p <= 1.
at::Tensor dropout(const at::Tensor& mask, double p, at::Generator& gen);
// ismir-2023's dropout: each kept (0) entry becomes masked with probability p
// (bernoulli((1 - mask) * (1 - p)) over the whole [B,K,T] tensor); masked entries stay masked.
at::Tensor dropout_ismir(const at::Tensor& mask, double p, at::Generator& gen);

// The reference helper time_stretch_mask(x, f): periodic_mask(shape, f, 1, false) on the first T
// frames of the stretched sequence (consumes the per-hint draws).
at::Tensor time_stretch_mask(at::IntArrayRef shape, int64_t factor, at::Generator& gen);
// What main's Interface.vamp does for time stretch factor f: repeat each frame
// f times and mark the inserted frames as generated: repeat_interleave(mask, f) OR (t % f != 0).
at::Tensor stretch_mask(const at::Tensor& mask, int64_t factor);
// The codes side of the same stretch: repeat_interleave(codes, f) along time.
at::Tensor stretch_codes(const at::Tensor& codes, int64_t factor);

// z * (1 - mask) + mask_token * mask. Throws unless mask is binary int64 of z's shape.
at::Tensor apply_mask(const at::Tensor& z, const at::Tensor& mask, int64_t mask_token);

// ---- audio-driven masks ------------------------------------------------------------------------

// Interface.make_beat_mask on beat/downbeat frame indices (times already converted by
// seconds_to_frames; `beats` may include the downbeats, they are removed from it by frame equality).
// For each kept beat t (every beat_downsample-th one, if upbeats) then each downbeat (every
// downbeat_downsample-th, if downbeats): frames [t - before, t + after) (Python slice semantics, so a
// negative start wraps) are set to bernoulli(1 - dropout) (one draw per frame, always drawn);
// invert -> 1 - m, so the frames around the beats are kept. Returns [1, n_codebooks, frames].
struct BeatMaskOptions {
  int64_t before_frames = 0;      // s2t(before_beat_s); reference default 0.0 s
  int64_t after_frames = 2;       // s2t(after_beat_s); reference default 0.02 s (2 frames at hop 768)
  bool downbeats = true;          // mask_downbeats
  bool upbeats = true;            // mask_upbeats ("downbeats only" = false)
  int64_t downbeat_downsample = 1;
  int64_t beat_downsample = 1;
  double dropout = 0.0;
  bool invert = true;
};
at::Tensor beat_mask(const std::vector<int64_t>& beats, const std::vector<int64_t>& downbeats,
                     int64_t frames, int64_t n_codebooks, const BeatMaskOptions& opt,
                     at::Generator& gen);

// The onset mask on onset frame indices: ones, and for each onset idx the frames [idx-w, idx+w)
// are kept (Python slice semantics: when idx < w the start is negative and that hint is lost, as in
// the reference). Main: no onsets -> all ones. Ismir2023: idx is first clamped to [0, T-1], and no
// onsets -> all zeros (empty_mask). In both apps an empty onset list leaves the combined mask
// unchanged (main and-s the onset mask, ismir or-s it). No RNG. Returns `shape`.
at::Tensor onset_mask(const std::vector<int64_t>& onsets, at::IntArrayRef shape, int64_t width,
                      MaskReference ref = MaskReference::Main);

// ---- the app's combination ---------------------------------------------------------------------

// What the audio analysis found (frame indices by seconds_to_frames), and the frame rate the
// settings' times are converted with.
struct MaskContext {
  int sample_rate = 44100;
  int hop = 768;
  std::vector<int64_t> onsets;     // used when onset_mask_width > 0
  std::vector<int64_t> beats;      // all beats (downbeats included); used when beat_mask_width_s > 0
  std::vector<int64_t> downbeats;
};

// Combines the builders as the reference does (RNG drawn from gen in the reference's order):
//  Main (Interface.build_mask then app.py L199-219):
//    m = linear_random(r) AND inpaint(s2t(prefix_s), s2t(suffix_s)) AND periodic(p, w, roll)
//    [AND onset_mask(main)]  -> dropout(main) -> codebook_unmask(ncc) -> codebook_mask(upper)
//    [-> AND beat_mask(after = s2t(beat_mask_width_s), upbeats = !downbeats_only) -> codebook_mask(upper)]
//  Ismir2023 (app.py _vamp L86-118):
//    m = linear_random(r) AND inpaint AND periodic(p, w, roll) [OR onset_mask(ismir)]
//    [AND beat_mask] -> dropout_ismir -> codebook_unmask(ncc) -> codebook_mask(upper)
// Main adds onset hints (and), ismir restricts the hints to the onsets' neighbourhood (or).
// main's app has no downbeats-only control (it always marks upbeats too); downbeats_only is honoured
// in both orders. ismir's linear_random only works at B = 1; both orders use main's per-row form.
// Whole-clip semantics (p.seed is unused: the draws come from gen); for a stream cut into buffers
// see StreamMasker.
at::Tensor build_mask(at::IntArrayRef shape, const MaskSettings& p, at::Generator& gen,
                      const MaskContext& ctx = {});

}  // namespace vamp::mask
