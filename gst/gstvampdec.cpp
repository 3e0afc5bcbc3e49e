/* GStreamer VampNet codec decoder: audio/x-vamp-tokens -> audio */
/**
 * SECTION:element-vampdec
 * @title: vampdec
 * @see_also: vampenc, vampsample
 *
 * Decodes VampNet codec tokens into mono float audio at the codec's rate,
 * hop-length samples per frame. The decoder is non-causal (each sample depends
 * on about ±17 frames at the released codec's size), so frames are decoded
 * with token context on both sides: the audio equals decoding the whole
 * sequence at once, and window seams are inaudible. That context is reported
 * as latency. Input buffers may hold any whole number of frames; a GAP buffer
 * gives silence of its length (the frames before it are flushed first).
 * Token streams whose `codec-id` differs from the loaded codec are refused.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 audiotestsrc num-buffers=100 ! audioconvert ! audioresample ! \
 *     vampenc model=codec.pth ! vampdec model=codec.pth ! audioconvert ! wavenc ! filesink location=o.wav
 * ]| A codec round trip of a test tone.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampdec.h"

#include "gstvampelements.h"
#include "vamp/vamp.h"
#include "vampcontext.h"
#include "vampsettings.h"
#include "vamptokens.h"

#include <deque>
#include <memory>
#include <vector>

GST_DEBUG_CATEGORY_STATIC (gst_vamp_dec_debug);
#define GST_CAT_DEFAULT gst_vamp_dec_debug


enum
{
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,                  /* .. PROP_DEVICE + 2: vampsettings.h */
};

struct GstVampDecPrivate
{
  std::shared_ptr<vamp::CodecModel> model;
  std::unique_ptr<vamp::StreamDecoder> stream;
  VampTokensInfo tokens = { };
  std::deque<guint64> pending;  /* frames of each input buffer not yet finished */
  guint64 head_done = 0;        /* frames of pending.front () already pushed (as a subframe) */
  GstEvent *segment = nullptr;  /* the last TIME segment in, until an output has carried it */
  std::vector<uint16_t> scratch;
  std::vector<float> audio;
  VampEngineSettings engine;   /* device, threads, precision (vampsettings.h) */
};

struct _GstVampDec
{
  GstAudioDecoder parent;
  gchar *model_path;
  GstVampDecPrivate *priv;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("{ none, plane }")));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) F32LE, layout = (string) interleaved, "
        "rate = (int) [ 1, MAX ], channels = (int) 1"));

#define gst_vamp_dec_parent_class parent_class
G_DEFINE_TYPE (GstVampDec, gst_vamp_dec, GST_TYPE_AUDIO_DECODER);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (vampdec, "vampdec", GST_RANK_NONE, GST_TYPE_VAMP_DEC,
    vamp_element_init (plugin));

static void gst_vamp_dec_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_vamp_dec_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_vamp_dec_finalize (GObject * object);
static gboolean gst_vamp_dec_start (GstAudioDecoder * dec);
static gboolean gst_vamp_dec_stop (GstAudioDecoder * dec);
static gboolean gst_vamp_dec_set_format (GstAudioDecoder * dec, GstCaps * caps);
static GstFlowReturn gst_vamp_dec_handle_frame (GstAudioDecoder * dec, GstBuffer * buffer);
static void gst_vamp_dec_flush (GstAudioDecoder * dec, gboolean hard);
static gboolean gst_vamp_dec_sink_event (GstAudioDecoder * dec, GstEvent * event);

