// vamptokfilemux / vampparse and the .vtok typefinder: tokens round trip through the file
// format (with and without a mask plane), the header, typefinding, the duration from the file
// size, and clear errors for corrupt or truncated headers and a partial last frame.
// No models: these elements only move bytes.
#include <gst/check/gstcheck.h>

#include "testfiles.h"
#include <gst/check/gstharness.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using vamp::test::scratch;


const char* kCaps =
    "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=none,rate=44100,hop-length=768,"
    "framerate=44100/768,codebooks=4,codebook-size=1024,codec-id=0123abcd";
const char* kMaskCaps =
    "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=plane,rate=44100,hop-length=768,"
    "framerate=44100/768,codebooks=4,codebook-size=1024,codec-id=0123abcd";
const int K = 4;

// n frames of tokens (and with `mask`, a mask plane) starting at frame `first`, in the buffer
// layout: [n][K] U16LE tokens, then [n][K] mask bytes.
GstBuffer* token_buffer(guint64 first, size_t n, bool mask) {
  std::vector<guint8> bytes(n * K * (mask ? 3 : 2));
  for (size_t t = 0; t < n; ++t)
    for (int k = 0; k < K; ++k) {
      const guint16 v = guint16(((first + t) * 37 + k * 101) % 1024);
      GST_WRITE_UINT16_LE(&bytes[2 * (t * K + k)], v);
      if (mask) bytes[2 * n * K + t * K + k] = guint8(((first + t) + k) % 2);
    }
  GstBuffer* b = gst_buffer_new_allocate(nullptr, bytes.size(), nullptr);
  gst_buffer_fill(b, 0, bytes.data(), bytes.size());
  GST_BUFFER_PTS(b) = gst_util_uint64_scale(first * 768, GST_SECOND, 44100);
  GST_BUFFER_DURATION(b) = gst_util_uint64_scale((first + n) * 768, GST_SECOND, 44100) - GST_BUFFER_PTS(b);
  GST_BUFFER_OFFSET(b) = first;
  GST_BUFFER_OFFSET_END(b) = first + n;
  return b;
}

std::vector<guint8> bytes_of(GstBuffer* b) {
  std::vector<guint8> v(gst_buffer_get_size(b));
  gst_buffer_extract(b, 0, v.data(), v.size());
  return v;
}

// Tokens through vamptokfilemux, in buffers of `chunk` frames: the file's bytes.
std::vector<guint8> write_file(const char* caps, size_t frames, size_t chunk, bool mask) {
  GstHarness* h = gst_harness_new("vamptokfilemux");
  gst_harness_set_src_caps_str(h, caps);
  for (size_t f = 0; f < frames; f += chunk)
    ck_assert_int_eq(gst_harness_push(h, token_buffer(f, std::min(chunk, frames - f), mask)), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());
  std::vector<guint8> file;
  GstBuffer* b;
  while ((b = gst_harness_try_pull(h))) {
    ck_assert_uint_eq(GST_BUFFER_OFFSET(b), file.size());
    auto v = bytes_of(b);
    file.insert(file.end(), v.begin(), v.end());
    gst_buffer_unref(b);
  }
  GstCaps* out = gst_pad_get_current_caps(h->sinkpad);
  ck_assert(out != nullptr);
  ck_assert(gst_structure_has_name(gst_caps_get_structure(out, 0), "application/x-vamp-tokfile"));
  gst_caps_unref(out);
  gst_harness_teardown(h);
  return file;
}

struct Parsed {
  std::vector<GstBuffer*> buffers;
  GstCaps* caps = nullptr;
  GstMessage* error = nullptr;
  bool eos = false;  // EOS went downstream
  ~Parsed() {
    for (auto* b : buffers) gst_buffer_unref(b);
    if (caps) gst_caps_unref(caps);
    if (error) gst_message_unref(error);
  }
  std::vector<guint8> all() const {
    std::vector<guint8> v;
    for (auto* b : buffers) {
      auto x = bytes_of(b);
      v.insert(v.end(), x.begin(), x.end());
    }
    return v;
  }
};

