/* GStreamer RTP depayloader for VampNet token streams, with generative loss concealment */
/**
 * SECTION:element-rtpvampdepay
 * @title: rtpvampdepay
 * @see_also: rtpvamppay, vampsample, vampdec, rtpjitterbuffer
 *
 * Takes the RTP packets of rtpvamppay (encoding-name `X-VAMP-TOKENS`) back to
 * an `audio/x-vamp-tokens` stream. Frames are placed by the frame index each
 * packet carries, so the output timeline has no hole: frames that never
 * arrived (a gap in the indices, frames before the first packet when the
 * stream's start is within `max-conceal`, or the jitterbuffer's packet-lost
 * event) are replaced as `concealment` says:
 *
 * - `inpaint` (default): placeholder frames with every token masked (the
 *   output has a mask plane; received frames keep their mask bits, or are all
 *   kept). A vampsample downstream regenerates the lost frames from the music
 *   around them, as it fills any mask. The placeholders repeat the last frame
 *   received, so without a vampsample they play as `repeat`.
 * - `repeat`: the last frame received, repeated.
 * - `silence`: GAP buffers; vampdec outputs silence for them.
 *
 * Gaps longer than `max-conceal` are not filled: the stream restarts there
 * (DISCONT). Packets that are truncated, of another payload type, disagree
 * with the caps or hold tokens outside the codebook are dropped (and then
 * concealed like lost ones), and counted in `concealment-stats`. The end
 * packets of rtpvamppay end the stream with EOS.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 udpsrc port=5000 caps="application/x-rtp,media=audio,clock-rate=44100,\
 *     encoding-name=X-VAMP-TOKENS,payload=96,hop-length=(string)768,codebooks=(string)14,\
 *     codebook-size=(string)1024,mask=(string)plane" ! rtpjitterbuffer latency=200 ! \
 *     rtpvampdepay ! vampsample ! vampdec ! audioconvert ! autoaudiosink
 * ]| Receives a masked token stream, conceals lost packets generatively, plays it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstrtpvampdepay.h"

#include "gstvampelements.h"
#include "vamprtp.h"

#include <gst/rtp/gstrtpbuffer.h>

#include <vector>

GST_DEBUG_CATEGORY_STATIC (gst_rtp_vamp_depay_debug);
#define GST_CAT_DEFAULT gst_rtp_vamp_depay_debug

#define DEFAULT_CONCEALMENT GST_RTP_VAMP_CONCEALMENT_INPAINT
#define DEFAULT_MAX_CONCEAL (2 * GST_SECOND)

enum
{
  PROP_0,
  PROP_CONCEALMENT,
  PROP_MAX_CONCEAL,
  PROP_CONCEALMENT_STATS,
};

struct _GstRtpVampDepay
{
  GstRTPBaseDepayload parent;

  /* properties, object lock */
  GstRtpVampConcealment concealment;
  guint64 max_conceal;
  guint64 frames_received, frames_concealed, packets_dropped, packets_late;

  /* streaming thread only */
  VampTokensInfo wire;          /* what the packets carry */
  VampTokensInfo out;           /* what goes downstream */
  gint pt;                      /* the caps' payload type, -1 if none */
  gboolean started, ended, discont;
  gint64 sender_frame;          /* the last packet's first frame, in the sender's count */
  gint64 base_frame;            /* the sender's index of our frame 0 */
  GstClockTime base_pts;        /* PTS of frame 0 */
  guint64 next_frame;           /* the frame the output continues with */
  guint64 pushed_end;           /* OFFSET_END of the last buffer pushed, -1 before the first */
  std::vector<uint16_t> last;   /* the last frame received */
};

