// vampenc / vampdec as users run them: GstHarness pushes audio and tokens, checks codes, audio,
// timestamps, offsets, negotiation, latency and errors. The codec is the golden tiny one
// (codec_a.pth, hop 64), so whole-file results come from the engine directly.
#include "vamp/codec.h"

#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>

#include "element_bus.h"
#include "testfiles.h"
#include <gst/check/gstharness.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

namespace {

using vamp::test::data;
using vamp::test::scratch;

const std::string kCodec = "codec_a.pth";

// A few tones and a noise burst, deterministic.
std::vector<float> test_audio(size_t n) {
  std::vector<float> x(n);
  guint32 seed = 7;
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    const double t = double(i) / 44100.0;
    x[i] = float(0.3 * std::sin(2 * M_PI * 220 * t) + 0.2 * std::sin(2 * M_PI * 1234 * t * (1 + t)) +
                 ((i / 4000) % 3 == 1 ? 0.1 * (double(seed >> 8) / double(1 << 24) - 0.5) : 0.0));
  }
  return x;
}

// n samples starting at sample `first` of the stream, timestamped as a source would.
GstBuffer* float_buffer(const float* x, size_t n, size_t first = 0) {
  GstBuffer* b = gst_buffer_new_allocate(nullptr, n * sizeof(float), nullptr);
  gst_buffer_fill(b, 0, x, n * sizeof(float));
  GST_BUFFER_PTS(b) = gst_util_uint64_scale(first, GST_SECOND, 44100);
  GST_BUFFER_DURATION(b) = gst_util_uint64_scale(first + n, GST_SECOND, 44100) - GST_BUFFER_PTS(b);
  return b;
}

GstHarness* encoder_harness(const std::string& props = "") {
  GstHarness* h = gst_harness_new_parse(("vampenc model=" + data(kCodec) + " " + props).c_str());
  gst_harness_set_src_caps_str(h, "audio/x-raw,format=F32LE,layout=interleaved,rate=44100,channels=1");
  return h;
}

struct Pulled {
  std::vector<uint16_t> tokens;  // [T][K]
  std::vector<GstBuffer*> buffers;
  ~Pulled() {
    for (auto* b : buffers) gst_buffer_unref(b);
  }
};

void pull_all(GstHarness* h, Pulled& out) {
  GstBuffer* b;
  while ((b = gst_harness_try_pull(h))) {
    std::vector<uint16_t> t(gst_buffer_get_size(b) / 2);
    gst_buffer_extract(b, 0, t.data(), t.size() * 2);
    out.tokens.insert(out.tokens.end(), t.begin(), t.end());
    out.buffers.push_back(b);
  }
}

// Encodes `audio` through vampenc in chunks of `chunk` samples.
void encode_stream(const std::vector<float>& audio, size_t chunk, Pulled& out, const std::string& props = "") {
  GstHarness* h = encoder_harness(props);
  for (size_t i = 0; i < audio.size(); i += chunk)
    ck_assert_int_eq(gst_harness_push(h, float_buffer(&audio[i], std::min(chunk, audio.size() - i), i)), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());
  pull_all(h, out);
  gst_harness_teardown(h);
}

at::Tensor whole_file_codes(const std::vector<float>& audio) {
  auto codec = vamp::Codec::load(data(kCodec));
  const int64_t hop = codec->config().hop_length, T = (int64_t(audio.size()) + hop - 1) / hop;
  at::Tensor x = at::zeros({1, 1, T * hop});
  std::copy(audio.begin(), audio.end(), x.data_ptr<float>());
  return codec->encode(x)[0].t().contiguous();  // [T][K]
}

}  // namespace

GST_START_TEST(test_enc_streamed_equals_whole_file) {
  const auto audio = test_audio(20000);  // 312.5 frames of 64: the last one zero-padded
  const at::Tensor whole = whole_file_codes(audio);
  for (size_t chunk : {size_t(441), size_t(1000), size_t(20000)}) {
    Pulled p;
    encode_stream(audio, chunk, p);
    ck_assert_int_eq(p.tokens.size(), whole.numel());
    int64_t differ = 0;
    for (int64_t i = 0; i < whole.numel(); ++i) differ += p.tokens[i] != whole.data_ptr<int64_t>()[i];
    ck_assert_msg(differ == 0, "chunk %zu: %lld of %lld tokens differ", chunk, (long long)differ,
                  (long long)whole.numel());
  }
}
GST_END_TEST;

