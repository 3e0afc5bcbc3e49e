/* Shared models through GstContext (see vampcontext.h). */
#include "vampcontext.h"
#include "vampsettings.h"

#include <set>
#include <mutex>

GST_DEBUG_CATEGORY_STATIC (vamp_context_debug);
#define GST_CAT_DEFAULT vamp_context_debug

/* Keeps the models opened through it loaded. Finding a model is the engine's registry's job
 * (vamp::CodecModel::open, vamp::TransformerModel::open: one per file, device and precision,
 * held weakly there), so there is one cache and one key. */
struct GstVampModelSet
{
  gint refcount = 1;
  std::mutex lock;
  std::set < std::shared_ptr < const void >>models;
};

static GstVampModelSet *
model_set_ref (GstVampModelSet * set)
{
  g_atomic_int_inc (&set->refcount);
  return set;
}

static void
model_set_unref (GstVampModelSet * set)
{
  if (g_atomic_int_dec_and_test (&set->refcount))
    delete set;
}

G_DEFINE_BOXED_TYPE (GstVampModelSet, gst_vamp_model_set, model_set_ref, model_set_unref);

static void
debug_init (void)
{
  static gsize once = 0;
  if (g_once_init_enter (&once)) {
    GST_DEBUG_CATEGORY_INIT (vamp_context_debug, "vampcontext", 0, "VampNet shared models");
    g_once_init_leave (&once, 1);
  }
}

/* Runs a CONTEXT query on the element's pads (downstream first, then upstream). */
static GstContext *
query_pads (GstElement * element, const gchar * type)
{
  GstContext *found = nullptr;
  GstIterator *it = gst_element_iterate_pads (element);
  GValue item = G_VALUE_INIT;
  while (!found && gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstPad *pad = GST_PAD (g_value_get_object (&item));
    GstQuery *q = gst_query_new_context (type);
    if (gst_pad_peer_query (pad, q)) {
      GstContext *c = nullptr;
      gst_query_parse_context (q, &c);
      if (c)
        found = gst_context_ref (c);
    }
    gst_query_unref (q);
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
  return found;
}

/* The element's model set of `type`, found or created (see vampcontext.h). Returns a new ref. */
static GstVampModelSet *
ensure_set (GstElement * element, const gchar * type)
{
  debug_init ();
  GstContext *ctx = gst_element_get_context (element, type);
  if (!ctx && (ctx = query_pads (element, type)))
    gst_element_set_context (element, ctx);
  if (!ctx) {
    gst_element_post_message (element, gst_message_new_need_context (GST_OBJECT (element), type));
    ctx = gst_element_get_context (element, type);  /* the bin or the app may have answered */
  }
  GstVampModelSet *set = nullptr;
  if (ctx)
    gst_structure_get (gst_context_get_structure (ctx), "models", GST_TYPE_VAMP_MODEL_SET, &set,
        NULL);
  if (!set) {
    if (ctx)
      gst_context_unref (ctx);
    set = new GstVampModelSet ();
    ctx = gst_context_new (type, FALSE);
    gst_structure_set (gst_context_writable_structure (ctx), "models", GST_TYPE_VAMP_MODEL_SET,
        set, NULL);
    GST_INFO_OBJECT (element, "new %s context", type);
    gst_element_set_context (element, ctx);
    gst_element_post_message (element, gst_message_new_have_context (GST_OBJECT (element),
            gst_context_ref (ctx)));
  } else {
    GST_DEBUG_OBJECT (element, "using the pipeline's %s context", type);
  }
  gst_context_unref (ctx);
  return set;
}

/* open(), kept loaded by the set; the set's reference is dropped whatever happens. */
template < typename Open >
static auto
open_and_keep (GstVampModelSet * set, Open open)
{
  try {
    auto m = open ();
    {
      std::lock_guard < std::mutex > guard (set->lock);
      set->models.insert (m);
    }
    model_set_unref (set);
    return m;
  } catch (...) {
    model_set_unref (set);
    throw;
  }
}

std::shared_ptr < vamp::CodecModel >
vamp_context_codec (GstElement * element, const std::string & path, const std::string & device,
    vamp::Precision precision)
{
  return open_and_keep (ensure_set (element, VAMP_CONTEXT_CODEC), [&] {
        return vamp::CodecModel::open (path, device, precision);
      });
}

std::shared_ptr < vamp::TransformerModel >
vamp_context_transformer (GstElement * element, const std::string & path,
    const std::shared_ptr < vamp::CodecModel > &codec, const std::string & device,
    vamp::Precision precision)
{
  return open_and_keep (ensure_set (element, VAMP_CONTEXT_TRANSFORMER), [&] {
        return vamp::TransformerModel::open (path, codec, device, precision);
      });
}

std::shared_ptr < vamp::CodecModel >
vamp_element_open_codec (GstElement * element, const gchar * model,
    const VampEngineSettings & settings)
{
  GST_OBJECT_LOCK (element);
  const std::string path = model && *model ? model : vamp::default_model_path ("codec.pth");
  const std::string device = settings.device ? settings.device : "auto";
  const vamp::Precision precision = settings.precision;
  const gint threads = settings.threads;
  GST_OBJECT_UNLOCK (element);
  std::shared_ptr < vamp::CodecModel > m;
  try {
    GST_DEBUG_OBJECT (element, "CPU thread budget %d (%d cores usable)",
        vamp::set_cpu_threads (threads), vamp::cpu_cores ());
    m = vamp_context_codec (element, path, device, precision);
  } catch (const vamp::SettingsError & e) {
    GST_ELEMENT_ERROR (element, RESOURCE, SETTINGS, ("Precision %s cannot run on device \"%s\".",
            vamp::precision_name (precision), device.c_str ()), ("%s", e.what ()));
    return nullptr;
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (element, RESOURCE, OPEN_READ, ("Could not load codec model \"%s\".",
            path.c_str ()), ("%s", e.what ()));
    return nullptr;
  }
  if (!m->precision_note ().empty ())
    GST_WARNING_OBJECT (element, "precision: %s", m->precision_note ().c_str ());
  GST_INFO_OBJECT (element, "codec %s (id %s) in %s: %d Hz, hop %d, %d codebooks", path.c_str (),
      m->info ().id.c_str (), vamp::precision_name (m->precision ()), m->info ().sample_rate,
      m->info ().hop_length, m->info ().n_codebooks);
  return m;
}

gboolean
vamp_context_query (GstElement * element, GstQuery * query)
{
  if (GST_QUERY_TYPE (query) != GST_QUERY_CONTEXT)
    return FALSE;
  const gchar *type = nullptr;
  gst_query_parse_context_type (query, &type);
  if (g_strcmp0 (type, VAMP_CONTEXT_CODEC) != 0 && g_strcmp0 (type, VAMP_CONTEXT_TRANSFORMER) != 0)
    return FALSE;
  GstContext *ctx = gst_element_get_context (element, type);
  if (!ctx)
    return FALSE;
  gst_query_set_context (query, ctx);
  gst_context_unref (ctx);
  return TRUE;
}
