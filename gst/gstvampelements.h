/* Element registration shared by the vamp plugin. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

void vamp_element_init (GstPlugin * plugin);

GST_ELEMENT_REGISTER_DECLARE (vampenc);
GST_ELEMENT_REGISTER_DECLARE (vampdec);
GST_ELEMENT_REGISTER_DECLARE (vampmask);
GST_ELEMENT_REGISTER_DECLARE (vampsample);

G_END_DECLS