GST_START_TEST(test_enc_timestamps_and_offsets) {
  const auto audio = test_audio(10000);
  Pulled p;
  encode_stream(audio, 777, p, "frames-per-buffer=5");
  ck_assert(!p.buffers.empty());
  guint64 frame = 0;
  for (GstBuffer* b : p.buffers) {
    const guint64 n = gst_buffer_get_size(b) / (2 * 14);
    ck_assert_uint_eq(GST_BUFFER_OFFSET(b), frame);
    ck_assert_uint_eq(GST_BUFFER_OFFSET_END(b), frame + n);
    ck_assert_uint_eq(GST_BUFFER_PTS(b), gst_util_uint64_scale(frame, 64 * GST_SECOND, 44100));
    ck_assert_uint_eq(GST_BUFFER_DURATION(b), gst_util_uint64_scale(n, 64 * GST_SECOND, 44100));
    frame += n;
  }
  ck_assert_uint_eq(frame, (10000 + 63) / 64);  // EOS flushed the zero-padded last frame
}
GST_END_TEST;

GST_START_TEST(test_enc_caps_and_codebooks) {
  GstHarness* h = encoder_harness("codebooks=4");
  const auto audio = test_audio(4000);
  ck_assert_int_eq(gst_harness_push(h, float_buffer(audio.data(), audio.size())), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  ck_assert(caps != nullptr);
  GstStructure* s = gst_caps_get_structure(caps, 0);
  gint k = 0, hop = 0, size = 0;
  ck_assert(gst_structure_has_name(s, "audio/x-vamp-tokens"));
  ck_assert(gst_structure_get_int(s, "codebooks", &k) && k == 4);
  ck_assert(gst_structure_get_int(s, "hop-length", &hop) && hop == 64);
  ck_assert(gst_structure_get_int(s, "codebook-size", &size) && size == 1024);
  const std::string id = vamp::Codec::load(data(kCodec))->id();
  ck_assert_str_eq(gst_structure_get_string(s, "codec-id"), id.c_str());
  gst_caps_unref(caps);
  Pulled p;
  pull_all(h, p);
  ck_assert_uint_eq(p.tokens.size(), ((4000 + 63) / 64) * 4);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_enc_negotiates_from_48k_stereo) {
  GstHarness* h = gst_harness_new_parse(
      ("audioconvert ! audioresample ! vampenc model=" + data(kCodec)).c_str());
  gst_harness_set_src_caps_str(h, "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=2");
  std::vector<int16_t> pcm(48000 * 2 / 10);  // 0.1 s
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = int16_t(8000 * std::sin(double(i / 2) * 0.05));
  GstBuffer* b = gst_buffer_new_allocate(nullptr, pcm.size() * 2, nullptr);
  gst_buffer_fill(b, 0, pcm.data(), pcm.size() * 2);
  ck_assert_int_eq(gst_harness_push(h, b), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());
  Pulled p;
  pull_all(h, p);
  // 4410 samples at 44.1 kHz (the resampler's own delay aside): about 69 frames
  const size_t frames = p.tokens.size() / 14;
  ck_assert_msg(frames >= 66 && frames <= 70, "%zu frames", frames);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_enc_reports_latency) {
  GstHarness* h = encoder_harness("frames-per-buffer=4");
  gst_harness_set_live(h, TRUE);
  gst_harness_play(h);
  const auto audio = test_audio(1000);
  ck_assert_int_eq(gst_harness_push(h, float_buffer(audio.data(), audio.size())), GST_FLOW_OK);
  auto codec = vamp::Codec::load(data(kCodec));
  const GstClockTime expected =
      gst_util_uint64_scale((codec->encoder_context_frames() + 4) * 64, GST_SECOND, 44100);
  GstClockTime min = 0, max = 0;
  gboolean live = FALSE;
  GstQuery* q = gst_query_new_latency();
  ck_assert(gst_pad_peer_query(h->sinkpad, q));
  gst_query_parse_latency(q, &live, &min, &max);
  gst_query_unref(q);
  ck_assert_uint_eq(min, expected);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_missing_model_fails_cleanly) {
  for (const char* name : {"vampenc", "vampdec"}) {
    GstElement* e = gst_element_factory_make(name, nullptr);
    g_object_set(e, "model", "/nonexistent/codec.pth", nullptr);
    for (int i = 0; i < 3; ++i) {  // NULL <-> READY cycles without touching the model
      ck_assert_int_eq(gst_element_set_state(e, GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
      ck_assert_int_eq(gst_element_set_state(e, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    }
    vamp::test::ElementBus bus(e);
    ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
    const std::string error = bus.error();
    ck_assert_msg(error.find("/nonexistent/codec.pth") != std::string::npos, "%s", error.c_str());
    gst_element_set_state(e, GST_STATE_NULL);
    gst_object_unref(e);
  }
}
GST_END_TEST;

GST_START_TEST(test_corrupt_model_is_an_error) {
  std::ifstream in(data(kCodec), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string path = scratch("corrupt_codec.pth");
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  GstElement* e = gst_element_factory_make("vampdec", nullptr);
  g_object_set(e, "model", path.c_str(), nullptr);
  ck_assert_int_eq(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(e, GST_STATE_NULL);
  gst_object_unref(e);
}
GST_END_TEST;

// --- vampdec ----------------------------------------------------------------------------------

namespace {

std::string token_caps(int k, const std::string& id) {
  return "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=none,rate=44100,hop-length=64,"
         "framerate=44100/64,codebooks=" + std::to_string(k) + ",codebook-size=1024" +
         (id.empty() ? "" : ",codec-id=" + id);
}

GstBuffer* token_buffer(const uint16_t* t, size_t n_tokens) {
  GstBuffer* b = gst_buffer_new_allocate(nullptr, n_tokens * 2, nullptr);
  gst_buffer_fill(b, 0, t, n_tokens * 2);
  return b;
}

}  // namespace

GST_START_TEST(test_dec_streamed_equals_whole_sequence) {
  auto codec = vamp::Codec::load(data(kCodec));
  const int64_t T = 100, K = 14;
  at::Tensor codes = at::randint(0, 1024, {1, K, T}, at::kLong);
  at::Tensor whole = codec->decode(codes).flatten();
  std::vector<uint16_t> frames(T * K);
  at::Tensor tk = codes[0].t().contiguous();
  for (int64_t i = 0; i < T * K; ++i) frames[i] = uint16_t(tk.data_ptr<int64_t>()[i]);

  GstHarness* h = gst_harness_new_parse(("vampdec model=" + data(kCodec)).c_str());
  gst_harness_set_src_caps_str(h, token_caps(K, codec->id()).c_str());
  const int sizes[] = {1, 7, 3, 20, 2, 40, 27};  // any whole number of frames per buffer
  int64_t f = 0;
  for (int s : sizes) {
    GstBuffer* b = token_buffer(&frames[f * K], s * K);
    GST_BUFFER_PTS(b) = gst_util_uint64_scale(f, 64 * GST_SECOND, 44100);
    ck_assert_int_eq(gst_harness_push(h, b), GST_FLOW_OK);
    f += s;
  }
  ck_assert_int_eq(f, T);
  gst_harness_push_event(h, gst_event_new_eos());
  std::vector<float> audio;
  GstBuffer* b;
  while ((b = gst_harness_try_pull(h))) {
    ck_assert_uint_eq(GST_BUFFER_PTS(b), gst_util_uint64_scale(audio.size(), GST_SECOND, 44100));
    std::vector<float> chunk(gst_buffer_get_size(b) / 4);
    gst_buffer_extract(b, 0, chunk.data(), chunk.size() * 4);
    audio.insert(audio.end(), chunk.begin(), chunk.end());
    gst_buffer_unref(b);
  }
  ck_assert_int_eq(audio.size(), T * 64);
  double maxdiff = 0;
  for (int64_t i = 0; i < T * 64; ++i) maxdiff = std::max(maxdiff, double(std::fabs(audio[i] - whole[i].item<float>())));
  ck_assert_msg(maxdiff <= 1e-4, "streamed vs whole decode: max abs diff %g", maxdiff);
  gst_harness_teardown(h);
}
GST_END_TEST;

// A long input buffer (a vampsample window) is decoded as far as its right context allows at once,
// not held until the next buffer makes all of it decodable: that wait would be a window of latency
// the element does not report.
GST_START_TEST(test_dec_outputs_before_the_next_buffer) {
  auto codec = vamp::Codec::load(data(kCodec));
  const int64_t K = 14, ctx = codec->decoder_context_frames(), T = ctx + 40;
  std::vector<uint16_t> frames(2 * T * K, 7);
  GstHarness* h = gst_harness_new_parse(("vampdec model=" + data(kCodec)).c_str());
  gst_harness_set_src_caps_str(h, token_caps(K, codec->id()).c_str());
  size_t samples = 0;
  for (int64_t w = 0; w < 2; ++w) {
    GstBuffer* b = token_buffer(&frames[w * T * K], T * K);
    GST_BUFFER_PTS(b) = gst_util_uint64_scale(w * T, 64 * GST_SECOND, 44100);
    ck_assert_int_eq(gst_harness_push(h, b), GST_FLOW_OK);
    GstBuffer* out;
    while ((out = gst_harness_try_pull(h))) {
      const GstClockTime expected = gst_util_uint64_scale(samples, GST_SECOND, 44100);
      ck_assert_uint_le(GST_BUFFER_PTS(out), expected + 1);  // input PTS rounded on its own
      ck_assert_uint_ge(GST_BUFFER_PTS(out) + 1, expected);
      samples += gst_buffer_get_size(out) / 4;
      gst_buffer_unref(out);
    }
    ck_assert_int_eq(samples, ((w + 1) * T - ctx) * 64);  // all but the last ctx frames
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_dec_gap_gives_silence) {
  auto codec = vamp::Codec::load(data(kCodec));
  GstHarness* h = gst_harness_new_parse(("vampdec model=" + data(kCodec)).c_str());
  gst_harness_set_src_caps_str(h, token_caps(4, codec->id()).c_str());
  std::vector<uint16_t> t(10 * 4, 5);
  ck_assert_int_eq(gst_harness_push(h, token_buffer(t.data(), t.size())), GST_FLOW_OK);
  GstBuffer* gap = token_buffer(t.data(), t.size());
  GST_BUFFER_FLAG_SET(gap, GST_BUFFER_FLAG_GAP);
  ck_assert_int_eq(gst_harness_push(h, gap), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());
  std::vector<float> audio;
  GstBuffer* b;
  while ((b = gst_harness_try_pull(h))) {
    std::vector<float> chunk(gst_buffer_get_size(b) / 4);
    gst_buffer_extract(b, 0, chunk.data(), chunk.size() * 4);
    audio.insert(audio.end(), chunk.begin(), chunk.end());
    gst_buffer_unref(b);
  }
  ck_assert_int_eq(audio.size(), 20 * 64);
  double first = 0, second = 0;
  for (int i = 0; i < 640; ++i) first += std::fabs(audio[i]), second += std::fabs(audio[640 + i]);
  ck_assert_msg(first > 0.01 && second == 0.0, "energy %g then %g", first, second);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_dec_refuses_other_codec_and_bad_tokens) {
  GstHarness* h = gst_harness_new_parse(("vampdec model=" + data(kCodec)).c_str());
  gst_harness_set_src_caps_str(h, token_caps(4, "deadbeef").c_str());
  std::vector<uint16_t> t(4, 1);
  ck_assert_int_ne(gst_harness_push(h, token_buffer(t.data(), t.size())), GST_FLOW_OK);
  gst_harness_teardown(h);

  h = gst_harness_new_parse(("vampdec model=" + data(kCodec)).c_str());
  gst_harness_set_src_caps_str(h, token_caps(4, "").c_str());
  std::vector<uint16_t> bad(4 * 30, 1);
  bad[9] = 1024;  // MASK is not a decodable token
  ck_assert_int_eq(gst_harness_push(h, token_buffer(bad.data(), bad.size())), GST_FLOW_ERROR);
  gst_harness_teardown(h);

  h = gst_harness_new_parse(("vampdec model=" + data(kCodec)).c_str());
  gst_harness_set_src_caps_str(h, token_caps(4, "").c_str());
  ck_assert_int_eq(gst_harness_push(h, token_buffer(bad.data(), 5)), GST_FLOW_ERROR);  // 2.5 bytes/frame off
  gst_harness_teardown(h);
}
GST_END_TEST;

// A raw byte stream (filesrc straight into vampdec) is refused with a sentence that names the fix
// (issue 17: it was "Internal data stream error").
GST_START_TEST(test_dec_refuses_a_byte_stream) {
  GstHarness* h = gst_harness_new_parse(("vampdec model=" + data(kCodec)).c_str());
  vamp::test::ElementBus bus(h->element);
  gst_harness_set_src_caps_str(h, token_caps(4, "").c_str());
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_BYTES);
  gst_harness_push_event(h, gst_event_new_segment(&seg));
  const std::string error = bus.error();
  ck_assert_msg(error.find("vampparse") != std::string::npos, "%s", error.c_str());
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite* codec_elements_suite() {
  Suite* s = suite_create("vampenc-vampdec");
  TCase* tc = tcase_create("elements");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_enc_streamed_equals_whole_file);
  tcase_add_test(tc, test_enc_timestamps_and_offsets);
  tcase_add_test(tc, test_enc_caps_and_codebooks);
  tcase_add_test(tc, test_enc_negotiates_from_48k_stereo);
  tcase_add_test(tc, test_enc_reports_latency);
  tcase_add_test(tc, test_missing_model_fails_cleanly);
  tcase_add_test(tc, test_corrupt_model_is_an_error);
  tcase_add_test(tc, test_dec_streamed_equals_whole_sequence);
  tcase_add_test(tc, test_dec_outputs_before_the_next_buffer);
  tcase_add_test(tc, test_dec_gap_gives_silence);
  tcase_add_test(tc, test_dec_refuses_other_codec_and_bad_tokens);
  tcase_add_test(tc, test_dec_refuses_a_byte_stream);
  suite_add_tcase(s, tc);
  return s;
}

GST_CHECK_MAIN(codec_elements);
