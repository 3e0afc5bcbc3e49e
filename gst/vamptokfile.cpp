/* vamptokfile: the .vtok token file format and its typefinder. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "vamptokfile.h"

#include "gstvampelements.h"

#include <cstring>

GstBuffer *
vamp_tokfile_header_new (const VampTokensInfo * info)
{
  const std::vector<uint8_t> header = vamp::token_file_header (vamp_tokens_info_to_format (info));
  GstBuffer *buf = gst_buffer_new_allocate (NULL, header.size (), NULL);
  gst_buffer_fill (buf, 0, header.data (), header.size ());
  return buf;
}

VampTokfileResult
vamp_tokfile_parse_header (const guint8 * data, gsize size, gsize * header_size,
    VampTokensInfo * info, GstCaps ** caps, gchar ** error)
{
  vamp::TokenFormat format;
  std::string why;
  switch (vamp::parse_token_file_header (data, size, header_size, &format, &why)) {
    case vamp::TokenHeader::Corrupt:
      *error = g_strdup (why.c_str ());
      return VAMP_TOKFILE_CORRUPT;
    case vamp::TokenHeader::NeedData:
      return VAMP_TOKFILE_NEED_DATA;
    case vamp::TokenHeader::Ok:
      break;
  }
  vamp_tokens_info_from_format (info, format);
  *caps = vamp_tokens_info_to_caps (info);
  return VAMP_TOKFILE_OK;
}

gsize
vamp_tokfile_frame_bytes (const VampTokensInfo * info)
{
  return vamp_tokens_frame_bytes (info);
}

void
vamp_tokfile_buffer_to_file (const VampTokensInfo * info, const guint8 * in, guint8 * out,
    gsize n_frames)
{
  const gsize k = info->codebooks, frame = vamp_tokens_frame_bytes (info);
  if (!info->has_mask) {
    memcpy (out, in, n_frames * frame);
    return;
  }
  const guint8 *mask = in + 2 * k * n_frames;
  for (gsize t = 0; t < n_frames; ++t) {
    memcpy (out + t * frame, in + 2 * k * t, 2 * k);
    memcpy (out + t * frame + 2 * k, mask + k * t, k);
  }
}

void
vamp_tokfile_file_to_buffer (const VampTokensInfo * info, const guint8 * in, guint8 * out,
    gsize n_frames)
{
  const gsize k = info->codebooks, frame = vamp_tokens_frame_bytes (info);
  if (!info->has_mask) {
    memcpy (out, in, n_frames * frame);
    return;
  }
  guint8 *mask = out + 2 * k * n_frames;
  for (gsize t = 0; t < n_frames; ++t) {
    memcpy (out + 2 * k * t, in + t * frame, 2 * k);
    memcpy (mask + k * t, in + t * frame + 2 * k, k);
  }
}

/* Typefinder: the magic and a sane fixed header. */
static void
vamp_tokfile_typefind (GstTypeFind * tf, gpointer user_data)
{
  const guint8 *data = gst_type_find_peek (tf, 0, VAMP_TOKFILE_FIXED_HEADER);
  if (!data || memcmp (data, VAMP_TOKFILE_MAGIC, 4) != 0)
    return;
  const guint32 len = GST_READ_UINT32_LE (data + 8);
  if (len == 0 || len > VAMP_TOKFILE_MAX_CAPS)
    return;
  const guint32 type_len = sizeof (VAMP_TOKENS_MEDIA_TYPE) - 1;
  const guint8 *caps = len >= type_len ?
      gst_type_find_peek (tf, VAMP_TOKFILE_FIXED_HEADER, type_len) : NULL;
  const gboolean has_type = caps && memcmp (caps, VAMP_TOKENS_MEDIA_TYPE, type_len) == 0;
  gst_type_find_suggest_simple (tf, has_type ? GST_TYPE_FIND_MAXIMUM : GST_TYPE_FIND_LIKELY,
      VAMP_TOKFILE_MEDIA_TYPE, "version", G_TYPE_INT, (gint) GST_READ_UINT16_LE (data + 4), NULL);
}

static gboolean
vamp_tokfile_typefind_register (GstPlugin * plugin)
{
  GstCaps *caps = gst_caps_new_empty_simple (VAMP_TOKFILE_MEDIA_TYPE);
  gboolean ok = gst_type_find_register (plugin, "vamptokfile", GST_RANK_PRIMARY,
      vamp_tokfile_typefind, "vtok", caps, NULL, NULL);
  gst_caps_unref (caps);
  return ok;
}

GST_TYPE_FIND_REGISTER_DEFINE_CUSTOM (vamptokfile, vamp_tokfile_typefind_register);

static_assert (VAMP_TOKFILE_FIXED_HEADER == vamp::kTokenFileFixedHeader
    && VAMP_TOKFILE_MAX_CAPS == vamp::kTokenFileMaxCaps, "one .vtok format: vamp/token_file.h");
