/* gst-vampnet: VampNet masked acoustic token modeling as GStreamer elements. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampelements.h"

void
vamp_element_init (GstPlugin * plugin)
{
  static gsize done = 0;
  if (g_once_init_enter (&done)) {
    /* nothing process-wide yet beyond what each element registers */
    g_once_init_leave (&done, 1);
  }
}

static gboolean
plugin_init (GstPlugin * plugin)
{
  gboolean ret = FALSE;
  ret |= GST_ELEMENT_REGISTER (vampenc, plugin);
  ret |= GST_ELEMENT_REGISTER (vampdec, plugin);
  ret |= GST_ELEMENT_REGISTER (vampmask, plugin);
  ret |= GST_ELEMENT_REGISTER (vampsample, plugin);
  ret |= GST_ELEMENT_REGISTER (vampparse, plugin);
  ret |= GST_ELEMENT_REGISTER (vamptokfilemux, plugin);
  ret |= GST_ELEMENT_REGISTER (rtpvamppay, plugin);
  ret |= GST_ELEMENT_REGISTER (rtpvampdepay, plugin);
  ret |= GST_TYPE_FIND_REGISTER (vamptokfile, plugin);
  return ret;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, vamp,
    "VampNet music generation: codec tokens, masks, sampling",
    plugin_init, "0.1.0", "LGPL", "gst-vampnet", "https://github.com/gst-vampnet")
