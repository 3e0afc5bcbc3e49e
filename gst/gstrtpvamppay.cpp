/* GStreamer RTP payloader for VampNet token streams */
/**
 * SECTION:element-rtpvamppay
 * @title: rtpvamppay
 * @see_also: rtpvampdepay, vampenc, vampmask, vampsample
 *
 * Puts an `audio/x-vamp-tokens` stream into RTP packets (encoding-name
 * `X-VAMP-TOKENS`, payload format in docs/caps.md): whole frames per packet,
 * each token in as many bits as its codebook needs (10 for 1024 entries, so 14
 * codebooks take 18 bytes a frame, about 8.3 kbit/s before headers), the mask
 * bits too when the stream has a mask plane. A packet holds the frames of one
 * input buffer, at most as many as fit the `mtu` and `max-ptime`. Each packet
 * carries its first frame's index in the stream (the buffers' OFFSET), so the
 * receiver places every frame exactly; the RTP timestamp counts samples at
 * the codec's rate (clock-rate). The token caps travel in the RTP caps (as
 * strings, so an SDP's fmtp line carries them).
 *
 * At EOS it sends an end packet (no frames, the end flag) three times, so that
 * rtpvampdepay ends its stream (and knows where the stream ended) despite
 * loss: an EOS travels over the network.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=in.wav ! decodebin ! audioconvert ! audioresample ! \
 *     vampenc ! vampmask periodic-prompt=7 ! rtpvamppay ! udpsink host=gpu-host port=5000
 * ]| Sends a masked token stream to a sampling host (pipelines/edge-vary.sh).
 * |[
 * gst-launch-1.0 filesrc location=song.vtok ! vampparse ! identity sync=true ! \
 *     rtpvamppay ! udpsink host=239.1.1.1 port=5000 auto-multicast=true
 * ]| Streams a token file in real time to a multicast group.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtpvamppay.h"

#include "gstvampelements.h"
#include "vamprtp.h"

#include <vector>

GST_DEBUG_CATEGORY_STATIC (gst_rtp_vamp_pay_debug);
#define GST_CAT_DEFAULT gst_rtp_vamp_pay_debug

#define END_PACKETS 3

struct _GstRtpVampPay
{
  GstRTPBasePayload parent;

  /* streaming thread only */
  VampTokensInfo info;
  guint64 next_frame;           /* frame index of the next input frame when OFFSET is unknown */
  gboolean discont;             /* mark the next packet (the first after a discontinuity) */
  GstClockTime end_pts;         /* the end of the last frame sent */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("{ none, plane }")));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media = (string) audio, payload = (int) "
        GST_RTP_PAYLOAD_DYNAMIC_STRING ", clock-rate = (int) [ 1, MAX ], "
        "encoding-name = (string) " VAMP_RTP_ENCODING_NAME));

#define gst_rtp_vamp_pay_parent_class parent_class
G_DEFINE_TYPE (GstRtpVampPay, gst_rtp_vamp_pay, GST_TYPE_RTP_BASE_PAYLOAD);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (rtpvamppay, "rtpvamppay", GST_RANK_NONE,
    GST_TYPE_RTP_VAMP_PAY, vamp_element_init (plugin));

static gboolean gst_rtp_vamp_pay_set_caps (GstRTPBasePayload * payload, GstCaps * caps);
static GstFlowReturn gst_rtp_vamp_pay_handle_buffer (GstRTPBasePayload * payload,
    GstBuffer * buffer);
static gboolean gst_rtp_vamp_pay_sink_event (GstRTPBasePayload * payload, GstEvent * event);

