// Loudness: BS.1770 as audiotools measures it (golden_loudness), and VampNet's pre-processing
// (golden_codec_a: loudness, -24 LUFS normalization, channel mean).
#include "vamp/checkpoint.h"
#include "vamp/loudness.h"
// check.h defines a `fail` macro: include it after engine headers.
#include "testutil.h"

#include <cstdio>
#include <map>
#include <string>

namespace {

using TensorMap = std::map<std::string, at::Tensor>;

const at::Tensor& get(const TensorMap& m, const std::string& key) {
  auto it = m.find(key);
  ck_assert_msg(it != m.end(), "golden file has no '%s'", key.c_str());
  return it->second;
}

const TensorMap& golden_loudness() {
  static TensorMap g = vamp::load_tensor_dict(vamp::test::data("golden_loudness.pt"));
  return g;
}

const TensorMap& golden_codec() {
  static TensorMap g = vamp::load_tensor_dict(vamp::test::data("golden_codec_a.pt"));
  return g;
}

const at::Tensor& L(const std::string& key) { return get(golden_loudness(), key); }
const at::Tensor& C(const std::string& key) { return get(golden_codec(), key); }

// The golden K-weighted signal is stored (nb, nt, nch); ours is (nb, nch, nt).
at::Tensor k_weighted_golden() { return L("k_weighted").permute({0, 2, 1}).contiguous(); }

}  // namespace

START_TEST(test_filter_coefficients) {
  const auto f = vamp::k_weighting_filters(44100);
  ck_assert_int_eq(f.size(), 2);
  const char* names[2] = {"filter0_high_shelf", "filter1_high_pass"};
  for (int s = 0; s < 2; ++s) {
    at::Tensor b = L(std::string(names[s]) + "_b"), a = L(std::string(names[s]) + "_a");
    for (int i = 0; i < 3; ++i) {
      const double gb = b[i].item<double>(), ga = a[i].item<double>();
      ck_assert_msg(std::abs(f[s].b[i] - gb) <= 1e-15 * std::abs(gb) + 1e-300, "stage %d b[%d]: %.17g vs %.17g", s, i,
                    f[s].b[i], gb);
      ck_assert_msg(std::abs(f[s].a[i] - ga) <= 1e-15 * std::abs(ga) + 1e-300, "stage %d a[%d]: %.17g vs %.17g", s, i,
                    f[s].a[i], ga);
      // What lfilter uses: the float32 casts, which must be identical.
      ck_assert(float(f[s].b[i]) == float(gb) && float(f[s].a[i]) == float(ga));
    }
    ck_assert(f[s].passband_gain == L(std::string(names[s]) + "_passband_gain").item<double>());
  }
}
END_TEST

START_TEST(test_gating_matches_meter) {
  at::Tensor kw = k_weighted_golden();  // [1, 1, 70560]
  at::Tensor l = vamp::gated_loudness(kw, 44100);
  std::printf("integrated loudness %.7f vs golden %.7f (pyloudnorm float64: -10.2432030)\n", l.item<double>(),
              L("integrated_loudness").item<double>());
  VAMP_ASSERT_CLOSE(l, L("integrated_loudness"), 1e-5);
  // Partial last block: the causal K-weighting of a prefix is the prefix of the K-weighting.
  for (int64_t n : {40000, 40064}) {
    at::Tensor ln = vamp::gated_loudness(kw.slice(2, 0, n), 44100);
    at::Tensor want = L("loudness_first" + std::to_string(n));
    std::printf("first %lld samples: %.7f vs %.7f\n", (long long)n, ln.item<double>(), want.item<double>());
    VAMP_ASSERT_CLOSE(at::maximum(ln, at::full_like(ln, -70.0)), want, 1e-5);
  }
}
END_TEST

START_TEST(test_short_and_quiet) {
  at::Tensor s = vamp::loudness(L("short_audio"), 44100);
  std::printf("0.2 s input: %.7f vs %.7f\n", s.item<double>(), L("short_loudness").item<double>());
  VAMP_ASSERT_CLOSE(s, L("short_loudness"), 1e-5);
  // The -70 floor.
  VAMP_ASSERT_CLOSE(vamp::loudness(L("short_audio") * 1e-4, 44100), L("quiet_loudness"), 0.0);
  ck_assert_float_eq(L("quiet_loudness").item<float>(), -70.0f);
  VAMP_ASSERT_CLOSE(vamp::loudness(at::zeros({2, 1, 30000}), 44100), at::full({2}, -70.0f), 0.0);
}
END_TEST

START_TEST(test_k_weighting_filter) {
  // The golden K-weighted signal's input is golden_codec_b's audio, which is not shipped; check
  // the filter on the codec_a audio against a float64 direct-form reference instead.
  at::Tensor x = C("audio_raw");
  at::Tensor y = vamp::k_weight(x, 44100);
  at::Tensor ref = x.to(at::kDouble).flatten().clone();
  for (const auto& f : vamp::k_weighting_filters(44100)) {
    auto in = ref.accessor<double, 1>();
    at::Tensor out = at::zeros_like(ref);
    auto o = out.accessor<double, 1>();
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (int64_t n = 0; n < ref.size(0); ++n) {
      const double v = f.b[0] * in[n] + f.b[1] * x1 + f.b[2] * x2 - f.a[1] * y1 - f.a[2] * y2;
      x2 = x1;
      x1 = in[n];
      y2 = y1;
      y1 = v;
      o[n] = v;
    }
    ref = out;
  }
  const double d = vamp::test::max_abs_diff(y.flatten(), ref);
  const double scale = ref.abs().max().item<double>();
  std::printf("K-weighting float32 vs float64 reference: max diff %g (signal max %g)\n", d, scale);
  ck_assert(d < 1e-3 * scale);  // float32 recursion near the 38 Hz poles; the reference runs it the same way
}
END_TEST

START_TEST(test_vampnet_preprocessing) {
  at::Tensor l = vamp::loudness(C("audio_raw"), 44100);
  std::printf("codec_a input loudness %.7f vs %.7f\n", l.item<double>(), C("loudness_in_lufs").item<double>());
  VAMP_ASSERT_CLOSE(l, C("loudness_in_lufs"), 1e-5);
  at::Tensor n = vamp::normalize(C("audio_raw"), 44100, -24.0);
  std::printf("normalized audio max diff %g\n", vamp::test::max_abs_diff(n, C("audio_normalized")));
  VAMP_ASSERT_CLOSE(n, C("audio_normalized"), 1e-6);
  VAMP_ASSERT_CLOSE(vamp::ensure_max(n, 1.0), n, 0.0);  // a no-op here, as in the reference
  at::Tensor loud = at::cat({n * 4, n}, 0);
  at::Tensor limited = vamp::ensure_max(loud, 1.0);
  ck_assert_float_eq_tol(limited[0].abs().max().item<float>(), 1.0f, 1e-6f);
  VAMP_ASSERT_CLOSE(limited[1], n[0], 0.0);
  VAMP_ASSERT_CLOSE(vamp::to_mono(C("stereo_in")), C("stereo_to_mono"), 0.0);
}
END_TEST

static Suite* loudness_suite() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // keep prints of tests that fail (libcheck forks)
  Suite* s = suite_create("loudness");
  TCase* tc = tcase_create("loudness");
  tcase_add_test(tc, test_filter_coefficients);
  tcase_add_test(tc, test_gating_matches_meter);
  tcase_add_test(tc, test_short_and_quiet);
  tcase_add_test(tc, test_k_weighting_filter);
  tcase_add_test(tc, test_vampnet_preprocessing);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(loudness_suite)
