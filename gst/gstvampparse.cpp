/* GStreamer VampNet token file parser: .vtok -> audio/x-vamp-tokens */
/**
 * SECTION:element-vampparse
 * @title: vampparse
 * @see_also: vamptokfilemux, vampdec, vampsample
 *
 * Reads a VampNet token file (`.vtok`, `application/x-vamp-tokfile`, written by
 * vamptokfilemux; format in docs/token-file.md): the header carries the token
 * caps, so no caps need to be written by hand. Outputs `audio/x-vamp-tokens`
 * buffers of up to `frames-per-buffer` frames with PTS, DURATION and
 * OFFSET/OFFSET_END (absolute frame indices) set as vampenc sets them.
 *
 * The duration is known from the file size (answered to duration queries, so
 * `vampmask suffix=` works on a file), and the element seeks in TIME (it is a
 * GstBaseParse). A file that is not a token file, a corrupt or truncated header,
 * or a partial last frame stop the pipeline with a GST_ELEMENT_ERROR that says
 * which.
 *
 * The plugin also registers a typefinder for the `VTOK` magic, so `typefind`
 * and `decodebin` recognise the files (the elements have rank NONE, so decodebin
 * does not plug a decoder by itself).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=song.vtok ! vampparse ! vampdec ! audioconvert ! \
 *     wavenc ! filesink location=song.wav
 * ]| Decodes a token file to audio.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampparse.h"

#include "gstvampelements.h"
#include "vamptokens.h"
#include "vamptokfile.h"

GST_DEBUG_CATEGORY_STATIC (gst_vamp_parse_debug);
#define GST_CAT_DEFAULT gst_vamp_parse_debug

#define DEFAULT_FRAMES_PER_BUFFER 32

enum
{
  PROP_0,
  PROP_FRAMES_PER_BUFFER,
};

struct _GstVampParse
{
  GstBaseParse parent;
  gint frames_per_buffer;

  /* stream state, streaming thread only */
  gboolean have_header;
  gsize header_size;
  VampTokensInfo info;
  gsize frame_bytes;
  guint64 next_frame;           /* index of the next frame when offsets are unknown */
  gboolean errored;             /* an error was posted */
  gboolean sent_frames;         /* a frame went downstream */
  gboolean bytes_upstream;      /* upstream segment in BYTES: frame->offset is a file position */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKFILE_MEDIA_TYPE));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("{ none, plane }")));

#define gst_vamp_parse_parent_class parent_class
G_DEFINE_TYPE (GstVampParse, gst_vamp_parse, GST_TYPE_BASE_PARSE);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (vampparse, "vampparse", GST_RANK_NONE,
    GST_TYPE_VAMP_PARSE, vamp_element_init (plugin));

static void gst_vamp_parse_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_vamp_parse_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static gboolean gst_vamp_parse_start (GstBaseParse * parse);
static GstFlowReturn gst_vamp_parse_handle_frame (GstBaseParse * parse,
    GstBaseParseFrame * frame, gint * skipsize);
static gboolean gst_vamp_parse_sink_event (GstBaseParse * parse, GstEvent * event);
static gboolean gst_vamp_parse_convert (GstBaseParse * parse, GstFormat src_format,
    gint64 src_value, GstFormat dest_format, gint64 * dest_value);

