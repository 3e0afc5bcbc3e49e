// vampsample as users run it: windows, seams, timestamps, EOS drain, flush, latency, errors.
// Models: the golden tiny codec/coarse/c2f (hop 64, d 64), fast on a CPU.
#include "vamp/codec.h"
#include "vamp/sampler.h"
#include "vamp/transformer.h"

#include <gst/check/gstcheck.h>

#include "element_bus.h"
#include "testfiles.h"
#include <gst/check/gstharness.h>

#include <string>
#include <vector>

namespace {

using vamp::test::data;


const int K = 14;

std::string sampler_launch(const std::string& props) {
  return "vampsample codec-model=" + data("codec_a.pth") + " coarse-model=" + data("coarse_a.pth") +
         " c2f-model=" + data("c2f_a.pth") + " device=cpu " + props;
}

std::string caps(const std::string& mask, int k = K) { return vamp::test::token_caps(mask, k); }

// T frames of tokens and a periodic mask (keep every 5th frame and codebook 0 everywhere).
struct Stream {
  std::vector<uint16_t> tokens;  // [T][K]
  std::vector<uint8_t> mask;     // [T][K]
  int64_t frames;
  explicit Stream(int64_t T, int k = K) : frames(T) {
    guint32 seed = 11;
    for (int64_t t = 0; t < T; ++t)
      for (int c = 0; c < k; ++c) {
        seed = seed * 1664525u + 1013904223u;
        tokens.push_back(uint16_t((seed >> 8) % 1024));
        mask.push_back(t % 5 == 0 || c == 0 ? 0 : 1);
      }
  }
  GstBuffer* buffer(int64_t first, int64_t n, int k = K) const {
    GstBuffer* b = gst_buffer_new_allocate(nullptr, size_t(n * k * 3), nullptr);
    gst_buffer_fill(b, 0, &tokens[first * k], size_t(n * k * 2));
    gst_buffer_fill(b, size_t(n * k * 2), &mask[first * k], size_t(n * k));
    GST_BUFFER_PTS(b) = gst_util_uint64_scale(first, 64 * GST_SECOND, 44100);
    GST_BUFFER_OFFSET(b) = first;
    return b;
  }
};

// Pushes `s` in buffers of `chunk` frames, then EOS; returns all output tokens.
std::vector<uint16_t> run(const std::string& props, const Stream& s, int64_t chunk, std::vector<GstBuffer*>* bufs = nullptr) {
  GstHarness* h = gst_harness_new_parse(sampler_launch(props).c_str());
  gst_harness_set_src_caps_str(h, caps("plane").c_str());
  for (int64_t f = 0; f < s.frames; f += chunk)
    ck_assert_int_eq(gst_harness_push(h, s.buffer(f, std::min(chunk, s.frames - f))), GST_FLOW_OK);
  ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
  std::vector<uint16_t> out;
  while (true) {
    GstEvent* ev = gst_harness_pull_event(h);  // blocks until the streaming thread sends it
    const bool eos = GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
    if (eos) break;
  }
  GstBuffer* b;
  while ((b = gst_harness_try_pull(h))) {
    std::vector<uint16_t> t(gst_buffer_get_size(b) / 2);
    gst_buffer_extract(b, 0, t.data(), t.size() * 2);
    out.insert(out.end(), t.begin(), t.end());
    if (bufs) bufs->push_back(b);
    else gst_buffer_unref(b);
  }
  gst_harness_teardown(h);
  return out;
}

}  // namespace

GST_START_TEST(test_sample_keeps_prompt_and_fills_all_frames) {
  const Stream s(70);
  std::vector<GstBuffer*> bufs;
  auto out = run("seed=3 steps=4 window-frames=24 context-frames=8", s, 10, &bufs);
  ck_assert_int_eq(out.size(), 70 * K);  // EOS generated the last, partial window
  int64_t changed = 0, kept_changed = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    ck_assert_int_lt(out[i], 1024);
    if (s.mask[i] == 0) kept_changed += out[i] != s.tokens[i];
    else changed += out[i] != s.tokens[i];
  }
  ck_assert_msg(kept_changed == 0, "%lld kept tokens changed", (long long)kept_changed);
  ck_assert_msg(changed > 200, "only %lld generated tokens differ from the input", (long long)changed);
  // Windows of 24 frames: 24, 24, 22; timestamps and offsets continuous from the input's.
  ck_assert_int_eq(bufs.size(), 3);
  guint64 frame = 0;
  for (GstBuffer* b : bufs) {
    const guint64 n = gst_buffer_get_size(b) / (2 * K);
    ck_assert_uint_eq(GST_BUFFER_OFFSET(b), frame);
    ck_assert_uint_eq(GST_BUFFER_PTS(b), gst_util_uint64_scale(frame, 64 * GST_SECOND, 44100));
    ck_assert_uint_eq(GST_BUFFER_PTS(b) + GST_BUFFER_DURATION(b),
                      gst_util_uint64_scale(frame + n, 64 * GST_SECOND, 44100));
    frame += n;
    gst_buffer_unref(b);
  }
}
GST_END_TEST;

