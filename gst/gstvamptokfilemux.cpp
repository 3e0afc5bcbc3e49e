/* GStreamer VampNet token file writer: audio/x-vamp-tokens -> .vtok */
/**
 * SECTION:element-vamptokfilemux
 * @title: vamptokfilemux
 * @see_also: vampparse, vampenc, vampsample
 *
 * Wraps a token stream in the VampNet token file format (`.vtok`,
 * `application/x-vamp-tokfile`; docs/token-file.md): a header holding the
 * token caps goes out in front of the first frame, then the frames follow as
 * fixed-size records (tokens, then the frame's mask bytes with `mask=plane`).
 * Send it to `filesink` to store tokens; `vampparse` reads them back.
 *
 * The output is a byte stream (a BYTES segment from 0, buffer OFFSET = byte
 * position), so it also streams over `tcpserversink`, `fdsink` and the like.
 * A file holds one caps: a caps change after the header is refused, and a
 * buffer that is not a whole number of frames is an error.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.wav ! decodebin ! audioconvert ! audioresample ! \
 *     vampenc codebooks=1 ! vamptokfilemux ! filesink location=in.vtok
 * ]| Stores the lowest codebook of a file (generative compression, ~920 bit/s).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvamptokfilemux.h"

#include "gstvampelements.h"
#include "vamptokens.h"
#include "vamptokfile.h"

GST_DEBUG_CATEGORY_STATIC (gst_vamp_tok_file_mux_debug);
#define GST_CAT_DEFAULT gst_vamp_tok_file_mux_debug

struct _GstVampTokFileMux
{
  GstElement parent;
  GstPad *sinkpad, *srcpad;

  /* streaming thread only */
  gboolean have_info;
  VampTokensInfo info;
  gboolean header_written;
  gboolean segment_sent;
  guint64 bytes_out;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("{ none, plane }")));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS (VAMP_TOKFILE_MEDIA_TYPE ", version = (int) 1"));

#define gst_vamp_tok_file_mux_parent_class parent_class
G_DEFINE_TYPE (GstVampTokFileMux, gst_vamp_tok_file_mux, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (vamptokfilemux, "vamptokfilemux", GST_RANK_NONE,
    GST_TYPE_VAMP_TOK_FILE_MUX, vamp_element_init (plugin));

static GstStateChangeReturn gst_vamp_tok_file_mux_change_state (GstElement * element,
    GstStateChange transition);
static GstFlowReturn gst_vamp_tok_file_mux_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buf);
static gboolean gst_vamp_tok_file_mux_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event);

static void
gst_vamp_tok_file_mux_class_init (GstVampTokFileMuxClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "VampNet token file writer",
      "Codec/Muxer/Audio", "Writes a VampNet token stream as a token file (.vtok)",
      "gst-vampnet developers");
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_vamp_tok_file_mux_change_state);

  GST_DEBUG_CATEGORY_INIT (gst_vamp_tok_file_mux_debug, "vamptokfilemux", 0,
      "VampNet token file writer");
}

static void
gst_vamp_tok_file_mux_reset (GstVampTokFileMux * self)
{
  self->have_info = FALSE;
  self->header_written = FALSE;
  self->segment_sent = FALSE;
  self->bytes_out = 0;
  memset (&self->info, 0, sizeof (self->info));
}

static void
gst_vamp_tok_file_mux_init (GstVampTokFileMux * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_vamp_tok_file_mux_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_vamp_tok_file_mux_sink_event));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  gst_vamp_tok_file_mux_reset (self);
}

static GstStateChangeReturn
gst_vamp_tok_file_mux_change_state (GstElement * element, GstStateChange transition)
{
  GstVampTokFileMux *self = GST_VAMP_TOK_FILE_MUX (element);
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_vamp_tok_file_mux_reset (self);
  return ret;
}

static void
gst_vamp_tok_file_mux_send_segment (GstVampTokFileMux * self)
{
  if (self->segment_sent)
    return;
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  gst_pad_push_event (self->srcpad, gst_event_new_segment (&segment));
  self->segment_sent = TRUE;
}

