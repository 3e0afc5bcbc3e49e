/* GStreamer VampNet codec encoder: audio -> audio/x-vamp-tokens */
/**
 * SECTION:element-vampenc
 * @title: vampenc
 * @see_also: vampdec, vampmask, vampsample
 *
 * Encodes mono audio at the codec's sample rate into VampNet codec tokens
 * (`audio/x-vamp-tokens`: K codebooks per frame, one frame per hop-length
 * samples). The codec is non-causal, so every frame waits for the encoder's
 * receptive field of right context; the codes are then exactly those of
 * encoding the whole file at once. That wait (plus `frames-per-buffer`) is
 * reported as latency. At EOS the last partial frame is zero-padded, as the
 * reference does, and emitted.
 *
 * Output buffers carry a whole number of frames: PTS is the time of the first
 * frame, DURATION frames * hop / rate, OFFSET/OFFSET_END absolute frame indices.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.wav ! decodebin ! audioconvert ! audioresample ! \
 *     vampenc model=codec.pth ! vampdec model=codec.pth ! audioconvert ! wavenc ! filesink location=out.wav
 * ]| Encodes a file to tokens and decodes them again (a codec round trip).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampenc.h"

#include "gstvampelements.h"
#include "vamp/vamp.h"
#include "vampcontext.h"
#include "vampsettings.h"
#include "vamptokens.h"

#include <memory>
#include <vector>

GST_DEBUG_CATEGORY_STATIC (gst_vamp_enc_debug);
#define GST_CAT_DEFAULT gst_vamp_enc_debug

#define DEFAULT_CODEBOOKS 0
#define DEFAULT_FRAMES_PER_BUFFER 8

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_CODEBOOKS,
  PROP_FRAMES_PER_BUFFER,
  PROP_DEVICE,                  /* .. PROP_DEVICE + 2: vampsettings.h */
};

struct GstVampEncPrivate
{
  std::shared_ptr<vamp::CodecModel> model;
  std::unique_ptr<vamp::StreamEncoder> stream;
  std::vector<uint16_t> frames;
  guint64 samples_in = 0;       /* handed to us by the base class */
  guint64 samples_finished = 0; /* returned to it with finish_frame */
  guint64 frame_offset = 0;     /* absolute index of the next frame out */
  VampEngineSettings engine;   /* device, threads, precision (vampsettings.h) */
};

struct _GstVampEnc
{
  GstAudioEncoder parent;
  gchar *model_path;
  gint codebooks;
  gint frames_per_buffer;
  GstVampEncPrivate *priv;
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) F32LE, layout = (string) interleaved, "
        "rate = (int) [ 1, MAX ], channels = (int) 1"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("none")));

#define gst_vamp_enc_parent_class parent_class
G_DEFINE_TYPE (GstVampEnc, gst_vamp_enc, GST_TYPE_AUDIO_ENCODER);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (vampenc, "vampenc", GST_RANK_NONE, GST_TYPE_VAMP_ENC,
    vamp_element_init (plugin));

static void gst_vamp_enc_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_vamp_enc_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_vamp_enc_finalize (GObject * object);
static gboolean gst_vamp_enc_start (GstAudioEncoder * enc);
static gboolean gst_vamp_enc_stop (GstAudioEncoder * enc);
static GstCaps *gst_vamp_enc_getcaps (GstAudioEncoder * enc, GstCaps * filter);
static gboolean gst_vamp_enc_set_format (GstAudioEncoder * enc, GstAudioInfo * info);
static GstFlowReturn gst_vamp_enc_handle_frame (GstAudioEncoder * enc, GstBuffer * buffer);
static void gst_vamp_enc_flush (GstAudioEncoder * enc);
static GstFlowReturn gst_vamp_enc_pre_push (GstAudioEncoder * enc, GstBuffer ** buffer);

