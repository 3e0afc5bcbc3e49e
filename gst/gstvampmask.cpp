/* GStreamer VampNet masker: tokens -> tokens with a mask plane */
/**
 * SECTION:element-vampmask
 * @title: vampmask
 * @see_also: vampenc, vampsample, vampdec
 *
 * Decides which tokens of a VampNet token stream are generated and which are
 * kept as prompt ("hints"): it appends a mask plane (`mask=plane`: T*K bytes
 * after the T*K tokens, 1 = generate, 0 = keep) and leaves the tokens, the
 * timestamps and the offsets as they are. vampsample then generates the
 * masked tokens.
 *
 * The mask is built as the VampNet ismir-2023 app builds it, whose controls the
 * properties are named after (AND adds hints, OR keeps only common hints):
 *
 * 1. `rand-mask-intensity`: each token is generated with this probability
 *    (1 = all; lower values scatter random hints).
 * 2. AND `prefix` / `suffix`: the first / last frames of the stream are kept.
 * 3. AND `periodic-prompt`, `periodic-width`, `random-roll`: every n-th frame
 *    (and width/2 frames either side) is kept.
 * 4. OR `onset-mask-width`: only the hints within this many frames of an
 *    onset survive (needs audio, see below).
 * 5. AND `beat-mask-width`: the frames from each beat (or downbeat, with
 *    `downbeats-only`) for this long are kept (needs beats, see below).
 * 6. `dropout`: each kept token is generated instead with this probability.
 * 7. `n-conditioning-codebooks`: codebooks below it are always kept;
 *    `upper-codebook-mask`: codebooks from it on are always generated.
 *
 * `combination=main` combines them as main's Interface.build_mask instead:
 * the onset hints are added (AND), and the beat hints come after dropout and
 * the codebook masks (the `compression` preset sets it).
 *
 * `preset` loads the values of one of the app's presets into these
 * properties (set it first, then adjust); changing one of them afterwards
 * turns `preset` back to custom.
 *
 * Streaming: every part depends only on the absolute frame index (buffer
 * OFFSET; a running frame count, restarted by a flush, where OFFSET is
 * invalid), the codebook and `seed`. The random parts (intensity, dropout,
 * the roll) draw from a counter-based hash of (seed, frame, codebook), so the
 * same stream cut into buffers of any sizes gets the same mask, and the same
 * seed gives the same mask again; they do not reproduce the reference's torch
 * random numbers, which only exist for a whole clip. `random-roll` shifts the
 * periodic hints by a phase in [0, period) drawn from the seed.
 *
 * The suffix needs to know where the stream ends: the frames within `suffix`
 * of the segment stop are kept when the segment has a stop, otherwise of the
 * upstream duration (a duration query, once per segment); when neither is
 * known the suffix is not applied (and a warning is logged once).
 *
 * Input that already has a mask plane (e.g. from another vampmask) is
 * combined with this element's mask by mask_and: a token is generated only if
 * both masks say so, so hints accumulate along a chain of vampmask elements.
 *
 * Beats and onsets: `beats-file` names a text file of beat times (one per
 * line, "TIME [LABEL]", seconds from the stream start; LABEL 1 or "d" marks a
 * downbeat); `beats-audio` names a WAV file analysed with aubio when the
 * element starts (beats, downbeats and onsets; the whole file, like the
 * reference). Or request the `audio` pad and feed it the stream's audio
 * (F32LE mono at the codec rate, starting with frame 0): it is analysed as it
 * arrives with aubio's beat tracker, and a token buffer waits until the audio
 * covering it (plus the tracker's latency) has arrived, or the audio ends. Put
 * a queue on each branch when audio and tokens come from one tee. The last of
 * these sources to deliver wins (with both files, the beats come from
 * `beats-file` and the onsets from `beats-audio`). With beat or onset hints enabled and no
 * source, those parts do nothing (a warning is logged once), just as the
 * reference's empty beat or onset masks change nothing.
 *
 * For every buffer the element posts an element message `vampmask` with the
 * fields `offset` (guint64, the first frame's absolute index), `frames` (gint)
 * and `masked-fraction` (gdouble, the fraction of tokens to be generated).
 *
 * The mask properties are controllable (synchronised at each buffer's
 * timestamp) and may change in PLAYING; they apply from the next buffer.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.wav ! decodebin ! audioconvert ! audioresample ! \
 *     vampenc ! vampmask preset=moderate-periodic ! vampsample ! vampdec ! \
 *     audioconvert ! wavenc ! filesink location=varied.wav
 * ]| A moderate periodic variation of a file: codebooks 0-8 of every 13th frame
 * are kept as prompt, everything else is regenerated.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampmask.h"
#include "gstvampmaskprivate.h"

#include "gstvampelements.h"
#include "vamp/vamp.h"
#include "vampsettings.h"
#include "vamptokens.h"

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

GST_DEBUG_CATEGORY (gst_vamp_mask_debug);
#define GST_CAT_DEFAULT gst_vamp_mask_debug

#define DEFAULT_PRESET GST_VAMP_MASK_PRESET_CUSTOM
#define DEFAULT_SEED 0

enum
{
  PROP_0,
  PROP_PRESET,
  PROP_PERIODIC_PROMPT,
  PROP_PERIODIC_WIDTH,
  PROP_RANDOM_ROLL,
  PROP_RAND_MASK_INTENSITY,
  PROP_PREFIX,
  PROP_SUFFIX,
  PROP_ONSET_MASK_WIDTH,
  PROP_BEAT_MASK_WIDTH,
  PROP_DOWNBEATS_ONLY,
  PROP_DROPOUT,
  PROP_N_CONDITIONING_CODEBOOKS,
  PROP_UPPER_CODEBOOK_MASK,
  PROP_COMBINATION,
  PROP_SEED,
  PROP_BEATS_FILE,
  PROP_BEATS_AUDIO,
};


static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("{ none, plane }")));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("plane")));
static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE ("audio",
    GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS ("audio/x-raw, format = (string) F32LE, layout = (string) interleaved, "
        "rate = (int) [ 1, MAX ], channels = (int) 1"));


#define gst_vamp_mask_parent_class parent_class
G_DEFINE_TYPE (GstVampMask, gst_vamp_mask, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (vampmask, "vampmask", GST_RANK_NONE, GST_TYPE_VAMP_MASK,
    vamp_element_init (plugin));

static void gst_vamp_mask_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_vamp_mask_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_vamp_mask_finalize (GObject * object);
static GstStateChangeReturn gst_vamp_mask_change_state (GstElement * element,
    GstStateChange transition);
static gboolean gst_vamp_mask_start (GstBaseTransform * trans);
static gboolean gst_vamp_mask_stop (GstBaseTransform * trans);
static GstCaps *gst_vamp_mask_transform_caps (GstBaseTransform * trans, GstPadDirection direction,
    GstCaps * caps, GstCaps * filter);
static gboolean gst_vamp_mask_set_caps (GstBaseTransform * trans, GstCaps * incaps,
    GstCaps * outcaps);
static gboolean gst_vamp_mask_sink_event (GstBaseTransform * trans, GstEvent * event);
static GstFlowReturn gst_vamp_mask_prepare_output_buffer (GstBaseTransform * trans,
    GstBuffer * inbuf, GstBuffer ** outbuf);
static GstFlowReturn gst_vamp_mask_transform (GstBaseTransform * trans, GstBuffer * inbuf,
    GstBuffer * outbuf);

#define CONTROLLABLE (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | \
    GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE)
#define MUTABLE_READY (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void
gst_vamp_mask_class_init (GstVampMaskClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const vamp::MaskSettings d;

  gobject_class->set_property = gst_vamp_mask_set_property;
  gobject_class->get_property = gst_vamp_mask_get_property;
  gobject_class->finalize = gst_vamp_mask_finalize;

  g_object_class_install_property (gobject_class, PROP_PRESET,
      g_param_spec_enum ("preset", "Preset",
          "Loads a preset of the VampNet app into the mask properties (set it before adjusting "
          "them); custom = the properties as set", GST_TYPE_VAMP_MASK_PRESET, DEFAULT_PRESET,
          CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_PERIODIC_PROMPT,
      g_param_spec_int ("periodic-prompt", "Periodic prompt",
          "Keep every n-th frame as a hint (AND; phase from the absolute frame index; 0 = off)",
          0, 4096, d.periodic_prompt, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_PERIODIC_WIDTH,
      g_param_spec_int ("periodic-width", "Periodic width",
          "Frames kept around each periodic hint (width/2 either side)", 0, 4096,
          d.periodic_width, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_RANDOM_ROLL,
      g_param_spec_boolean ("random-roll", "Random roll",
          "Shift the periodic hints by a phase in [0, period) drawn from the seed (the app "
          "always rolls)", d.random_roll, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_RAND_MASK_INTENSITY,
      g_param_spec_double ("rand-mask-intensity", "Random mask intensity",
          "Probability that a token is generated before the other hints are added (1 = all; "
          "lower values keep random tokens)", 0.0, 1.0, d.rand_mask_intensity, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_PREFIX,
      g_param_spec_uint64 ("prefix", "Prefix",
          "Keep the first frames of the stream up to this time, in ns (AND; frames from absolute "
          "index 0)", 0, G_MAXUINT64, 0, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_SUFFIX,
      g_param_spec_uint64 ("suffix", "Suffix",
          "Keep the last frames of the stream for this time, in ns (AND; needs the segment stop "
          "or the upstream duration, otherwise not applied)", 0, G_MAXUINT64, 0, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_ONSET_MASK_WIDTH,
      g_param_spec_int ("onset-mask-width", "Onset mask width",
          "Keep hints only within this many frames of an onset (OR; combination=main adds hints "
          "there instead; needs audio; 0 = off)", 0, 4096, d.onset_mask_width, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_BEAT_MASK_WIDTH,
      g_param_spec_uint64 ("beat-mask-width", "Beat mask width",
          "Keep the frames from each beat for this time, in ns (AND; needs beats-file, "
          "beats-audio or the audio pad; 0 = off)", 0, 10 * GST_SECOND, 0, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_DOWNBEATS_ONLY,
      g_param_spec_boolean ("downbeats-only", "Downbeats only",
          "Beat hints on downbeats only", d.downbeats_only, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_DROPOUT,
      g_param_spec_double ("dropout", "Dropout",
          "Probability that a kept token is generated instead (applied after the hints)",
          0.0, 1.0, d.dropout, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_N_CONDITIONING_CODEBOOKS,
      g_param_spec_int ("n-conditioning-codebooks", "Conditioning codebooks",
          "Always keep the lowest n codebooks", 0, 64, (gint) d.n_conditioning_codebooks,
          CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_UPPER_CODEBOOK_MASK,
      g_param_spec_int ("upper-codebook-mask", "Upper codebook mask",
          "Always generate the codebooks from this one on (applied last; >= codebooks = off)",
          0, 64, (gint) d.upper_codebook_mask, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_COMBINATION,
      g_param_spec_enum ("combination", "Combination",
          "How the parts combine: as the ismir-2023 app (the order above) or as main's "
          "Interface.build_mask", GST_TYPE_VAMP_MASK_COMBINATION, (gint) d.reference,
          CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_uint64 ("seed", "Seed",
          "Seed of the random parts (intensity, dropout, roll); the mask is a function of the "
          "seed and the absolute frame index", 0, G_MAXUINT64, DEFAULT_SEED, CONTROLLABLE));
  g_object_class_install_property (gobject_class, PROP_BEATS_FILE,
      g_param_spec_string ("beats-file", "Beats file",
          "Text file of beat times for the beat hints: one per line, \"TIME [LABEL]\", seconds "
          "from the stream start; LABEL 1 or d = downbeat", NULL, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_BEATS_AUDIO,
      g_param_spec_string ("beats-audio", "Beats audio",
          "WAV file of the stream's audio, analysed with aubio at start for beats, downbeats "
          "and onsets", NULL, MUTABLE_READY));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_add_static_pad_template (element_class, &audio_template);
  gst_element_class_set_static_metadata (element_class, "VampNet masker",
      "Filter/Audio", "Marks which tokens of a VampNet token stream to generate",
      "gst-vampnet developers");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_vamp_mask_change_state);
  element_class->request_new_pad = GST_DEBUG_FUNCPTR (gst_vamp_mask_request_new_pad);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_vamp_mask_release_pad);
  trans_class->start = GST_DEBUG_FUNCPTR (gst_vamp_mask_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_vamp_mask_stop);
  trans_class->transform_caps = GST_DEBUG_FUNCPTR (gst_vamp_mask_transform_caps);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_vamp_mask_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_vamp_mask_sink_event);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR (gst_vamp_mask_prepare_output_buffer);
  trans_class->transform = GST_DEBUG_FUNCPTR (gst_vamp_mask_transform);

  GST_DEBUG_CATEGORY_INIT (gst_vamp_mask_debug, "vampmask", 0, "VampNet masker");
  gst_type_mark_as_plugin_api (GST_TYPE_VAMP_MASK_PRESET, (GstPluginAPIFlags) 0);
  gst_type_mark_as_plugin_api (GST_TYPE_VAMP_MASK_COMBINATION, (GstPluginAPIFlags) 0);
}

static void
gst_vamp_mask_init (GstVampMask * self)
{
  self->priv = new GstVampMaskPrivate ();
  self->settings = vamp::MaskSettings ();  /* GObject zero-fills instances: no C++ initializers */
  self->settings.seed = DEFAULT_SEED;
  self->preset = DEFAULT_PRESET;
}