static void
gst_vamp_parse_class_init (GstVampParseClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseParseClass *parse_class = GST_BASE_PARSE_CLASS (klass);

  gobject_class->set_property = gst_vamp_parse_set_property;
  gobject_class->get_property = gst_vamp_parse_get_property;

  g_object_class_install_property (gobject_class, PROP_FRAMES_PER_BUFFER,
      g_param_spec_int ("frames-per-buffer", "Frames per buffer",
          "Token frames per output buffer (at most; the last buffer may hold fewer)", 1, 100000,
          DEFAULT_FRAMES_PER_BUFFER,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "VampNet token file parser",
      "Codec/Parser/Audio", "Reads VampNet token files (.vtok) as a token stream",
      "gst-vampnet developers");

  parse_class->start = GST_DEBUG_FUNCPTR (gst_vamp_parse_start);
  parse_class->handle_frame = GST_DEBUG_FUNCPTR (gst_vamp_parse_handle_frame);
  parse_class->convert = GST_DEBUG_FUNCPTR (gst_vamp_parse_convert);
  parse_class->sink_event = GST_DEBUG_FUNCPTR (gst_vamp_parse_sink_event);

  GST_DEBUG_CATEGORY_INIT (gst_vamp_parse_debug, "vampparse", 0, "VampNet token file parser");
}

static void
gst_vamp_parse_init (GstVampParse * self)
{
  self->frames_per_buffer = DEFAULT_FRAMES_PER_BUFFER;
  GST_PAD_SET_ACCEPT_INTERSECT (GST_BASE_PARSE_SINK_PAD (self));
  GST_PAD_SET_ACCEPT_TEMPLATE (GST_BASE_PARSE_SINK_PAD (self));
}

static void
gst_vamp_parse_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstVampParse *self = GST_VAMP_PARSE (object);
  switch (prop_id) {
    case PROP_FRAMES_PER_BUFFER:
      self->frames_per_buffer = g_value_get_int (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
gst_vamp_parse_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstVampParse *self = GST_VAMP_PARSE (object);
  switch (prop_id) {
    case PROP_FRAMES_PER_BUFFER:
      g_value_set_int (value, self->frames_per_buffer);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static gboolean
gst_vamp_parse_start (GstBaseParse * parse)
{
  GstVampParse *self = GST_VAMP_PARSE (parse);
  self->have_header = FALSE;
  self->header_size = 0;
  self->frame_bytes = 0;
  self->next_frame = 0;
  self->bytes_upstream = FALSE;
  self->errored = FALSE;
  self->sent_frames = FALSE;
  memset (&self->info, 0, sizeof (self->info));
  gst_base_parse_set_min_frame_size (parse, VAMP_TOKFILE_FIXED_HEADER);
  gst_base_parse_set_syncable (parse, TRUE);  /* frames have a fixed size: any frame boundary is a sync point */
  gst_base_parse_set_has_timing_info (parse, TRUE);
  /* Pulling from a file (the usual filesrc ! vampparse), upstream is active by now and knows the
   * file's size: one too short for a header never reaches handle_frame, and the base class
   * would only say "No valid frames found". */
  gint64 bytes = -1;
  if (gst_pad_peer_query_duration (GST_BASE_PARSE_SINK_PAD (parse), GST_FORMAT_BYTES, &bytes)
      && bytes >= 0 && bytes < VAMP_TOKFILE_FIXED_HEADER) {
    self->errored = TRUE;
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Truncated token file header."),
        ("the file has %" G_GINT64_FORMAT " bytes; a token file header takes at least %d", bytes,
            VAMP_TOKFILE_FIXED_HEADER));
    return FALSE;
  }
  return TRUE;
}

/* A header and no frames: said before the base class says "No valid frames found" (pulled, the
 * file size tells at the header; pushed, at EOS, which is then not passed on). */
static void
gst_vamp_parse_no_frames (GstVampParse * self)
{
  self->errored = TRUE;
  GST_ELEMENT_ERROR (self, STREAM, DECODE, ("The token file holds no frames."),
      ("a header of %" G_GSIZE_FORMAT " bytes and nothing after it (an empty recording)",
          self->header_size));
}

static gboolean
gst_vamp_parse_sink_event (GstBaseParse * parse, GstEvent * event)
{
  GstVampParse *self = GST_VAMP_PARSE (parse);
  if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT) {
    const GstSegment *segment;
    gst_event_parse_segment (event, &segment);
    self->bytes_upstream = segment->format == GST_FORMAT_BYTES;
  }
  /* A file too short for its header never reaches a frame: say so, and do not pass EOS on (it
   * would read as success before the error, and the base class would add "No valid frames"). */
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && !self->have_header && !self->errored) {
    self->errored = TRUE;
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Truncated token file header."),
        ("the stream ended before the token file header"));
    gst_event_unref (event);
    return TRUE;
  }
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS && self->have_header && !self->sent_frames &&
      !self->errored) {
    gst_vamp_parse_no_frames (self);
    gst_event_unref (event);
    return TRUE;
  }
  return GST_BASE_PARSE_CLASS (parent_class)->sink_event (parse, event);
}

