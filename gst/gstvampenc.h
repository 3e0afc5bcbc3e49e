#pragma once

#include <gst/audio/gstaudioencoder.h>

G_BEGIN_DECLS

#define GST_TYPE_VAMP_ENC (gst_vamp_enc_get_type ())
G_DECLARE_FINAL_TYPE (GstVampEnc, gst_vamp_enc, GST, VAMP_ENC, GstAudioEncoder)

G_END_DECLS