static void
gst_vamp_mask_finalize (GObject * object)
{
  GstVampMask *self = GST_VAMP_MASK (object);
  delete self->priv;
  g_free (self->beats_file);
  g_free (self->beats_audio);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* Loads a preset into the properties. Object lock held. */
static void
gst_vamp_mask_apply_preset (GstVampMask * self, GstVampMaskPreset preset)
{
  if (preset == GST_VAMP_MASK_PRESET_CUSTOM)
    return;
  /* The engine owns the presets, under the enum's nicks. */
  GEnumClass *presets = (GEnumClass *) g_type_class_ref (GST_TYPE_VAMP_MASK_PRESET);
  vamp::MaskSettings p = vamp::mask_preset (g_enum_get_value (presets, preset)->value_nick);
  g_type_class_unref (presets);
  p.seed = self->settings.seed;
  self->settings = p;
}

/* The mask properties kept in plain fields; setting one by hand leaves the preset (custom). */
static const VampFieldProperty mask_fields[] = {
  VAMP_FIELD (PROP_PERIODIC_PROMPT, GstVampMask, settings.periodic_prompt),
  VAMP_FIELD (PROP_PERIODIC_WIDTH, GstVampMask, settings.periodic_width),
  VAMP_FIELD (PROP_RANDOM_ROLL, GstVampMask, settings.random_roll),
  VAMP_FIELD (PROP_RAND_MASK_INTENSITY, GstVampMask, settings.rand_mask_intensity),
  VAMP_FIELD_NS (PROP_PREFIX, GstVampMask, settings.prefix_s),
  VAMP_FIELD_NS (PROP_SUFFIX, GstVampMask, settings.suffix_s),
  VAMP_FIELD (PROP_ONSET_MASK_WIDTH, GstVampMask, settings.onset_mask_width),
  VAMP_FIELD_NS (PROP_BEAT_MASK_WIDTH, GstVampMask, settings.beat_mask_width_s),
  VAMP_FIELD (PROP_DOWNBEATS_ONLY, GstVampMask, settings.downbeats_only),
  VAMP_FIELD (PROP_DROPOUT, GstVampMask, settings.dropout),
  VAMP_FIELD (PROP_N_CONDITIONING_CODEBOOKS, GstVampMask, settings.n_conditioning_codebooks),
  VAMP_FIELD (PROP_UPPER_CODEBOOK_MASK, GstVampMask, settings.upper_codebook_mask),
  VAMP_FIELD (PROP_COMBINATION, GstVampMask, settings.reference),
};
/* ... and those that do not change the mask's shape. */
static const VampFieldProperty other_fields[] = {
  VAMP_FIELD (PROP_SEED, GstVampMask, settings.seed),
};

static gchar **
file_field (GstVampMask * self, guint prop_id)
{
  return prop_id == PROP_BEATS_FILE ? &self->beats_file
      : prop_id == PROP_BEATS_AUDIO ? &self->beats_audio : nullptr;
}

static void
gst_vamp_mask_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstVampMask *self = GST_VAMP_MASK (object);
  GST_OBJECT_LOCK (self);
  if (prop_id == PROP_PRESET) {
    self->preset = (GstVampMaskPreset) g_value_get_enum (value);
    gst_vamp_mask_apply_preset (self, self->preset);
  } else if (vamp_field_property_set (self, mask_fields, G_N_ELEMENTS (mask_fields), prop_id,
          value)) {
    self->preset = GST_VAMP_MASK_PRESET_CUSTOM;
  } else if (gchar ** path = file_field (self, prop_id)) {
    g_free (*path);
    *path = g_value_dup_string (value);
  } else if (!vamp_field_property_set (self, other_fields, G_N_ELEMENTS (other_fields), prop_id,
          value)) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vamp_mask_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstVampMask *self = GST_VAMP_MASK (object);
  GST_OBJECT_LOCK (self);
  if (prop_id == PROP_PRESET)
    g_value_set_enum (value, self->preset);
  else if (gchar ** path = file_field (self, prop_id))
    g_value_set_string (value, *path);
  else if (!vamp_field_property_get (self, mask_fields, G_N_ELEMENTS (mask_fields), prop_id, value)
      && !vamp_field_property_get (self, other_fields, G_N_ELEMENTS (other_fields), prop_id,
          value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  GST_OBJECT_UNLOCK (self);
}

/* Wakes a transform waiting for audio (state change, flush). */
static void
gst_vamp_mask_set_flushing (GstVampMask * self, bool flushing)
{
  std::lock_guard < std::mutex > guard (self->priv->lock);
  self->priv->flushing = flushing;
  self->priv->cond.notify_all ();
}

static GstStateChangeReturn
gst_vamp_mask_change_state (GstElement * element, GstStateChange transition)
{
  GstVampMask *self = GST_VAMP_MASK (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    gst_vamp_mask_set_flushing (self, false);
  else if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_vamp_mask_set_flushing (self, true);
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static gboolean
gst_vamp_mask_start (GstBaseTransform * trans)
{
  GstVampMask *self = GST_VAMP_MASK (trans);
  GstVampMaskPrivate *priv = self->priv;
  GST_OBJECT_LOCK (self);
  const std::string beats_file = self->beats_file ? self->beats_file : "";
  const std::string beats_audio = self->beats_audio ? self->beats_audio : "";
  GST_OBJECT_UNLOCK (self);

  std::lock_guard < std::mutex > guard (priv->lock);
  if (!gst_vamp_mask_read_beats (self, beats_file, beats_audio))
    return FALSE;
  priv->next_offset = 0;
  priv->configured = false;
  priv->warned_no_beats = priv->warned_no_end = false;
  priv->duration_queried = false;
  return TRUE;
}

static gboolean
gst_vamp_mask_stop (GstBaseTransform * trans)
{
  GstVampMask *self = GST_VAMP_MASK (trans);
  std::lock_guard < std::mutex > guard (self->priv->lock);
  self->priv->masker.reset ();
  self->priv->pending_audio.clear ();
  self->priv->configured = false;
  self->priv->audio_eos = false;
  return TRUE;
}

static GstCaps *
gst_vamp_mask_transform_caps (GstBaseTransform * trans, GstPadDirection direction,
    GstCaps * caps, GstCaps * filter)
{
  /* Sink -> src: the same stream with a mask plane. Src -> sink: with or without one. */
  GstCaps *res = gst_caps_new_empty ();
  for (guint i = 0; i < gst_caps_get_size (caps); ++i) {
    const GstStructure *in = gst_caps_get_structure (caps, i);
    for (const char *mask : { "plane", "none" }) {
      if (direction == GST_PAD_SINK && g_strcmp0 (mask, "none") == 0)
        continue;
      GstStructure *s = gst_structure_copy (in);
      gst_structure_set (s, "mask", G_TYPE_STRING, mask, NULL);
      res = gst_caps_merge_structure (res, s);
    }
  }

  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, res, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (res);
    res = tmp;
  }
  GST_DEBUG_OBJECT (trans, "%s %" GST_PTR_FORMAT " -> %" GST_PTR_FORMAT,
      direction == GST_PAD_SINK ? "sink" : "src", caps, res);
  return res;
}

static gboolean
gst_vamp_mask_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  GstVampMask *self = GST_VAMP_MASK (trans);
  GstVampMaskPrivate *priv = self->priv;
  VampTokensInfo in;
  if (!vamp_tokens_info_from_caps (&in, incaps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("invalid token caps %" GST_PTR_FORMAT,
            incaps));
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  const vamp::MaskSettings settings = self->settings;
  GST_OBJECT_UNLOCK (self);

  std::lock_guard < std::mutex > guard (priv->lock);
  if (priv->audio_rate > 0 && priv->audio_rate != in.rate) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("The audio is not at the codec rate."),
        ("audio %d Hz, tokens %d Hz", priv->audio_rate, in.rate));
    return FALSE;
  }
  const bool same = priv->masker && priv->in_info.codebooks == in.codebooks &&
      priv->in_info.rate == in.rate && priv->in_info.hop_length == in.hop_length;
  priv->in_info = in;
  priv->configured = true;
  if (same)
    return TRUE;
  try {
    priv->masker.reset (new vamp::StreamMasker (in.codebooks, in.rate, in.hop_length, settings));
    if (priv->have_file)
      priv->masker->set_beats (priv->file_beats, priv->file_downbeats, priv->file_onsets);
    if (!priv->pending_audio.empty ()) {
      priv->masker->push_audio (priv->pending_audio.data (), priv->pending_audio.size ());
      priv->pending_audio.clear ();
    }
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("%s", e.what ()));
    priv->configured = false;
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_vamp_mask_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstVampMask *self = GST_VAMP_MASK (trans);
  GstVampMaskPrivate *priv = self->priv;
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_START:
      gst_vamp_mask_set_flushing (self, true);
      break;
    case GST_EVENT_FLUSH_STOP:{
      std::lock_guard < std::mutex > guard (priv->lock);
      priv->flushing = false;
      priv->next_offset = 0;    /* the phase restarts from the next OFFSET, or from 0 */
      priv->duration_queried = false;
      break;
    }
    case GST_EVENT_SEGMENT:{
      std::lock_guard < std::mutex > guard (priv->lock);
      priv->duration_queried = false;
      break;
    }
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* The output shares the input's token memory and gets a new memory for the mask plane. */
static GstFlowReturn
gst_vamp_mask_prepare_output_buffer (GstBaseTransform * trans, GstBuffer * inbuf,
    GstBuffer ** outbuf)
{
  GstVampMask *self = GST_VAMP_MASK (trans);
  GstVampMaskPrivate *priv = self->priv;
  VampTokensInfo in;
  {
    std::lock_guard < std::mutex > guard (priv->lock);
    if (!priv->configured) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("no caps before the first buffer"));
      return GST_FLOW_NOT_NEGOTIATED;
    }
    in = priv->in_info;
  }
  const gsize size = gst_buffer_get_size (inbuf), frame_bytes = vamp_tokens_frame_bytes (&in);
  if (size % frame_bytes != 0) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Token buffer is not a whole number of frames."),
        ("%" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " per frame", size, frame_bytes));
    return GST_FLOW_ERROR;
  }
  const gsize n = size / frame_bytes * in.codebooks;
  *outbuf = gst_buffer_copy_region (inbuf, (GstBufferCopyFlags) (GST_BUFFER_COPY_FLAGS |
          GST_BUFFER_COPY_META | GST_BUFFER_COPY_MEMORY), 0, n * 2);
  gst_buffer_append_memory (*outbuf, gst_allocator_alloc (NULL, n, NULL));
  GST_BUFFER_PTS (*outbuf) = GST_BUFFER_PTS (inbuf);
  GST_BUFFER_DTS (*outbuf) = GST_BUFFER_DTS (inbuf);
  GST_BUFFER_DURATION (*outbuf) = GST_BUFFER_DURATION (inbuf);
  GST_BUFFER_OFFSET (*outbuf) = GST_BUFFER_OFFSET (inbuf);
  GST_BUFFER_OFFSET_END (*outbuf) = GST_BUFFER_OFFSET_END (inbuf);
  return GST_FLOW_OK;
}

