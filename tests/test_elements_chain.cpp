// The four elements together, as users chain them: every vampmask preset through vampsample
// gives varied tokens of the right length; properties and states changed from other threads
// while buffers flow never crash (GstHarness stress threads).
#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>

#include <gst/check/gstharness.h>

#include "testfiles.h"
#include "vamp/token_file.h"

#include <string>
#include <vector>

namespace {

using vamp::test::data;
using vamp::test::scratch;


std::string models() {
  return " codec-model=" + data("codec_a.pth") + " coarse-model=" + data("coarse_a.pth") +
         " c2f-model=" + data("c2f_a.pth") + " ";
}

std::vector<uint16_t> pull_tokens(GstElement* sink) {
  std::vector<uint16_t> out;
  while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer* b = gst_sample_get_buffer(s);
    std::vector<uint16_t> t(gst_buffer_get_size(b) / 2);
    gst_buffer_extract(b, 0, t.data(), t.size() * 2);  // tokens only: mask=none here
    out.insert(out.end(), t.begin(), t.end());
    gst_sample_unref(s);
  }
  return out;
}

}  // namespace

GST_START_TEST(test_every_preset_varies_the_input) {
  GstElement* probe = gst_element_factory_make("vampmask", nullptr);  // loads the plugin
  ck_assert(probe != nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(probe), "preset");
  ck_assert(spec != nullptr && G_IS_PARAM_SPEC_ENUM(spec));
  GEnumClass* presets = G_PARAM_SPEC_ENUM(spec)->enum_class;
  for (guint i = 0; i < presets->n_values; ++i) {
    const char* preset = presets->values[i].value_nick;
    if (std::string(preset) == "custom") continue;
    // Chords at 44.1 kHz (hop 64 here: 0.3 s = 207 frames), the original tokens beside the varied.
    const std::string launch =
        "audiotestsrc wave=saw freq=220 num-buffers=13 samplesperbuffer=1024 ! audioconvert ! "
        "audioresample ! vampenc model=" + data("codec_a.pth") + " ! tee name=t "
        "t. ! queue ! appsink name=orig sync=false "
        "t. ! queue ! vampmask preset=" + preset + " seed=4 ! vampsample steps=2 seed=4 window-frames=64 "
        "context-frames=16" + models() + " ! appsink name=gen sync=false";
    GError* err = nullptr;
    GstElement* pipe = gst_parse_launch(launch.c_str(), &err);
    ck_assert_msg(pipe && !err, "%s: %s", preset, err ? err->message : "");
    GstElement* orig = gst_bin_get_by_name(GST_BIN(pipe), "orig");
    GstElement* gen = gst_bin_get_by_name(GST_BIN(pipe), "gen");
    ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
    const auto a = pull_tokens(orig), b = pull_tokens(gen);
    GstMessage* msg = gst_bus_timed_pop_filtered(GST_ELEMENT_BUS(pipe), 60 * GST_SECOND,
                                                 GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ck_assert_msg(msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "%s: no EOS", preset);
    gst_message_unref(msg);
    ck_assert_int_eq(a.size(), (13 * 1024 + 63) / 64 * 14);
    ck_assert_msg(b.size() == a.size(), "%s: %zu tokens out of %zu", preset, b.size(), a.size());
    size_t differ = 0;
    for (size_t k = 0; k < a.size(); ++k) differ += a[k] != b[k];
    ck_assert_msg(differ > a.size() / 20, "%s: only %zu of %zu tokens varied", preset, differ, a.size());
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(orig);
    gst_object_unref(gen);
    gst_object_unref(pipe);
  }
  gst_object_unref(probe);
}
GST_END_TEST;

GST_START_TEST(test_stress_properties_while_sampling) {
  GstHarness* h = gst_harness_new_parse(("vampmask name=m ! vampsample name=s steps=2 window-frames=8 context-frames=4" +
                                         models()).c_str());
  gst_harness_set_src_caps_str(h,
      "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=none,rate=44100,hop-length=64,"
      "framerate=44100/64,codebooks=14,codebook-size=1024");
  GstElement* mask = gst_bin_get_by_name(GST_BIN(h->element), "m");
  GstElement* sample = gst_bin_get_by_name(GST_BIN(h->element), "s");
  ck_assert(mask != nullptr && sample != nullptr);
  GstHarnessThread* threads[] = {
      gst_harness_stress_custom_start(h, nullptr,
          [](gpointer, gpointer d) { g_object_set(d, "temperature", g_random_double_range(0.5, 2.0), "steps", g_random_int_range(1, 4), nullptr); },
          sample, 1000),
      gst_harness_stress_custom_start(h, nullptr,
          [](gpointer, gpointer d) { g_object_set(d, "periodic-prompt", g_random_int_range(0, 9), "dropout", g_random_double(), nullptr); },
          mask, 1000),
  };
  std::vector<uint16_t> tokens(20 * 14);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = uint16_t((i * 37) % 1024);
  for (int n = 0; n < 20; ++n) {
    GstBuffer* b = gst_buffer_new_allocate(nullptr, tokens.size() * 2, nullptr);
    gst_buffer_fill(b, 0, tokens.data(), tokens.size() * 2);
    ck_assert_int_eq(gst_harness_push(h, b), GST_FLOW_OK);
  }
  for (auto* t : threads) gst_harness_stress_thread_stop(t);
  gst_harness_push_event(h, gst_event_new_eos());
  guint64 frames = 0;
  while (GstBuffer* b = gst_harness_pull(h)) {
    frames += gst_buffer_get_size(b) / 28;
    gst_buffer_unref(b);
    if (frames == 400) break;
  }
  ck_assert_uint_eq(frames, 400);
  gst_object_unref(mask);
  gst_object_unref(sample);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_stress_state_changes) {
  // READY <-> PAUSED <-> PLAYING cycles of every element while another thread toggles them.
  for (const char* name : {"vampenc", "vampdec", "vampmask", "vampsample"}) {
    GstElement* e = gst_element_factory_make(name, nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), "model"))
      g_object_set(e, "model", data("codec_a.pth").c_str(), nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), "coarse-model"))
      g_object_set(e, "coarse-model", data("coarse_a.pth").c_str(), "c2f-model", data("c2f_a.pth").c_str(),
                   "codec-model", data("codec_a.pth").c_str(), nullptr);
    for (int i = 0; i < 20; ++i) {
      const GstState target = i % 3 == 0 ? GST_STATE_READY : i % 3 == 1 ? GST_STATE_PAUSED : GST_STATE_PLAYING;
      ck_assert_msg(gst_element_set_state(e, target) != GST_STATE_CHANGE_FAILURE, "%s -> %d", name, target);
    }
    ck_assert_int_eq(gst_element_set_state(e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    gst_object_unref(e);
  }
}
GST_END_TEST;

