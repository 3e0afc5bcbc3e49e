// rtpvamppay / rtpvampdepay: lossless round trips give the same tokens, timestamps and offsets;
// lost packets become concealed frames so the timeline has no hole (inpaint: masked placeholders,
// repeat, silence: GAP); corrupt, foreign and disagreeing packets are dropped and concealed, never
// crash; RTP caps that do not describe a token stream are a clear error. No models: these
// elements only move tokens.
#include <gst/check/gstcheck.h>

#include "element_bus.h"
#include "testfiles.h"
#include <gst/check/gstharness.h>
#include <gst/rtp/gstrtpbuffer.h>

#include <string>
#include <vector>

namespace {

const int K = 4;
const char* kCaps =
    "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=none,rate=44100,hop-length=768,"
    "framerate=44100/768,codebooks=4,codebook-size=1024,codec-id=0123abcd";
const char* kMaskCaps =
    "audio/x-vamp-tokens,format=U16LE,layout=interleaved,mask=plane,rate=44100,hop-length=768,"
    "framerate=44100/768,codebooks=4,codebook-size=1024,codec-id=0123abcd";
const char* kRtpCaps =
    "application/x-rtp,media=audio,clock-rate=44100,encoding-name=X-VAMP-TOKENS,payload=96,"
    "hop-length=(string)768,codebooks=(string)4,codebook-size=(string)1024,mask=(string)none";

guint16 token_at(guint64 frame, int k) { return guint16((frame * 37 + k * 101) % 1024); }

GstBuffer* token_buffer(guint64 first, size_t n, bool mask) {
  std::vector<guint8> bytes(n * K * (mask ? 3 : 2));
  for (size_t t = 0; t < n; ++t)
    for (int k = 0; k < K; ++k) {
      GST_WRITE_UINT16_LE(&bytes[2 * (t * K + k)], token_at(first + t, k));
      if (mask) bytes[2 * n * K + t * K + k] = guint8((first + t + k) % 2);
    }
  GstBuffer* b = gst_buffer_new_allocate(nullptr, bytes.size(), nullptr);
  gst_buffer_fill(b, 0, bytes.data(), bytes.size());
  GST_BUFFER_PTS(b) = gst_util_uint64_scale(first * 768, GST_SECOND, 44100);
  GST_BUFFER_DURATION(b) = gst_util_uint64_scale((first + n) * 768, GST_SECOND, 44100) - GST_BUFFER_PTS(b);
  GST_BUFFER_OFFSET(b) = first;
  GST_BUFFER_OFFSET_END(b) = first + n;
  return b;
}

// The frames that came out: tokens and mask bytes per frame, with the buffers' offsets checked
// to be continuous from 0 and the PTS to follow the frame index.
struct Frames {
  std::vector<guint16> tokens;
  std::vector<guint8> mask;   // empty without a mask plane
  std::vector<bool> gap;      // per frame: came in a GAP buffer
  size_t count() const { return tokens.size() / K; }
};

Frames pull_all(GstHarness* h, bool has_mask) {
  Frames f;
  GstBuffer* b;
  while ((b = gst_harness_try_pull(h))) {
    const size_t n = gst_buffer_get_size(b) / (has_mask ? 3 * K : 2 * K);
    ck_assert_uint_eq(gst_buffer_get_size(b), n * (has_mask ? 3 * K : 2 * K));
    ck_assert_uint_eq(GST_BUFFER_OFFSET(b), f.count());
    ck_assert_uint_eq(GST_BUFFER_OFFSET_END(b), f.count() + n);
    ck_assert_uint_eq(GST_BUFFER_PTS(b), gst_util_uint64_scale(f.count() * 768, GST_SECOND, 44100));
    std::vector<guint8> bytes(gst_buffer_get_size(b));
    gst_buffer_extract(b, 0, bytes.data(), bytes.size());
    for (size_t i = 0; i < n * K; ++i) f.tokens.push_back(GST_READ_UINT16_LE(&bytes[2 * i]));
    if (has_mask) f.mask.insert(f.mask.end(), bytes.begin() + 2 * n * K, bytes.end());
    f.gap.insert(f.gap.end(), n, GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_GAP));
    gst_buffer_unref(b);
  }
  return f;
}