// The bytes of a file through vampparse (pushed in pieces of `piece` bytes).
void parse_bytes(const std::vector<guint8>& file, size_t piece, Parsed& out, int frames_per_buffer = 32) {
  GstHarness* h = gst_harness_new("vampparse");
  g_object_set(h->element, "frames-per-buffer", frames_per_buffer, NULL);
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  // A byte stream: stream-start, caps and a BYTES segment, as filesrc sends them.
  gst_harness_push_event(h, gst_event_new_stream_start("tokfile"));
  gst_harness_push_event(h, gst_event_new_caps(gst_caps_new_empty_simple("application/x-vamp-tokfile")));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_BYTES);
  gst_harness_push_event(h, gst_event_new_segment(&seg));
  for (size_t i = 0; i < file.size(); i += piece) {
    const size_t n = std::min(piece, file.size() - i);
    GstBuffer* b = gst_buffer_new_allocate(nullptr, n, nullptr);
    gst_buffer_fill(b, 0, &file[i], n);
    GST_BUFFER_OFFSET(b) = i;
    if (gst_harness_push(h, b) != GST_FLOW_OK) break;
  }
  gst_harness_push_event(h, gst_event_new_eos());
  GstBuffer* b;
  while ((b = gst_harness_try_pull(h))) out.buffers.push_back(b);
  for (GstEvent* ev; (ev = gst_harness_try_pull_event(h));) {
    out.eos = out.eos || GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
  }
  out.caps = gst_pad_get_current_caps(h->sinkpad);
  out.error = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}

std::string error_text(GstMessage* m) {
  GError* err = nullptr;
  gchar* dbg = nullptr;
  gst_message_parse_error(m, &err, &dbg);
  std::string s = std::string(err->message) + " | " + (dbg ? dbg : "");
  g_error_free(err);
  g_free(dbg);
  return s;
}

size_t header_size(const std::vector<guint8>& file) { return 12 + GST_READ_UINT32_LE(&file[8]); }

}  // namespace

GST_START_TEST(test_header_layout) {
  auto file = write_file(kCaps, 10, 3, false);
  ck_assert(file.size() > 12);
  ck_assert(memcmp(file.data(), "VTOK", 4) == 0);
  ck_assert_uint_eq(GST_READ_UINT16_LE(&file[4]), 1);
  const size_t h = header_size(file);
  ck_assert_uint_eq(file.size(), h + 10 * K * 2);
  GstCaps* caps = gst_caps_from_string(std::string((const char*)&file[12], h - 12).c_str());
  GstCaps* expect = gst_caps_from_string(kCaps);
  ck_assert_msg(gst_caps_is_equal(caps, expect), "header caps %s", gst_caps_to_string(caps));
  gst_caps_unref(caps);
  gst_caps_unref(expect);
  // Frames follow the header as they came in (no mask: the buffer layout is the file layout).
  GstBuffer* ref = token_buffer(0, 10, false);
  auto v = bytes_of(ref);
  ck_assert(memcmp(&file[h], v.data(), v.size()) == 0);
  gst_buffer_unref(ref);
}
GST_END_TEST;

GST_START_TEST(test_round_trip) {
  for (bool mask : {false, true}) {
    const size_t frames = 77;
    auto file = write_file(mask ? kMaskCaps : kCaps, frames, 5, mask);
    ck_assert_uint_eq(file.size(), header_size(file) + frames * K * (mask ? 3 : 2));
    for (size_t piece : {size_t(1), size_t(7), size_t(4096)}) {
      Parsed p;
      parse_bytes(file, piece, p, 16);
      ck_assert_msg(p.error == nullptr, "unexpected error: %s", p.error ? error_text(p.error).c_str() : "");
      GstCaps* expect = gst_caps_from_string(mask ? kMaskCaps : kCaps);
      ck_assert_msg(p.caps && gst_caps_is_equal(p.caps, expect), "caps %s",
                    p.caps ? gst_caps_to_string(p.caps) : "none");
      gst_caps_unref(expect);
      // Every buffer in the buffer layout, timestamped and offset like vampenc's.
      guint64 next = 0;
      for (auto* b : p.buffers) {
        const size_t n = gst_buffer_get_size(b) / (K * (mask ? 3 : 2));
        ck_assert(n >= 1 && n <= 16);
        ck_assert_uint_eq(GST_BUFFER_OFFSET(b), next);
        ck_assert_uint_eq(GST_BUFFER_OFFSET_END(b), next + n);
        ck_assert_uint_eq(GST_BUFFER_PTS(b), gst_util_uint64_scale(next * 768, GST_SECOND, 44100));
        ck_assert_uint_eq(GST_BUFFER_DURATION(b),
                          gst_util_uint64_scale((next + n) * 768, GST_SECOND, 44100) - GST_BUFFER_PTS(b));
        GstBuffer* ref = token_buffer(next, n, mask);
        ck_assert_msg(bytes_of(ref) == bytes_of(b), "frames %llu+%zu differ (mask %d, piece %zu)",
                      (unsigned long long)next, n, mask, piece);
        gst_buffer_unref(ref);
        next += n;
      }
      ck_assert_uint_eq(next, frames);
    }
  }
}
GST_END_TEST;

