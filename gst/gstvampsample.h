#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_VAMP_SAMPLE (gst_vamp_sample_get_type ())
G_DECLARE_FINAL_TYPE (GstVampSample, gst_vamp_sample, GST, VAMP_SAMPLE, GstElement)

G_END_DECLS