GType
gst_rtp_vamp_concealment_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_RTP_VAMP_CONCEALMENT_INPAINT, "Masked placeholder frames for vampsample to regenerate",
        "inpaint"},
    {GST_RTP_VAMP_CONCEALMENT_REPEAT, "Repeat the last frame received", "repeat"},
    {GST_RTP_VAMP_CONCEALMENT_SILENCE, "GAP buffers (silence from vampdec)", "silence"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstRtpVampConcealment", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("application/x-rtp, media = (string) audio, clock-rate = (int) [ 1, MAX ], "
        "encoding-name = (string) " VAMP_RTP_ENCODING_NAME));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("{ none, plane }")));

#define gst_rtp_vamp_depay_parent_class parent_class
G_DEFINE_TYPE (GstRtpVampDepay, gst_rtp_vamp_depay, GST_TYPE_RTP_BASE_DEPAYLOAD);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (rtpvampdepay, "rtpvampdepay", GST_RANK_NONE,
    GST_TYPE_RTP_VAMP_DEPAY, vamp_element_init (plugin));

static void gst_rtp_vamp_depay_finalize (GObject * object);
static void gst_rtp_vamp_depay_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_rtp_vamp_depay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static GstStateChangeReturn gst_rtp_vamp_depay_change_state (GstElement * element,
    GstStateChange transition);
static gboolean gst_rtp_vamp_depay_set_caps (GstRTPBaseDepayload * depay, GstCaps * caps);
static GstBuffer *gst_rtp_vamp_depay_process (GstRTPBaseDepayload * depay, GstRTPBuffer * rtp);
static gboolean gst_rtp_vamp_depay_packet_lost (GstRTPBaseDepayload * depay, GstEvent * event);
static gboolean gst_rtp_vamp_depay_handle_event (GstRTPBaseDepayload * depay, GstEvent * event);

