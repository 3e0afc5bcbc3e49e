#pragma once

#include <gst/rtp/gstrtpbasedepayload.h>

G_BEGIN_DECLS

#define GST_TYPE_RTP_VAMP_DEPAY (gst_rtp_vamp_depay_get_type ())
G_DECLARE_FINAL_TYPE (GstRtpVampDepay, gst_rtp_vamp_depay, GST, RTP_VAMP_DEPAY, GstRTPBaseDepayload)

/**
 * GstRtpVampConcealment:
 * @GST_RTP_VAMP_CONCEALMENT_INPAINT: lost frames become masked placeholder frames (mask plane
 *   set), which vampsample regenerates from their neighbours
 * @GST_RTP_VAMP_CONCEALMENT_REPEAT: lost frames repeat the last frame received
 * @GST_RTP_VAMP_CONCEALMENT_SILENCE: lost frames become GAP buffers (vampdec outputs silence)
 */
typedef enum
{
  GST_RTP_VAMP_CONCEALMENT_INPAINT,
  GST_RTP_VAMP_CONCEALMENT_REPEAT,
  GST_RTP_VAMP_CONCEALMENT_SILENCE,
} GstRtpVampConcealment;

#define GST_TYPE_RTP_VAMP_CONCEALMENT (gst_rtp_vamp_concealment_get_type ())
GType gst_rtp_vamp_concealment_get_type (void);

G_END_DECLS