static void
gst_vamp_dec_class_init (GstVampDecClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAudioDecoderClass *dec_class = GST_AUDIO_DECODER_CLASS (klass);

  gobject_class->set_property = gst_vamp_dec_set_property;
  gobject_class->get_property = gst_vamp_dec_get_property;
  gobject_class->finalize = gst_vamp_dec_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Codec model",
          "Path of the codec checkpoint (codec.pth, released LAC layout); empty = $VAMPNET_MODELS/codec.pth, else the "
          "project's small default set (models/default)", NULL,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  vamp_engine_settings_install (gobject_class, PROP_DEVICE, VAMP_MODEL_CODEC);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "VampNet codec decoder",
      "Codec/Decoder/Audio", "Decodes VampNet codec tokens into audio",
      "gst-vampnet developers");

  dec_class->start = GST_DEBUG_FUNCPTR (gst_vamp_dec_start);
  dec_class->stop = GST_DEBUG_FUNCPTR (gst_vamp_dec_stop);
  dec_class->set_format = GST_DEBUG_FUNCPTR (gst_vamp_dec_set_format);
  dec_class->handle_frame = GST_DEBUG_FUNCPTR (gst_vamp_dec_handle_frame);
  dec_class->flush = GST_DEBUG_FUNCPTR (gst_vamp_dec_flush);
  dec_class->sink_event = GST_DEBUG_FUNCPTR (gst_vamp_dec_sink_event);

  GST_DEBUG_CATEGORY_INIT (gst_vamp_dec_debug, "vampdec", 0, "VampNet codec decoder");
}

static void
gst_vamp_dec_init (GstVampDec * self)
{
  self->priv = new GstVampDecPrivate ();
  gst_audio_decoder_set_drainable (GST_AUDIO_DECODER (self), TRUE);
  gst_audio_decoder_set_needs_format (GST_AUDIO_DECODER (self), TRUE);
}