bool got_eos(GstHarness* h) {
  bool eos = false;
  for (GstEvent* ev; (ev = gst_harness_try_pull_event(h));) {
    eos = eos || GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
  }
  return eos;
}

guint64 stat(GstElement* depay, const char* name) {
  GstStructure* s = nullptr;
  g_object_get(depay, "concealment-stats", &s, nullptr);
  guint64 v = 0;
  ck_assert(gst_structure_get_uint64(s, name, &v));
  gst_structure_free(s);
  return v;
}

// Drops the RTP packets (not the end packets) whose index in the stream is in `lost`.
struct Dropper {
  std::vector<bool> lost;
  size_t seen = 0;
};

GstPadProbeReturn drop_packets(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* d = static_cast<Dropper*>(data);
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  gst_rtp_buffer_map(b, GST_MAP_READ, &rtp);
  const bool end = gst_rtp_buffer_get_payload_len(&rtp) == 6;
  gst_rtp_buffer_unmap(&rtp);
  const size_t i = d->seen++;
  return !end && i < d->lost.size() && d->lost[i] ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

// `frames` frames in buffers of `chunk` through "rtpvamppay mtu=M ! rtpvampdepay ...", losing
// the packets `lost` says.
Frames send(const char* caps, bool mask_in, bool mask_out, const std::string& depay_props,
            size_t frames, size_t chunk, Dropper* dropper, guint64* concealed = nullptr) {
  GstHarness* h = gst_harness_new_parse(("rtpvamppay mtu=100 ! rtpvampdepay " + depay_props).c_str());
  if (dropper) {
    GstElement* pay = gst_harness_find_element(h, "rtpvamppay");
    GstPad* src = gst_element_get_static_pad(pay, "src");
    gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, drop_packets, dropper, nullptr);
    gst_object_unref(src);
    gst_object_unref(pay);
  }
  gst_harness_set_src_caps_str(h, caps);
  for (size_t f = 0; f < frames; f += chunk)
    ck_assert_int_eq(gst_harness_push(h, token_buffer(f, std::min(chunk, frames - f), mask_in)), GST_FLOW_OK);
  gst_harness_push_event(h, gst_event_new_eos());
  Frames out = pull_all(h, mask_out);
  ck_assert(got_eos(h));
  if (concealed) {
    GstElement* depay = gst_harness_find_element(h, "rtpvampdepay");
    *concealed = stat(depay, "frames-concealed");
    gst_object_unref(depay);
  }
  gst_harness_teardown(h);
  return out;
}

}  // namespace

GST_START_TEST(test_lossless_round_trip) {
  // 16 frames of 5 bytes fit a 100-byte MTU: buffers of 40 frames become packets of 16, 16, 8.
  for (bool mask : {false, true}) {
    Frames f = send(mask ? kMaskCaps : kCaps, mask, mask, "concealment=repeat", 200, 40, nullptr);
    ck_assert_uint_eq(f.count(), 200);
    for (size_t t = 0; t < 200; ++t)
      for (int k = 0; k < K; ++k) {
        ck_assert_uint_eq(f.tokens[t * K + k], token_at(t, k));
        if (mask) ck_assert_uint_eq(f.mask[t * K + k], (t + k) % 2);
      }
  }
  // Inpainting concealment always adds a mask plane: received frames are kept (0).
  Frames f = send(kCaps, false, true, "", 50, 50, nullptr);
  ck_assert_uint_eq(f.count(), 50);
  for (guint8 m : f.mask) ck_assert_uint_eq(m, 0);
}
GST_END_TEST;