static void
gst_rtp_vamp_pay_class_init (GstRtpVampPayClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstRTPBasePayloadClass *pay_class = GST_RTP_BASE_PAYLOAD_CLASS (klass);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP VampNet token payloader",
      "Codec/Payloader/Network/RTP", "Payloads VampNet token streams into RTP packets",
      "gst-vampnet developers");

  pay_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_vamp_pay_set_caps);
  pay_class->handle_buffer = GST_DEBUG_FUNCPTR (gst_rtp_vamp_pay_handle_buffer);
  pay_class->sink_event = GST_DEBUG_FUNCPTR (gst_rtp_vamp_pay_sink_event);

  GST_DEBUG_CATEGORY_INIT (gst_rtp_vamp_pay_debug, "rtpvamppay", 0,
      "RTP VampNet token payloader");
}

static void
gst_rtp_vamp_pay_init (GstRtpVampPay * self)
{
  self->discont = TRUE;
  self->end_pts = GST_CLOCK_TIME_NONE;
}

static gboolean
gst_rtp_vamp_pay_set_caps (GstRTPBasePayload * payload, GstCaps * caps)
{
  GstRtpVampPay *self = GST_RTP_VAMP_PAY (payload);
  VampTokensInfo info;
  if (!vamp_tokens_info_from_caps (&info, caps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("Not a token stream rtpvamppay can send."),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  self->info = info;
  gst_rtp_base_payload_set_options (payload, "audio", TRUE, VAMP_RTP_ENCODING_NAME, info.rate);
  GstCaps *rtp = vamp_rtp_caps_from_info (&info);
  GstStructure *s = gst_caps_get_structure (rtp, 0);
  /* The base class copies the extra fields into the output caps. */
  gboolean ok = gst_rtp_base_payload_set_outcaps_structure (payload, s);
  gst_caps_unref (rtp);
  return ok;
}

/* Sends frames [0, n) of tokens/mask as one packet starting at frame index `first`. */
static GstBuffer *
gst_rtp_vamp_pay_packet (GstRtpVampPay * self, const uint16_t * tokens, const uint8_t * mask,
    gsize n, guint64 first, GstClockTime pts, guint8 flags)
{
  const gsize frame_bytes = vamp_rtp_frame_bytes (&self->info);
  GstBuffer *out = gst_rtp_base_payload_allocate_output_buffer (GST_RTP_BASE_PAYLOAD (self),
      VAMP_RTP_HEADER_BYTES + n * frame_bytes, 0, 0);
  GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
  gst_rtp_buffer_map (out, GST_MAP_WRITE, &rtp);
  guint8 *p = (guint8 *) gst_rtp_buffer_get_payload (&rtp);
  p[0] = (guint8) n;
  p[1] = flags | (self->info.has_mask ? VAMP_RTP_FLAG_MASK : 0);
  GST_WRITE_UINT32_BE (p + 2, (guint32) first);
  if (n)
    vamp_rtp_pack (&self->info, tokens, mask, n, p + VAMP_RTP_HEADER_BYTES);
  if (self->discont) {
    gst_rtp_buffer_set_marker (&rtp, TRUE);
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  gst_rtp_buffer_unmap (&rtp);
  /* The base class takes the RTP timestamp from OFFSET (perfect-rtptime): samples. */
  GST_BUFFER_OFFSET (out) = first * (guint64) self->info.hop_length;
  GST_BUFFER_PTS (out) = pts;
  GST_BUFFER_DURATION (out) = vamp_tokens_frames_to_time (&self->info, n);
  return out;
}

static GstFlowReturn
gst_rtp_vamp_pay_handle_buffer (GstRTPBasePayload * payload, GstBuffer * buffer)
{
  GstRtpVampPay *self = GST_RTP_VAMP_PAY (payload);
  const VampTokensInfo & info = self->info;
  const gsize size = gst_buffer_get_size (buffer), in_frame = vamp_tokens_frame_bytes (&info);
  if (size % in_frame != 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Token buffer is not a whole number of frames."),
        ("%" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " per frame", size, in_frame));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }
  const gsize n_frames = size / in_frame;
  std::vector<uint16_t> tokens;
  std::vector<uint8_t> mask;
  vamp_tokens_buffer_read (buffer, &info, n_frames, tokens, &mask);
  for (uint16_t t : tokens)
    if (t >= (guint) info.codebook_size) {
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Invalid tokens."),
          ("token %u >= codebook-size %d: MASK tokens do not travel; send the mask plane",
              t, info.codebook_size));
      gst_buffer_unref (buffer);
      return GST_FLOW_ERROR;
    }

  if (GST_BUFFER_IS_DISCONT (buffer))
    self->discont = TRUE;
  guint64 first = GST_BUFFER_OFFSET_IS_VALID (buffer) ? GST_BUFFER_OFFSET (buffer) : self->next_frame;
  const GstClockTime pts = GST_BUFFER_PTS (buffer);

  /* Frames per packet: what the MTU and max-ptime allow. */
  const gsize frame_bytes = vamp_rtp_frame_bytes (&info);
  const guint mtu_payload = gst_rtp_buffer_calc_payload_len (GST_RTP_BASE_PAYLOAD_MTU (payload), 0, 0);
  gsize per_packet = mtu_payload > VAMP_RTP_HEADER_BYTES ?
      (mtu_payload - VAMP_RTP_HEADER_BYTES) / frame_bytes : 0;
  per_packet = MIN (per_packet, VAMP_RTP_MAX_FRAMES);
  const gint64 max_ptime = payload->max_ptime;
  if (max_ptime > 0) {
    const gsize by_time = (gsize) gst_util_uint64_scale (max_ptime, info.rate,
        (guint64) info.hop_length * GST_SECOND);
    per_packet = MIN (per_packet, MAX (by_time, (gsize) 1));
  }
  if (per_packet == 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("The MTU is too small for one token frame."),
        ("mtu %u, a frame takes %" G_GSIZE_FORMAT " bytes", GST_RTP_BASE_PAYLOAD_MTU (payload),
            frame_bytes + VAMP_RTP_HEADER_BYTES));
    gst_buffer_unref (buffer);
    return GST_FLOW_ERROR;
  }

  /* One push per packet: the base class gives all packets of a list one RTP timestamp. */
  GstFlowReturn ret = GST_FLOW_OK;
  const gsize k = (gsize) info.codebooks;
  for (gsize at = 0; at < n_frames && ret == GST_FLOW_OK; at += per_packet) {
    const gsize n = MIN (per_packet, n_frames - at);
    const GstClockTime t = GST_CLOCK_TIME_IS_VALID (pts) ?
        pts + vamp_tokens_frames_to_time (&info, at) : GST_CLOCK_TIME_NONE;
    ret = gst_rtp_base_payload_push (payload, gst_rtp_vamp_pay_packet (self,
            tokens.data () + at * k, info.has_mask ? mask.data () + at * k : nullptr, n,
            first + at, t, 0));
  }
  self->next_frame = first + n_frames;
  if (GST_CLOCK_TIME_IS_VALID (pts))
    self->end_pts = pts + vamp_tokens_frames_to_time (&info, n_frames);
  gst_buffer_unref (buffer);
  return ret;
}

static gboolean
gst_rtp_vamp_pay_sink_event (GstRTPBasePayload * payload, GstEvent * event)
{
  GstRtpVampPay *self = GST_RTP_VAMP_PAY (payload);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      if (self->info.rate > 0) {
        /* The end packet, repeated: the receiver's EOS, and where the stream ended. */
        for (int i = 0; i < END_PACKETS; ++i)
          gst_rtp_base_payload_push (payload, gst_rtp_vamp_pay_packet (self, nullptr, nullptr, 0,
                  self->next_frame, self->end_pts, VAMP_RTP_FLAG_END));
      }
      break;
    case GST_EVENT_FLUSH_STOP:
      self->discont = TRUE;
      break;
    default:
      break;
  }
  return GST_RTP_BASE_PAYLOAD_CLASS (parent_class)->sink_event (payload, event);
}