/* Reads the header at the start of the file: sets the source caps and the duration. */
static GstFlowReturn
gst_vamp_parse_header (GstVampParse * self, GstBaseParseFrame * frame, const guint8 * data,
    gsize size)
{
  GstBaseParse *parse = GST_BASE_PARSE (self);
  gsize header_size = 0;
  GstCaps *caps = NULL;
  gchar *error = NULL;
  switch (vamp_tokfile_parse_header (data, size, &header_size, &self->info, &caps, &error)) {
    case VAMP_TOKFILE_CORRUPT:
      self->errored = TRUE;
      GST_ELEMENT_ERROR (self, STREAM, WRONG_TYPE, ("Corrupt token file header."), ("%s", error));
      g_free (error);
      return GST_FLOW_ERROR;
    case VAMP_TOKFILE_NEED_DATA:
      if (GST_BASE_PARSE_DRAINING (parse)) {
        self->errored = TRUE;
        GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Truncated token file header."),
            ("the file ends after %" G_GSIZE_FORMAT " bytes; its header needs %" G_GSIZE_FORMAT,
                size, header_size));
        return GST_FLOW_ERROR;
      }
      gst_base_parse_set_min_frame_size (parse, (guint) header_size);
      return GST_FLOW_OK;
    case VAMP_TOKFILE_OK:
      break;
  }
  GST_INFO_OBJECT (self, "token file: %" G_GSIZE_FORMAT " header bytes, caps %" GST_PTR_FORMAT,
      header_size, caps);
  self->header_size = header_size;
  self->frame_bytes = vamp_tokfile_frame_bytes (&self->info);
  self->have_header = TRUE;
  gst_pad_set_caps (GST_BASE_PARSE_SRC_PAD (self), caps);
  gst_caps_unref (caps);
  gst_base_parse_set_min_frame_size (parse, (guint) self->frame_bytes);

  /* Exact duration from the file size, when upstream knows it. */
  gint64 bytes = -1, duration = -1;
  if (gst_pad_peer_query_duration (GST_BASE_PARSE_SINK_PAD (self), GST_FORMAT_BYTES, &bytes) &&
      bytes >= (gint64) header_size &&
      gst_vamp_parse_convert (parse, GST_FORMAT_BYTES, bytes, GST_FORMAT_TIME, &duration))
    gst_base_parse_set_duration (parse, GST_FORMAT_TIME, duration, 0);
  if (bytes == (gint64) header_size) {
    gst_vamp_parse_no_frames (self);
    return GST_FLOW_ERROR;
  }

  frame->flags |= GST_BASE_PARSE_FRAME_FLAG_DROP;
  return gst_base_parse_finish_frame (parse, frame, (gint) header_size);
}