static gboolean
gst_vamp_tok_file_mux_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstVampTokFileMux *self = GST_VAMP_TOK_FILE_MUX (parent);
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      VampTokensInfo info;
      gst_event_parse_caps (event, &caps);
      if (!vamp_tokens_info_from_caps (&info, caps)) {
        GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
            ("invalid token caps %" GST_PTR_FORMAT, caps));
        gst_event_unref (event);
        return FALSE;
      }
      if (self->header_written && (info.codebooks != self->info.codebooks ||
              info.has_mask != self->info.has_mask || info.rate != self->info.rate ||
              info.hop_length != self->info.hop_length ||
              info.codebook_size != self->info.codebook_size ||
              g_strcmp0 (info.codec_id, self->info.codec_id))) {
        GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("The token caps changed mid-file."),
            ("a token file holds one caps; new caps %" GST_PTR_FORMAT, caps));
        gst_event_unref (event);
        return FALSE;
      }
      self->info = info;
      self->have_info = TRUE;
      gst_event_unref (event);
      if (gst_pad_has_current_caps (self->srcpad))
        return TRUE;
      GstCaps *out = gst_static_pad_template_get_caps (&src_template);
      gboolean ok = gst_pad_push_event (self->srcpad, gst_event_new_caps (out));
      gst_caps_unref (out);
      return ok;
    }
    case GST_EVENT_SEGMENT:
      /* The output is one byte stream from 0, whatever the token segment says. */
      gst_event_unref (event);
      gst_vamp_tok_file_mux_send_segment (self);
      return TRUE;
    case GST_EVENT_FLUSH_STOP:
      self->segment_sent = FALSE;
      return gst_pad_event_default (pad, parent, event);
    default:
      return gst_pad_event_default (pad, parent, event);
  }
}

static GstFlowReturn
gst_vamp_tok_file_mux_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstVampTokFileMux *self = GST_VAMP_TOK_FILE_MUX (parent);
  if (!self->have_info) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("no caps before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const gsize size = gst_buffer_get_size (buf), frame_bytes = vamp_tokfile_frame_bytes (&self->info);
  if (size % frame_bytes != 0) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Token buffer is not a whole number of frames."),
        ("%" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " per frame", size, frame_bytes));
    return GST_FLOW_ERROR;
  }
  gst_vamp_tok_file_mux_send_segment (self);

  if (!self->header_written) {
    GstBuffer *header = vamp_tokfile_header_new (&self->info);
    GST_BUFFER_FLAG_SET (header, GST_BUFFER_FLAG_HEADER);
    GST_BUFFER_FLAG_SET (header, GST_BUFFER_FLAG_DISCONT);
    GST_BUFFER_OFFSET (header) = 0;
    GST_BUFFER_OFFSET_END (header) = gst_buffer_get_size (header);
    self->bytes_out = gst_buffer_get_size (header);
    self->header_written = TRUE;
    GstFlowReturn ret = gst_pad_push (self->srcpad, header);
    if (ret != GST_FLOW_OK) {
      gst_buffer_unref (buf);
      return ret;
    }
  }
  if (size == 0) {
    gst_buffer_unref (buf);
    return GST_FLOW_OK;
  }

  GstBuffer *out;
  if (self->info.has_mask) {
    /* Buffer layout (tokens, then mask plane) -> per-frame records. */
    out = gst_buffer_new_allocate (NULL, size, NULL);
    GstMapInfo in_map, out_map;
    gst_buffer_map (buf, &in_map, GST_MAP_READ);
    gst_buffer_map (out, &out_map, GST_MAP_WRITE);
    vamp_tokfile_buffer_to_file (&self->info, in_map.data, out_map.data, size / frame_bytes);
    gst_buffer_unmap (out, &out_map);
    gst_buffer_unmap (buf, &in_map);
    gst_buffer_copy_into (out, buf, GST_BUFFER_COPY_TIMESTAMPS, 0, (gsize) - 1);
    gst_buffer_unref (buf);
  } else {
    out = gst_buffer_make_writable (buf);
  }
  GST_BUFFER_FLAG_UNSET (out, GST_BUFFER_FLAG_DISCONT);
  GST_BUFFER_FLAG_UNSET (out, GST_BUFFER_FLAG_GAP);
  GST_BUFFER_OFFSET (out) = self->bytes_out;
  GST_BUFFER_OFFSET_END (out) = self->bytes_out + size;
  self->bytes_out += size;
  return gst_pad_push (self->srcpad, out);
}
