#pragma once

#include <gst/audio/gstaudiodecoder.h>

G_BEGIN_DECLS

#define GST_TYPE_VAMP_DEC (gst_vamp_dec_get_type ())
G_DECLARE_FINAL_TYPE (GstVampDec, gst_vamp_dec, GST, VAMP_DEC, GstAudioDecoder)

G_END_DECLS
