/* Element registration shared by the vamp plugin. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

void vamp_element_init (GstPlugin * plugin);

GST_ELEMENT_REGISTER_DECLARE (vampenc);
GST_ELEMENT_REGISTER_DECLARE (vampdec);
GST_ELEMENT_REGISTER_DECLARE (vampmask);
GST_ELEMENT_REGISTER_DECLARE (vampsample);
GST_ELEMENT_REGISTER_DECLARE (vampparse);
GST_ELEMENT_REGISTER_DECLARE (vamptokfilemux);
GST_ELEMENT_REGISTER_DECLARE (rtpvamppay);
GST_ELEMENT_REGISTER_DECLARE (rtpvampdepay);
GST_TYPE_FIND_REGISTER_DECLARE (vamptokfile);

G_END_DECLS
