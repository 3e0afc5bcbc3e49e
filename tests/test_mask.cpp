// Mask builders: exact parity with the reference (golden_masks, golden_ismir2023), RNG consumption,
// the streaming periodic mask, beat/onset masks, the app's combination and presets.
#include "vamp/checkpoint.h"
#include "vamp/mask.h"
#include "vamp/stream_masker.h"
#include "testutil.h"

#include <map>
#include <string>

using namespace vamp;

namespace {

const std::map<std::string, at::Tensor>& golden() {
  static const auto g = load_tensor_dict(test::data("golden_masks.pt"));
  return g;
}

const at::Tensor& G(const std::string& key) {
  auto it = golden().find(key);
  ck_assert_msg(it != golden().end(), "golden_masks has no %s", key.c_str());
  return it->second;
}

at::IntArrayRef zshape() { return G("z").sizes(); }

// A probe as the golden script takes it: torch.rand(1) right after the builder.
float probe(at::Generator& gen) { return at::rand({1}, gen).item<float>(); }

void assert_probe(at::Generator& gen, const std::string& key) {
  const float want = G(key).item<float>(), got = probe(gen);
  ck_assert_msg(want == got, "%s: rng probe %.9g, want %.9g", key.c_str(), got, want);
}

}  // namespace

START_TEST(test_rng_free_builders) {
  VAMP_ASSERT_EQUAL(mask::full_mask(zshape()), G("full_mask"));
  VAMP_ASSERT_EQUAL(mask::empty_mask(zshape()), G("empty_mask"));
  ck_assert(mask::full_mask(zshape()).scalar_type() == at::kLong);
  VAMP_ASSERT_EQUAL(mask::inpaint(zshape(), 10, 7), G("inpaint_10_7"));
  VAMP_ASSERT_EQUAL(mask::inpaint(zshape(), 0, 5), G("inpaint_0_5"));
  const at::Tensor base = G("base_mask");
  VAMP_ASSERT_EQUAL(mask::codebook_unmask(base, 4), G("codebook_unmask_4"));
  VAMP_ASSERT_EQUAL(mask::codebook_mask(base, 3), G("codebook_mask_3"));
  VAMP_ASSERT_EQUAL(mask::mask_and(base, G("periodic_p7_w1")), G("mask_and_base_periodic7"));
  VAMP_ASSERT_EQUAL(mask::mask_or(base, G("periodic_p7_w1")), G("mask_or_base_periodic7"));
  VAMP_ASSERT_EQUAL(mask::apply_mask(G("z"), base, 1024), G("apply_mask_base"));
  // codebook_unmask/codebook_mask do not modify their input.
  VAMP_ASSERT_EQUAL(base, G("base_mask"));
}
END_TEST

START_TEST(test_gamma) {
  const at::Tensor g = mask::gamma(G("gamma_r"));
  ck_assert(g.scalar_type() == at::kFloat);
  VAMP_ASSERT_CLOSE(g, G("gamma"), 0.0);
  const at::Tensor r = G("gamma_r");
  for (int64_t i = 0; i < r.numel(); ++i)
    ck_assert(mask::gamma(r[i].item<float>()) == G("gamma")[i].item<float>());
}
END_TEST

START_TEST(test_linear_random) {
  for (const char* r : {"0.0", "0.3", "1.0"}) {
    at::Generator gen = mask::make_generator(11);
    const std::string key = std::string("linear_random_r") + r;
    VAMP_ASSERT_EQUAL(mask::linear_random(zshape(), std::stod(r), gen), G(key));
    assert_probe(gen, key + "_rng_probe");
  }
  at::Generator gen = mask::make_generator(15);
  VAMP_ASSERT_EQUAL(mask::linear_random(zshape(), 0.5, gen), G("base_mask"));
}
END_TEST

START_TEST(test_random) {
  for (const char* r : {"0.25", "0.75"}) {
    at::Generator gen = mask::make_generator(12);
    VAMP_ASSERT_EQUAL(mask::random(zshape(), std::stod(r), gen), G(std::string("random_r") + r));
  }
}
END_TEST