static void
gst_vamp_enc_class_init (GstVampEncClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAudioEncoderClass *enc_class = GST_AUDIO_ENCODER_CLASS (klass);

  gobject_class->set_property = gst_vamp_enc_set_property;
  gobject_class->get_property = gst_vamp_enc_get_property;
  gobject_class->finalize = gst_vamp_enc_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Codec model",
          "Path of the codec checkpoint (codec.pth, released LAC layout); empty = $VAMPNET_MODELS/codec.pth, else the "
          "project's small default set (models/default)", NULL,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_CODEBOOKS,
      g_param_spec_int ("codebooks", "Codebooks",
          "How many codebooks to emit per frame, lowest first (0 = all of the codec's)", 0, 64,
          DEFAULT_CODEBOOKS,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_FRAMES_PER_BUFFER,
      g_param_spec_int ("frames-per-buffer", "Frames per buffer",
          "Token frames per output buffer, counted from the stream's start (the last at EOS may be "
          "shorter; larger = more efficient, more latency; a divisor of vampsample's "
          "window-frames keeps its windows from waiting on the next buffer)",
          1, 10000, DEFAULT_FRAMES_PER_BUFFER,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  vamp_engine_settings_install (gobject_class, PROP_DEVICE, VAMP_MODEL_CODEC);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "VampNet codec encoder",
      "Codec/Encoder/Audio", "Encodes audio into VampNet codec tokens",
      "gst-vampnet developers");

  enc_class->start = GST_DEBUG_FUNCPTR (gst_vamp_enc_start);
  enc_class->stop = GST_DEBUG_FUNCPTR (gst_vamp_enc_stop);
  enc_class->getcaps = GST_DEBUG_FUNCPTR (gst_vamp_enc_getcaps);
  enc_class->set_format = GST_DEBUG_FUNCPTR (gst_vamp_enc_set_format);
  enc_class->handle_frame = GST_DEBUG_FUNCPTR (gst_vamp_enc_handle_frame);
  enc_class->flush = GST_DEBUG_FUNCPTR (gst_vamp_enc_flush);
  enc_class->pre_push = GST_DEBUG_FUNCPTR (gst_vamp_enc_pre_push);

  GST_DEBUG_CATEGORY_INIT (gst_vamp_enc_debug, "vampenc", 0, "VampNet codec encoder");
}

static void
gst_vamp_enc_init (GstVampEnc * self)
{
  self->codebooks = DEFAULT_CODEBOOKS;
  self->frames_per_buffer = DEFAULT_FRAMES_PER_BUFFER;
  self->priv = new GstVampEncPrivate ();
  gst_audio_encoder_set_drainable (GST_AUDIO_ENCODER (self), TRUE);
}

static void
gst_vamp_enc_finalize (GObject * object)
{
  GstVampEnc *self = GST_VAMP_ENC (object);
  delete self->priv;
  g_free (self->model_path);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_vamp_enc_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstVampEnc *self = GST_VAMP_ENC (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_CODEBOOKS:
      self->codebooks = g_value_get_int (value);
      break;
    case PROP_FRAMES_PER_BUFFER:
      self->frames_per_buffer = g_value_get_int (value);
      break;
    default:
      if (!vamp_engine_settings_set (&self->priv->engine, PROP_DEVICE, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vamp_enc_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstVampEnc *self = GST_VAMP_ENC (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_CODEBOOKS:
      g_value_set_int (value, self->codebooks);
      break;
    case PROP_FRAMES_PER_BUFFER:
      g_value_set_int (value, self->frames_per_buffer);
      break;
    default:
      if (!vamp_engine_settings_get (&self->priv->engine, PROP_DEVICE, prop_id, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_vamp_enc_start (GstAudioEncoder * enc)
{
  GstVampEnc *self = GST_VAMP_ENC (enc);
  self->priv->model = vamp_element_open_codec (GST_ELEMENT (self), self->model_path,
      self->priv->engine);
  if (!self->priv->model)
    return FALSE;
  try {
    vamp::StreamEncoder (self->priv->model, self->codebooks, self->frames_per_buffer).warm_up ();
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("The codec failed on silence."), ("%s", e.what ()));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_vamp_enc_stop (GstAudioEncoder * enc)
{
  GstVampEnc *self = GST_VAMP_ENC (enc);
  self->priv->stream.reset ();
  self->priv->model.reset ();
  self->priv->samples_in = self->priv->samples_finished = self->priv->frame_offset = 0;
  return TRUE;
}

static GstCaps *
gst_vamp_enc_getcaps (GstAudioEncoder * enc, GstCaps * filter)
{
  GstVampEnc *self = GST_VAMP_ENC (enc);
  if (!self->priv->model)
    return gst_audio_encoder_proxy_getcaps (enc, NULL, filter);
  /* Once the codec is loaded, only its own rate is acceptable. */
  GstCaps *caps = gst_static_pad_template_get_caps (&sink_template);
  caps = gst_caps_make_writable (caps);
  gst_caps_set_simple (caps, "rate", G_TYPE_INT, self->priv->model->info ().sample_rate, NULL);
  GstCaps *result = gst_audio_encoder_proxy_getcaps (enc, caps, filter);
  gst_caps_unref (caps);
  return result;
}

static gboolean
gst_vamp_enc_set_format (GstAudioEncoder * enc, GstAudioInfo * info)
{
  GstVampEnc *self = GST_VAMP_ENC (enc);
  GstVampEncPrivate *priv = self->priv;
  const vamp::CodecInfo & codec = priv->model->info ();

  if (GST_AUDIO_INFO_RATE (info) != codec.sample_rate || GST_AUDIO_INFO_CHANNELS (info) != 1) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL),
        ("input is %d Hz, %d channels; the codec needs mono at %d Hz (add audioconvert ! audioresample)",
            GST_AUDIO_INFO_RATE (info), GST_AUDIO_INFO_CHANNELS (info), codec.sample_rate));
    return FALSE;
  }
  priv->stream.reset (new vamp::StreamEncoder (priv->model, self->codebooks,
          self->frames_per_buffer));
  priv->samples_in = priv->samples_finished = priv->frame_offset = 0;

  VampTokensInfo tokens = { };
  tokens.rate = codec.sample_rate;
  tokens.hop_length = codec.hop_length;
  tokens.codebooks = priv->stream->codebooks ();
  tokens.codebook_size = codec.codebook_size;
  g_strlcpy (tokens.codec_id, codec.id.c_str (), sizeof (tokens.codec_id));
  GstCaps *caps = vamp_tokens_info_to_caps (&tokens);
  gboolean ok = gst_audio_encoder_set_output_format (enc, caps);
  gst_caps_unref (caps);

  GstClockTime latency = gst_util_uint64_scale (priv->stream->lookahead_samples (), GST_SECOND,
      codec.sample_rate);
  gst_audio_encoder_set_latency (enc, latency, latency);
  return ok;
}

/* Pushes the frames gathered in priv->frames; `samples` of input are accounted for them. */
static GstFlowReturn
gst_vamp_enc_push_frames (GstVampEnc * self, guint64 samples)
{
  GstVampEncPrivate *priv = self->priv;
  const gsize n_tokens = priv->frames.size ();
  if (n_tokens == 0)
    return GST_FLOW_OK;
  const guint64 n_frames = n_tokens / priv->stream->codebooks ();

  GstBuffer *out = vamp_tokens_buffer_new (priv->frames);
  priv->frames.clear ();

  GST_LOG_OBJECT (self, "%" G_GUINT64_FORMAT " frames for %" G_GUINT64_FORMAT " samples",
      n_frames, samples);
  priv->samples_finished += samples;
  return gst_audio_encoder_finish_frame (GST_AUDIO_ENCODER (self), out, (gint) samples);
}

/* The base class times a buffer from the input samples it covers; at EOS the last frame covers
 * fewer real samples than a hop (the rest is the reference's zero padding), so DURATION and the
 * frame offsets are set here, just before the push. */
static GstFlowReturn
gst_vamp_enc_pre_push (GstAudioEncoder * enc, GstBuffer ** buffer)
{
  GstVampEnc *self = GST_VAMP_ENC (enc);
  GstVampEncPrivate *priv = self->priv;
  const vamp::CodecInfo & codec = priv->model->info ();
  const guint64 n_frames = gst_buffer_get_size (*buffer) / (2 * priv->stream->codebooks ());
  *buffer = gst_buffer_make_writable (*buffer);
  GST_BUFFER_OFFSET (*buffer) = priv->frame_offset;
  GST_BUFFER_OFFSET_END (*buffer) = priv->frame_offset + n_frames;
  GST_BUFFER_DURATION (*buffer) = gst_util_uint64_scale (n_frames,
      (guint64) codec.hop_length * GST_SECOND, codec.sample_rate);
  priv->frame_offset += n_frames;
  return GST_FLOW_OK;
}

static GstFlowReturn
gst_vamp_enc_handle_frame (GstAudioEncoder * enc, GstBuffer * buffer)
{
  GstVampEnc *self = GST_VAMP_ENC (enc);
  GstVampEncPrivate *priv = self->priv;
  const gint hop = priv->model->info ().hop_length;
  gsize n_frames = 0;

  try {
    if (buffer == NULL) {
      n_frames = priv->stream->drain (priv->frames);
      GST_DEBUG_OBJECT (self, "drained %" G_GSIZE_FORMAT " frames", n_frames);
      return gst_vamp_enc_push_frames (self, priv->samples_in - priv->samples_finished);
    }
    GstMapInfo map;
    if (!gst_buffer_map (buffer, &map, GST_MAP_READ))
      return GST_FLOW_ERROR;
    const gsize n = map.size / sizeof (float);
    priv->stream->push (reinterpret_cast < const float *>(map.data), n);
    gst_buffer_unmap (buffer, &map);
    priv->samples_in += n;
    n_frames = priv->stream->pull (priv->frames);
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, STREAM, ENCODE, (NULL), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
  return gst_vamp_enc_push_frames (self, (guint64) n_frames * hop);
}

static void
gst_vamp_enc_flush (GstAudioEncoder * enc)
{
  GstVampEnc *self = GST_VAMP_ENC (enc);
  if (self->priv->stream)
    self->priv->stream->reset ();
  self->priv->frames.clear ();
  self->priv->samples_in = self->priv->samples_finished = self->priv->frame_offset = 0;
}
