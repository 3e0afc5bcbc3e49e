#pragma once

#include <gst/rtp/gstrtpbasepayload.h>

G_BEGIN_DECLS

#define GST_TYPE_RTP_VAMP_PAY (gst_rtp_vamp_pay_get_type ())
G_DECLARE_FINAL_TYPE (GstRtpVampPay, gst_rtp_vamp_pay, GST, RTP_VAMP_PAY, GstRTPBasePayload)

G_END_DECLS