START_TEST(test_periodic) {
  // The golden script seeds 13 before each periodic call (the builder's coin flips use the RNG).
  const std::pair<int, int> cases[] = {{7, 1}, {7, 2}, {5, 3}, {4, 4}, {0, 1}, {1, 1}, {61, 1}};
  for (auto [period, width] : cases) {
    const std::string key = "periodic_p" + std::to_string(period) + "_w" + std::to_string(width);
    at::Generator gen = mask::make_generator(13);
    VAMP_ASSERT_EQUAL(mask::periodic_mask(zshape(), period, width, false, gen), G(key));
    assert_probe(gen, key + "_rng_probe");
  }
  at::Generator gen = mask::make_generator(14);
  VAMP_ASSERT_EQUAL(mask::periodic_mask(zshape(), 7, 1, true, gen), G("periodic_p7_w1_roll_seed14"));
  assert_probe(gen, "periodic_p7_w1_roll_seed14_rng_probe");
}
END_TEST

START_TEST(test_dropout) {
  const at::Tensor base = G("base_mask");
  for (const char* p : {"0.0", "0.3"}) {
    at::Generator gen = mask::make_generator(16);
    VAMP_ASSERT_EQUAL(mask::dropout(base, std::stod(p), gen), G(std::string("dropout_p") + p));
  }
  const auto ismir = load_tensor_dict(test::data("golden_ismir2023.pt"));
  for (const char* p : {"0.0", "0.3"}) {
    at::Generator gen = mask::make_generator(16);
    VAMP_ASSERT_EQUAL(mask::dropout_ismir(base, std::stod(p), gen),
                      ismir.at(std::string("ismir_dropout_p") + p));
  }
}
END_TEST

START_TEST(test_time_stretch) {
  at::Generator gen = mask::make_generator(0);
  VAMP_ASSERT_EQUAL(mask::time_stretch_mask(zshape(), 3, gen), G("time_stretch_mask_3"));
  // Interface.vamp's inline stretch: each frame repeated, inserted frames generated.
  at::Tensor m = at::tensor({0, 1, 0}, at::kLong).view({1, 1, 3});
  VAMP_ASSERT_EQUAL(mask::stretch_mask(m, 2), at::tensor({0, 1, 1, 1, 0, 1}, at::kLong).view({1, 1, 6}));
  VAMP_ASSERT_EQUAL(mask::stretch_codes(at::tensor({5, 6}, at::kLong).view({1, 1, 2}), 3),
                    at::tensor({5, 5, 5, 6, 6, 6}, at::kLong).view({1, 1, 6}));
}
END_TEST

START_TEST(test_build_mask_golden) {
  const std::vector<int64_t> shape{1, zshape()[1], zshape()[2]};
  {
    at::Generator gen = mask::make_generator(21);
    const MaskSettings p = mask_preset("default");  // main's defaults are the app defaults
    VAMP_ASSERT_EQUAL(mask::build_mask(shape, p, gen), G("build_mask_app_default"));
  }
  {
    at::Generator gen = mask::make_generator(21);
    MaskSettings p = mask_preset("default");
    p.rand_mask_intensity = 0.8;
    p.prefix_s = 0.1;
    p.suffix_s = 0.05;
    ck_assert_int_eq(seconds_to_frames(p.prefix_s, 44100, 768), 6);
    ck_assert_int_eq(seconds_to_frames(p.suffix_s, 44100, 768), 3);
    p.periodic_prompt = 5;
    p.periodic_width = 3;
    p.dropout = 0.2;
    p.upper_codebook_mask = 6;
    p.n_conditioning_codebooks = 2;
    VAMP_ASSERT_EQUAL(mask::build_mask(shape, p, gen), G("build_mask_variant"));
  }
}
END_TEST

START_TEST(test_periodic_offset_matches_reference) {
  // Offset 0 equals the reference everywhere except the last width/2 frames (see mask.h).
  const std::pair<int, int> cases[] = {{7, 1}, {7, 2}, {5, 3}, {4, 4}, {0, 1}, {1, 1}, {61, 1}};
  const int64_t T = zshape()[2];
  for (auto [period, width] : cases) {
    const std::string key = "periodic_p" + std::to_string(period) + "_w" + std::to_string(width);
    at::Tensor m = mask::periodic_mask_at(zshape(), period, width, 0);
    const int64_t body = T - width / 2;
    VAMP_ASSERT_EQUAL(m.narrow(2, 0, body), G(key).narrow(2, 0, body));
    if (width <= 1) VAMP_ASSERT_EQUAL(m, G(key));
  }
  // The reference's random roll r is offset -r, from frame r on (the frames before r wrap around
  // from the end, irregularly when T % period != 0: 60 % 7 here).
  at::Generator gen = mask::make_generator(14);
  const int64_t r = mask::roll_offset(7, gen);
  ck_assert_int_gt(r, 0);
  VAMP_ASSERT_EQUAL(mask::periodic_mask_at(zshape(), 7, 1, -r).narrow(2, r, T - r),
                    G("periodic_p7_w1_roll_seed14").narrow(2, r, T - r));
}
END_TEST

