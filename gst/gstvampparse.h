#pragma once

#include <gst/base/gstbaseparse.h>

G_BEGIN_DECLS

#define GST_TYPE_VAMP_PARSE (gst_vamp_parse_get_type ())
G_DECLARE_FINAL_TYPE (GstVampParse, gst_vamp_parse, GST, VAMP_PARSE, GstBaseParse)

G_END_DECLS