static void
gst_rtp_vamp_depay_class_init (GstRtpVampDepayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstRTPBaseDepayloadClass *depay_class = GST_RTP_BASE_DEPAYLOAD_CLASS (klass);

  gobject_class->set_property = gst_rtp_vamp_depay_set_property;
  gobject_class->get_property = gst_rtp_vamp_depay_get_property;
  gobject_class->finalize = gst_rtp_vamp_depay_finalize;

  g_object_class_install_property (gobject_class, PROP_CONCEALMENT,
      g_param_spec_enum ("concealment", "Concealment",
          "What replaces frames that were lost on the way", GST_TYPE_RTP_VAMP_CONCEALMENT,
          DEFAULT_CONCEALMENT,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_MAX_CONCEAL,
      g_param_spec_uint64 ("max-conceal", "Max conceal",
          "Longest loss filled, in ns; a longer gap restarts the stream there (DISCONT)", 0,
          G_MAXUINT64, DEFAULT_MAX_CONCEAL,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_CONCEALMENT_STATS,
      g_param_spec_boxed ("concealment-stats", "Concealment statistics",
          "frames-received, frames-concealed, packets-dropped (corrupt, wrong payload type, "
          "disagreeing with the caps), packets-late (arrived after their frames were concealed)",
          GST_TYPE_STRUCTURE, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RTP VampNet token depayloader",
      "Codec/Depayloader/Network/RTP",
      "Extracts VampNet token streams from RTP packets, concealing lost frames",
      "gst-vampnet developers");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_rtp_vamp_depay_change_state);
  depay_class->set_caps = GST_DEBUG_FUNCPTR (gst_rtp_vamp_depay_set_caps);
  depay_class->process_rtp_packet = GST_DEBUG_FUNCPTR (gst_rtp_vamp_depay_process);
  depay_class->packet_lost = GST_DEBUG_FUNCPTR (gst_rtp_vamp_depay_packet_lost);
  depay_class->handle_event = GST_DEBUG_FUNCPTR (gst_rtp_vamp_depay_handle_event);

  GST_DEBUG_CATEGORY_INIT (gst_rtp_vamp_depay_debug, "rtpvampdepay", 0,
      "RTP VampNet token depayloader");
  gst_type_mark_as_plugin_api (GST_TYPE_RTP_VAMP_CONCEALMENT, (GstPluginAPIFlags) 0);
}

static void
gst_rtp_vamp_depay_reset (GstRtpVampDepay * self)
{
  self->started = FALSE;
  self->ended = FALSE;
  self->discont = TRUE;
  self->next_frame = 0;
  self->pushed_end = G_MAXUINT64;
  self->last.clear ();
}

/* The base class marks DISCONT after a sequence gap; where the gap was concealed the timeline goes
 * on without one (vampdec would otherwise restart its context there). */
static GstPadProbeReturn
gst_rtp_vamp_depay_src_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstRtpVampDepay *self = GST_RTP_VAMP_DEPAY (user_data);
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  const gboolean continues = GST_BUFFER_OFFSET (buf) == self->pushed_end;
  self->pushed_end = GST_BUFFER_OFFSET_END (buf);
  if (continues && GST_BUFFER_FLAG_IS_SET (buf, GST_BUFFER_FLAG_DISCONT)) {
    buf = gst_buffer_make_writable (buf);
    GST_BUFFER_FLAG_UNSET (buf, GST_BUFFER_FLAG_DISCONT);
    GST_PAD_PROBE_INFO_DATA (info) = buf;
  }
  return GST_PAD_PROBE_OK;
}

static void
gst_rtp_vamp_depay_init (GstRtpVampDepay * self)
{
  gst_pad_add_probe (GST_RTP_BASE_DEPAYLOAD_SRCPAD (self), GST_PAD_PROBE_TYPE_BUFFER,
      gst_rtp_vamp_depay_src_probe, self, NULL);
  new (&self->last) std::vector<uint16_t> ();   /* GObject instances are not constructed */
  self->concealment = DEFAULT_CONCEALMENT;
  self->max_conceal = DEFAULT_MAX_CONCEAL;
  self->pt = -1;
  gst_rtp_vamp_depay_reset (self);
}

static void
gst_rtp_vamp_depay_finalize (GObject * object)
{
  GST_RTP_VAMP_DEPAY (object)->last.~vector ();
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_rtp_vamp_depay_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstRtpVampDepay *self = GST_RTP_VAMP_DEPAY (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CONCEALMENT:
      self->concealment = (GstRtpVampConcealment) g_value_get_enum (value);
      break;
    case PROP_MAX_CONCEAL:
      self->max_conceal = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_rtp_vamp_depay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstRtpVampDepay *self = GST_RTP_VAMP_DEPAY (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_CONCEALMENT:
      g_value_set_enum (value, self->concealment);
      break;
    case PROP_MAX_CONCEAL:
      g_value_set_uint64 (value, self->max_conceal);
      break;
    case PROP_CONCEALMENT_STATS:
      g_value_take_boxed (value, gst_structure_new ("application/x-rtp-vamp-depay-stats",
              "frames-received", G_TYPE_UINT64, self->frames_received,
              "frames-concealed", G_TYPE_UINT64, self->frames_concealed,
              "packets-dropped", G_TYPE_UINT64, self->packets_dropped,
              "packets-late", G_TYPE_UINT64, self->packets_late, NULL));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_rtp_vamp_depay_change_state (GstElement * element, GstStateChange transition)
{
  GstRtpVampDepay *self = GST_RTP_VAMP_DEPAY (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    gst_rtp_vamp_depay_reset (self);
    GST_OBJECT_LOCK (self);
    self->frames_received = self->frames_concealed = self->packets_dropped = self->packets_late = 0;
    GST_OBJECT_UNLOCK (self);
  }
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static gboolean
gst_rtp_vamp_depay_set_caps (GstRTPBaseDepayload * depay, GstCaps * caps)
{
  GstRtpVampDepay *self = GST_RTP_VAMP_DEPAY (depay);
  const gchar *why = nullptr;
  VampTokensInfo wire;
  if (!vamp_rtp_info_from_caps (&wire, caps, &why)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("The RTP caps do not describe a token stream: %s. "
            "Give udpsrc the caps rtpvamppay negotiated (docs/caps.md, RTP).", why),
        ("caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_get_int (s, "payload", &self->pt))
    self->pt = -1;
  GST_OBJECT_LOCK (self);
  const gboolean inpaint = self->concealment == GST_RTP_VAMP_CONCEALMENT_INPAINT;
  GST_OBJECT_UNLOCK (self);
  self->wire = wire;
  self->out = wire;
  self->out.has_mask = wire.has_mask || inpaint;
  GstCaps *out = vamp_tokens_info_to_caps (&self->out);
  const gboolean ok = gst_pad_set_caps (GST_RTP_BASE_DEPAYLOAD_SRCPAD (depay), out);
  gst_caps_unref (out);
  return ok;
}

/* A buffer of frames [first, first + n) of the output timeline. */
static GstBuffer *
gst_rtp_vamp_depay_frames (GstRtpVampDepay * self, guint64 first, gsize n,
    const std::vector<uint16_t> & tokens, const std::vector<uint8_t> & mask)
{
  const gsize k = (gsize) self->out.codebooks;
  std::vector<uint16_t> all (tokens.begin (), tokens.begin () + n * k);
  GstBuffer *buf = vamp_tokens_buffer_new (all);
  if (self->out.has_mask) {
    const gsize tokens_size = gst_buffer_get_size (buf);
    gst_buffer_append_memory (buf, gst_allocator_alloc (NULL, n * k, NULL));
    gst_buffer_fill (buf, tokens_size, mask.data (), n * k);
  }
  const GstClockTime start = vamp_tokens_frames_to_time (&self->out, first);
  GST_BUFFER_PTS (buf) = GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_IS_VALID (self->base_pts) ?
      self->base_pts + start : GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = vamp_tokens_frames_to_time (&self->out, first + n) - start;
  GST_BUFFER_OFFSET (buf) = first;
  GST_BUFFER_OFFSET_END (buf) = first + n;
  if (self->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    self->discont = FALSE;
  }
  return buf;
}

/* Fills frames [next_frame, end) as `concealment` says and pushes them. */
static GstFlowReturn
gst_rtp_vamp_depay_conceal (GstRtpVampDepay * self, guint64 end)
{
  if (end <= self->next_frame)
    return GST_FLOW_OK;
  const gsize n = (gsize) (end - self->next_frame), k = (gsize) self->out.codebooks;
  GST_OBJECT_LOCK (self);
  const GstRtpVampConcealment how = self->concealment;
  self->frames_concealed += n;
  GST_OBJECT_UNLOCK (self);
  GST_DEBUG_OBJECT (self, "concealing frames %" G_GUINT64_FORMAT " .. %" G_GUINT64_FORMAT,
      self->next_frame, end);
  std::vector<uint16_t> tokens (n * k, 0);
  if (self->last.size () == k)
    for (gsize t = 0; t < n; ++t)
      std::copy (self->last.begin (), self->last.end (), tokens.begin () + t * k);
  const std::vector<uint8_t> mask (n * k, how == GST_RTP_VAMP_CONCEALMENT_INPAINT ? 1 : 0);
  GstBuffer *buf = gst_rtp_vamp_depay_frames (self, self->next_frame, n, tokens, mask);
  if (how == GST_RTP_VAMP_CONCEALMENT_SILENCE)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_GAP);
  self->next_frame = end;
  return gst_rtp_base_depayload_push (GST_RTP_BASE_DEPAYLOAD (self), buf);
}

static guint64
gst_rtp_vamp_depay_max_gap_frames (GstRtpVampDepay * self)
{
  GST_OBJECT_LOCK (self);
  const guint64 max = self->max_conceal;
  GST_OBJECT_UNLOCK (self);
  return gst_util_uint64_scale (max, self->out.rate, (guint64) self->out.hop_length * GST_SECOND);
}

static void
gst_rtp_vamp_depay_drop (GstRtpVampDepay * self, const gchar * why, GstRTPBuffer * rtp)
{
  GST_WARNING_OBJECT (self, "dropping packet %u: %s", gst_rtp_buffer_get_seq (rtp), why);
  GST_OBJECT_LOCK (self);
  self->packets_dropped++;
  GST_OBJECT_UNLOCK (self);
}

static GstBuffer *
gst_rtp_vamp_depay_process (GstRTPBaseDepayload * depay, GstRTPBuffer * rtp)
{
  GstRtpVampDepay *self = GST_RTP_VAMP_DEPAY (depay);
  if (self->ended || self->wire.rate <= 0)
    return NULL;
  if (self->pt >= 0 && gst_rtp_buffer_get_payload_type (rtp) != self->pt) {
    gst_rtp_vamp_depay_drop (self, "another payload type", rtp);
    return NULL;
  }
  const guint len = gst_rtp_buffer_get_payload_len (rtp);
  const guint8 *p = (const guint8 *) gst_rtp_buffer_get_payload (rtp);
  const gsize frame_bytes = vamp_rtp_frame_bytes (&self->wire);
  if (len < VAMP_RTP_HEADER_BYTES || len != VAMP_RTP_HEADER_BYTES + p[0] * frame_bytes) {
    gst_rtp_vamp_depay_drop (self, "truncated or padded", rtp);
    return NULL;
  }
  const guint8 flags = p[1];
  if ((flags & ~(VAMP_RTP_FLAG_MASK | VAMP_RTP_FLAG_END)) ||
      !(flags & VAMP_RTP_FLAG_MASK) != !self->wire.has_mask) {
    gst_rtp_vamp_depay_drop (self, "flags disagree with the caps", rtp);
    return NULL;
  }
  const gsize n = p[0];
  std::vector<uint16_t> tokens;
  std::vector<uint8_t> mask;
  if (!vamp_rtp_unpack (&self->wire, p + VAMP_RTP_HEADER_BYTES, n, tokens, mask)) {
    gst_rtp_vamp_depay_drop (self, "tokens outside the codebook", rtp);
    return NULL;
  }

  /* Where the packet's frames lie on the output timeline: the sender's frame index, extended
   * past 2^32 from the previous packet's. */
  const guint32 index = GST_READ_UINT32_BE (p + 2);
  const gint64 max_gap = (gint64) gst_rtp_vamp_depay_max_gap_frames (self);
  if (!self->started) {
    self->started = TRUE;
    self->sender_frame = index;
    /* Frames lost before the first packet are concealed when the stream's start is near. */
    self->base_frame = index <= max_gap ? 0 : index;
    const GstClockTime pts = GST_BUFFER_PTS (rtp->buffer),
        ahead = vamp_tokens_frames_to_time (&self->wire, (guint64) (index - self->base_frame));
    self->base_pts = !GST_CLOCK_TIME_IS_VALID (pts) ? pts : pts > ahead ? pts - ahead : 0;
  } else {
    self->sender_frame += (gint32) (index - (guint32) self->sender_frame);
  }
  if (self->sender_frame - self->base_frame + max_gap < (gint64) self->next_frame) {
    /* Far behind what was output: the sender restarted. Go on from here (DISCONT). */
    GST_INFO_OBJECT (self, "the sender's frame index went back to %" G_GINT64_FORMAT ": restarting",
        self->sender_frame);
    self->base_frame = self->sender_frame - (gint64) self->next_frame;
    self->discont = TRUE;
  }
  if (self->sender_frame < self->base_frame) {  /* from before our frame 0 */
    GST_OBJECT_LOCK (self);
    self->packets_late++;
    GST_OBJECT_UNLOCK (self);
    return NULL;
  }
  guint64 first = (guint64) (self->sender_frame - self->base_frame);
  GST_LOG_OBJECT (self, "packet %u: frames %" G_GUINT64_FORMAT " + %" G_GSIZE_FORMAT ", flags %x",
      gst_rtp_buffer_get_seq (rtp), first, n, flags);
  if (first > self->next_frame) {
    if (first - self->next_frame <= (guint64) max_gap) {
      if (gst_rtp_vamp_depay_conceal (self, first) != GST_FLOW_OK)
        return NULL;
    } else {
      GST_INFO_OBJECT (self, "gap of %" G_GUINT64_FORMAT " frames: restarting there",
          first - self->next_frame);
      self->next_frame = first;
      self->discont = TRUE;
    }
  }
  /* Frames already output (a late packet, or frames concealed before it came) are skipped. */
  gsize skip = 0;
  if (first < self->next_frame) {
    skip = (gsize) MIN (self->next_frame - first, (guint64) n);
    if (skip == n && n > 0) {
      GST_OBJECT_LOCK (self);
      self->packets_late++;
      GST_OBJECT_UNLOCK (self);
    }
  }
  GstBuffer *out = NULL;
  const gsize k = (gsize) self->wire.codebooks;
  if (n > skip) {
    tokens.erase (tokens.begin (), tokens.begin () + skip * k);
    if (self->wire.has_mask)
      mask.erase (mask.begin (), mask.begin () + skip * k);
    else
      mask.assign ((n - skip) * k, 0);
    out = gst_rtp_vamp_depay_frames (self, first + skip, n - skip, tokens, mask);
    self->last.assign (tokens.end () - k, tokens.end ());
    self->next_frame = first + n;
    GST_OBJECT_LOCK (self);
    self->frames_received += n - skip;
    GST_OBJECT_UNLOCK (self);
  }
  if (flags & VAMP_RTP_FLAG_END) {
    GST_INFO_OBJECT (self, "end of stream after %" G_GUINT64_FORMAT " frames", self->next_frame);
    self->ended = TRUE;
    if (out)
      gst_rtp_base_depayload_push (depay, out);
    gst_pad_push_event (GST_RTP_BASE_DEPAYLOAD_SRCPAD (depay), gst_event_new_eos ());
    return NULL;
  }
  return out;
}

/* The jitterbuffer gave up on a packet: conceal up to the end of its time now, not when the next
 * packet comes (a packet that does come later loses the frames concealed meanwhile). */
static gboolean
gst_rtp_vamp_depay_packet_lost (GstRTPBaseDepayload * depay, GstEvent * event)
{
  GstRtpVampDepay *self = GST_RTP_VAMP_DEPAY (depay);
  GstClockTime ts = GST_CLOCK_TIME_NONE, duration = 0;
  const GstStructure *s = gst_event_get_structure (event);
  gst_structure_get_clock_time (s, "timestamp", &ts);
  gst_structure_get_clock_time (s, "duration", &duration);
  if (!self->started || self->ended || !GST_CLOCK_TIME_IS_VALID (ts) ||
      !GST_CLOCK_TIME_IS_VALID (self->base_pts) || ts + duration <= self->base_pts)
    return TRUE;
  const guint64 end = gst_util_uint64_scale_round (ts + duration - self->base_pts,
      self->out.rate, (guint64) self->out.hop_length * GST_SECOND);
  if (end > self->next_frame && end - self->next_frame <= gst_rtp_vamp_depay_max_gap_frames (self))
    gst_rtp_vamp_depay_conceal (self, end);
  return TRUE;
}

static gboolean
gst_rtp_vamp_depay_handle_event (GstRTPBaseDepayload * depay, GstEvent * event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    gst_rtp_vamp_depay_reset (GST_RTP_VAMP_DEPAY (depay));
  return GST_RTP_BASE_DEPAYLOAD_CLASS (parent_class)->handle_event (depay, event);
}