GST_START_TEST(test_caps_travel_in_rtp_caps) {
  GstHarness* h = gst_harness_new("rtpvamppay");
  gst_harness_set_src_caps_str(h, kMaskCaps);
  ck_assert_int_eq(gst_harness_push(h, token_buffer(0, 3, true)), GST_FLOW_OK);
  GstCaps* caps = gst_pad_get_current_caps(h->sinkpad);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  ck_assert_str_eq(gst_structure_get_string(s, "encoding-name"), "X-VAMP-TOKENS");
  ck_assert_str_eq(gst_structure_get_string(s, "codebooks"), "4");
  ck_assert_str_eq(gst_structure_get_string(s, "codebook-size"), "1024");
  ck_assert_str_eq(gst_structure_get_string(s, "hop-length"), "768");
  ck_assert_str_eq(gst_structure_get_string(s, "mask"), "plane");
  ck_assert_str_eq(gst_structure_get_string(s, "codec-id"), "0123abcd");
  gint rate = 0;
  ck_assert(gst_structure_get_int(s, "clock-rate", &rate));
  ck_assert_int_eq(rate, 44100);
  gst_caps_unref(caps);
  // One packet of 3 frames: 6 header bytes + 3 x ceil(4 x 11 bits / 8) = 6 bytes.
  GstBuffer* b = gst_harness_pull(h);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  ck_assert(gst_rtp_buffer_map(b, GST_MAP_READ, &rtp));
  ck_assert_uint_eq(gst_rtp_buffer_get_payload_len(&rtp), 6 + 3 * 6);
  ck_assert(gst_rtp_buffer_get_marker(&rtp));
  gst_rtp_buffer_unmap(&rtp);
  gst_buffer_unref(b);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_loss_is_concealed) {
  // 300 frames in buffers of 30 (packets of 16 and 14); every 5th packet lost, the first and the
  // last one.
  Dropper d;
  for (size_t i = 0; i < 20; ++i) d.lost.push_back(i % 5 == 2 || i == 0 || i == 19);
  guint64 concealed = 0;
  Frames f = send(kCaps, false, true, "", 300, 30, &d, &concealed);
  ck_assert_uint_eq(f.count(), 300);  // no hole, nothing lost at the end either
  size_t masked_frames = 0;
  for (size_t t = 0; t < 300; ++t) {
    const bool masked = f.mask[t * K] == 1;
    masked_frames += masked;
    for (int k = 0; k < K; ++k) {
      ck_assert_uint_eq(f.mask[t * K + k], masked ? 1 : 0);  // a lost frame: every codebook
      if (!masked) ck_assert_uint_eq(f.tokens[t * K + k], token_at(t, k));
    }
  }
  // Packet 2j holds frames 30j..30j+15, packet 2j+1 frames 30j+16..30j+29: packets 0, 2, 12 (16
  // frames) and 7, 17, 19 (14 frames) were lost.
  ck_assert_uint_eq(masked_frames, 3 * 16 + 3 * 14);
  ck_assert_uint_eq(concealed, masked_frames);
  ck_assert_uint_eq(f.mask[0], 1);        // the stream's start
  ck_assert_uint_eq(f.mask[30 * K], 1);   // packet 2's first frame
  ck_assert_uint_eq(f.mask[299 * K], 1);  // the last frame: concealed up to the end packet
}
GST_END_TEST;

GST_START_TEST(test_repeat_and_silence_concealment) {
  for (const char* how : {"repeat", "silence"}) {
    Dropper d;
    d.lost = {false, true};  // frames 16..29 of the first buffer of 30
    Frames f = send(kCaps, false, false, std::string("concealment=") + how, 60, 30, &d);
    ck_assert_uint_eq(f.count(), 60);
    for (size_t t = 16; t < 30; ++t) {
      ck_assert(f.gap[t] == (std::string(how) == "silence"));
      if (std::string(how) == "repeat")
        for (int k = 0; k < K; ++k) ck_assert_uint_eq(f.tokens[t * K + k], token_at(15, k));
    }
    ck_assert(!f.gap[15] && !f.gap[30]);
  }
}
GST_END_TEST;

// A packet of frames [first, first + n) as rtpvamppay makes them (4 codebooks of 1024: 5 bytes a
// frame), each with the next sequence number; frame indices counted from `origin`.
guint16 next_seq = 0;

guint64 origin = 0;

