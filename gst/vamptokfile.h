/* vamptokfile: the .vtok token file format (docs/token-file.md) for vampparse, vamptokfilemux
 * and the typefinder, over the engine's reader and writer (vamp/token_file.h, which vamp-cli
 * uses too).
 *
 * A file is a header followed by frames:
 *
 *   offset  size  field
 *   0       4     magic "VTOK"
 *   4       2     version, U16LE (1)
 *   6       2     reserved, 0
 *   8       4     caps length N, U32LE (1 .. VAMP_TOKFILE_MAX_CAPS)
 *   12      N     the token caps as a string (gst_caps_to_string, UTF-8, no NUL)
 *   12+N    ...   frames: K tokens U16LE, then (mask=plane only) K mask bytes
 *
 * Frames are records of a fixed size, so a file can be cut or joined at any frame boundary
 * with byte arithmetic (the pipelines do). In a stream buffer the mask plane follows all the
 * tokens (docs/caps.md); in the file each frame carries its own mask bytes.
 */
#pragma once

#include "vamptokens.h"

#include <gst/gst.h>

G_BEGIN_DECLS

#define VAMP_TOKFILE_MEDIA_TYPE "application/x-vamp-tokfile"
#define VAMP_TOKFILE_MAGIC "VTOK"
#define VAMP_TOKFILE_FIXED_HEADER 12    /* vamp::kTokenFileFixedHeader */
#define VAMP_TOKFILE_MAX_CAPS 4096      /* vamp::kTokenFileMaxCaps */

typedef enum
{
  VAMP_TOKFILE_OK,
  VAMP_TOKFILE_NEED_DATA,       /* fewer bytes than the header needs */
  VAMP_TOKFILE_CORRUPT,         /* not a token file, or a header that makes no sense */
} VampTokfileResult;

/* The header for tokens of `info` (mask plane or not). */
GstBuffer *vamp_tokfile_header_new (const VampTokensInfo * info);

/* Parses a header from the first `size` bytes of a file. On OK: *header_size, *info and
 * *caps (the normalized token caps, caller owns) are set. On CORRUPT: *error says why (caller
 * frees). NEED_DATA: *header_size is how many bytes the header needs (when known, else 12). */
VampTokfileResult vamp_tokfile_parse_header (const guint8 * data, gsize size,
    gsize * header_size, VampTokensInfo * info, GstCaps ** caps, gchar ** error);

/* Bytes one frame takes in a file (the same as in a buffer). */
gsize vamp_tokfile_frame_bytes (const VampTokensInfo * info);

/* Rearranges n frames between the buffer layout (all tokens, then all mask bytes) and the file
 * layout (per frame: tokens, then its mask bytes). Identity copies without a mask plane. */
void vamp_tokfile_buffer_to_file (const VampTokensInfo * info, const guint8 * in,
    guint8 * out, gsize n_frames);
void vamp_tokfile_file_to_buffer (const VampTokensInfo * info, const guint8 * in,
    guint8 * out, gsize n_frames);

G_END_DECLS