static GstFlowReturn
gst_vamp_parse_handle_frame (GstBaseParse * parse, GstBaseParseFrame * frame, gint * skipsize)
{
  GstVampParse *self = GST_VAMP_PARSE (parse);
  /* In pull mode and after a BYTES segment, frame->offset is the position in the file. */
  const gboolean file_offsets = frame->offset != GST_BUFFER_OFFSET_NONE && (self->bytes_upstream ||
      GST_PAD_MODE (GST_BASE_PARSE_SINK_PAD (parse)) == GST_PAD_MODE_PULL);
  GstMapInfo map;
  if (!gst_buffer_map (frame->buffer, &map, GST_MAP_READ))
    return GST_FLOW_ERROR;
  *skipsize = 0;

  if (!self->have_header) {
    if (file_offsets && frame->offset != 0) {
      self->errored = TRUE;
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Token file data without its header."),
          ("the first data arrived at byte %" G_GUINT64_FORMAT, frame->offset));
      gst_buffer_unmap (frame->buffer, &map);
      return GST_FLOW_ERROR;
    }
    /* A copy of the header's bytes: finishing the frame invalidates the mapping. */
    GByteArray *head = g_byte_array_new ();
    g_byte_array_append (head, map.data,
        (guint) MIN (map.size, (gsize) (VAMP_TOKFILE_FIXED_HEADER + VAMP_TOKFILE_MAX_CAPS)));
    gst_buffer_unmap (frame->buffer, &map);
    GstFlowReturn ret = gst_vamp_parse_header (self, frame, head->data, head->len);
    g_byte_array_unref (head);
    return ret;
  }

  /* After a seek the base class may start anywhere: skip to the next frame boundary. */
  if (file_offsets) {
    const guint64 misaligned = frame->offset < self->header_size ?
        self->header_size - frame->offset :
        (self->frame_bytes - (frame->offset - self->header_size) % self->frame_bytes) %
        self->frame_bytes;
    if (misaligned) {
      GST_DEBUG_OBJECT (self, "skipping %" G_GUINT64_FORMAT " bytes to a frame", misaligned);
      gst_buffer_unmap (frame->buffer, &map);
      *skipsize = (gint) misaligned;
      return GST_FLOW_OK;
    }
  }

  const gsize available = map.size / self->frame_bytes;
  if (available == 0) {
    gst_buffer_unmap (frame->buffer, &map);
    if (GST_BASE_PARSE_DRAINING (parse)) {
      GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Token file ends with a partial frame."),
          ("%" G_GSIZE_FORMAT " bytes left, a frame has %" G_GSIZE_FORMAT
              " (the file is truncated)", map.size, self->frame_bytes));
      return GST_FLOW_ERROR;
    }
    return GST_FLOW_OK;
  }
  const gsize n = MIN (available, (gsize) self->frames_per_buffer);

  /* Absolute frame index from the byte offset (correct after seeks), else a running count. */
  guint64 first = self->next_frame;
  if (file_offsets && frame->offset >= self->header_size)
    first = (frame->offset - self->header_size) / self->frame_bytes;

  GstBuffer *out = gst_buffer_new_allocate (NULL, n * self->frame_bytes, NULL);
  GstMapInfo omap;
  gst_buffer_map (out, &omap, GST_MAP_WRITE);
  vamp_tokfile_file_to_buffer (&self->info, map.data, omap.data, n);
  gst_buffer_unmap (out, &omap);
  gst_buffer_unmap (frame->buffer, &map);

  GST_BUFFER_PTS (out) = vamp_tokens_frames_to_time (&self->info, first);
  GST_BUFFER_DTS (out) = GST_BUFFER_PTS (out);
  GST_BUFFER_DURATION (out) = vamp_tokens_frames_to_time (&self->info, first + n) -
      GST_BUFFER_PTS (out);
  GST_BUFFER_OFFSET (out) = first;
  GST_BUFFER_OFFSET_END (out) = first + n;
  if (GST_BUFFER_FLAG_IS_SET (frame->buffer, GST_BUFFER_FLAG_DISCONT))
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
  self->next_frame = first + n;
  self->sent_frames = TRUE;
  gst_buffer_replace (&frame->out_buffer, out);
  gst_buffer_unref (out);
  return gst_base_parse_finish_frame (parse, frame, (gint) (n * self->frame_bytes));
}

static gboolean
gst_vamp_parse_convert (GstBaseParse * parse, GstFormat src_format, gint64 src_value,
    GstFormat dest_format, gint64 * dest_value)
{
  GstVampParse *self = GST_VAMP_PARSE (parse);
  if (src_value < 0)
    return FALSE;
  if (src_format == dest_format || src_value == 0) {
    /* 0 is 0 in every format: a BYTES segment from 0 arrives before the header is read */
    *dest_value = src_value;
    return TRUE;
  }
  if (!self->have_header)
    return FALSE;
  const VampTokensInfo *info = &self->info;
  gint64 frames;
  switch (src_format) {
    case GST_FORMAT_BYTES:
      frames = src_value <= (gint64) self->header_size ? 0 :
          (src_value - (gint64) self->header_size) / (gint64) self->frame_bytes;
      break;
    case GST_FORMAT_TIME:
      frames = (gint64) gst_util_uint64_scale (src_value, info->rate,
          (guint64) info->hop_length * GST_SECOND);
      break;
    case GST_FORMAT_DEFAULT:
      frames = src_value;
      break;
    default:
      return FALSE;
  }
  switch (dest_format) {
    case GST_FORMAT_BYTES:
      *dest_value = (gint64) self->header_size + frames * (gint64) self->frame_bytes;
      return TRUE;
    case GST_FORMAT_TIME:
      *dest_value = (gint64) vamp_tokens_frames_to_time (info, (guint64) frames);
      return TRUE;
    case GST_FORMAT_DEFAULT:
      *dest_value = frames;
      return TRUE;
    default:
      return FALSE;
  }
}