/* The stream's frame count for the suffix, or -1. Lock held. */
static gint64
gst_vamp_mask_end_frame (GstVampMask * self, GstBuffer * buf, guint64 offset)
{
  GstVampMaskPrivate *priv = self->priv;
  const GstSegment *segment = &GST_BASE_TRANSFORM (self)->segment;
  if (segment->format != GST_FORMAT_TIME || !GST_BUFFER_PTS_IS_VALID (buf))
    return -1;
  GstClockTime end = segment->stop;
  if (!GST_CLOCK_TIME_IS_VALID (end)) {
    if (!priv->duration_queried) {
      priv->duration_queried = true;
      gint64 duration = -1;
      priv->duration = GST_CLOCK_TIME_NONE;
      if (gst_pad_peer_query_duration (GST_BASE_TRANSFORM_SINK_PAD (self), GST_FORMAT_TIME,
              &duration) && duration >= 0)
        priv->duration = gst_segment_position_from_stream_time (segment, GST_FORMAT_TIME,
            (guint64) duration);
      GST_DEBUG_OBJECT (self, "stream end from duration: %" GST_TIME_FORMAT,
          GST_TIME_ARGS (priv->duration));
    }
    end = priv->duration;
  }
  if (!GST_CLOCK_TIME_IS_VALID (end))
    return -1;
  /* A partial last frame counts (vampenc pads it); timestamps are rounded to ns, so allow for that. */
  const double frames = ((double) end - (double) GST_BUFFER_PTS (buf)) * priv->in_info.rate /
      ((double) priv->in_info.hop_length * GST_SECOND);
  return (gint64) offset + (gint64) std::ceil (frames - 1e-4);
}