GST_START_TEST(test_typefind) {
  // filesrc ! typefind finds a token file by its magic (and not a file that only resembles one).
  auto file = write_file(kCaps, 4, 4, false);
  std::vector<guint8> other(file);
  other[3] = 'X';
  for (int good : {1, 0}) {
    const std::string path = scratch(good ? "tokfile-typefind.vtok" : "tokfile-typefind.bin");
    const auto& bytes = good ? file : other;
    ck_assert(g_file_set_contents(path.c_str(), (const gchar*)bytes.data(), gssize(bytes.size()), nullptr));
    GstElement* pipe = gst_parse_launch(("filesrc location=" + path + " ! typefind name=tf ! fakesink").c_str(), nullptr);
    ck_assert(pipe != nullptr);
    gst_element_set_state(pipe, GST_STATE_PAUSED);
    gst_element_get_state(pipe, nullptr, nullptr, 10 * GST_SECOND);
    GstElement* tf = gst_bin_get_by_name(GST_BIN(pipe), "tf");
    GstCaps* caps = nullptr;
    g_object_get(tf, "caps", &caps, NULL);
    const bool ours = caps && g_strcmp0(gst_structure_get_name(gst_caps_get_structure(caps, 0)),
                                        "application/x-vamp-tokfile") == 0;
    ck_assert_msg(ours == bool(good), "%s: typefind gave %s", path.c_str(), caps ? gst_caps_to_string(caps) : "nothing");
    if (caps) gst_caps_unref(caps);
    gst_object_unref(tf);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
  }
}
GST_END_TEST;