START_TEST(test_periodic_offset_streaming) {
  const std::vector<int64_t> whole_shape{1, 4, 1000};
  const std::vector<std::vector<int64_t>> cuts{
      {1000}, {1, 999}, {7, 13, 100, 380, 500}, {250, 250, 250, 250}, {3, 3, 3, 991}, {999, 1}};
  for (auto [period, width] : std::vector<std::pair<int, int>>{{7, 1}, {5, 3}, {13, 4}, {2, 6}, {0, 1}}) {
    for (int64_t start : {0, 17, -40}) {
      const at::Tensor whole = mask::periodic_mask_at(whole_shape, period, width, start);
      for (const auto& cut : cuts) {
        std::vector<at::Tensor> parts;
        int64_t off = start;
        for (int64_t n : cut) {
          parts.push_back(mask::periodic_mask_at({1, 4, n}, period, width, off));
          off += n;
        }
        VAMP_ASSERT_EQUAL(at::cat(parts, 2), whole);
      }
    }
  }
  // Width 2 keeps 3 frames around every multiple of the period, also before frame 0 of a buffer.
  at::Tensor m = mask::periodic_mask_at({1, 1, 8}, 4, 2, 0);
  VAMP_ASSERT_EQUAL(m, at::tensor({0, 0, 1, 0, 0, 0, 1, 0}, at::kLong).view({1, 1, 8}));
}
END_TEST

START_TEST(test_beat_mask) {
  // beats (frames) 4, 10, 16, 22 with downbeats 4, 16; after 2 frames, before 0, invert.
  mask::BeatMaskOptions o;
  o.after_frames = 2;
  at::Generator gen = mask::make_generator(0);
  at::Tensor m = mask::beat_mask({4, 10, 16, 22}, {4, 16}, 26, 3, o, gen);
  ck_assert(m.sizes() == at::IntArrayRef({1, 3, 26}));
  at::Tensor want = at::ones({26}, at::kLong);
  for (int64_t t : {4, 5, 10, 11, 16, 17, 22, 23}) want[t] = 0;
  VAMP_ASSERT_EQUAL(m[0][2], want);
  // Downbeats only.
  o.upbeats = false;
  m = mask::beat_mask({4, 10, 16, 22}, {4, 16}, 26, 1, o, gen);
  want = at::ones({26}, at::kLong);
  for (int64_t t : {4, 5, 16, 17}) want[t] = 0;
  VAMP_ASSERT_EQUAL(m[0][0], want);
  // Every 2nd upbeat, before 1 frame, not inverted; a beat at 0 with before > 0 wraps (Python
  // slice [-1:2] is empty on 26 frames), one past the end is clipped.
  o = {};
  o.before_frames = 1;
  o.after_frames = 1;
  o.downbeats = false;
  o.beat_downsample = 2;
  o.invert = false;
  m = mask::beat_mask({0, 8, 12, 20, 25}, {}, 26, 1, o, gen);
  want = at::zeros({26}, at::kLong);
  for (int64_t t : {11, 12, 24, 25}) want[t] = 1;
  VAMP_ASSERT_EQUAL(m[0][0], want);
  // No beats: nothing kept (the beat mask is all ones after the inversion).
  VAMP_ASSERT_EQUAL(mask::beat_mask({}, {}, 10, 2, {}, gen), mask::full_mask({1, 2, 10}));
  // Dropout draws one bernoulli per frame of each beat region, even with dropout 0.
  at::Generator g1 = mask::make_generator(5), g2 = mask::make_generator(5);
  o = {};
  (void)mask::beat_mask({4, 10}, {}, 20, 1, o, g1);
  (void)at::bernoulli(at::ones({2}), g2);
  (void)at::bernoulli(at::ones({2}), g2);
  ck_assert(probe(g1) == probe(g2));
}
END_TEST