GstBuffer* packet(guint64 first, size_t n, guint8 pt = 96, guint8 flags = 0) {
  GstBuffer* b = gst_rtp_buffer_new_allocate(guint(6 + 5 * n), 0, 0);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  gst_rtp_buffer_map(b, GST_MAP_WRITE, &rtp);
  gst_rtp_buffer_set_payload_type(&rtp, pt);
  gst_rtp_buffer_set_seq(&rtp, next_seq++);
  gst_rtp_buffer_set_timestamp(&rtp, guint32(1000000 + first * 768));
  guint8* p = static_cast<guint8*>(gst_rtp_buffer_get_payload(&rtp));
  p[0] = guint8(n);
  p[1] = flags;
  GST_WRITE_UINT32_BE(p + 2, guint32(origin + first));
  for (size_t t = 0; t < n; ++t) {
    guint64 bits = 0;
    for (int k = 0; k < K; ++k) bits = (bits << 10) | token_at(first + t, k);
    for (int i = 0; i < 5; ++i) p[6 + 5 * t + i] = guint8(bits >> (32 - 8 * i));
  }
  gst_rtp_buffer_unmap(&rtp);
  GST_BUFFER_PTS(b) = gst_util_uint64_scale(first * 768, GST_SECOND, 44100);
  return b;
}