GST_START_TEST(test_sample_independent_of_buffer_sizes) {
  const Stream s(50);
  const auto a = run("seed=9 steps=3 window-frames=20 context-frames=6", s, 50);
  const auto b = run("seed=9 steps=3 window-frames=20 context-frames=6", s, 7);
  const auto c = run("seed=10 steps=3 window-frames=20 context-frames=6", s, 7);
  ck_assert(a == b);
  ck_assert(a != c);
}
GST_END_TEST;

GST_START_TEST(test_sample_equals_engine_vamp_for_one_window) {
  // One window without context is exactly the reference flow (Interface.vamp) on those frames.
  const int64_t T = 40;
  const Stream s(T);
  const auto out = run("seed=5 steps=6 window-frames=40 context-frames=0 c2f-window-frames=16", s, 13);

  auto codec = vamp::Codec::load(data("codec_a.pth"));
  std::vector<at::Tensor> books;
  for (int i = 0; i < K; ++i) books.push_back(codec->codebook(i));
  auto coarse = vamp::Transformer::load(data("coarse_a.pth"), books);
  auto c2f = vamp::Transformer::load(data("c2f_a.pth"), books);
  at::Tensor codes = at::zeros({1, K, T}, at::kLong), mask = at::zeros({1, K, T}, at::kLong);
  for (int64_t t = 0; t < T; ++t)
    for (int k = 0; k < K; ++k) {
      // As the reference: every token under the mask too (coarse_vamp keeps a window's first
      // and last frame whatever the mask says).
      codes[0][k][t] = s.tokens[t * K + k];
      mask[0][k][t] = s.mask[t * K + k] != 0 ? 1 : 0;
    }
  vamp::VampParams p;
  p.coarse.steps = 6;
  p.coarse_window = T;
  p.c2f_window = 16;
  at::Tensor ref = vamp::vamp(*coarse, c2f.get(), codes, mask, p, 5)[0].t().contiguous();
  ck_assert_int_eq(int64_t(out.size()), ref.numel());
  int64_t differ = 0;
  for (int64_t i = 0; i < ref.numel(); ++i) differ += out[i] != ref.data_ptr<int64_t>()[i];
  ck_assert_msg(differ == 0, "%lld tokens differ from the engine's vamp()", (long long)differ);
}
GST_END_TEST;

