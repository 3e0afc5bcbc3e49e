/* The shared engine settings properties (see vampsettings.h). */
#include "vampsettings.h"

#include "gstvampmask.h"

#include <cmath>
#include <cstring>

#define DEFAULT_DEVICE "auto"

GType
gst_vamp_precision_get_type (void)
{
  static gsize id = 0;
  static const GEnumValue values[] = {
    {(gint) vamp::Precision::Auto, "The fastest this device supports (CPU: int8 > bf16 > fp32 for "
          "transformers, bf16 > fp32 for the codec; CUDA: bf16)", "auto"},
    {(gint) vamp::Precision::FP32, "float32: exact against the reference", "fp32"},
    {(gint) vamp::Precision::BF16, "bfloat16: CPU weights converted at load (oneDNN), CUDA autocast",
        "bf16"},
    {(gint) vamp::Precision::FP16, "float16: CUDA autocast of the transformers", "fp16"},
    {(gint) vamp::Precision::INT8, "int8 dynamic quantization of the transformers, CPU only "
          "(the codec runs bf16)", "int8"},
    {0, nullptr, nullptr}
  };
  if (g_once_init_enter (&id)) {
    GType t = g_enum_register_static ("GstVampPrecision", values);
    g_once_init_leave (&id, t);
  }
  return (GType) id;
}

/* vampmask's presets: the nicks are the engine's preset names (vamp::mask_preset). */
GType
gst_vamp_mask_preset_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_VAMP_MASK_PRESET_CUSTOM, "The individual properties", "custom"},
    {GST_VAMP_MASK_PRESET_UNCONDITIONAL, "Unconditional", "unconditional"},
    {GST_VAMP_MASK_PRESET_SLIGHT, "Slight periodic variation", "slight-periodic"},
    {GST_VAMP_MASK_PRESET_MODERATE, "Moderate periodic variation", "moderate-periodic"},
    {GST_VAMP_MASK_PRESET_STRONG, "Strong periodic variation", "strong-periodic"},
    {GST_VAMP_MASK_PRESET_VERY_STRONG, "Very strong periodic variation", "very-strong-periodic"},
    {GST_VAMP_MASK_PRESET_BEAT_DRIVEN, "Beat-driven variation", "beat-driven"},
    {GST_VAMP_MASK_PRESET_BEAT_DRIVEN_DOWNBEATS, "Beat-driven variation (downbeats only)",
        "beat-driven-downbeats"},
    {GST_VAMP_MASK_PRESET_BEAT_DRIVEN_DOWNBEATS_STRONG,
        "Beat-driven variation (downbeats only, strong)", "beat-driven-downbeats-strong"},
    {GST_VAMP_MASK_PRESET_COMPRESSION, "Compression: keep codebook 0, generate the rest",
        "compression"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstVampMaskPreset", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_vamp_mask_combination_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {(gint) vamp::MaskReference::Ismir2023, "As the ismir-2023 app: onset OR, beat hints before "
          "dropout, dropout per token", "ismir-2023"},
    {(gint) vamp::MaskReference::Main, "As main's Interface.build_mask and app: onset AND (adds "
          "hints), beat hints after dropout and the codebook masks", "main"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstVampMaskCombination", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

VampEngineSettings::VampEngineSettings ():device (g_strdup (DEFAULT_DEVICE))
{
}

VampEngineSettings::~VampEngineSettings ()
{
  g_free (device);
}

enum
{
  DEVICE,
  THREADS,
  PRECISION,
};

void
vamp_engine_settings_install (GObjectClass * klass, guint first_id, VampModelKind kind)
{
  const GParamFlags flags = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);
  g_object_class_install_property (klass, first_id + DEVICE,
      g_param_spec_string ("device", "Device",
          kind == VAMP_MODEL_CODEC ? "Where the codec runs: auto (CUDA when present), cpu, cuda or cuda:N" :
          "Where the transformers run: auto (CUDA when present), cpu, cuda or cuda:N",
          DEFAULT_DEVICE, flags));
  g_object_class_install_property (klass, first_id + THREADS,
      g_param_spec_int ("threads", "Threads",
          "CPU threads of the engine, one budget shared by every vamp element of the process: "
          "their computations share it, each with the cores its operations can use (0 = keep the "
          "budget; default: every core this process may use)", 0, 1024, 0, flags));
  g_object_class_install_property (klass, first_id + PRECISION,
      g_param_spec_enum ("precision", "Precision",
          kind == VAMP_MODEL_CODEC ?
          "Codec arithmetic: fp32 (exact), bf16 (convolutions in bfloat16, SI-SDR >= 30 dB against "
          "fp32), auto (bf16 where the CPU has AVX512-BF16/AMX); int8 and fp16 run bf16" :
          "Transformer arithmetic: fp32 (exact); on the CPU bf16 (oneDNN) or int8 (dynamic "
          "quantization) weights converted at load; on CUDA bf16 or fp16 autocast; auto = the "
          "fastest the device supports",
          GST_TYPE_VAMP_PRECISION, (gint) vamp::Precision::FP32, flags));
}

