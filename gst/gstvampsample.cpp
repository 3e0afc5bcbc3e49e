/* GStreamer VampNet sampler: masked tokens -> generated tokens */
/**
 * SECTION:element-vampsample
 * @title: vampsample
 * @see_also: vampenc, vampmask, vampdec
 *
 * Fills the masked tokens of a token stream with VampNet: a coarse transformer
 * generates the lowest codebooks by iterative parallel decoding (`steps`),
 * then a coarse-to-fine transformer generates the rest (`c2f-steps`), exactly
 * as the reference app does for one window. The input comes from vampmask
 * (`mask=plane`: 1 = generate, 0 = keep the token); the output carries no mask.
 *
 * The stream is cut into windows of `window-frames` new frames. Each window is
 * generated with the last `context-frames` frames of output in front of it,
 * kept as prompt, so the music continues across window seams. Windows run on a
 * streaming thread of this element (a src-pad task); at EOS the last, partial
 * window is generated and pushed before EOS. A flush drops pending work.
 *
 * Batching: all vampsample elements of a process that use the same models (and
 * `precision`) submit their windows to one shared scheduler, which runs each
 * sampling step of up to `max-batch` windows as one forward pass. A window waits
 * at most `batch-timeout` for others to join; windows batch only with windows of
 * the same length and sampling settings. Batching never changes the output (each
 * stream keeps its own seed). The default `max-batch=0` means 8 on CUDA and 1 on
 * the CPU (where a batch of B costs about B times one window, so waiting buys
 * nothing); `batch-timeout=0` still batches windows that queue while the device
 * is busy, at no added latency.
 *
 * Models are shared through the GstContext types `vamp.codec` and
 * `vamp.transformer` (and a process-wide registry behind them): N vampsample
 * elements with the same model files hold one copy of each model.
 *
 * Latency: a frame can only be generated once its whole window has arrived, so
 * in live pipelines the element reports upstream latency + `window-frames` +
 * `batch-timeout` + `processing-latency`: the time a window may take from its
 * last input frame to its output. By default (`processing-latency=0`) it is
 * measured when the pipeline first asks for its latency: one full window
 * (`context-frames` + `window-frames`, `steps`) is generated from dummy tokens,
 * and the budget is 1.5 times that. In live pipelines each window then gets the
 * coarse steps that fit in the time it has left (the time per step is followed
 * from window to window), down to `min-steps`, so a machine that gets busier
 * costs steps rather than audio; files (not live) always get `steps`.
 *
 * After each window the element posts an element message `vampsample` with
 * fields `window` (guint64), `frames` (gint), `seconds` (gdouble, processing
 * time including the wait for a batch), `realtime-factor` (gdouble: processing
 * time / audio time), `steps` (gint: the coarse steps the window got),
 * `steps-per-second` (gdouble) and `batch-size` (gint: the windows, of any
 * streams, that shared its forward passes).
 *
 * Input tokens with fewer codebooks than the models (e.g. one codebook kept for
 * generative compression) are accepted: the missing codebooks are generated.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.wav ! decodebin ! audioconvert ! audioresample ! \
 *     vampenc ! vampmask periodic-prompt=7 ! vampsample steps=12 ! vampdec ! \
 *     audioconvert ! wavenc ! filesink location=varied.wav
 * ]| A streaming variation of a file: every 7th frame is kept, the rest regenerated.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampsample.h"
#include "gstvampsampleprivate.h"

#include "gstvampelements.h"
#include "vamp/vamp.h"
#include "vampcontext.h"
#include "vampsettings.h"
#include "vamptokens.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

GST_DEBUG_CATEGORY (gst_vamp_sample_debug);
#define GST_CAT_DEFAULT gst_vamp_sample_debug

#define DEFAULT_SEED -1
#define DEFAULT_PROCESSING_LATENCY 0     /* measured */
#define DEFAULT_MIN_STEPS 4
#define DEFAULT_MAX_BATCH 0
#define DEFAULT_BATCH_TIMEOUT 0