GST_START_TEST(test_bad_packets_are_dropped_and_concealed) {
  GstHarness* h = gst_harness_new("rtpvampdepay");
  g_object_set(h->element, "concealment", 1 /* repeat */, nullptr);
  gst_harness_set_src_caps_str(h, kRtpCaps);
  ck_assert_int_eq(gst_harness_push(h, packet(0, 4)), GST_FLOW_OK);
  GstBuffer* truncated = packet(4, 4);
  gst_buffer_resize(truncated, 0, gst_buffer_get_size(truncated) - 3);
  gst_harness_push(h, truncated);
  gst_harness_push(h, packet(4, 4, 97));                 // another payload type
  gst_harness_push(h, packet(4, 4, 96, 0x01));           // says it has mask bits: caps say none
  gst_harness_push(h, packet(4, 4, 96, 0x80));           // unknown flag
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  GstBuffer* empty = gst_rtp_buffer_new_allocate(0, 0, 0);  // no payload header at all
  gst_rtp_buffer_map(empty, GST_MAP_WRITE, &rtp);
  gst_rtp_buffer_set_payload_type(&rtp, 96);
  gst_rtp_buffer_set_seq(&rtp, next_seq++);
  gst_rtp_buffer_unmap(&rtp);
  gst_harness_push(h, empty);
  ck_assert_int_eq(gst_harness_push(h, packet(8, 4)), GST_FLOW_OK);
  ck_assert_int_eq(gst_harness_push(h, packet(2, 2)), GST_FLOW_OK);  // late: already output
  gst_harness_push(h, packet(12, 0, 96, 0x02));          // the end
  Frames f = pull_all(h, false);
  ck_assert_uint_eq(f.count(), 12);
  for (size_t t = 0; t < 12; ++t)
    for (int k = 0; k < K; ++k)
      ck_assert_uint_eq(f.tokens[t * K + k], token_at(t < 4 || t >= 8 ? t : 3, k));
  ck_assert(got_eos(h));
  ck_assert_uint_eq(stat(h->element, "packets-dropped"), 5);
  ck_assert_uint_eq(stat(h->element, "packets-late"), 1);
  ck_assert_uint_eq(stat(h->element, "frames-concealed"), 4);
  ck_assert_uint_eq(stat(h->element, "frames-received"), 8);
  gst_harness_teardown(h);

  // A token outside a codebook of 1000 entries (10 bits on the wire): dropped, not passed on.
  h = gst_harness_new("rtpvampdepay");
  std::string caps = kRtpCaps;
  caps.replace(caps.find("(string)1024"), 12, "(string)1000");
  gst_harness_set_src_caps_str(h, caps.c_str());
  GstBuffer* bad_token = packet(0, 4);
  gst_rtp_buffer_map(bad_token, GST_MAP_WRITE, &rtp);
  static_cast<guint8*>(gst_rtp_buffer_get_payload(&rtp))[6] = 0xff;  // first token 1023
  static_cast<guint8*>(gst_rtp_buffer_get_payload(&rtp))[7] = 0xff;
  gst_rtp_buffer_unmap(&rtp);
  gst_harness_push(h, bad_token);
  ck_assert_uint_eq(gst_harness_buffers_received(h), 0);
  ck_assert_uint_eq(stat(h->element, "packets-dropped"), 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

// rtpjitterbuffer's packet-lost event conceals at once; the packet, if it comes after all, is late.
GST_START_TEST(test_packet_lost_event_conceals_at_once) {
  GstHarness* h = gst_harness_new("rtpvampdepay");
  gst_harness_set_src_caps_str(h, kRtpCaps);
  ck_assert_int_eq(gst_harness_push(h, packet(0, 4)), GST_FLOW_OK);
  const GstClockTime t4 = gst_util_uint64_scale(4 * 768, GST_SECOND, 44100);
  const GstClockTime t8 = gst_util_uint64_scale(8 * 768, GST_SECOND, 44100);
  gst_harness_push_event(h, gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new("GstRTPPacketLost", "seqnum", G_TYPE_UINT, 1u, "timestamp", G_TYPE_UINT64,
                        guint64(t4), "duration", G_TYPE_UINT64, guint64(t8 - t4), nullptr)));
  ck_assert_uint_eq(gst_harness_buffers_received(h), 2);  // frames 0..3, then 4..7 concealed
  ck_assert_int_eq(gst_harness_push(h, packet(4, 4)), GST_FLOW_OK);  // late
  ck_assert_int_eq(gst_harness_push(h, packet(8, 4)), GST_FLOW_OK);
  Frames f = pull_all(h, true);
  ck_assert_uint_eq(f.count(), 12);
  for (size_t t = 0; t < 12; ++t) ck_assert_uint_eq(f.mask[t * K], t >= 4 && t < 8 ? 1 : 0);
  ck_assert_uint_eq(stat(h->element, "packets-late"), 1);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_long_gap_restarts) {
  GstHarness* h = gst_harness_new("rtpvampdepay");
  g_object_set(h->element, "max-conceal", guint64(GST_SECOND / 10), nullptr);  // 5 frames
  gst_harness_set_src_caps_str(h, kRtpCaps);
  ck_assert_int_eq(gst_harness_push(h, packet(0, 4)), GST_FLOW_OK);
  ck_assert_int_eq(gst_harness_push(h, packet(100, 4)), GST_FLOW_OK);
  GstBuffer* a = gst_harness_pull(h);
  GstBuffer* b = gst_harness_pull(h);
  ck_assert_uint_eq(GST_BUFFER_OFFSET(b), 100);  // no 96 frames of concealment
  ck_assert(GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(a);
  gst_buffer_unref(b);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_caps_without_token_fields_are_an_error) {
  GstHarness* h = gst_harness_new("rtpvampdepay");
  vamp::test::ElementBus bus(h->element);
  gst_harness_set_src_caps_str(h, "application/x-rtp,media=audio,clock-rate=44100,"
                                  "encoding-name=X-VAMP-TOKENS,payload=96");
  gst_harness_push(h, packet(0, 4));
  const std::string error = bus.error();
  ck_assert_msg(error.find("do not describe a token stream") != std::string::npos, "%s", error.c_str());
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite* rtp_elements_suite() {
  Suite* s = suite_create("rtpvamppay-rtpvampdepay");
  TCase* tc = tcase_create("elements");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_lossless_round_trip);
  tcase_add_test(tc, test_caps_travel_in_rtp_caps);
  tcase_add_test(tc, test_loss_is_concealed);
  tcase_add_test(tc, test_repeat_and_silence_concealment);
  tcase_add_test(tc, test_bad_packets_are_dropped_and_concealed);
  tcase_add_test(tc, test_packet_lost_event_conceals_at_once);
  tcase_add_test(tc, test_long_gap_restarts);
  tcase_add_test(tc, test_caps_without_token_fields_are_an_error);
  suite_add_tcase(s, tc);
  return s;
}

GST_CHECK_MAIN(rtp_elements);