static GstFlowReturn
gst_vamp_mask_transform (GstBaseTransform * trans, GstBuffer * inbuf, GstBuffer * outbuf)
{
  GstVampMask *self = GST_VAMP_MASK (trans);
  GstVampMaskPrivate *priv = self->priv;

  /* Controlled properties take their values at this buffer's time. */
  const GstClockTime stream_time = gst_segment_to_stream_time (&trans->segment, GST_FORMAT_TIME,
      GST_BUFFER_PTS (inbuf));
  if (GST_CLOCK_TIME_IS_VALID (stream_time))
    gst_object_sync_values (GST_OBJECT (self), stream_time);
  GST_OBJECT_LOCK (self);
  const vamp::MaskSettings settings = self->settings;
  GST_OBJECT_UNLOCK (self);

  std::unique_lock < std::mutex > guard (priv->lock);
  const VampTokensInfo in = priv->in_info;
  const gsize frames = gst_buffer_get_size (inbuf) / vamp_tokens_frame_bytes (&in);
  const gsize n = frames * in.codebooks;
  const guint64 offset = GST_BUFFER_OFFSET_IS_VALID (inbuf) ? GST_BUFFER_OFFSET (inbuf) :
      priv->next_offset;
  priv->next_offset = offset + frames;

  const bool beats_on = settings.beat_mask_width_s > 0, onsets_on = settings.onset_mask_width > 0;
  if ((beats_on || onsets_on) && priv->audio_pad) {
    /* Wait for the audio under these frames plus the tracker's latency (and the onset reach). */
    const double need = (double) (offset + frames + settings.onset_mask_width) * in.hop_length /
        in.rate + priv->masker->analysis_latency_s ();
    priv->cond.wait (guard, [&] {
          return priv->flushing || priv->audio_eos || !priv->audio_pad ||
              priv->masker->audio_seconds () >= need;
        });
    if (priv->flushing)
      return GST_FLOW_FLUSHING;
  }
  if (beats_on && !priv->masker->has_beat_source () && !priv->warned_no_beats) {
    priv->warned_no_beats = true;
    GST_WARNING_OBJECT (self, "beat-mask-width is set but there are no beats (set beats-file or "
        "beats-audio, or link the audio pad): no beat hints");
  }
  if (onsets_on && priv->masker->onset_count () == 0 && !priv->audio_pad && !priv->warned_no_beats) {
    priv->warned_no_beats = true;
    GST_INFO_OBJECT (self, "onset-mask-width is set but there are no onsets (set beats-audio or "
        "link the audio pad): the hints are not restricted to onsets");
  }
  gint64 end_frame = -1;
  if (settings.suffix_s > 0) {
    end_frame = gst_vamp_mask_end_frame (self, inbuf, offset);
    if (end_frame < 0 && !priv->warned_no_end) {
      priv->warned_no_end = true;
      GST_WARNING_OBJECT (self, "suffix is set but the end of the stream is not known (no "
          "segment stop, no duration): not applied");
    }
  }

  std::vector < uint8_t > mask;
  try {
    priv->masker->set (settings);
    priv->masker->mask ((int64_t) offset, frames, mask, end_frame);
  } catch (const std::exception & e) {
    guard.unlock ();
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not build the mask."), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
  guard.unlock ();

  /* An input mask plane is combined with ours: generate only where both say generate. */
  if (in.has_mask && n > 0) {
    std::vector < uint8_t > in_mask (n);
    gst_buffer_extract (inbuf, n * 2, in_mask.data (), n);
    for (gsize i = 0; i < n; ++i)
      mask[i] = mask[i] && in_mask[i];
  }
  gsize generated = 0;
  for (gsize i = 0; i < n; ++i)
    generated += mask[i];

  GstMemory *mem = gst_buffer_peek_memory (outbuf, gst_buffer_n_memory (outbuf) - 1);
  GstMapInfo map;
  if (n == 0) {
    /* nothing to write */
  } else if (!gst_memory_map (mem, &map, GST_MAP_WRITE)) {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, (NULL), ("could not map the mask plane"));
    return GST_FLOW_ERROR;
  } else {
    memcpy (map.data, mask.data (), n);
    gst_memory_unmap (mem, &map);
  }

  GstStructure *s = gst_structure_new ("vampmask",
      "offset", G_TYPE_UINT64, offset,
      "frames", G_TYPE_INT, (gint) frames,
      "masked-fraction", G_TYPE_DOUBLE, n > 0 ? (double) generated / n : 0.0, NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
  return GST_FLOW_OK;
}