enum
{
  PROP_0,
  PROP_COARSE_MODEL,
  PROP_C2F_MODEL,
  PROP_CODEC_MODEL,
  PROP_STEPS,
  PROP_C2F_STEPS,
  PROP_TEMPERATURE,
  PROP_MASK_TEMPERATURE,
  PROP_TOP_P,
  PROP_SAMPLE_CUTOFF,
  PROP_SEED,
  PROP_FEEDBACK_STEPS,
  PROP_CONTEXT_FRAMES,
  PROP_WINDOW_FRAMES,
  PROP_C2F_WINDOW_FRAMES,
  PROP_GENERATE_UNMASKED,
  PROP_PROCESSING_LATENCY,
  PROP_MIN_STEPS,
  PROP_MAX_BATCH,
  PROP_BATCH_TIMEOUT,
  PROP_DEVICE,                  /* .. PROP_DEVICE + 2: vampsettings.h */
};


static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("{ plane, none }")));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (VAMP_TOKENS_CAPS ("none")));

#define gst_vamp_sample_parent_class parent_class
G_DEFINE_TYPE (GstVampSample, gst_vamp_sample, GST_TYPE_ELEMENT);
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (vampsample, "vampsample", GST_RANK_NONE,
    GST_TYPE_VAMP_SAMPLE, vamp_element_init (plugin));

static void gst_vamp_sample_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_vamp_sample_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_vamp_sample_finalize (GObject * object);
static GstStateChangeReturn gst_vamp_sample_change_state (GstElement * element,
    GstStateChange transition);
static GstFlowReturn gst_vamp_sample_chain (GstPad * pad, GstObject * parent, GstBuffer * buf);
static gboolean gst_vamp_sample_sink_event (GstPad * pad, GstObject * parent, GstEvent * event);
static gboolean gst_vamp_sample_src_query (GstPad * pad, GstObject * parent, GstQuery * query);
static gboolean gst_vamp_sample_sink_query (GstPad * pad, GstObject * parent, GstQuery * query);
static gboolean gst_vamp_sample_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active);

#define MUTABLE_READY (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)
#define MUTABLE_PLAYING (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)

