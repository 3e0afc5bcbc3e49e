/* vamprtp: the RTP payload format of audio/x-vamp-tokens (docs/caps.md, "RTP"), shared by
 * rtpvamppay and rtpvampdepay.
 *
 * A packet's payload is a 6-byte header and whole frames:
 *   byte 0: N, the frames in the packet (0 only in an end-of-stream packet)
 *   byte 1: flags: VAMP_RTP_FLAG_MASK (each frame carries its mask bits), VAMP_RTP_FLAG_END (the
 *           sender's stream ended after this packet); the other bits are 0
 *   bytes 2-5: the index of the first frame in the sender's stream, modulo 2^32, big-endian (so
 *           the receiver places frames, and knows what it lost before its first packet, whatever
 *           the RTP timestamp's random base)
 * Each frame holds its K tokens of B bits (B = bits of codebook-size - 1), most significant bit
 * first, then with a mask its K mask bits, padded with zero bits to a whole byte. The RTP
 * timestamp is the first frame's position in samples at the codec's rate (frame index x hop). */
#pragma once

#include "vamptokens.h"

#include <gst/rtp/gstrtpbuffer.h>

#include <cstdint>
#include <vector>

#define VAMP_RTP_ENCODING_NAME "X-VAMP-TOKENS"
#define VAMP_RTP_HEADER_BYTES 6
#define VAMP_RTP_FLAG_MASK 0x01
#define VAMP_RTP_FLAG_END 0x02
#define VAMP_RTP_MAX_FRAMES 255

/* RTP caps of a token stream (encoding-name X-VAMP-TOKENS, clock-rate = rate, the other token
 * caps fields as strings, as SDP's fmtp carries them), with the payload type left to the
 * payloader. */
GstCaps *vamp_rtp_caps_from_info (const VampTokensInfo * info);
/* The token caps an RTP caps describes; FALSE (and `why` set) when a field is missing or out of
 * range. Accepts the fields as strings (from SDP) or integers. */
gboolean vamp_rtp_info_from_caps (VampTokensInfo * info, const GstCaps * caps, const gchar ** why);

/* Bits per token on the wire and bytes per frame. */
guint vamp_rtp_token_bits (const VampTokensInfo * info);
gsize vamp_rtp_frame_bytes (const VampTokensInfo * info);

/* Appends frames [first, first + n) of tokens/mask ([T][K]) packed to `out`. */
void vamp_rtp_pack (const VampTokensInfo * info, const uint16_t * tokens, const uint8_t * mask,
    gsize n, guint8 * out);
/* Unpacks n frames into tokens (and, when the stream has a mask, mask); FALSE when a token is
 * outside [0, codebook-size) or a padding bit is set (a corrupt packet). */
gboolean vamp_rtp_unpack (const VampTokensInfo * info, const guint8 * in, gsize n,
    std::vector<uint16_t> & tokens, std::vector<uint8_t> & mask);