static void
gst_vamp_dec_finalize (GObject * object)
{
  GstVampDec *self = GST_VAMP_DEC (object);
  gst_event_replace (&self->priv->segment, NULL);
  delete self->priv;
  g_free (self->model_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_vamp_dec_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstVampDec *self = GST_VAMP_DEC (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    default:
      if (!vamp_engine_settings_set (&self->priv->engine, PROP_DEVICE, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vamp_dec_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstVampDec *self = GST_VAMP_DEC (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    default:
      if (!vamp_engine_settings_get (&self->priv->engine, PROP_DEVICE, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_vamp_dec_start (GstAudioDecoder * dec)
{
  GstVampDec *self = GST_VAMP_DEC (dec);
  self->priv->model = vamp_element_open_codec (GST_ELEMENT (self), self->model_path,
      self->priv->engine);
  if (!self->priv->model)
    return FALSE;
  /* A second of silence, so the first buffer of a live stream does not pay the first-call costs. */
  const vamp::CodecInfo & codec = self->priv->model->info ();
  try {
    vamp::StreamDecoder (self->priv->model, codec.n_codebooks, 1).warm_up (codec.sample_rate /
        codec.hop_length);
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("The codec failed on silence."), ("%s", e.what ()));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_vamp_dec_stop (GstAudioDecoder * dec)
{
  GstVampDec *self = GST_VAMP_DEC (dec);
  self->priv->stream.reset ();
  self->priv->model.reset ();
  self->priv->pending.clear ();
  self->priv->head_done = 0;
  return TRUE;
}

static gboolean
gst_vamp_dec_set_format (GstAudioDecoder * dec, GstCaps * caps)
{
  GstVampDec *self = GST_VAMP_DEC (dec);
  GstVampDecPrivate *priv = self->priv;
  const vamp::CodecInfo & codec = priv->model->info ();
  VampTokensInfo tokens;

  if (!vamp_tokens_info_from_caps (&tokens, caps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("invalid token caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  if (!vamp_tokens_check_codec (GST_ELEMENT (self), &tokens, codec, priv->model->path ()))
    return FALSE;
  priv->tokens = tokens;
  priv->stream.reset (new vamp::StreamDecoder (priv->model, tokens.codebooks, 1));
  priv->pending.clear ();
  priv->head_done = 0;

  GstAudioInfo info;
  gst_audio_info_set_format (&info, GST_AUDIO_FORMAT_F32LE, codec.sample_rate, 1, NULL);
  GstClockTime latency = vamp_tokens_frames_to_time (&tokens, priv->stream->lookahead_frames ());
  gst_audio_decoder_set_latency (dec, latency, latency);
  return gst_audio_decoder_set_output_format (dec, &info);
}

/* Pushes priv->audio, the next `n_frames` frames of output, as soon as it is decoded: no frame
 * waits for the rest of its input buffer (a whole vampsample window) to be decodable. The part
 * of an input buffer that is ready goes out as a subframe. GstAudioDecoder stamps an output
 * with the PTS of the input buffer it starts (plus the subframes already out of that buffer), so
 * a buffer's last part is pushed as a subframe too, and the buffer finished without data. */
static GstFlowReturn
gst_vamp_dec_push (GstVampDec * self, guint64 n_frames)
{
  GstVampDecPrivate *priv = self->priv;
  GstAudioDecoder *dec = GST_AUDIO_DECODER (self);
  const gsize hop = (gsize) priv->tokens.hop_length;
  gsize offset = 0;             /* samples of priv->audio pushed */
  auto take = [&](guint64 frames) -> GstBuffer * {
    const gsize n = MIN ((gsize) frames * hop, priv->audio.size () - offset);
    if (n == 0)
      return NULL;
    GstBuffer *out = gst_buffer_new_allocate (NULL, n * sizeof (float), NULL);
    gst_buffer_fill (out, 0, priv->audio.data () + offset, n * sizeof (float));
    offset += n;
    return out;
  };
  /* GstAudioDecoder 1.22 can lose a queued segment when a DISCONT buffer follows it (its soft
   * flush), and then pushes our next output with no segment downstream: send it first. */
  auto ensure_segment = [&] {
    if (!priv->segment)
      return;
    if (!gst_pad_has_current_caps (GST_AUDIO_DECODER_SRC_PAD (dec)))
      gst_audio_decoder_negotiate (dec);  /* caps (and what is queued) before the segment */
    GstEvent *current = gst_pad_get_sticky_event (GST_AUDIO_DECODER_SRC_PAD (dec), GST_EVENT_SEGMENT, 0);
    if (!current || gst_event_get_seqnum (current) != gst_event_get_seqnum (priv->segment))
      gst_pad_push_event (GST_AUDIO_DECODER_SRC_PAD (dec), gst_event_ref (priv->segment));
    if (current)
      gst_event_unref (current);
    gst_event_replace (&priv->segment, NULL);
  };
  auto subframe = [&](guint64 frames) {
    GstBuffer *out = take (frames);
    if (!out)
      return GST_FLOW_OK;
    ensure_segment ();
    return gst_audio_decoder_finish_subframe (dec, out);
  };
  GstFlowReturn ret = GST_FLOW_OK;
  /* The rest of a buffer partly pushed already. */
  if (priv->head_done > 0 && !priv->pending.empty ()
      && n_frames >= priv->pending.front () - priv->head_done) {
    const guint64 rest = priv->pending.front () - priv->head_done;
    n_frames -= rest;
    ret = subframe (rest);
    if (ret == GST_FLOW_OK)
      ret = gst_audio_decoder_finish_frame (dec, NULL, 1);
    priv->pending.pop_front ();
    priv->head_done = 0;
  }
  /* Whole buffers. */
  guint finished = 0;
  guint64 frames = 0;
  while (ret == GST_FLOW_OK && !priv->pending.empty () && priv->head_done == 0
      && n_frames >= priv->pending.front ()) {
    n_frames -= priv->pending.front ();
    frames += priv->pending.front ();
    priv->pending.pop_front ();
    ++finished;
  }
  if (finished > 0) {
    ensure_segment ();
    ret = gst_audio_decoder_finish_frame (dec, take (frames), (gint) finished);
  }
  /* The start of the next one. */
  if (ret == GST_FLOW_OK && n_frames > 0 && !priv->pending.empty ()) {
    priv->head_done += n_frames;
    ret = subframe (n_frames);
  }
  priv->audio.clear ();
  return ret;
}

/* Decodes every pending frame (end of stream, or a gap or discontinuity ahead). */
static GstFlowReturn
gst_vamp_dec_drain (GstVampDec * self)
{
  GstVampDecPrivate *priv = self->priv;
  const guint64 frames = priv->stream->drain (priv->audio);
  GstFlowReturn ret = gst_vamp_dec_push (self, frames);
  /* Buffers the codec produced nothing for (empty ones) are finished too. */
  if (ret == GST_FLOW_OK && !priv->pending.empty ())
    ret = gst_audio_decoder_finish_frame (GST_AUDIO_DECODER (self), NULL, (gint) priv->pending.size ());
  priv->pending.clear ();
  priv->head_done = 0;
  priv->stream->reset ();
  return ret;
}

static GstFlowReturn
gst_vamp_dec_handle_frame (GstAudioDecoder * dec, GstBuffer * buffer)
{
  GstVampDec *self = GST_VAMP_DEC (dec);
  GstVampDecPrivate *priv = self->priv;
  const VampTokensInfo *tokens = &priv->tokens;

  if (buffer == NULL)
    return gst_vamp_dec_drain (self);

  const gsize size = gst_buffer_get_size (buffer), frame_bytes = vamp_tokens_frame_bytes (tokens);
  if (size % frame_bytes != 0) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Token buffer is not a whole number of frames."),
        ("%" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " per frame", size, frame_bytes));
    return GST_FLOW_ERROR;
  }
  const guint64 n_frames = size / frame_bytes;

  try {
    if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_GAP) ||
        GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT)) {
      /* The decoder's context does not reach across: finish what came before. */
      GstFlowReturn ret = gst_vamp_dec_drain (self);
      if (ret != GST_FLOW_OK)
        return ret;
    }
    priv->pending.push_back (n_frames);
    if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_GAP)) {
      priv->audio.assign (n_frames * tokens->hop_length, 0.0f);
      return gst_vamp_dec_push (self, n_frames);
    }

    /* Tokens are the first 2*T*K bytes, whatever memories hold them (docs/caps.md). */
    vamp_tokens_buffer_read (buffer, tokens, n_frames, priv->scratch);
    priv->stream->push (priv->scratch.data (), n_frames);
    return gst_vamp_dec_push (self, priv->stream->pull (priv->audio));
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, STREAM, DECODE, ("Invalid tokens."), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
}

static void
gst_vamp_dec_flush (GstAudioDecoder * dec, gboolean hard)
{
  GstVampDec *self = GST_VAMP_DEC (dec);
  if (self->priv->stream)
    self->priv->stream->reset ();
  self->priv->pending.clear ();
  self->priv->head_done = 0;
  self->priv->audio.clear ();
}

/* Token buffers carry frames in time; a byte stream (filesrc straight into vampdec) has no frame
 * boundaries, which the base class would only refuse with "Internal data stream error". */
static gboolean
gst_vamp_dec_sink_event (GstAudioDecoder * dec, GstEvent * event)
{
  if (GST_EVENT_TYPE (event) == GST_EVENT_SEGMENT) {
    const GstSegment *segment;
    gst_event_parse_segment (event, &segment);
    if (segment->format == GST_FORMAT_TIME) {
      GST_AUDIO_DECODER_STREAM_LOCK (dec);
      gst_event_replace (&GST_VAMP_DEC (dec)->priv->segment, event);
      GST_AUDIO_DECODER_STREAM_UNLOCK (dec);
    }
    if (segment->format != GST_FORMAT_TIME) {
      GST_ELEMENT_ERROR (dec, STREAM, FORMAT, ("vampdec needs token frames in time, not a %s "
              "stream: read token files through vampparse (filesrc location=in.vtok ! vampparse ! "
              "vampdec).", gst_format_get_name (segment->format)), (NULL));
      gst_event_unref (event);
      return FALSE;
    }
  }
  return GST_AUDIO_DECODER_CLASS (parent_class)->sink_event (dec, event);
}
