// vampmask as users run it: caps, framing, buffer-size independence, seeds, flush, presets, bus
// messages, live property changes, beats files; and `vamp-cli mask` on a .npy of codes.
#include "vamp/mask_settings.h"
#include "vamp/npy.h"

#include <gst/check/gstcheck.h>

#include "testfiles.h"
#include <gst/check/gstharness.h>

#include <fstream>
#include <string>
#include <vector>

namespace {

const int K = 14;

std::string tmp(const std::string& name) { return std::string(g_getenv("VAMP_TEST_TMP")) + "/mask-" + name; }

std::string caps(const std::string& mask, int k = K) { return vamp::test::token_caps(mask, k); }

GstClockTime frame_time(int64_t f) { return gst_util_uint64_scale(f, 64 * GST_SECOND, 44100); }

// T frames of tokens [T][K] and an optional input mask [T][K].
struct Stream {
  std::vector<uint16_t> tokens;
  std::vector<uint8_t> mask;
  int64_t frames;
  explicit Stream(int64_t T) : frames(T) {
    guint32 seed = 7;
    for (int64_t i = 0; i < T * K; ++i) {
      seed = seed * 1664525u + 1013904223u;
      tokens.push_back(uint16_t((seed >> 8) % 1024));
      mask.push_back((seed >> 20) % 3 ? 1 : 0);
    }
  }
  GstBuffer* buffer(int64_t first, int64_t n, bool with_mask = false, bool offsets = true) const {
    const size_t tb = size_t(n * K * 2);
    GstBuffer* b = gst_buffer_new_allocate(nullptr, tb + (with_mask ? size_t(n * K) : 0), nullptr);
    gst_buffer_fill(b, 0, &tokens[first * K], tb);
    if (with_mask) gst_buffer_fill(b, tb, &mask[first * K], size_t(n * K));
    GST_BUFFER_PTS(b) = frame_time(first);
    GST_BUFFER_DURATION(b) = frame_time(first + n) - frame_time(first);
    if (offsets) {
      GST_BUFFER_OFFSET(b) = first;
      GST_BUFFER_OFFSET_END(b) = first + n;
    }
    return b;
  }
};

// The mask plane of an output buffer, checking that the tokens came through unchanged.
std::vector<uint8_t> mask_of(GstBuffer* b, const Stream& s, int64_t first) {
  const size_t size = gst_buffer_get_size(b);
  ck_assert_uint_eq(size % (3 * K), 0);
  const size_t n = size / 3 / K;
  std::vector<uint16_t> t(n * K);
  gst_buffer_extract(b, 0, t.data(), n * K * 2);
  ck_assert(std::equal(t.begin(), t.end(), s.tokens.begin() + first * K));
  std::vector<uint8_t> m(n * K);
  gst_buffer_extract(b, n * K * 2, m.data(), n * K);
  for (uint8_t v : m) ck_assert_int_le(v, 1);
  return m;
}

// Pushes `s` in buffers of `chunk` frames; returns the whole output mask [T][K].
std::vector<uint8_t> run(const std::string& props, const Stream& s, int64_t chunk, bool offsets = true) {
  GstHarness* h = gst_harness_new_parse(("vampmask " + props).c_str());
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  std::vector<uint8_t> out;
  for (int64_t f = 0; f < s.frames; f += chunk) {
    const int64_t n = std::min(chunk, s.frames - f);
    ck_assert_int_eq(gst_harness_push(h, s.buffer(f, n, false, offsets)), GST_FLOW_OK);
    GstBuffer* b = gst_harness_pull(h);
    auto m = mask_of(b, s, f);
    out.insert(out.end(), m.begin(), m.end());
    gst_buffer_unref(b);
  }
  gst_harness_teardown(h);
  return out;
}

gint caps_int(GstHarness* h, const char* field) {
  GstCaps* c = gst_pad_get_current_caps(h->sinkpad);
  gint v = -1;
  gst_structure_get_int(gst_caps_get_structure(c, 0), field, &v);
  gst_caps_unref(c);
  return v;
}

std::string caps_str(GstHarness* h, const char* field) {
  GstCaps* c = gst_pad_get_current_caps(h->sinkpad);
  std::string v = gst_structure_get_string(gst_caps_get_structure(c, 0), field);
  gst_caps_unref(c);
  return v;
}

}  // namespace