gboolean
vamp_engine_settings_set (VampEngineSettings * s, guint first_id, guint prop_id,
    const GValue * value)
{
  switch (prop_id - first_id) {
    case DEVICE:
      g_free (s->device);
      s->device = g_value_dup_string (value);
      return TRUE;
    case THREADS:
      s->threads = g_value_get_int (value);
      return TRUE;
    case PRECISION:
      s->precision = (vamp::Precision) g_value_get_enum (value);
      return TRUE;
    default:
      return FALSE;
  }
}

gboolean
vamp_engine_settings_get (const VampEngineSettings * s, guint first_id, guint prop_id,
    GValue * value)
{
  switch (prop_id - first_id) {
    case DEVICE:
      g_value_set_string (value, s->device);
      return TRUE;
    case THREADS:
      g_value_set_int (value, s->threads);
      return TRUE;
    case PRECISION:
      g_value_set_enum (value, (gint) s->precision);
      return TRUE;
    default:
      return FALSE;
  }
}

static const VampFieldProperty *
find_field (const VampFieldProperty * table, gsize n, guint prop_id)
{
  for (gsize i = 0; i < n; i++)
    if (table[i].id == prop_id)
      return &table[i];
  return nullptr;
}

gboolean
vamp_field_property_set (gpointer instance, const VampFieldProperty * table, gsize n,
    guint prop_id, const GValue * value)
{
  const VampFieldProperty *f = find_field (table, n, prop_id);
  if (!f)
    return FALSE;
  gint64 i = 0;
  guint64 u = 0;
  gdouble d = 0;
  switch (G_TYPE_FUNDAMENTAL (G_VALUE_TYPE (value))) {
    case G_TYPE_INT:
      u = (guint64) (i = g_value_get_int (value));
      break;
    case G_TYPE_INT64:
      u = (guint64) (i = g_value_get_int64 (value));
      break;
    case G_TYPE_UINT64:
      i = (gint64) (u = g_value_get_uint64 (value));
      break;
    case G_TYPE_BOOLEAN:
      u = (guint64) (i = g_value_get_boolean (value));
      break;
    case G_TYPE_ENUM:
      u = (guint64) (i = g_value_get_enum (value));
      break;
    case G_TYPE_DOUBLE:
      d = g_value_get_double (value);
      break;
    default:
      g_return_val_if_reached (FALSE);
  }
  gpointer field = G_STRUCT_MEMBER_P (instance, f->offset);
  switch (f->storage) {
    case VampStorage::Int:
      *(int *) field = (int) i;
      break;
    case VampStorage::Int64:
      *(int64_t *) field = i;
      break;
    case VampStorage::UInt64:
      *(uint64_t *) field = u;
      break;
    case VampStorage::Double:
      *(double *) field = d;
      break;
    case VampStorage::Bool:
      *(bool *) field = i != 0;
      break;
    case VampStorage::Enum:{
      const gint e = (gint) i;
      memcpy (field, &e, sizeof e);
      break;
    }
    case VampStorage::SecondsAsNs:
      *(double *) field = (double) u / GST_SECOND;
      break;
  }
  return TRUE;
}

gboolean
vamp_field_property_get (gconstpointer instance, const VampFieldProperty * table, gsize n,
    guint prop_id, GValue * value)
{
  const VampFieldProperty *f = find_field (table, n, prop_id);
  if (!f)
    return FALSE;
  gconstpointer field = G_STRUCT_MEMBER_P (instance, f->offset);
  gint64 i = 0;
  guint64 u = 0;
  gdouble d = 0;
  switch (f->storage) {
    case VampStorage::Int:
      u = (guint64) (i = *(const int *) field);
      break;
    case VampStorage::Int64:
      u = (guint64) (i = *(const int64_t *) field);
      break;
    case VampStorage::UInt64:
      i = (gint64) (u = *(const uint64_t *) field);
      break;
    case VampStorage::Double:
      d = *(const double *) field;
      break;
    case VampStorage::Bool:
      u = i = *(const bool *) field ? 1 : 0;
      break;
    case VampStorage::Enum:{
      gint e;
      memcpy (&e, field, sizeof e);
      u = (guint64) (i = e);
      break;
    }
    case VampStorage::SecondsAsNs:
      i = (gint64) (u = (guint64) llround (*(const double *) field * GST_SECOND));
      break;
  }
  switch (G_TYPE_FUNDAMENTAL (G_VALUE_TYPE (value))) {
    case G_TYPE_INT:
      g_value_set_int (value, (gint) i);
      return TRUE;
    case G_TYPE_INT64:
      g_value_set_int64 (value, i);
      return TRUE;
    case G_TYPE_UINT64:
      g_value_set_uint64 (value, u);
      return TRUE;
    case G_TYPE_BOOLEAN:
      g_value_set_boolean (value, i != 0);
      return TRUE;
    case G_TYPE_ENUM:
      g_value_set_enum (value, (gint) i);
      return TRUE;
    case G_TYPE_DOUBLE:
      g_value_set_double (value, d);
      return TRUE;
    default:
      g_return_val_if_reached (FALSE);
  }
}
