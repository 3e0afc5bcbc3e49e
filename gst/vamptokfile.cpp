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
  GstCaps *caps = vamp_tokens_info_to_caps (info);
  gchar *str = gst_caps_to_string (caps);
  gst_caps_unref (caps);
  const gsize len = strlen (str);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, VAMP_TOKFILE_FIXED_HEADER + len, NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  memcpy (map.data, VAMP_TOKFILE_MAGIC, 4);
  GST_WRITE_UINT16_LE (map.data + 4, VAMP_TOKFILE_VERSION);
  GST_WRITE_UINT16_LE (map.data + 6, 0);
  GST_WRITE_UINT32_LE (map.data + 8, (guint32) len);
  memcpy (map.data + VAMP_TOKFILE_FIXED_HEADER, str, len);
  gst_buffer_unmap (buf, &map);
  g_free (str);
  return buf;
}

VampTokfileResult
vamp_tokfile_parse_header (const guint8 * data, gsize size, gsize * header_size,
    VampTokensInfo * info, GstCaps ** caps, gchar ** error)
{
  *header_size = VAMP_TOKFILE_FIXED_HEADER;
  if (size >= 4 && memcmp (data, VAMP_TOKFILE_MAGIC, 4) != 0) {
    *error = g_strdup ("no VTOK magic at the start: not a vamp token file");
    return VAMP_TOKFILE_CORRUPT;
  }
  if (size < VAMP_TOKFILE_FIXED_HEADER)
    return VAMP_TOKFILE_NEED_DATA;
  const guint version = GST_READ_UINT16_LE (data + 4);
  if (version != VAMP_TOKFILE_VERSION) {
    *error = g_strdup_printf ("token file version %u; this build reads version %u", version,
        VAMP_TOKFILE_VERSION);
    return VAMP_TOKFILE_CORRUPT;
  }
  const guint32 len = GST_READ_UINT32_LE (data + 8);
  if (len == 0 || len > VAMP_TOKFILE_MAX_CAPS) {
    *error = g_strdup_printf ("caps length %u in the header is out of range (1..%u)", len,
        VAMP_TOKFILE_MAX_CAPS);
    return VAMP_TOKFILE_CORRUPT;
  }
  *header_size = VAMP_TOKFILE_FIXED_HEADER + len;
  if (size < *header_size)
    return VAMP_TOKFILE_NEED_DATA;
  gchar *str = g_strndup ((const gchar *) data + VAMP_TOKFILE_FIXED_HEADER, len);
  GstCaps *parsed = strlen (str) == len ? gst_caps_from_string (str) : NULL;
  if (!parsed || !vamp_tokens_info_from_caps (info, parsed)) {
    /* Quoted with C escapes: bytes that are not UTF-8 would make GStreamer drop the detail. */
    gchar *quoted = g_strescape (str, NULL);
    *error = g_strdup_printf ("the header's caps are not valid token caps (codebooks 1..64, "
        "codebook-size 1..65535, positive rate and hop-length): \"%s\"", quoted);
    g_free (quoted);
    g_free (str);
    if (parsed)
      gst_caps_unref (parsed);
    return VAMP_TOKFILE_CORRUPT;
  }
  g_free (str);
  gst_caps_unref (parsed);
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