START_TEST(test_onset_mask) {
  const std::vector<int64_t> shape{1, 2, 20};
  at::Tensor m = mask::onset_mask({5, 12}, shape, 2);
  at::Tensor want = at::ones({20}, at::kLong);
  for (int64_t t : {3, 4, 5, 6, 10, 11, 12, 13}) want[t] = 0;
  VAMP_ASSERT_EQUAL(m[0][1], want);
  // idx < width: the negative slice start loses the hint, as in the reference.
  VAMP_ASSERT_EQUAL(mask::onset_mask({1}, shape, 2), mask::full_mask(shape));
  // No onsets: main -> ones, ismir -> zeros; both leave the app's combination unchanged.
  VAMP_ASSERT_EQUAL(mask::onset_mask({}, shape, 2), mask::full_mask(shape));
  VAMP_ASSERT_EQUAL(mask::onset_mask({}, shape, 2, MaskReference::Ismir2023), mask::empty_mask(shape));
  // ismir clamps the index into the sequence first.
  want = at::ones({20}, at::kLong);
  for (int64_t t : {17, 18, 19}) want[t] = 0;
  VAMP_ASSERT_EQUAL(mask::onset_mask({40}, shape, 2, MaskReference::Ismir2023)[0][0], want);
}
END_TEST

START_TEST(test_build_mask_hints) {
  const std::vector<int64_t> shape{1, 14, 100};
  mask::MaskContext ctx;
  ctx.onsets = {20, 50};
  ctx.beats = {10, 40, 70};
  ctx.downbeats = {10, 70};
  // Main: onset hints are added to the periodic ones; beat hints after the codebook masks.
  MaskSettings p = mask_preset("default");
  p.periodic_prompt = 0;
  p.onset_mask_width = 2;
  p.beat_mask_width_s = 0.05;  // s2t(0.05) = 3 frames
  at::Generator gen = mask::make_generator(1);
  at::Tensor m = mask::build_mask(shape, p, gen, ctx);
  at::Tensor want = at::ones({100}, at::kLong);
  for (int64_t t : {18, 19, 20, 21, 48, 49, 50, 51, 10, 11, 12, 40, 41, 42, 70, 71, 72}) want[t] = 0;
  VAMP_ASSERT_EQUAL(m[0][0], want);
  VAMP_ASSERT_EQUAL(m[0][3], at::ones({100}, at::kLong));  // upper_codebook_mask 3
  // Ismir: the onset mask restricts the periodic hints to the onsets' neighbourhood.
  p = mask_preset("strong-periodic");  // period 17, onset width 5
  p.random_roll = false;
  gen = mask::make_generator(1);
  m = mask::build_mask(shape, p, gen, ctx);
  want = at::ones({100}, at::kLong);
  want[17] = 0;  // hints 0, 17, 34, 51, 68, 85; onset regions [15, 25) and [45, 55)
  want[51] = 0;
  VAMP_ASSERT_EQUAL(m[0][0], want);
  VAMP_ASSERT_EQUAL(m[0][9], at::ones({100}, at::kLong));  // ismir UI: codebooks >= 9 generated
}
END_TEST

// StreamMasker combines the parts as build_mask does for either reference (no random parts, width
// 1, hints away from the edges: where the whole-clip and streaming forms agree), in buffers of any
// size.
START_TEST(test_stream_masker_combinations) {
  const int64_t K = 14, T = 100;
  const std::vector<double> beats_s{0.2, 0.7, 1.2}, downbeats_s{0.2, 1.2}, onsets_s{0.35, 0.9};
  mask::MaskContext ctx;
  ctx.beats = seconds_to_frames(beats_s, ctx.sample_rate, ctx.hop);
  ctx.downbeats = seconds_to_frames(downbeats_s, ctx.sample_rate, ctx.hop);
  ctx.onsets = seconds_to_frames(onsets_s, ctx.sample_rate, ctx.hop);
  for (MaskReference ref : {MaskReference::Ismir2023, MaskReference::Main}) {
    MaskSettings s = mask_preset("strong-periodic");
    s.random_roll = false;
    s.onset_mask_width = 2;
    s.beat_mask_width_s = 0.05;
    s.reference = ref;
    at::Generator gen = mask::make_generator(0);
    const at::Tensor want = mask::build_mask({1, K, T}, s, gen, ctx)[0].t().contiguous();

    StreamMasker masker(int(K), ctx.sample_rate, ctx.hop, s);
    masker.set_beats(beats_s, downbeats_s, onsets_s);
    std::vector<uint8_t> got, part;
    for (int64_t at = 0, n = 37; at < T; at += n, n = 29) {
      masker.mask(at, size_t(std::min(n, T - at)), part);
      got.insert(got.end(), part.begin(), part.end());
    }
    VAMP_ASSERT_EQUAL(at::tensor(std::vector<int64_t>(got.begin(), got.end())).view({T, K}), want);
  }
  // The two orders differ: main adds hints at the onsets, ismir-2023 keeps hints only there.
  MaskSettings s = mask_preset("strong-periodic");
  s.random_roll = false;
  std::vector<uint8_t> ismir, main;
  StreamMasker masker(int(K), ctx.sample_rate, ctx.hop, s);
  masker.set_beats({}, {}, onsets_s);
  masker.mask(0, size_t(T), ismir);
  s.reference = MaskReference::Main;
  masker.set(s);
  masker.mask(0, size_t(T), main);
  ck_assert_int_eq(ctx.onsets[0], 21);
  ck_assert_int_eq(ctx.onsets[1], 52);
  ck_assert_int_eq(ismir[size_t(21 * K)], 1);  // an onset: hint added by main only
  ck_assert_int_eq(main[size_t(21 * K)], 0);
  ck_assert_int_eq(ismir[size_t(51 * K)], 0);  // a periodic hint near an onset: kept by both
  ck_assert_int_eq(main[size_t(51 * K)], 0);
  ck_assert_int_eq(ismir[size_t(34 * K)], 1);  // one far from the onsets: kept by main only
  ck_assert_int_eq(main[size_t(34 * K)], 0);
}
END_TEST