GST_START_TEST(test_sample_accepts_fewer_codebooks) {
  // Generative compression: one codebook in, all 14 out, codebook 0 kept where the mask says.
  const Stream s(30, 1);
  GstHarness* h = gst_harness_new_parse(sampler_launch("seed=1 steps=3 window-frames=30").c_str());
  gst_harness_set_src_caps_str(h, caps("plane", 1).c_str());
  ck_assert_int_eq(gst_harness_push(h, s.buffer(0, 30, 1)), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());
  GstBuffer* b = gst_harness_pull(h);
  ck_assert_uint_eq(gst_buffer_get_size(b), 30 * K * 2);
  std::vector<uint16_t> out(30 * K);
  gst_buffer_extract(b, 0, out.data(), out.size() * 2);
  for (int t = 0; t < 30; ++t) ck_assert_int_eq(out[t * K], s.tokens[t]);  // mask 0 on codebook 0
  gst_buffer_unref(b);
  GstCaps* c = gst_pad_get_current_caps(h->sinkpad);
  gint k = 0;
  gst_structure_get_int(gst_caps_get_structure(c, 0), "codebooks", &k);
  ck_assert_int_eq(k, K);
  gst_caps_unref(c);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_sample_refuses_unmasked_input) {
  GstHarness* h = gst_harness_new_parse(sampler_launch("").c_str());
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  std::vector<uint16_t> t(K * 4, 1);
  GstBuffer* b = gst_buffer_new_allocate(nullptr, t.size() * 2, nullptr);
  gst_buffer_fill(b, 0, t.data(), t.size() * 2);
  ck_assert_int_ne(gst_harness_push(h, b), GST_FLOW_OK);
  gst_harness_teardown(h);

  // ...unless told to generate everything.
  h = gst_harness_new_parse(sampler_launch("generate-unmasked=true steps=2 window-frames=4").c_str());
  gst_harness_set_src_caps_str(h, caps("none").c_str());
  b = gst_buffer_new_allocate(nullptr, t.size() * 2, nullptr);
  gst_buffer_fill(b, 0, t.data(), t.size() * 2);
  ck_assert_int_eq(gst_harness_push(h, b), GST_FLOW_OK);
  GstBuffer* out = gst_harness_pull(h);
  ck_assert_uint_eq(gst_buffer_get_size(out), t.size() * 2);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

// Tokens of another codebook size are refused at caps time with a message naming the codec file
// and what to do (issue 17: vampsample accepted them and vampdec refused later).
GST_START_TEST(test_sample_refuses_other_codebook_size) {
  GstHarness* h = gst_harness_new_parse(sampler_launch("").c_str());
  vamp::test::ElementBus bus(h->element);
  std::string c = caps("plane");
  c.replace(c.find("codebook-size=1024"), 18, "codebook-size=512");
  gst_harness_set_src_caps_str(h, c.c_str());
  const Stream s(4);
  ck_assert_int_ne(gst_harness_push(h, s.buffer(0, 4)), GST_FLOW_OK);
  const std::string error = bus.error();
  ck_assert_msg(error.find("codebooks of 512 entries") != std::string::npos &&
                    error.find("codec_a.pth") != std::string::npos &&
                    error.find("Encode with the codec") != std::string::npos,
                "%s", error.c_str());
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_sample_flush_mid_window) {
  const Stream s(60);
  GstHarness* h = gst_harness_new_parse(sampler_launch("seed=2 steps=2 window-frames=25").c_str());
  gst_harness_set_src_caps_str(h, caps("plane").c_str());
  ck_assert_int_eq(gst_harness_push(h, s.buffer(0, 30)), GST_FLOW_OK);  // one window + 5 pending
  GstBuffer* first = gst_harness_pull(h);
  ck_assert_uint_eq(gst_buffer_get_size(first), 25 * K * 2);
  gst_buffer_unref(first);
  ck_assert(gst_harness_push_event(h, gst_event_new_flush_start()));
  ck_assert(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ck_assert(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  // The 5 pending frames are gone: a new stream of 25 frames gives exactly one window.
  ck_assert_int_eq(gst_harness_push(h, s.buffer(30, 25)), GST_FLOW_OK);
  GstBuffer* second = gst_harness_pull(h);
  ck_assert_uint_eq(gst_buffer_get_size(second), 25 * K * 2);
  ck_assert_uint_eq(GST_BUFFER_OFFSET(second), 0);  // new stream, frame count restarted
  gst_buffer_unref(second);
  gst_harness_push_event(h, gst_event_new_eos());
  gst_harness_teardown(h);
}
GST_END_TEST;

// The minimum latency vampsample reports in a live pipeline whose upstream has `upstream`.
static GstClockTime live_latency(GstHarness* h, GstClockTime upstream) {
  gst_harness_set_live(h, TRUE);
  gst_harness_set_upstream_latency(h, upstream);
  GstQuery* q = gst_query_new_latency();
  ck_assert(gst_pad_peer_query(h->sinkpad, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  gst_query_unref(q);
  ck_assert(live);
  return min;
}

GST_START_TEST(test_sample_live_latency) {
  GstHarness* h = gst_harness_new_parse(sampler_launch("window-frames=100 processing-latency=500000000").c_str());
  gst_harness_set_src_caps_str(h, caps("plane").c_str());
  ck_assert_uint_eq(live_latency(h, 10 * GST_MSECOND),
                    10 * GST_MSECOND + gst_util_uint64_scale(100, 64 * GST_SECOND, 44100) + 500 * GST_MSECOND);
  gst_harness_teardown(h);
}
GST_END_TEST;

// The latency a live pipeline sees with processing-latency=0 (the default): one full window
// measured here, times 1.5, on top of the window itself; measured once.
GST_START_TEST(test_sample_live_latency_measured) {
  GstHarness* h = gst_harness_new_parse(sampler_launch("window-frames=100 context-frames=50 steps=4").c_str());
  gst_harness_set_src_caps_str(h, caps("plane").c_str());
  GstClockTime first = 0;
  for (int i = 0; i < 2; ++i) {
    const GstClockTime min = live_latency(h, 10 * GST_MSECOND);
    const GstClockTime fixed = 10 * GST_MSECOND + gst_util_uint64_scale(100, 64 * GST_SECOND, 44100);
    ck_assert_uint_gt(min, fixed);                 // some processing time was measured...
    ck_assert_uint_lt(min, fixed + 60 * GST_SECOND);  // ...a plausible one
    if (i == 0) first = min;
    else ck_assert_uint_eq(min, first);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

// Steps of each window, from vampsample's element messages, for 3 windows of 20 frames.
static std::vector<int> window_steps(const std::string& props, bool live) {
  GstHarness* h = gst_harness_new_parse(sampler_launch("window-frames=20 context-frames=20 steps=8 " + props).c_str());
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, caps("plane").c_str());
  if (live) live_latency(h, 0);  // what a live pipeline asks before it plays
  const Stream s(60);
  for (int64_t f = 0; f < 60; f += 20) ck_assert_int_eq(gst_harness_push(h, s.buffer(f, 20)), GST_FLOW_OK);
  ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
  for (GstEvent* ev; (ev = gst_harness_pull_event(h));) {
    const bool eos = GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
    if (eos) break;
  }
  std::vector<int> steps;
  for (GstMessage* m; (m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT));) {
    int n = 0;
    if (gst_structure_get_int(gst_message_get_structure(m), "steps", &n)) steps.push_back(n);
    gst_message_unref(m);
  }
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
  return steps;
}

// Live, a window that cannot make its deadline with `steps` gets fewer, down to min-steps; the
// first window of a stream (no time per step known yet with a processing-latency set) gets all.
// Not live (a file), every window gets `steps`.
GST_START_TEST(test_sample_live_windows_trade_steps_for_time) {
  const std::vector<int> live = window_steps("processing-latency=1000000 min-steps=3", true);
  ck_assert_int_eq(live.size(), 3);
  ck_assert_int_eq(live[0], 8);
  ck_assert_int_eq(live[1], 3);
  ck_assert_int_eq(live[2], 3);
  const std::vector<int> file = window_steps("processing-latency=1000000 min-steps=3", false);
  ck_assert(file == std::vector<int>({8, 8, 8}));
  const std::vector<int> roomy = window_steps("processing-latency=60000000000 min-steps=3", true);
  ck_assert(roomy == std::vector<int>({8, 8, 8}));
}
GST_END_TEST;

// A stream that never negotiated (no caps came, or they were refused) still ends cleanly: a
// segment and EOS reach the streaming thread with no sampler, and EOS comes out (issue 17).
GST_START_TEST(test_sample_eos_without_caps) {
  GstHarness* h = gst_harness_new_parse(sampler_launch("").c_str());
  gst_harness_play(h);
  ck_assert(gst_harness_push_event(h, gst_event_new_stream_start("no-caps")));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  ck_assert(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  ck_assert(gst_harness_push_event(h, gst_event_new_eos()));
  bool eos = false;
  for (GstEvent* ev; !eos && (ev = gst_harness_pull_event(h));) {
    eos = GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    ck_assert_int_ne(GST_EVENT_TYPE(ev), GST_EVENT_SEGMENT);  // no segment before caps
    gst_event_unref(ev);
  }
  ck_assert(eos);
  ck_assert_int_eq(gst_harness_buffers_received(h), 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_sample_missing_model) {
  GstElement* e = gst_element_factory_make("vampsample", nullptr);
  g_object_set(e, "coarse-model", "/nonexistent/coarse.pth", "codec-model", data("codec_a.pth").c_str(), nullptr);
  ck_assert_int_eq(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  ck_assert_int_eq(gst_element_set_state(e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
}
GST_END_TEST;

static Suite* sample_elements_suite() {
  Suite* s = suite_create("vampsample");
  TCase* tc = tcase_create("element");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_sample_keeps_prompt_and_fills_all_frames);
  tcase_add_test(tc, test_sample_independent_of_buffer_sizes);
  tcase_add_test(tc, test_sample_equals_engine_vamp_for_one_window);
  tcase_add_test(tc, test_sample_accepts_fewer_codebooks);
  tcase_add_test(tc, test_sample_refuses_unmasked_input);
  tcase_add_test(tc, test_sample_flush_mid_window);
  tcase_add_test(tc, test_sample_live_latency);
  tcase_add_test(tc, test_sample_live_latency_measured);
  tcase_add_test(tc, test_sample_live_windows_trade_steps_for_time);
  tcase_add_test(tc, test_sample_eos_without_caps);
  tcase_add_test(tc, test_sample_refuses_other_codebook_size);
  tcase_add_test(tc, test_sample_missing_model);
  suite_add_tcase(s, tc);
  return s;
}

GST_CHECK_MAIN(sample_elements);
