/* vamprtp: the token RTP payload format. See vamprtp.h. */
#include "vamprtp.h"

#include <cstdlib>

GstCaps *
vamp_rtp_caps_from_info (const VampTokensInfo * info)
{
  gchar hop[16], books[16], size[16];
  g_snprintf (hop, sizeof hop, "%d", info->hop_length);
  g_snprintf (books, sizeof books, "%d", info->codebooks);
  g_snprintf (size, sizeof size, "%d", info->codebook_size);
  GstCaps *caps = gst_caps_new_simple ("application/x-rtp",
      "media", G_TYPE_STRING, "audio",
      "clock-rate", G_TYPE_INT, info->rate,
      "encoding-name", G_TYPE_STRING, VAMP_RTP_ENCODING_NAME,
      "hop-length", G_TYPE_STRING, hop,
      "codebooks", G_TYPE_STRING, books,
      "codebook-size", G_TYPE_STRING, size,
      "mask", G_TYPE_STRING, info->has_mask ? "plane" : "none", NULL);
  if (info->codec_id[0])
    gst_caps_set_simple (caps, "codec-id", G_TYPE_STRING, info->codec_id, NULL);
  return caps;
}

/* An integer field given as an int or as a decimal string. */
static gboolean
get_int_field (const GstStructure * s, const gchar * name, gint * value)
{
  if (gst_structure_get_int (s, name, value))
    return TRUE;
  const gchar *str = gst_structure_get_string (s, name);
  if (!str || !*str)
    return FALSE;
  gchar *end = nullptr;
  const gint64 v = g_ascii_strtoll (str, &end, 10);
  if (*end || v < G_MININT || v > G_MAXINT)
    return FALSE;
  *value = (gint) v;
  return TRUE;
}

gboolean
vamp_rtp_info_from_caps (VampTokensInfo * info, const GstCaps * caps, const gchar ** why)
{
  memset (info, 0, sizeof (*info));
  *why = "not one structure";
  if (!caps || gst_caps_get_size (caps) != 1)
    return FALSE;
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  *why = "encoding-name is not " VAMP_RTP_ENCODING_NAME;
  if (g_ascii_strcasecmp (gst_structure_get_string (s, "encoding-name") ? : "",
          VAMP_RTP_ENCODING_NAME))
    return FALSE;
  *why = "clock-rate, hop-length, codebooks or codebook-size missing";
  if (!get_int_field (s, "clock-rate", &info->rate) ||
      !get_int_field (s, "hop-length", &info->hop_length) ||
      !get_int_field (s, "codebooks", &info->codebooks) ||
      !get_int_field (s, "codebook-size", &info->codebook_size))
    return FALSE;
  *why = "clock-rate, hop-length, codebooks or codebook-size out of range";
  if (!vamp_tokens_info_to_format (info).valid ())
    return FALSE;
  *why = "mask is neither none nor plane";
  if (!vamp_tokens_info_read_mask_and_id (info, s))
    return FALSE;
  *why = nullptr;
  return TRUE;
}

guint
vamp_rtp_token_bits (const VampTokensInfo * info)
{
  guint bits = 1;
  while (bits < 16 && (1u << bits) < (guint) info->codebook_size)
    ++bits;
  return bits;
}

gsize
vamp_rtp_frame_bytes (const VampTokensInfo * info)
{
  const gsize bits = (gsize) info->codebooks * (vamp_rtp_token_bits (info) + (info->has_mask ? 1 : 0));
  return (bits + 7) / 8;
}

namespace
{

/* MSB-first bit writer and reader over one frame. */
struct BitWriter
{
  guint8 *p;
  guint32 acc = 0;
  guint n = 0;
  void put (guint value, guint bits)
  {
    acc = (acc << bits) | value;
    n += bits;
    while (n >= 8) {
      *p++ = (guint8) (acc >> (n - 8));
      n -= 8;
    }
    acc &= (1u << n) - 1;
  }
  void flush ()
  {
    if (n)
      *p++ = (guint8) (acc << (8 - n));
    n = 0;
    acc = 0;
  }
};

struct BitReader
{
  const guint8 *p;
  guint32 acc = 0;
  guint n = 0;
  guint get (guint bits)
  {
    while (n < bits) {
      acc = (acc << 8) | *p++;
      n += 8;
    }
    n -= bits;
    const guint v = (acc >> n) & ((1u << bits) - 1);
    acc &= (1u << n) - 1;
    return v;
  }
  /* The padding at the end of a frame: TRUE when it is all zero bits. */
  gboolean padding_clear ()
  {
    const gboolean clear = acc == 0;
    acc = 0;
    n = 0;
    return clear;
  }
};

}                               /* namespace */

void
vamp_rtp_pack (const VampTokensInfo * info, const uint16_t * tokens, const uint8_t * mask, gsize n,
    guint8 * out)
{
  const guint bits = vamp_rtp_token_bits (info);
  const gsize k = (gsize) info->codebooks;
  BitWriter w {out};
  for (gsize t = 0; t < n; ++t) {
    for (gsize c = 0; c < k; ++c)
      w.put (tokens[t * k + c], bits);
    if (info->has_mask)
      for (gsize c = 0; c < k; ++c)
        w.put (mask[t * k + c] ? 1 : 0, 1);
    w.flush ();
  }
}

gboolean
vamp_rtp_unpack (const VampTokensInfo * info, const guint8 * in, gsize n,
    std::vector<uint16_t> & tokens, std::vector<uint8_t> & mask)
{
  const guint bits = vamp_rtp_token_bits (info);
  const gsize k = (gsize) info->codebooks;
  tokens.resize (n * k);
  mask.assign (info->has_mask ? n * k : 0, 0);
  BitReader r {in};
  for (gsize t = 0; t < n; ++t) {
    for (gsize c = 0; c < k; ++c) {
      const guint v = r.get (bits);
      if (v >= (guint) info->codebook_size)
        return FALSE;
      tokens[t * k + c] = (uint16_t) v;
    }
    if (info->has_mask)
      for (gsize c = 0; c < k; ++c)
        mask[t * k + c] = (uint8_t) r.get (1);
    if (!r.padding_clear ())
      return FALSE;
  }
  return TRUE;
}