START_TEST(test_presets) {
  for (const auto& name : mask_preset_names()) (void)mask_preset(name);
  ck_assert_int_eq(mask_preset("very strong periodic variation").periodic_prompt, 21);
  ck_assert(mask_preset("beat-driven-downbeats-strong").downbeats_only);
  ck_assert(mask_preset("beat-driven-downbeats-strong").beat_mask_width_s == 0.02);
  bool threw = false;
  try {
    mask_preset("nope");
  } catch (const std::invalid_argument&) {
    threw = true;
  }
  ck_assert(threw);
  // Compression: codebook 0 kept everywhere, every other codebook generated.
  at::Generator gen = mask::make_generator(3);
  at::Tensor m = mask::build_mask({1, 14, 30}, mask_preset("compression"), gen);
  VAMP_ASSERT_EQUAL(m[0][0], at::zeros({30}, at::kLong));
  VAMP_ASSERT_EQUAL(m[0].narrow(0, 1, 13), at::ones({13, 30}, at::kLong));
  // Unconditional: everything generated.
  gen = mask::make_generator(3);
  VAMP_ASSERT_EQUAL(mask::build_mask({1, 14, 30}, mask_preset("unconditional"), gen),
                    mask::full_mask({1, 14, 30}));
}
END_TEST

START_TEST(test_invalid_arguments) {
  at::Generator gen = mask::make_generator(0);
  int threw = 0;
  auto expect_throw = [&](auto f) {
    try {
      f();
    } catch (const std::invalid_argument&) {
      ++threw;
    }
  };
  expect_throw([&] { mask::periodic_mask({1, 1, 4}, -1, 1, false, gen); });
  expect_throw([&] { mask::dropout(mask::full_mask({1, 1, 4}), 1.5, gen); });
  expect_throw([&] { mask::apply_mask(at::zeros({1, 1, 4}, at::kLong), mask::full_mask({1, 1, 5}), 1024); });
  expect_throw([&] { mask::mask_and(mask::full_mask({1, 1, 4}), mask::full_mask({1, 2, 4})); });
  expect_throw([&] { mask::full_mask({1, 4}); });
  ck_assert_int_eq(threw, 5);
}
END_TEST

static Suite* mask_suite() {
  Suite* s = suite_create("mask");
  TCase* golden = tcase_create("golden");
  tcase_add_test(golden, test_rng_free_builders);
  tcase_add_test(golden, test_gamma);
  tcase_add_test(golden, test_linear_random);
  tcase_add_test(golden, test_random);
  tcase_add_test(golden, test_periodic);
  tcase_add_test(golden, test_dropout);
  tcase_add_test(golden, test_time_stretch);
  tcase_add_test(golden, test_build_mask_golden);
  suite_add_tcase(s, golden);
  TCase* ours = tcase_create("extensions");
  tcase_add_test(ours, test_periodic_offset_matches_reference);
  tcase_add_test(ours, test_periodic_offset_streaming);
  tcase_add_test(ours, test_beat_mask);
  tcase_add_test(ours, test_onset_mask);
  tcase_add_test(ours, test_build_mask_hints);
  tcase_add_test(ours, test_stream_masker_combinations);
  tcase_add_test(ours, test_presets);
  tcase_add_test(ours, test_invalid_arguments);
  suite_add_tcase(s, ours);
  return s;
}

VAMP_TEST_MAIN(mask_suite)
