/* vamptokens: the audio/x-vamp-tokens media type (docs/caps.md), shared by the elements. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define VAMP_TOKENS_MEDIA_TYPE "audio/x-vamp-tokens"

/* Template caps: every field but codec-id, which any fixed caps carry. */
#define VAMP_TOKENS_CAPS(mask)                                                        \
  VAMP_TOKENS_MEDIA_TYPE ", format = (string) U16LE, layout = (string) interleaved, " \
  "mask = (string) " mask ", rate = (int) [ 1, MAX ], hop-length = (int) [ 1, MAX ], " \
  "framerate = (fraction) [ 0/1, MAX ], codebooks = (int) [ 1, 64 ], "                 \
  "codebook-size = (int) [ 1, 65535 ]"

typedef struct {
  gint rate;          /* codec sample rate */
  gint hop_length;    /* audio samples per token frame */
  gint codebooks;     /* K tokens per frame in the buffer */
  gint codebook_size; /* vocabulary; the value itself means MASK */
  gchar codec_id[16]; /* "" when absent */
  gboolean has_mask;  /* mask=plane: K mask bytes per frame follow the T*K tokens */
} VampTokensInfo;

GstCaps *vamp_tokens_info_to_caps (const VampTokensInfo * info);
gboolean vamp_tokens_info_from_caps (VampTokensInfo * info, const GstCaps * caps);

/* The `mask` and `codec-id` fields of a structure (token caps, or their RTP caps) into info;
 * FALSE when mask is neither none nor plane. */
gboolean vamp_tokens_info_read_mask_and_id (VampTokensInfo * info, const GstStructure * s);

/* Bytes one frame takes in a buffer: 2 per token, plus 1 per mask byte. */
gsize vamp_tokens_frame_bytes (const VampTokensInfo * info);
/* Duration of n frames. */
GstClockTime vamp_tokens_frames_to_time (const VampTokensInfo * info, guint64 frames);

G_END_DECLS

#include "vamp/vamp.h"

#include <vector>

/* A buffer of the frames in `tokens` ([T][K], host order), written little-endian (U16LE). */
GstBuffer *vamp_tokens_buffer_new (const std::vector<uint16_t> & tokens);
/* The first n_frames * codebooks tokens of `buffer` (whatever memories hold them) into `tokens`
 * in host order, and, when `mask` is given and the stream has a mask plane, its bytes. */
void vamp_tokens_buffer_read (GstBuffer * buffer, const VampTokensInfo * info, gsize n_frames,
    std::vector<uint16_t> & tokens, std::vector<uint8_t> * mask = nullptr);

/* The engine's description of the same caps (vamp/token_file.h), both ways. */
vamp::TokenFormat vamp_tokens_info_to_format (const VampTokensInfo * info);
void vamp_tokens_info_from_format (VampTokensInfo * info, const vamp::TokenFormat & format);

/* Whether a token stream of `info` fits `codec` (loaded from `codec_path`): the same codec-id when
 * the stream names one, the same rate, hop and codebook size, and no more codebooks than the
 * codec has. Otherwise posts a GST_ELEMENT_ERROR (CORE, NEGOTIATION) on `element` saying which
 * and returns FALSE. */
gboolean vamp_tokens_check_codec (GstElement * element, const VampTokensInfo * info,
    const vamp::CodecInfo & codec, const std::string & codec_path);