GST_START_TEST(test_mask_none_to_plane_passes_tokens_and_times) {
  const Stream s(20);
  GstHarness* h = gst_harness_new_parse("vampmask periodic-prompt=4 upper-codebook-mask=14");
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  GstBuffer* in = s.buffer(10, 10);
  GST_BUFFER_FLAG_SET(in, GST_BUFFER_FLAG_DISCONT);
  ck_assert_int_eq(gst_harness_push(h, in), GST_FLOW_OK);
  GstBuffer* b = gst_harness_pull(h);
  ck_assert_uint_eq(gst_buffer_get_size(b), 10 * K * 3);
  ck_assert_uint_eq(GST_BUFFER_PTS(b), frame_time(10));
  ck_assert_uint_eq(GST_BUFFER_DURATION(b), frame_time(20) - frame_time(10));
  ck_assert_uint_eq(GST_BUFFER_OFFSET(b), 10);
  ck_assert_uint_eq(GST_BUFFER_OFFSET_END(b), 20);
  ck_assert(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
  auto m = mask_of(b, s, 10);
  for (int t = 0; t < 10; ++t)
    for (int k = 0; k < K; ++k) ck_assert_int_eq(m[t * K + k], (10 + t) % 4 == 0 ? 0 : 1);
  gst_buffer_unref(b);
  ck_assert_str_eq(caps_str(h, "mask").c_str(), "plane");
  ck_assert_int_eq(caps_int(h, "codebooks"), K);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_mask_plane_in_is_combined) {
  const Stream s(30);
  // Ours generates everything: the output is the input mask.
  GstHarness* h = gst_harness_new_parse("vampmask periodic-prompt=0 upper-codebook-mask=14");
  gst_harness_set_src_caps_str(h, caps("plane").c_str());
  ck_assert_int_eq(gst_harness_push(h, s.buffer(0, 30, true)), GST_FLOW_OK);
  GstBuffer* b = gst_harness_pull(h);
  ck_assert(mask_of(b, s, 0) == s.mask);
  gst_buffer_unref(b);
  ck_assert_str_eq(caps_str(h, "mask").c_str(), "plane");
  gst_harness_teardown(h);

  // Periodic hints: generate only where both say generate (hints accumulate).
  h = gst_harness_new_parse("vampmask periodic-prompt=3 upper-codebook-mask=14");
  gst_harness_set_src_caps_str(h, caps("plane").c_str());
  ck_assert_int_eq(gst_harness_push(h, s.buffer(0, 30, true)), GST_FLOW_OK);
  b = gst_harness_pull(h);
  auto m = mask_of(b, s, 0);
  for (int t = 0; t < 30; ++t)
    for (int k = 0; k < K; ++k)
      ck_assert_int_eq(m[t * K + k], (t % 3 != 0 && s.mask[t * K + k]) ? 1 : 0);
  gst_buffer_unref(b);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_mask_refuses_other_caps) {
  GstHarness* h = gst_harness_new_parse("vampmask");
  gst_harness_set_src_caps_str(h, "audio/x-raw,format=F32LE,layout=interleaved,rate=44100,channels=1");
  GstBuffer* b = gst_buffer_new_allocate(nullptr, 64, nullptr);
  ck_assert_int_eq(gst_harness_push(h, b), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown(h);
  // Not a whole number of frames: an error.
  h = gst_harness_new_parse("vampmask");
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  b = gst_buffer_new_allocate(nullptr, K * 2 + 2, nullptr);
  ck_assert_int_eq(gst_harness_push(h, b), GST_FLOW_ERROR);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_mask_independent_of_buffer_sizes) {
  const Stream s(120);
  const std::string props = "seed=5 rand-mask-intensity=0.7 dropout=0.2 periodic-prompt=5 periodic-width=2 "
                            "random-roll=true upper-codebook-mask=10 n-conditioning-codebooks=1";
  const auto whole = run(props, s, 120);
  ck_assert(run(props, s, 7) == whole);
  ck_assert(run(props, s, 13) == whole);
  ck_assert(run(props, s, 1) == whole);
  ck_assert(run(props, s, 11, false) == whole);  // no OFFSET: a running frame count
  // Not trivial: both values occur.
  int ones = 0;
  for (uint8_t v : whole) ones += v;
  ck_assert_int_gt(ones, 0);
  ck_assert_int_lt(ones, int(whole.size()));
}
GST_END_TEST;

GST_START_TEST(test_mask_seed_determinism) {
  const Stream s(60);
  const std::string props = " rand-mask-intensity=0.8 dropout=0.3 periodic-prompt=7 random-roll=true";
  const auto a = run("seed=1" + props, s, 60), b = run("seed=1" + props, s, 9);
  const auto c = run("seed=2" + props, s, 60);
  ck_assert(a == b);
  ck_assert(a != c);
  // Without random parts the seed changes nothing.
  ck_assert(run("seed=1 periodic-prompt=7", s, 60) == run("seed=2 periodic-prompt=7", s, 60));
}
GST_END_TEST;

GST_START_TEST(test_mask_flush_resets_phase) {
  const Stream s(40);
  const std::string props = "periodic-prompt=6 upper-codebook-mask=14 rand-mask-intensity=0.5 seed=3";
  const auto whole = run(props, s, 40);
  GstHarness* h = gst_harness_new_parse(("vampmask " + props).c_str());
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  ck_assert_int_eq(gst_harness_push(h, s.buffer(0, 17, false, false)), GST_FLOW_OK);
  gst_buffer_unref(gst_harness_pull(h));
  ck_assert(gst_harness_push_event(h, gst_event_new_flush_start()));
  ck_assert(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ck_assert(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  // No OFFSET: the running count restarted at 0, so frame 0's mask again.
  ck_assert_int_eq(gst_harness_push(h, s.buffer(0, 10, false, false)), GST_FLOW_OK);
  GstBuffer* b = gst_harness_pull(h);
  ck_assert(mask_of(b, s, 0) == std::vector<uint8_t>(whole.begin(), whole.begin() + 10 * K));
  gst_buffer_unref(b);
  // With OFFSET: the phase comes from it.
  ck_assert_int_eq(gst_harness_push(h, s.buffer(23, 9)), GST_FLOW_OK);
  b = gst_harness_pull(h);
  ck_assert(mask_of(b, s, 23) == std::vector<uint8_t>(whole.begin() + 23 * K, whole.begin() + 32 * K));
  gst_buffer_unref(b);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_mask_compression_keeps_codebook_0_and_posts_message) {
  const Stream s(25);
  GstHarness* h = gst_harness_new_parse("vampmask preset=compression");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  ck_assert_int_eq(gst_harness_push(h, s.buffer(5, 20)), GST_FLOW_OK);
  GstBuffer* b = gst_harness_pull(h);
  auto m = mask_of(b, s, 5);
  for (int t = 0; t < 20; ++t)
    for (int k = 0; k < K; ++k) ck_assert_int_eq(m[t * K + k], k == 0 ? 0 : 1);
  gst_buffer_unref(b);

  GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  ck_assert(msg != nullptr);
  const GstStructure* st = gst_message_get_structure(msg);
  ck_assert(gst_structure_has_name(st, "vampmask"));
  guint64 offset = 0;
  gint frames = 0;
  gdouble fraction = 0;
  ck_assert(gst_structure_get_uint64(st, "offset", &offset));
  ck_assert(gst_structure_get_int(st, "frames", &frames));
  ck_assert(gst_structure_get_double(st, "masked-fraction", &fraction));
  ck_assert_uint_eq(offset, 5);
  ck_assert_int_eq(frames, 20);
  ck_assert(fraction == 13.0 / 14.0);
  gst_message_unref(msg);

  // The preset reads back; a property set afterwards turns it into custom.
  GstElement* e = gst_harness_find_element(h, "vampmask");
  gint preset = -1, upper = -1, combination = -1;
  g_object_get(e, "preset", &preset, "upper-codebook-mask", &upper, "combination", &combination,
               nullptr);
  ck_assert_int_ne(preset, 0);
  ck_assert_int_eq(upper, 1);
  ck_assert_int_eq(combination, int(vamp::MaskReference::Main));  // main's compression prompt
  g_object_set(e, "periodic-width", 1, nullptr);
  g_object_get(e, "preset", &preset, nullptr);
  ck_assert_int_eq(preset, 0);
  g_object_set(e, "preset", 3 /* moderate-periodic */, nullptr);
  g_object_get(e, "combination", &combination, nullptr);
  ck_assert_int_eq(combination, int(vamp::MaskReference::Ismir2023));
  gst_object_unref(e);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_mask_every_preset_runs) {
  const Stream s(40);
  for (const char* p : {"custom", "unconditional", "slight-periodic", "moderate-periodic", "strong-periodic",
                        "very-strong-periodic", "beat-driven", "beat-driven-downbeats",
                        "beat-driven-downbeats-strong", "compression"}) {
    const auto m = run(std::string("preset=") + p, s, 40);
    ck_assert_int_eq(m.size(), 40 * K);
  }
  // moderate: codebooks 0-8 of every 13th frame (rolled by the seed) kept, the rest generated.
  const auto m = run("preset=moderate-periodic", s, 40);
  int kept_frames = 0;
  for (int t = 0; t < 40; ++t) {
    for (int k = 9; k < K; ++k) ck_assert_int_eq(m[t * K + k], 1);
    kept_frames += m[t * K] == 0;
    for (int k = 1; k < 9; ++k) ck_assert_int_eq(m[t * K + k], m[t * K]);
  }
  ck_assert(kept_frames == 3 || kept_frames == 4);
}
GST_END_TEST;

GST_START_TEST(test_mask_property_change_in_playing) {
  const Stream s(20);
  GstHarness* h = gst_harness_new_parse("vampmask periodic-prompt=0 upper-codebook-mask=14");
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  ck_assert_int_eq(gst_harness_push(h, s.buffer(0, 10)), GST_FLOW_OK);
  GstBuffer* b = gst_harness_pull(h);
  for (uint8_t v : mask_of(b, s, 0)) ck_assert_int_eq(v, 1);
  gst_buffer_unref(b);
  GstElement* e = gst_harness_find_element(h, "vampmask");
  ck_assert_int_eq(GST_STATE(e), GST_STATE_PLAYING);
  g_object_set(e, "n-conditioning-codebooks", 2, nullptr);
  gst_object_unref(e);
  ck_assert_int_eq(gst_harness_push(h, s.buffer(10, 10)), GST_FLOW_OK);
  b = gst_harness_pull(h);
  auto m = mask_of(b, s, 10);
  for (int t = 0; t < 10; ++t)
    for (int k = 0; k < K; ++k) ck_assert_int_eq(m[t * K + k], k < 2 ? 0 : 1);
  gst_buffer_unref(b);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_mask_beats_file) {
  // Beats at frames 5, 17 (downbeat), 30: times just below the frame so s2t's ceil gives it.
  const std::string path = tmp("beats.txt");
  {
    std::ofstream f(path);
    f << "# time label\n";
    for (int fr : {5, 17, 30})
      f << (fr - 0.5) * 64.0 / 44100.0 << (fr == 17 ? " d" : "") << "\n";
  }
  const Stream s(40);
  // 2.5 frames of width -> s2t = 3 frames kept from each beat.
  const guint64 width = gst_util_uint64_scale(5, 64 * GST_SECOND, 2 * 44100);
  const std::string base = "periodic-prompt=0 upper-codebook-mask=14 beats-file=" + path +
                           " beat-mask-width=" + std::to_string(width);
  auto m = run(base, s, 6);
  for (int t = 0; t < 40; ++t) {
    const bool kept = (t >= 5 && t < 8) || (t >= 17 && t < 20) || (t >= 30 && t < 33);
    for (int k = 0; k < K; ++k) ck_assert_int_eq(m[t * K + k], kept ? 0 : 1);
  }
  m = run(base + " downbeats-only=true", s, 40);
  for (int t = 0; t < 40; ++t) ck_assert_int_eq(m[t * K], (t >= 17 && t < 20) ? 0 : 1);
  // Beat mode without any beats: no beat hints, nothing else changes.
  m = run("periodic-prompt=0 upper-codebook-mask=14 beat-mask-width=" + std::to_string(width), s, 40);
  for (uint8_t v : m) ck_assert_int_eq(v, 1);
  // A missing beats file fails the start.
  GstElement* e = gst_element_factory_make("vampmask", nullptr);
  g_object_set(e, "beats-file", "/nonexistent/beats.txt", nullptr);
  ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
}
GST_END_TEST;

GST_START_TEST(test_mask_prefix_and_suffix) {
  const Stream s(30);
  GstHarness* h = gst_harness_new_parse(("vampmask periodic-prompt=0 upper-codebook-mask=14 prefix=" +
                                         std::to_string(frame_time(4)) + " suffix=" +
                                         std::to_string(frame_time(6))).c_str());
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  seg.stop = frame_time(30);
  ck_assert(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  std::vector<uint8_t> m;
  for (int f = 0; f < 30; f += 8) {
    const int n = std::min(8, 30 - f);
    ck_assert_int_eq(gst_harness_push(h, s.buffer(f, n)), GST_FLOW_OK);
    GstBuffer* b = gst_harness_pull(h);
    auto part = mask_of(b, s, f);
    m.insert(m.end(), part.begin(), part.end());
    gst_buffer_unref(b);
  }
  for (int t = 0; t < 30; ++t) ck_assert_int_eq(m[t * K + 3], (t < 4 || t >= 24) ? 0 : 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_cli_mask) {
  const char* cli = g_getenv("VAMP_CLI");
  ck_assert_msg(cli != nullptr, "VAMP_CLI not set");
  const std::string codes = tmp("codes.npy"), out = tmp("mask.npy");
  vamp::save_npy(codes, at::randint(0, 1024, {1, K, 50}, at::kLong));
  auto run_cli = [&](const std::string& args) {
    const std::string cmd = std::string(cli) + " mask --codes " + codes + " --out " + out + " " + args;
    gint status = -1;
    GError* err = nullptr;
    gchar *sout = nullptr, *serr = nullptr;
    ck_assert(g_spawn_command_line_sync(cmd.c_str(), &sout, &serr, &status, &err));
    ck_assert_msg(g_spawn_check_wait_status(status, nullptr), "%s failed: %s", cmd.c_str(), serr);
    g_free(sout);
    g_free(serr);
    at::Tensor m = vamp::load_npy(out);
    ck_assert_int_eq(m.dim(), 3);
    ck_assert_int_eq(m.size(0), 1);
    ck_assert_int_eq(m.size(1), K);
    ck_assert_int_eq(m.size(2), 50);
    return m;
  };
  at::Tensor m = run_cli("--preset compression");
  for (int k = 0; k < K; ++k)
    for (int t = 0; t < 50; ++t) ck_assert_int_eq(m[0][k][t].item<int64_t>(), k == 0 ? 0 : 1);
  m = run_cli("--periodic-prompt 5 --no-random-roll --upper-codebook-mask 14");
  for (int k = 0; k < K; ++k)
    for (int t = 0; t < 50; ++t) ck_assert_int_eq(m[0][k][t].item<int64_t>(), t % 5 == 0 ? 0 : 1);
}
GST_END_TEST;

static Suite* mask_elements_suite() {
  Suite* s = suite_create("vampmask");
  TCase* tc = tcase_create("element");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_mask_none_to_plane_passes_tokens_and_times);
  tcase_add_test(tc, test_mask_plane_in_is_combined);
  tcase_add_test(tc, test_mask_refuses_other_caps);
  tcase_add_test(tc, test_mask_independent_of_buffer_sizes);
  tcase_add_test(tc, test_mask_seed_determinism);
  tcase_add_test(tc, test_mask_flush_resets_phase);
  tcase_add_test(tc, test_mask_compression_keeps_codebook_0_and_posts_message);
  tcase_add_test(tc, test_mask_every_preset_runs);
  tcase_add_test(tc, test_mask_property_change_in_playing);
  tcase_add_test(tc, test_mask_beats_file);
  tcase_add_test(tc, test_mask_prefix_and_suffix);
  tcase_add_test(tc, test_cli_mask);
  suite_add_tcase(s, tc);
  return s;
}

GST_CHECK_MAIN(mask_elements);