// Seek and state-change storms on the whole chain reading a token file, then a flushing seek to
// frame F played to EOS: no error, no warning, and the audio starts at a frame boundary at most one
// vampparse buffer (32 frames) before F (a seek without ACCURATE) and runs on without a gap or an
// overlap to the file's end (issue 17: storms were only checked for "no error").
GST_START_TEST(test_storms_then_continuous_output) {
  const int64_t frames = 400, hop = 64, rate = 44100, F = 150;
  vamp::TokenFile file;
  file.format.rate = int(rate);
  file.format.hop_length = int(hop);
  file.format.codebooks = 14;
  file.format.codebook_size = 1024;
  file.frames = frames;
  guint32 seed = 3;
  for (int64_t i = 0; i < frames * 14; ++i) file.tokens.push_back(uint16_t(((seed = seed * 1664525u + 1013904223u) >> 8) % 1024));
  const std::string path = scratch("storm.vtok");
  vamp::write_token_file(path, file);
  const std::string desc = "filesrc location=" + path + " ! vampparse ! vampmask periodic-prompt=7 ! vampsample" +
                           models() + "device=cpu steps=2 window-frames=50 context-frames=20 seed=1 ! vampdec model=" +
                           data("codec_a.pth") + " ! appsink name=sink sync=false";
  GstElement* pipe = gst_parse_launch(desc.c_str(), nullptr);
  ck_assert(pipe != nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  auto frame_time = [&](int64_t f) { return GstClockTime(gst_util_uint64_scale(f * hop, GST_SECOND, rate)); };
  auto settle = [&] { ck_assert_int_ne(gst_element_get_state(pipe, nullptr, nullptr, 30 * GST_SECOND), GST_STATE_CHANGE_FAILURE); };
  ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  settle();
  for (int i = 0; i < 24; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const int64_t to = int64_t(seed >> 8) % frames;
    if (i % 8 == 7) {  // back to READY and up again: the stream starts over
      gst_element_set_state(pipe, GST_STATE_READY);
      gst_element_set_state(pipe, GST_STATE_PLAYING);
    } else if (i % 4 == 3) {
      gst_element_set_state(pipe, GST_STATE_PAUSED);
      gst_element_set_state(pipe, GST_STATE_PLAYING);
    } else {
      gst_element_seek_simple(pipe, GST_FORMAT_TIME, GstSeekFlags(GST_SEEK_FLAG_FLUSH), frame_time(to));
    }
    settle();
    g_usleep(5000 * (i % 3));
  }
  ck_assert(gst_element_seek_simple(pipe, GST_FORMAT_TIME, GstSeekFlags(GST_SEEK_FLAG_FLUSH), frame_time(F)));
  GstClockTime next = GST_CLOCK_TIME_NONE;
  int64_t start = -1;
  guint64 samples = 0;
  while (GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(sink))) {
    GstBuffer* b = gst_sample_get_buffer(sample);
    const GstClockTime pts = GST_BUFFER_PTS(b);
    if (start < 0) {
      start = int64_t(gst_util_uint64_scale_round(pts, rate, hop * GST_SECOND));
      ck_assert_msg(start <= F && F - start < 32, "the audio after the seek starts at frame %" G_GINT64_FORMAT, start);
      next = frame_time(start);
    }
    ck_assert_msg(GST_CLOCK_TIME_IS_VALID(pts) && (pts > next ? pts - next : next - pts) <= GST_SECOND / rate,
                  "buffer at %" GST_TIME_FORMAT ", expected %" GST_TIME_FORMAT, GST_TIME_ARGS(pts), GST_TIME_ARGS(next));
    samples += gst_buffer_get_size(b) / sizeof(float);
    next = pts + GST_BUFFER_DURATION(b);
    gst_sample_unref(sample);
  }
  ck_assert_uint_eq(samples, guint64((frames - start) * hop));
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* err = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  ck_assert_msg(err == nullptr, "an error on the bus");
  gst_object_unref(bus);
  gst_object_unref(sink);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
}
GST_END_TEST;

static Suite* chain_suite() {
  Suite* s = suite_create("chain");
  TCase* tc = tcase_create("chain");
  tcase_set_timeout(tc, 900);
  tcase_add_test(tc, test_every_preset_varies_the_input);
  tcase_add_test(tc, test_storms_then_continuous_output);
  tcase_add_test(tc, test_stress_properties_while_sampling);
  tcase_add_test(tc, test_stress_state_changes);
  suite_add_tcase(s, tc);
  return s;
}

GST_CHECK_MAIN(chain);
