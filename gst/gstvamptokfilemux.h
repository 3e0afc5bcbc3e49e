#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_VAMP_TOK_FILE_MUX (gst_vamp_tok_file_mux_get_type ())
G_DECLARE_FINAL_TYPE (GstVampTokFileMux, gst_vamp_tok_file_mux, GST, VAMP_TOK_FILE_MUX, GstElement)

G_END_DECLS