// filesrc ! typefind ! vampparse: caps from the header, duration from the file size, and
// filesrc ! vampparse ! vampmask suffix= (which needs that duration) works.
GST_START_TEST(test_file_pipeline_duration) {
  const size_t frames = 100;
  auto file = write_file(kCaps, frames, 10, false);
  const std::string path = scratch("tokfile-test.vtok");
  ck_assert(g_file_set_contents(path.c_str(), (const gchar*)file.data(), gssize(file.size()), nullptr));
  const std::string desc = "filesrc location=" + path + " ! typefind ! vampparse ! fakesink name=sink sync=false";
  GstElement* pipe = gst_parse_launch(desc.c_str(), nullptr);
  ck_assert(pipe != nullptr);
  ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  ck_assert_int_eq(gst_element_get_state(pipe, nullptr, nullptr, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  gint64 dur = -1;
  ck_assert(gst_element_query_duration(pipe, GST_FORMAT_TIME, &dur));
  ck_assert_int_eq(dur, (gint64)gst_util_uint64_scale(frames * 768, GST_SECOND, 44100));
  // Seek to frame 50 and play to the end.
  ck_assert(gst_element_seek_simple(pipe, GST_FORMAT_TIME, GstSeekFlags(GST_SEEK_FLAG_FLUSH),
                                    gst_util_uint64_scale(50 * 768, GST_SECOND, 44100)));
  ck_assert_int_ne(gst_element_set_state(pipe, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                             GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ck_assert(m != nullptr);
  ck_assert_msg(GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS, "error: %s", error_text(m).c_str());
  gst_message_unref(m);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipe), "sink");
  GstSample* last = nullptr;
  g_object_get(sink, "last-sample", &last, NULL);
  ck_assert(last != nullptr);
  ck_assert_uint_eq(GST_BUFFER_OFFSET_END(gst_sample_get_buffer(last)), frames);
  gst_sample_unref(last);
  gst_object_unref(sink);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
}
GST_END_TEST;

GST_START_TEST(test_truncated_header_is_an_error) {
  auto file = write_file(kCaps, 4, 4, false);
  const size_t h = header_size(file);
  for (size_t keep : {size_t(3), size_t(8), size_t(12), h - 1}) {
    std::vector<guint8> cut(file.begin(), file.begin() + keep);
    Parsed p;
    parse_bytes(cut, 5, p);
    ck_assert_msg(p.error != nullptr, "no error for a header cut at %zu bytes", keep);
    const std::string text = error_text(p.error);
    ck_assert_msg(text.find("Truncated token file header") != std::string::npos,
                  "cut at %zu: %s", keep, text.c_str());
    ck_assert(p.buffers.empty());
  }
}
GST_END_TEST;

// An empty file pushed (filesrc in push mode) is a truncated header: the first error on the bus
// says so, and no EOS goes downstream before it (an app would read EOS as success; issue 17).
GST_START_TEST(test_empty_file_is_a_truncated_header) {
  Parsed p;
  parse_bytes({}, 1, p);
  ck_assert(p.error != nullptr);
  const std::string text = error_text(p.error);
  ck_assert_msg(text.find("Truncated token file header") != std::string::npos, "%s", text.c_str());
  ck_assert(!p.eos);
}
GST_END_TEST;

// A header and nothing after it (an empty stream recorded), pushed and pulled: said in words,
// before any EOS.
GST_START_TEST(test_header_only_file_holds_no_frames) {
  std::vector<guint8> file = write_file(kCaps, 3, 3, false);
  file.resize(header_size(file));
  Parsed p;
  parse_bytes(file, 7, p);
  ck_assert(p.error != nullptr);
  std::string text = error_text(p.error);
  ck_assert_msg(text.find("The token file holds no frames") != std::string::npos, "%s", text.c_str());
  ck_assert(!p.eos);
  const std::string path = scratch("tokfile-header-only.vtok");
  ck_assert(g_file_set_contents(path.c_str(), reinterpret_cast<const gchar*>(file.data()), gssize(file.size()), nullptr));
  GstElement* pipe = gst_parse_launch(("filesrc location=" + path + " ! vampparse ! fakesink").c_str(), nullptr);
  gst_element_set_state(pipe, GST_STATE_PAUSED);
  GstBus* bus = gst_element_get_bus(pipe);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                             GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ck_assert(m != nullptr && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR);
  text = error_text(m);
  ck_assert_msg(text.find("The token file holds no frames") != std::string::npos, "%s", text.c_str());
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipe, GST_STATE_NULL);
  gst_object_unref(pipe);
}
GST_END_TEST;

// The same file read the usual way (filesrc ! vampparse pulls): the first error says so too.
GST_START_TEST(test_empty_file_pulled_is_a_truncated_header) {
  const std::string path = scratch("tokfile-empty.vtok");
  for (const char* contents : {"", "VTO"}) {  // empty, and shorter than any header
    ck_assert(g_file_set_contents(path.c_str(), contents, gssize(strlen(contents)), nullptr));
    GstElement* pipe = gst_parse_launch(("filesrc location=" + path + " ! vampparse ! fakesink").c_str(), nullptr);
    ck_assert(pipe != nullptr);
    gst_element_set_state(pipe, GST_STATE_PAUSED);
    GstBus* bus = gst_element_get_bus(pipe);
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                               GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ck_assert(m != nullptr && GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR);
    const std::string text = error_text(m);
    ck_assert_msg(text.find("Truncated token file header") != std::string::npos, "%s", text.c_str());
    gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);
  }
}
GST_END_TEST;