static void
gst_vamp_sample_class_init (GstVampSampleClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  const vamp::SampleSettings defaults;

  gobject_class->set_property = gst_vamp_sample_set_property;
  gobject_class->get_property = gst_vamp_sample_get_property;
  gobject_class->finalize = gst_vamp_sample_finalize;

  g_object_class_install_property (gobject_class, PROP_COARSE_MODEL,
      g_param_spec_string ("coarse-model", "Coarse model",
          "Path of the coarse VampNet checkpoint (coarse.pth); empty = the file of that name in $VAMPNET_MODELS, else in the project's small default set (models/default)", NULL,
          MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_C2F_MODEL,
      g_param_spec_string ("c2f-model", "Coarse-to-fine model",
          "Path of the coarse-to-fine checkpoint (c2f.pth); empty = the file of that name in $VAMPNET_MODELS, else in the project's small default set (models/default); \"none\" = "
          "generate the coarse codebooks only", NULL, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_CODEC_MODEL,
      g_param_spec_string ("codec-model", "Codec model",
          "Path of the codec checkpoint whose codebooks the transformers embed (the one vampenc "
          "and vampdec use); empty = the file of that name in $VAMPNET_MODELS, else in the project's small default set (models/default)", NULL, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_STEPS,
      g_param_spec_int ("steps", "Steps", "Coarse decoding steps per window", 1, 256,
          defaults.steps, MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_C2F_STEPS,
      g_param_spec_int ("c2f-steps", "Coarse-to-fine steps",
          "Coarse-to-fine decoding steps (the reference app uses 2)", 1, 256, defaults.c2f_steps,
          MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TEMPERATURE,
      g_param_spec_double ("temperature", "Temperature",
          "Sampling temperature (higher = more surprising)", 0.0, 100.0, defaults.temperature,
          MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MASK_TEMPERATURE,
      g_param_spec_double ("mask-temperature", "Mask temperature",
          "Randomness of which tokens are committed first (Gumbel noise on the confidence, "
          "annealed to 0 over the steps)", 0.0, 1000.0, defaults.mask_temperature,
          MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_TOP_P,
      g_param_spec_double ("top-p", "Top p",
          "Nucleus sampling: keep the most likely tokens up to this probability mass (0 = off)",
          0.0, 1.0, defaults.top_p, MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SAMPLE_CUTOFF,
      g_param_spec_double ("sample-cutoff", "Sample cutoff",
          "Fraction of the steps that sample; later steps take the most likely token", 0.0, 1.0,
          defaults.sample_cutoff, MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_SEED,
      g_param_spec_int64 ("seed", "Seed",
          "Random seed (-1 = a new random seed per stream); window w uses seed + w", -1,
          G_MAXINT64, DEFAULT_SEED, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_FEEDBACK_STEPS,
      g_param_spec_int ("feedback-steps", "Feedback steps",
          "Coarse passes over its own output with the same mask (\"token telephone\")", 1, 16,
          defaults.feedback_steps, MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_CONTEXT_FRAMES,
      g_param_spec_int ("context-frames", "Context frames",
          "Generated frames kept as prompt in front of each window (continuity across seams)", 0,
          4096, defaults.context_frames, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_WINDOW_FRAMES,
      g_param_spec_int ("window-frames", "Window frames",
          "New frames generated per window (latency; context + window should stay within the "
          "model's 10 s training length, 575 frames at hop 768)", 1, 4096, defaults.window_frames,
          MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_C2F_WINDOW_FRAMES,
      g_param_spec_int ("c2f-window-frames", "Coarse-to-fine window frames",
          "Frames per coarse-to-fine chunk (the reference uses 3 s: 173 frames at hop 768)", 1,
          4096, defaults.c2f_window_frames, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_GENERATE_UNMASKED,
      g_param_spec_boolean ("generate-unmasked", "Generate unmasked input",
          "Accept input without a mask plane (mask=none) and generate every token of it "
          "(unconditional generation); otherwise such input is refused", FALSE, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_PROCESSING_LATENCY,
      g_param_spec_uint64 ("processing-latency", "Processing latency",
          "Time a window may take from its last input frame to its output, in ns, added to the "
          "reported latency in live pipelines (0 = 1.5 x one full window's time, measured here "
          "when the pipeline first asks for its latency)", 0, G_MAXUINT64,
          DEFAULT_PROCESSING_LATENCY, MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_MIN_STEPS,
      g_param_spec_int ("min-steps", "Minimum steps",
          "Live pipelines: fewest coarse steps a window may drop to so that it is ready within "
          "processing-latency (>= steps: never fewer than steps)", 1, 256, DEFAULT_MIN_STEPS,
          MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_MAX_BATCH,
      g_param_spec_int ("max-batch", "Max batch",
          "Most windows (of this and other vampsample elements with the same models) run as one "
          "batch; 0 = auto (8 on CUDA, 1 on CPU)", 0, 256, DEFAULT_MAX_BATCH, MUTABLE_PLAYING));
  g_object_class_install_property (gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint64 ("batch-timeout", "Batch timeout",
          "How long a window waits for others to fill its batch, in ns (added to the reported "
          "latency); 0 = only windows already waiting join", 0, G_MAXUINT64,
          DEFAULT_BATCH_TIMEOUT, MUTABLE_PLAYING));

  vamp_engine_settings_install (gobject_class, PROP_DEVICE, VAMP_MODEL_TRANSFORMERS);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "VampNet sampler",
      "Generator/Audio", "Generates the masked tokens of a VampNet token stream",
      "gst-vampnet developers");
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_vamp_sample_change_state);

  GST_DEBUG_CATEGORY_INIT (gst_vamp_sample_debug, "vampsample", 0, "VampNet sampler");
}

static void
gst_vamp_sample_init (GstVampSample * self)
{
  self->priv = new GstVampSamplePrivate ();
  self->settings = vamp::SampleSettings ();  /* GObject zero-fills instances: no C++ initializers */
  self->seed = DEFAULT_SEED;
  self->processing_latency = DEFAULT_PROCESSING_LATENCY;
  self->min_steps = DEFAULT_MIN_STEPS;
  self->max_batch = DEFAULT_MAX_BATCH;
  self->batch_timeout = DEFAULT_BATCH_TIMEOUT;

  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_vamp_sample_chain));
  gst_pad_set_event_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_vamp_sample_sink_event));
  gst_pad_set_query_function (self->sinkpad, GST_DEBUG_FUNCPTR (gst_vamp_sample_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_vamp_sample_src_query));
  gst_pad_set_activatemode_function (self->srcpad,
      GST_DEBUG_FUNCPTR (gst_vamp_sample_src_activate_mode));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
}

static void
gst_vamp_sample_finalize (GObject * object)
{
  GstVampSample *self = GST_VAMP_SAMPLE (object);
  gst_clear_caps (&self->priv->pending_caps);
  gst_clear_event (&self->priv->pending_segment);
  delete self->priv;
  g_free (self->coarse_model);
  g_free (self->c2f_model);
  g_free (self->codec_model);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* The properties kept in plain fields; the others (strings, the engine settings) below. */
static const VampFieldProperty sample_fields[] = {
  VAMP_FIELD (PROP_STEPS, GstVampSample, settings.steps),
  VAMP_FIELD (PROP_C2F_STEPS, GstVampSample, settings.c2f_steps),
  VAMP_FIELD (PROP_TEMPERATURE, GstVampSample, settings.temperature),
  VAMP_FIELD (PROP_MASK_TEMPERATURE, GstVampSample, settings.mask_temperature),
  VAMP_FIELD (PROP_TOP_P, GstVampSample, settings.top_p),
  VAMP_FIELD (PROP_SAMPLE_CUTOFF, GstVampSample, settings.sample_cutoff),
  VAMP_FIELD (PROP_SEED, GstVampSample, seed),
  VAMP_FIELD (PROP_FEEDBACK_STEPS, GstVampSample, settings.feedback_steps),
  VAMP_FIELD (PROP_CONTEXT_FRAMES, GstVampSample, settings.context_frames),
  VAMP_FIELD (PROP_WINDOW_FRAMES, GstVampSample, settings.window_frames),
  VAMP_FIELD (PROP_C2F_WINDOW_FRAMES, GstVampSample, settings.c2f_window_frames),
  VAMP_FIELD (PROP_GENERATE_UNMASKED, GstVampSample, generate_unmasked),
  VAMP_FIELD (PROP_PROCESSING_LATENCY, GstVampSample, processing_latency),
  VAMP_FIELD (PROP_MIN_STEPS, GstVampSample, min_steps),
  VAMP_FIELD (PROP_MAX_BATCH, GstVampSample, max_batch),
  VAMP_FIELD (PROP_BATCH_TIMEOUT, GstVampSample, batch_timeout),
};

static gchar **
model_field (GstVampSample * self, guint prop_id)
{
  switch (prop_id) {
    case PROP_COARSE_MODEL:
      return &self->coarse_model;
    case PROP_C2F_MODEL:
      return &self->c2f_model;
    case PROP_CODEC_MODEL:
      return &self->codec_model;
    default:
      return nullptr;
  }
}

static void
gst_vamp_sample_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstVampSample *self = GST_VAMP_SAMPLE (object);
  GST_OBJECT_LOCK (self);
  if (gchar ** path = model_field (self, prop_id)) {
    g_free (*path);
    *path = g_value_dup_string (value);
  } else if (!vamp_field_property_set (self, sample_fields, G_N_ELEMENTS (sample_fields), prop_id,
          value) && !vamp_engine_settings_set (&self->priv->engine, PROP_DEVICE, prop_id, value)) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
  if (prop_id == PROP_WINDOW_FRAMES || prop_id == PROP_PROCESSING_LATENCY
      || prop_id == PROP_BATCH_TIMEOUT)
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
}

static void
gst_vamp_sample_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstVampSample *self = GST_VAMP_SAMPLE (object);
  GST_OBJECT_LOCK (self);
  if (gchar ** path = model_field (self, prop_id))
    g_value_set_string (value, *path);
  else if (!vamp_field_property_get (self, sample_fields, G_N_ELEMENTS (sample_fields), prop_id,
          value) && !vamp_engine_settings_get (&self->priv->engine, PROP_DEVICE, prop_id, value))
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  GST_OBJECT_UNLOCK (self);
}

static std::string
model_path (const gchar * prop, const char *file)
{
  return prop && *prop ? std::string (prop) : vamp::default_model_path (file);
}

static gboolean
gst_vamp_sample_load_models (GstVampSample * self)
{
  GstVampSamplePrivate *priv = self->priv;
  GST_OBJECT_LOCK (self);
  const std::string codec = model_path (self->codec_model, "codec.pth");
  const std::string coarse = model_path (self->coarse_model, "coarse.pth");
  const bool use_c2f = g_strcmp0 (self->c2f_model, "none") != 0;
  const std::string c2f = model_path (self->c2f_model, "c2f.pth");
  const std::string device = priv->engine.device ? priv->engine.device : "auto";
  const int threads = priv->engine.threads;
  const vamp::Precision precision = priv->engine.precision;
  GST_OBJECT_UNLOCK (self);
  try {
    vamp::resolve_device (device);
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Bad device \"%s\".", device.c_str ()),
        ("%s", e.what ()));
    return FALSE;
  }

  std::string current = codec;
  try {
    GST_DEBUG_OBJECT (self, "CPU thread budget %d (%d cores usable)",
        vamp::set_cpu_threads (threads), vamp::cpu_cores ());
    priv->codec = vamp_context_codec (GST_ELEMENT (self), codec, device);
    current = coarse;
    priv->coarse = vamp_context_transformer (GST_ELEMENT (self), coarse, priv->codec, device,
        precision);
    if (use_c2f) {
      current = c2f;
      priv->c2f = vamp_context_transformer (GST_ELEMENT (self), c2f, priv->codec, device,
          precision);
    }
    if (!priv->coarse->precision_note ().empty ())
      GST_WARNING_OBJECT (self, "precision: %s", priv->coarse->precision_note ().c_str ());
    GST_INFO_OBJECT (self, "transformer weights in %s, arithmetic %s",
        vamp::precision_name (priv->coarse->precision ()),
        vamp::precision_name (priv->coarse->autocast ()));
  } catch (const vamp::SettingsError & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("Precision %s cannot run on device \"%s\".",
            vamp::precision_name (precision), device.c_str ()), ("%s", e.what ()));
    priv->codec.reset ();
    priv->coarse.reset ();
    priv->c2f.reset ();
    return FALSE;
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("Could not load model \"%s\".",
            current.c_str ()), ("%s", e.what ()));
    priv->codec.reset ();
    priv->coarse.reset ();
    priv->c2f.reset ();
    return FALSE;
  }

  return TRUE;
}

static void
gst_vamp_sample_reset_stream (GstVampSample * self)
{
  GstVampSamplePrivate *priv = self->priv;
  priv->queue.clear ();
  priv->queued_frames = 0;
  priv->eos = false;
  priv->base_ts = GST_CLOCK_TIME_NONE;
  priv->frames_out = 0;
  if (priv->sampler)
    priv->sampler->reset ();
}

static GstStateChangeReturn
gst_vamp_sample_change_state (GstElement * element, GstStateChange transition)
{
  GstVampSample *self = GST_VAMP_SAMPLE (element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !gst_vamp_sample_load_models (self))
    return GST_STATE_CHANGE_FAILURE;

  GstStateChangeReturn ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);

  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::lock_guard < std::mutex > guard (self->priv->lock);
    gst_vamp_sample_reset_stream (self);
    self->priv->sampler.reset ();
    self->priv->configured = false;
    self->priv->governor = vamp::StepGovernor ();
    GST_OBJECT_LOCK (self);
    self->priv->measured = 0;   /* settings may change before the next measurement */
    self->priv->live = false;
    GST_OBJECT_UNLOCK (self);
    self->priv->coarse.reset ();
    self->priv->c2f.reset ();
    self->priv->codec.reset ();
  }
  return ret;
}

/* Checks new input caps against the models and prepares the output caps. Lock held. */
static gboolean
gst_vamp_sample_set_caps (GstVampSample * self, GstCaps * caps)
{
  GstVampSamplePrivate *priv = self->priv;
  VampTokensInfo in;
  if (!vamp_tokens_info_from_caps (&in, caps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("invalid token caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  const vamp::CodecInfo & codec = priv->codec->info ();
  if (!vamp_tokens_check_codec (GST_ELEMENT (self), &in, codec, priv->codec->path ()))
    return FALSE;
  if (!in.has_mask && !self->generate_unmasked) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("The token stream has no mask."),
        ("vampsample generates the masked tokens of its input: put vampmask in front of it "
            "(e.g. vampmask periodic-prompt=7), or set generate-unmasked=true to generate "
            "everything"));
    return FALSE;
  }

  GST_OBJECT_LOCK (self);
  vamp::SampleSettings settings = self->settings;
  settings.seed = self->seed >= 0 ? (guint64) self->seed : g_random_int ();
  vamp::BatchSettings batch;
  batch.max_batch = self->max_batch;
  batch.timeout_ns = (int64_t) MIN (self->batch_timeout, (GstClockTime) G_MAXINT64);
  GST_OBJECT_UNLOCK (self);
  try {
    priv->sampler.reset (new vamp::StreamSampler (priv->coarse, priv->c2f, settings, in.codebooks,
            batch));
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("The token stream does not fit the models."),
        ("%s", e.what ()));
    return FALSE;
  }
  if (in.codebooks > priv->sampler->codebooks_out ())
    GST_WARNING_OBJECT (self, "the stream's codebooks %d..%d are dropped: c2f-model %s generates %d",
        priv->sampler->codebooks_out (), in.codebooks - 1, priv->c2f ? priv->c2f->path ().c_str () : "",
        priv->sampler->codebooks_out ());
  GST_INFO_OBJECT (self, "seed %" G_GUINT64_FORMAT, settings.seed);
  priv->in_info = in;
  priv->out_info = in;
  priv->out_info.has_mask = FALSE;
  priv->out_info.codebooks = priv->sampler->codebooks_out ();
  g_strlcpy (priv->out_info.codec_id, codec.id.c_str (), sizeof (priv->out_info.codec_id));
  gst_clear_caps (&priv->pending_caps);
  priv->pending_caps = vamp_tokens_info_to_caps (&priv->out_info);
  priv->configured = true;
  return TRUE;
}

static gboolean
gst_vamp_sample_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstVampSample *self = GST_VAMP_SAMPLE (parent);
  GstVampSamplePrivate *priv = self->priv;

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      std::lock_guard < std::mutex > guard (priv->lock);
      gboolean ok = gst_vamp_sample_set_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT:{
      /* Sent by the streaming thread ahead of its next buffer, in order. */
      std::lock_guard < std::mutex > guard (priv->lock);
      gst_clear_event (&priv->pending_segment);
      priv->pending_segment = event;
      return TRUE;
    }
    case GST_EVENT_EOS:{
      std::lock_guard < std::mutex > guard (priv->lock);
      priv->eos = true;
      priv->cond.notify_all ();
      gst_event_unref (event);  /* the streaming thread sends EOS after the last window */
      return TRUE;
    }
    case GST_EVENT_FLUSH_START:{
      {
        std::lock_guard < std::mutex > guard (priv->lock);
        priv->flushing = true;
        priv->cond.notify_all ();
        if (priv->sampler)
          priv->sampler->cancel ();  /* a window waiting for its batch leaves at once */
      }
      gboolean ret = gst_pad_push_event (self->srcpad, event);
      gst_pad_pause_task (self->srcpad);
      return ret;
    }
    case GST_EVENT_FLUSH_STOP:{
      {
        std::lock_guard < std::mutex > guard (priv->lock);
        gst_vamp_sample_reset_stream (self);
        priv->flushing = false;
      }
      gboolean ret = gst_pad_push_event (self->srcpad, event);
      gst_pad_start_task (self->srcpad, (GstTaskFunction) gst_vamp_sample_loop, self, NULL);
      return ret;
    }
    default:
      return gst_pad_event_default (pad, parent, event);
  }
}

static GstFlowReturn
gst_vamp_sample_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstVampSample *self = GST_VAMP_SAMPLE (parent);
  GstVampSamplePrivate *priv = self->priv;
  std::unique_lock < std::mutex > guard (priv->lock);

  if (!priv->configured) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("no caps before the first buffer"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const VampTokensInfo & in = priv->in_info;
  const gsize size = gst_buffer_get_size (buf), frame_bytes = vamp_tokens_frame_bytes (&in);
  if (size % frame_bytes != 0) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Token buffer is not a whole number of frames."),
        ("%" G_GSIZE_FORMAT " bytes, %" G_GSIZE_FORMAT " per frame", size, frame_bytes));
    return GST_FLOW_ERROR;
  }
  PendingInput input;
  input.frames = size / frame_bytes;
  vamp_tokens_buffer_read (buf, &in, input.frames, input.tokens, &input.mask);
  input.arrived = std::chrono::steady_clock::now ();
  if (!GST_CLOCK_TIME_IS_VALID (priv->base_ts))
    priv->base_ts = GST_BUFFER_PTS_IS_VALID (buf) ? GST_BUFFER_PTS (buf) : 0;
  gst_buffer_unref (buf);

  /* Bound the queue to a few windows so a slow sampler holds back upstream. */
  const size_t limit = 4 * (size_t) self->settings.window_frames;
  priv->cond.wait (guard, [&] { return priv->flushing || priv->queued_frames < limit; });
  if (priv->flushing)
    return GST_FLOW_FLUSHING;
  priv->queued_frames += input.frames;
  priv->queue.push_back (std::move (input));
  priv->cond.notify_all ();
  return GST_FLOW_OK;
}

