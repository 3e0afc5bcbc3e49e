/* Where vampmask's beat and onset hints come from: beats-file and beats-audio, read at start, and
 * the "audio" request pad, whose audio is analysed as it arrives. The element itself is
 * gstvampmask.cpp. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampmaskprivate.h"

#include <exception>
#include <string>
#include <vector>

#define GST_CAT_DEFAULT gst_vamp_mask_debug

static GstFlowReturn gst_vamp_mask_audio_chain (GstPad * pad, GstObject * parent, GstBuffer * buf);
static gboolean gst_vamp_mask_audio_event (GstPad * pad, GstObject * parent, GstEvent * event);

gboolean
gst_vamp_mask_read_beats (GstVampMask * self, const std::string & beats_file,
    const std::string & beats_audio)
{
  GstVampMaskPrivate *priv = self->priv;
  priv->file_beats.clear ();
  priv->file_downbeats.clear ();
  priv->file_onsets.clear ();
  priv->have_file = !beats_file.empty () || !beats_audio.empty ();
  const std::string *current = &beats_file;
  try {
    if (!beats_file.empty ())
      vamp::read_beats_file (beats_file, priv->file_beats, priv->file_downbeats);
    current = &beats_audio;
    if (!beats_audio.empty ()) {
      std::vector<double> beats, downbeats;
      vamp::analyse_beats (beats_audio, beats, downbeats, priv->file_onsets);
      if (beats_file.empty ()) {  /* beats-file's beats win */
        priv->file_beats = beats;
        priv->file_downbeats = downbeats;
      }
      GST_INFO_OBJECT (self, "%s: %zu beats, %zu downbeats, %zu onsets", beats_audio.c_str (),
          beats.size (), downbeats.size (), priv->file_onsets.size ());
    }
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("Could not read \"%s\".", current->c_str ()),
        ("%s", e.what ()));
    return FALSE;
  }
  return TRUE;
}

GstPad *
gst_vamp_mask_request_new_pad (GstElement * element, GstPadTemplate * templ, const gchar * name,
    const GstCaps * caps)
{
  GstVampMask *self = GST_VAMP_MASK (element);
  GstVampMaskPrivate *priv = self->priv;
  {
    std::lock_guard < std::mutex > guard (priv->lock);
    if (priv->audio_pad) {
      GST_WARNING_OBJECT (self, "there is only one audio pad");
      return NULL;
    }
  }
  GstPad *pad = gst_pad_new_from_template (templ, "audio");
  gst_pad_set_chain_function (pad, GST_DEBUG_FUNCPTR (gst_vamp_mask_audio_chain));
  gst_pad_set_event_function (pad, GST_DEBUG_FUNCPTR (gst_vamp_mask_audio_event));
  {
    std::lock_guard < std::mutex > guard (priv->lock);
    priv->audio_pad = pad;
    priv->audio_eos = false;
    priv->audio_flushing = false;
  }
  if (GST_STATE (element) > GST_STATE_READY)
    gst_pad_set_active (pad, TRUE);
  gst_element_add_pad (element, pad);
  return pad;
}

void
gst_vamp_mask_release_pad (GstElement * element, GstPad * pad)
{
  GstVampMask *self = GST_VAMP_MASK (element);
  {
    std::lock_guard < std::mutex > guard (self->priv->lock);
    if (self->priv->audio_pad != pad)
      return;
    self->priv->audio_pad = nullptr;
    self->priv->cond.notify_all ();
  }
  gst_pad_set_active (pad, FALSE);
  gst_element_remove_pad (element, pad);
}

static GstFlowReturn
gst_vamp_mask_audio_chain (GstPad * pad, GstObject * parent, GstBuffer * buf)
{
  GstVampMask *self = GST_VAMP_MASK (parent);
  GstVampMaskPrivate *priv = self->priv;
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_buffer_unref (buf);
    return GST_FLOW_ERROR;
  }
  const float *samples = (const float *) map.data;
  const size_t n = map.size / sizeof (float);
  GstFlowReturn ret = GST_FLOW_OK;
  {
    std::lock_guard < std::mutex > guard (priv->lock);
    if (priv->audio_flushing) {
      ret = GST_FLOW_FLUSHING;
    } else if (priv->masker) {
      try {
        priv->masker->push_audio (samples, n);
      } catch (const std::exception & e) {
        GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Beat tracking failed."), ("%s", e.what ()));
        ret = GST_FLOW_ERROR;
      }
    } else {
      priv->pending_audio.insert (priv->pending_audio.end (), samples, samples + n);
    }
    priv->cond.notify_all ();
  }
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return ret;
}

static gboolean
gst_vamp_mask_audio_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstVampMask *self = GST_VAMP_MASK (parent);
  GstVampMaskPrivate *priv = self->priv;
  gboolean ret = TRUE;
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      const GstStructure *s = gst_caps_get_structure (caps, 0);
      std::lock_guard < std::mutex > guard (priv->lock);
      ret = gst_structure_get_int (s, "rate", &priv->audio_rate);
      if (ret && priv->configured && priv->audio_rate != priv->in_info.rate) {
        GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("The audio is not at the codec rate."),
            ("audio %d Hz, tokens %d Hz", priv->audio_rate, priv->in_info.rate));
        ret = FALSE;
      }
      break;
    }
    case GST_EVENT_EOS:{
      std::lock_guard < std::mutex > guard (priv->lock);
      priv->audio_eos = true;
      priv->cond.notify_all ();
      break;
    }
    case GST_EVENT_FLUSH_START:{
      std::lock_guard < std::mutex > guard (priv->lock);
      priv->audio_flushing = true;
      priv->cond.notify_all ();
      break;
    }
    case GST_EVENT_FLUSH_STOP:{
      std::lock_guard < std::mutex > guard (priv->lock);
      priv->audio_flushing = false;
      priv->audio_eos = false;
      priv->pending_audio.clear ();
      if (priv->masker)
        priv->masker->reset_audio ();
      break;
    }
    default:
      break;
  }
  /* The audio only feeds the analysis: its events stop here. */
  gst_event_unref (event);
  return ret;
}