GST_START_TEST(test_corrupt_header_is_an_error) {
  auto good = write_file(kCaps, 4, 4, false);
  struct Case {
    const char* what;
    void (*spoil)(std::vector<guint8>&);
    const char* expect;
  } cases[] = {
      {"magic", [](std::vector<guint8>& f) { f[0] = 'X'; }, "not a vamp token file"},
      {"version", [](std::vector<guint8>& f) { GST_WRITE_UINT16_LE(&f[4], 7); }, "version 7"},
      {"length", [](std::vector<guint8>& f) { GST_WRITE_UINT32_LE(&f[8], 1u << 30); }, "caps length"},
      {"caps", [](std::vector<guint8>& f) { memcpy(&f[12], "video/x-raw", 11); }, "not valid token caps"},
      // Bytes that are not UTF-8: the detail still arrives, with them escaped.
      {"bytes", [](std::vector<guint8>& f) { f[12] = 0xff, f[13] = 0xfe; }, "\\377\\376"},
  };
  for (const auto& c : cases) {
    auto file = good;
    c.spoil(file);
    Parsed p;
    parse_bytes(file, 4096, p);
    ck_assert_msg(p.error != nullptr, "no error for a corrupt %s", c.what);
    const std::string text = error_text(p.error);
    ck_assert_msg(text.find("Corrupt token file header") != std::string::npos &&
                      text.find(c.expect) != std::string::npos,
                  "%s: %s", c.what, text.c_str());
    ck_assert(p.buffers.empty());
  }
  // Caps that GStreamer parses but outside the token ranges (K 1..64, codebook-size 1..65535)
  // are a corrupt header too, not a failed negotiation ("Internal data stream error", issue 17).
  const size_t h = header_size(good);
  for (const auto& [from, to] : {std::pair<std::string, std::string>{"codebooks=4", "codebooks=99"},
                                 {"codebook-size=1024", "codebook-size=70000"}}) {
    std::string caps = kCaps;
    caps.replace(caps.find(from), from.size(), to);
    std::vector<guint8> file(good.begin(), good.begin() + 8);
    guint8 len[4];
    GST_WRITE_UINT32_LE(len, guint32(caps.size()));
    file.insert(file.end(), len, len + 4);
    file.insert(file.end(), caps.begin(), caps.end());
    file.insert(file.end(), good.begin() + long(h), good.end());
    Parsed p;
    parse_bytes(file, 4096, p);
    ck_assert_msg(p.error != nullptr, "no error for %s", to.c_str());
    const std::string text = error_text(p.error);
    ck_assert_msg(text.find("Corrupt token file header") != std::string::npos, "%s: %s", to.c_str(), text.c_str());
    ck_assert(p.buffers.empty());
  }
}
GST_END_TEST;

GST_START_TEST(test_partial_last_frame_is_an_error) {
  auto file = write_file(kCaps, 10, 10, false);
  file.resize(file.size() - 3);  // 9 whole frames and 5 bytes of the 10th
  Parsed p;
  parse_bytes(file, 4096, p);
  ck_assert(p.error != nullptr);
  const std::string text = error_text(p.error);
  ck_assert_msg(text.find("partial frame") != std::string::npos, "%s", text.c_str());
  size_t frames = 0;
  for (auto* b : p.buffers) frames += gst_buffer_get_size(b) / (K * 2);
  ck_assert_uint_eq(frames, 9);  // the whole frames before it still come out
}
GST_END_TEST;

GST_START_TEST(test_mux_refuses_partial_frames_and_caps_changes) {
  GstHarness* h = gst_harness_new("vamptokfilemux");
  GstBus* bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, kCaps);
  ck_assert_int_eq(gst_harness_push(h, token_buffer(0, 2, false)), GST_FLOW_OK);
  GstBuffer* bad = gst_buffer_new_allocate(nullptr, 5, nullptr);
  gst_buffer_memset(bad, 0, 0, 5);
  ck_assert_int_eq(gst_harness_push(h, bad), GST_FLOW_ERROR);
  GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  ck_assert(m != nullptr);
  gst_message_unref(m);
  // Other caps after the header: refused.
  GstCaps* other = gst_caps_from_string(kMaskCaps);
  gst_pad_push_event(h->srcpad, gst_event_new_caps(other));
  gst_caps_unref(other);
  m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  ck_assert(m != nullptr);
  ck_assert(error_text(m).find("caps changed") != std::string::npos);
  gst_message_unref(m);
  gst_element_set_bus(h->element, nullptr);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite* tokfile_elements_suite() {
  Suite* s = suite_create("vamptokfilemux-vampparse");
  TCase* tc = tcase_create("elements");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_header_layout);
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_typefind);
  tcase_add_test(tc, test_file_pipeline_duration);
  tcase_add_test(tc, test_truncated_header_is_an_error);
  tcase_add_test(tc, test_corrupt_header_is_an_error);
  tcase_add_test(tc, test_empty_file_is_a_truncated_header);
  tcase_add_test(tc, test_empty_file_pulled_is_a_truncated_header);
  tcase_add_test(tc, test_header_only_file_holds_no_frames);
  tcase_add_test(tc, test_partial_last_frame_is_an_error);
  tcase_add_test(tc, test_mux_refuses_partial_frames_and_caps_changes);
  suite_add_tcase(s, tc);
  return s;
}

GST_CHECK_MAIN(tokfile_elements);
