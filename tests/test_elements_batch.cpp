// Shared models and batching across elements: two vampsample in one pipeline hold one model set
// (GstContext "vamp.transformer"), load a model once (process RSS grows by about one model, not
// two) and run their windows as batches of 2; vampenc and vampdec share one codec ("vamp.codec").
#include "vamp/checkpoint.h"
#include "rss.h"
#include "vamp/transformer.h"

#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>

#include "testfiles.h"
#include <gst/check/gstharness.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

using vamp::test::data;
using vamp::test::scratch;


const int K = 14;

const std::string kCaps = vamp::test::token_caps("plane");

// The model set behind an element's context of `type` (pointer identity = the same set).
gconstpointer model_set(GstElement* e, const char* type) {
  GstContext* c = gst_element_get_context(e, type);
  if (!c) return nullptr;
  const GValue* v = gst_structure_get_value(gst_context_get_structure(c), "models");
  gconstpointer p = v ? g_value_get_boxed(v) : nullptr;
  gst_context_unref(c);
  return p;
}

GstBuffer* tokens(int64_t frames, guint32 seed) {
  std::vector<uint8_t> bytes(size_t(frames * K * 3));
  for (int64_t i = 0; i < frames * K; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const uint16_t t = uint16_t((seed >> 8) % 1024);
    bytes[size_t(2 * i)] = uint8_t(t & 0xff);
    bytes[size_t(2 * i + 1)] = uint8_t(t >> 8);
    bytes[size_t(frames * K * 2 + i)] = (i / K) % 4 == 0 || i % K == 0 ? 0 : 1;
  }
  GstBuffer* b = gst_buffer_new_allocate(nullptr, bytes.size(), nullptr);
  gst_buffer_fill(b, 0, bytes.data(), bytes.size());
  GST_BUFFER_PTS(b) = 0;
  return b;
}

std::string branch(const std::string& name, const std::string& coarse, const std::string& c2f,
                   const std::string& props) {
  return "appsrc name=src_" + name + " format=time caps=\"" + kCaps + "\" ! vampsample name=" + name +
         " codec-model=" + data("codec_a.pth") + " coarse-model=" + coarse + " c2f-model=" + c2f + " device=cpu " +
         props + " ! fakesink sync=false ";
}

// Runs the pipeline to EOS with `frames` tokens per appsrc; returns the batch sizes reported.
std::vector<int> run_to_eos(GstElement* pipe, const std::vector<std::string>& names, int64_t frames) {
  for (size_t i = 0; i < names.size(); ++i) {
    GstElement* src = gst_bin_get_by_name(GST_BIN(pipe), ("src_" + names[i]).c_str());
    ck_assert_int_eq(gst_app_src_push_buffer(GST_APP_SRC(src), tokens(frames, guint32(7 + i))), GST_FLOW_OK);
    gst_app_src_end_of_stream(GST_APP_SRC(src));
    gst_object_unref(src);
  }
  std::vector<int> sizes;
  GstBus* bus = gst_element_get_bus(pipe);
  while (true) {
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus, 600 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    ck_assert_msg(m != nullptr, "timed out");
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* err = nullptr;
      gchar* dbg = nullptr;
      gst_message_parse_error(m, &err, &dbg);
      ck_abort_msg("error: %s (%s)", err->message, dbg ? dbg : "");
    }
    const bool eos = GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
    const GstStructure* s = gst_message_get_structure(m);
    gint n = 0;
    if (s && gst_structure_has_name(s, "vampsample") && gst_structure_get_int(s, "batch-size", &n)) sizes.push_back(n);
    gst_message_unref(m);
    if (eos) break;
  }
  gst_object_unref(bus);
  return sizes;
}

}  // namespace

GST_START_TEST(test_two_samplers_share_models_and_batch) {
  const std::string props = "steps=3 window-frames=24 context-frames=8 c2f-window-frames=16 max-batch=2 "
                            "batch-timeout=20000000000";
  GstElement* pipe = gst_parse_launch((branch("s1", data("coarse_a.pth"), data("c2f_a.pth"), props + " seed=1") +
                                       branch("s2", data("coarse_a.pth"), data("c2f_a.pth"), props + " seed=2"))
                                          .c_str(),
                                      nullptr);
  ck_assert_ptr_ne(pipe, nullptr);
  ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstElement* s1 = gst_bin_get_by_name(GST_BIN(pipe), "s1");
  GstElement* s2 = gst_bin_get_by_name(GST_BIN(pipe), "s2");
  ck_assert_ptr_ne(model_set(s1, "vamp.transformer"), nullptr);
  ck_assert_ptr_eq(model_set(s1, "vamp.transformer"), model_set(s2, "vamp.transformer"));
  ck_assert_ptr_eq(model_set(s1, "vamp.codec"), model_set(s2, "vamp.codec"));
  // 40 frames each: windows of 24 and then 16 + 8 context, both 24 long, so they batch.
  const auto sizes = run_to_eos(pipe, {"s1", "s2"}, 40);
  ck_assert_int_eq(sizes.size(), 4);
  for (int n : sizes) ck_assert_int_eq(n, 2);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(s1);
  gst_object_unref(s2);
  gst_object_unref(pipe);
}
GST_END_TEST;

