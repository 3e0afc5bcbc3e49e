#include "vamptokens.h"

#include <cstring>

GstCaps *
vamp_tokens_info_to_caps (const VampTokensInfo * info)
{
  GstCaps *caps = gst_caps_new_simple (VAMP_TOKENS_MEDIA_TYPE,
      "format", G_TYPE_STRING, "U16LE",
      "layout", G_TYPE_STRING, "interleaved",
      "mask", G_TYPE_STRING, info->has_mask ? "plane" : "none",
      "rate", G_TYPE_INT, info->rate,
      "hop-length", G_TYPE_INT, info->hop_length,
      "framerate", GST_TYPE_FRACTION, info->rate, info->hop_length,
      "codebooks", G_TYPE_INT, info->codebooks,
      "codebook-size", G_TYPE_INT, info->codebook_size, NULL);
  if (info->codec_id[0])
    gst_caps_set_simple (caps, "codec-id", G_TYPE_STRING, info->codec_id, NULL);
  return caps;
}

gboolean
vamp_tokens_info_from_caps (VampTokensInfo * info, const GstCaps * caps)
{
  memset (info, 0, sizeof (*info));
  if (!caps || gst_caps_get_size (caps) != 1)
    return FALSE;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, VAMP_TOKENS_MEDIA_TYPE))
    return FALSE;
  const gchar *format = gst_structure_get_string (s, "format");
  const gchar *layout = gst_structure_get_string (s, "layout");
  if (g_strcmp0 (format, "U16LE") || g_strcmp0 (layout, "interleaved"))
    return FALSE;
  if (!gst_structure_get_int (s, "rate", &info->rate) ||
      !gst_structure_get_int (s, "hop-length", &info->hop_length) ||
      !gst_structure_get_int (s, "codebooks", &info->codebooks) ||
      !gst_structure_get_int (s, "codebook-size", &info->codebook_size))
    return FALSE;
  return vamp_tokens_info_to_format (info).valid () && vamp_tokens_info_read_mask_and_id (info, s);
}

gboolean
vamp_tokens_info_read_mask_and_id (VampTokensInfo * info, const GstStructure * s)
{
  const gchar *mask = gst_structure_get_string (s, "mask");
  info->has_mask = g_strcmp0 (mask, "plane") == 0;
  if (mask && !info->has_mask && g_strcmp0 (mask, "none"))
    return FALSE;
  const gchar *id = gst_structure_get_string (s, "codec-id");
  if (id)
    g_strlcpy (info->codec_id, id, sizeof (info->codec_id));
  return TRUE;
}

gsize
vamp_tokens_frame_bytes (const VampTokensInfo * info)
{
  return (gsize) info->codebooks * (info->has_mask ? 3 : 2);
}

GstClockTime
vamp_tokens_frames_to_time (const VampTokensInfo * info, guint64 frames)
{
  return gst_util_uint64_scale (frames, (guint64) info->hop_length * GST_SECOND, info->rate);
}

gboolean
vamp_tokens_check_codec (GstElement * element, const VampTokensInfo * info,
    const vamp::CodecInfo & codec, const std::string & codec_path)
{
  if (info->codec_id[0] && codec.id != info->codec_id) {
    GST_ELEMENT_ERROR (element, CORE, NEGOTIATION, ("Tokens come from another codec."),
        ("stream codec-id %s, codec %s has id %s", info->codec_id, codec_path.c_str (),
            codec.id.c_str ()));
    return FALSE;
  }
  if (info->rate != codec.sample_rate || info->hop_length != codec.hop_length ||
      info->codebook_size != codec.codebook_size || info->codebooks > codec.n_codebooks) {
    GST_ELEMENT_ERROR (element, CORE, NEGOTIATION, ("Tokens do not fit codec %s: %d Hz, hop %d, "
            "%d codebooks of %d entries; the codec has %d Hz, hop %d, %d codebooks of %d. Encode "
            "with the codec the models use.", codec_path.c_str (), info->rate, info->hop_length,
            info->codebooks, info->codebook_size, codec.sample_rate, codec.hop_length,
            codec.n_codebooks, codec.codebook_size), (NULL));
    return FALSE;
  }
  return TRUE;
}

GstBuffer *
vamp_tokens_buffer_new (const std::vector<uint16_t> & tokens)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, tokens.size () * 2, NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < tokens.size (); ++i)
    GST_WRITE_UINT16_LE (map.data + 2 * i, tokens[i]);
  gst_buffer_unmap (buf, &map);
  return buf;
}

void
vamp_tokens_buffer_read (GstBuffer * buffer, const VampTokensInfo * info, gsize n_frames,
    std::vector<uint16_t> & tokens, std::vector<uint8_t> * mask)
{
  const gsize n = n_frames * info->codebooks;
  tokens.resize (n);
  gst_buffer_extract (buffer, 0, tokens.data (), n * 2);
  for (auto & t : tokens)
    t = GUINT16_FROM_LE (t);
  if (mask && info->has_mask) {
    mask->resize (n);
    gst_buffer_extract (buffer, n * 2, mask->data (), n);
  }
}

vamp::TokenFormat
vamp_tokens_info_to_format (const VampTokensInfo * info)
{
  vamp::TokenFormat f;
  f.rate = info->rate;
  f.hop_length = info->hop_length;
  f.codebooks = info->codebooks;
  f.codebook_size = info->codebook_size;
  f.codec_id = info->codec_id;
  f.has_mask = info->has_mask;
  return f;
}

void
vamp_tokens_info_from_format (VampTokensInfo * info, const vamp::TokenFormat & format)
{
  memset (info, 0, sizeof (*info));
  info->rate = format.rate;
  info->hop_length = format.hop_length;
  info->codebooks = format.codebooks;
  info->codebook_size = format.codebook_size;
  g_strlcpy (info->codec_id, format.codec_id.c_str (), sizeof (info->codec_id));
  info->has_mask = format.has_mask;
}