static gboolean
gst_vamp_sample_src_activate_mode (GstPad * pad, GstObject * parent, GstPadMode mode,
    gboolean active)
{
  GstVampSample *self = GST_VAMP_SAMPLE (parent);
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  if (active) {
    std::lock_guard < std::mutex > guard (self->priv->lock);
    self->priv->flushing = false;
    return gst_pad_start_task (pad, (GstTaskFunction) gst_vamp_sample_loop, self, NULL);
  }
  {
    std::lock_guard < std::mutex > guard (self->priv->lock);
    self->priv->flushing = true;
    self->priv->cond.notify_all ();
    if (self->priv->sampler)
      self->priv->sampler->cancel ();
  }
  return gst_pad_stop_task (pad);
}

static gboolean
gst_vamp_sample_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstVampSample *self = GST_VAMP_SAMPLE (parent);
  if (vamp_context_query (GST_ELEMENT (self), query))
    return TRUE;
  if (GST_QUERY_TYPE (query) != GST_QUERY_LATENCY)
    return gst_pad_query_default (pad, parent, query);

  if (!gst_pad_peer_query (self->sinkpad, query))
    return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency (query, &live, &min, &max);
  if (live)
    gst_vamp_sample_measure (self);
  /* A frame waits for the rest of its window, then for the window's generation. */
  GST_OBJECT_LOCK (self);
  self->priv->live = live;
  const VampTokensInfo info = self->priv->out_info;
  const gint window = self->settings.window_frames;
  GstClockTime budget = gst_vamp_sample_budget (self);
  if (!GST_CLOCK_TIME_IS_VALID (budget))
    budget = self->batch_timeout;
  GST_OBJECT_UNLOCK (self);
  /* ...and, when it waits for a batch, for other streams' windows (batch-timeout at most). */
  const GstClockTime ours = (info.rate > 0 ? vamp_tokens_frames_to_time (&info, window) : 0) + budget;
  GST_DEBUG_OBJECT (self, "our latency %" GST_TIME_FORMAT, GST_TIME_ARGS (ours));
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += ours;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

static gboolean
gst_vamp_sample_sink_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  if (vamp_context_query (GST_ELEMENT (parent), query))
    return TRUE;
  return gst_pad_query_default (pad, parent, query);
}