GST_START_TEST(test_two_samplers_load_one_model) {
  // A bigger random coarse model (~70 MB of weights) from our checkpoint writer.
  vamp::TransformerConfig cfg = vamp::TransformerConfig::preset("tiny-coarse");
  cfg.n_heads = 8;
  cfg.n_layers = 6;
  cfg.embedding_dim = 512;
  const std::string path = scratch("batch_test_coarse_big.pth");
  double model_mb = 0;
  {
    const vamp::Checkpoint ck = vamp::random_transformer_checkpoint(cfg, 5, /*with_lora=*/false);
    vamp::save_checkpoint(path, ck);
    model_mb = double(10 * cfg.embedding_dim * cfg.embedding_dim * cfg.n_layers +
                      cfg.vocab_size * cfg.n_codebooks * cfg.embedding_dim) * 4.0 / (1024.0 * 1024.0);
  }
  const std::string props = "c2f-model=none steps=1 window-frames=8 context-frames=0 ";
  // RSS growth over READY -> PAUSED (where models load) of a pipeline with `n` vampsample.
  auto growth = [&](int n, gconstpointer* sets) {
    std::string launch;
    for (int i = 0; i < n; ++i) launch += branch("s" + std::to_string(i + 1), path, "none", props);
    GstElement* pipe = gst_parse_launch(launch.c_str(), nullptr);
    ck_assert_ptr_ne(pipe, nullptr);
    ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_READY), GST_STATE_CHANGE_FAILURE);
    const double before = rss_mb();
    ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    const double grown = rss_mb() - before;
    for (int i = 0; sets && i < n; ++i) {
      GstElement* e = gst_bin_get_by_name(GST_BIN(pipe), ("s" + std::to_string(i + 1)).c_str());
      sets[i] = model_set(e, "vamp.transformer");
      gst_object_unref(e);
    }
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
    return grown;
  };
  // One vampsample in a fresh child process: what loading this model costs (weights plus the
  // loader's transient buffers that the allocator keeps), then two vampsample here.
  int fds[2];
  ck_assert_int_eq(pipe(fds), 0);
  const pid_t child = fork();
  if (child == 0) {
    const double g = growth(1, nullptr);
    ck_assert_int_eq(write(fds[1], &g, sizeof g), sizeof g);
    _exit(0);
  }
  double one = 0;
  ck_assert_int_eq(read(fds[0], &one, sizeof one), sizeof one);
  waitpid(child, nullptr, 0);
  close(fds[0]);
  close(fds[1]);
  gconstpointer sets[2] = {nullptr, nullptr};
  const double two = growth(2, sets);
  std::printf("model weights %.1f MB; RSS growth: one vampsample %.1f MB, two vampsample %.1f MB\n", model_mb, one, two);
  ck_assert_msg(one > 0.5 * model_mb, "one vampsample grew RSS by %.1f MB: the model (%.1f MB) did not load?", one,
                model_mb);
  ck_assert_msg(two < one + 0.5 * model_mb, "two vampsample grew RSS by %.1f MB, one by %.1f MB: loaded twice?", two,
                one);
  ck_assert_ptr_ne(sets[0], nullptr);
  ck_assert_ptr_eq(sets[0], sets[1]);
  unlink(path.c_str());
}
GST_END_TEST;

GST_START_TEST(test_enc_and_dec_share_codec) {
  const std::string codec = data("codec_a.pth");
  GstElement* pipe = gst_parse_launch(("audiotestsrc num-buffers=4 samplesperbuffer=4410 ! audio/x-raw,rate=44100 ! "
                                       "audioconvert ! vampenc name=enc device=cpu model=" + codec +
                                       " ! vampdec name=dec device=cpu model=" + codec + " ! fakesink sync=false")
                                          .c_str(),
                                      nullptr);
  ck_assert_ptr_ne(pipe, nullptr);
  ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 300 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ck_assert_ptr_ne(m, nullptr);
  ck_assert_int_eq(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
  gst_message_unref(m);
  gst_object_unref(bus);
  GstElement* enc = gst_bin_get_by_name(GST_BIN(pipe), "enc");
  GstElement* dec = gst_bin_get_by_name(GST_BIN(pipe), "dec");
  ck_assert_ptr_ne(model_set(enc, "vamp.codec"), nullptr);
  ck_assert_ptr_eq(model_set(enc, "vamp.codec"), model_set(dec, "vamp.codec"));
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(enc);
  gst_object_unref(dec);
  gst_object_unref(pipe);
}
GST_END_TEST;

GST_START_TEST(test_latency_adds_batch_timeout) {
  GstHarness* h = gst_harness_new_parse(("vampsample codec-model=" + data("codec_a.pth") + " coarse-model=" +
                                         data("coarse_a.pth") + " c2f-model=" + data("c2f_a.pth") +
                                         " device=cpu window-frames=100 processing-latency=500000000 "
                                         "batch-timeout=250000000")
                                            .c_str());
  gst_harness_set_src_caps_str(h, kCaps.c_str());
  gst_harness_set_live(h, TRUE);
  gst_harness_set_upstream_latency(h, 10 * GST_MSECOND);
  GstQuery* q = gst_query_new_latency();
  ck_assert(gst_pad_peer_query(h->sinkpad, q));
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency(q, &live, &min, &max);
  gst_query_unref(q);
  ck_assert_uint_eq(min, 10 * GST_MSECOND + gst_util_uint64_scale(100, 64 * GST_SECOND, 44100) + 500 * GST_MSECOND +
                             250 * GST_MSECOND);
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite* batch_suite() {
  Suite* s = suite_create("vampbatch");
  TCase* tc = tcase_create("shared");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_two_samplers_share_models_and_batch);
  tcase_add_test(tc, test_two_samplers_load_one_model);
  tcase_add_test(tc, test_enc_and_dec_share_codec);
  tcase_add_test(tc, test_latency_adds_batch_timeout);
  suite_add_tcase(s, tc);
  return s;
}

GST_CHECK_MAIN(batch);
