/* The settings vampenc, vampdec and vampsample share, declared once (as the opus plugin's common
 * files do): the "device", "threads" and "precision" properties, property tables for plain
 * fields, and the enums gst-inspect-1.0 lists with their values (precision here, vampmask's
 * presets in gstvampmask.h). The engine (vamp/precision.h) owns what each precision
 * means on each device; the elements only carry the choice. */
#pragma once

#include <gst/gst.h>

#include "vamp/vamp.h"

#include <cstdint>
#include <type_traits>
#include <utility>

G_BEGIN_DECLS
#define GST_TYPE_VAMP_PRECISION (gst_vamp_precision_get_type ())
GType gst_vamp_precision_get_type (void);
G_END_DECLS

/* One element's engine settings; read and written under its object lock. */
struct VampEngineSettings
{
  gchar *device = nullptr;      /* auto, cpu, cuda, cuda:N */
  gint threads = 0;             /* the process's CPU thread budget (0 = keep it) */
  vamp::Precision precision = vamp::Precision::FP32;

  VampEngineSettings ();
  ~VampEngineSettings ();
  VampEngineSettings (const VampEngineSettings &) = delete;
  VampEngineSettings & operator= (const VampEngineSettings &) = delete;
};

/* Properties kept in plain fields of an element's instance (GObject property tables, as
 * audioresample and level declare theirs). The field's C++ type (int, int64_t, uint64_t, double,
 * bool, an int-sized enum for a GEnum property; gboolean is an int) is recorded by VAMP_FIELD and
 * converted from and to the property's. */
enum class VampStorage { Int, Int64, UInt64, Double, Bool, Enum, SecondsAsNs };
template <typename T> constexpr VampStorage vamp_storage ()
{
  static_assert (std::is_enum_v<T> && sizeof (T) == sizeof (gint), "no VampStorage for this type");
  return VampStorage::Enum;
}
template <> constexpr VampStorage vamp_storage<int> () { return VampStorage::Int; }
template <> constexpr VampStorage vamp_storage<int64_t> () { return VampStorage::Int64; }
template <> constexpr VampStorage vamp_storage<uint64_t> () { return VampStorage::UInt64; }
template <> constexpr VampStorage vamp_storage<double> () { return VampStorage::Double; }
template <> constexpr VampStorage vamp_storage<bool> () { return VampStorage::Bool; }

struct VampFieldProperty
{
  guint id;
  gsize offset;
  VampStorage storage;
};
#define VAMP_FIELD(id, type, field)                                                     \
  VampFieldProperty { id, G_STRUCT_OFFSET (type, field),                                \
      vamp_storage<std::remove_reference_t<decltype (std::declval<type &> ().field)>> () }
/* A time property in ns (GstClockTime, as GStreamer's) kept as seconds in a double field (the
 * engine's unit): the one place the two meet. */
#define VAMP_FIELD_NS(id, type, field) \
  VampFieldProperty { id, G_STRUCT_OFFSET (type, field), VampStorage::SecondsAsNs }
/* set_property / get_property for the table's ids: TRUE when prop_id was one of them. */
gboolean vamp_field_property_set (gpointer instance, const VampFieldProperty * table, gsize n,
    guint prop_id, const GValue * value);
gboolean vamp_field_property_get (gconstpointer instance, const VampFieldProperty * table, gsize n,
    guint prop_id, GValue * value);

/* What the precision property says about the element's models. */
enum VampModelKind
{
  VAMP_MODEL_CODEC,
  VAMP_MODEL_TRANSFORMERS,
};

/* Installs "device", "threads" and "precision" as property ids first_id .. first_id + 2, mutable
 * in READY. */
void vamp_engine_settings_install (GObjectClass * klass, guint first_id, VampModelKind kind);
/* set_property / get_property for those ids: TRUE when prop_id was one of them. */
gboolean vamp_engine_settings_set (VampEngineSettings * s, guint first_id, guint prop_id,
    const GValue * value);
gboolean vamp_engine_settings_get (const VampEngineSettings * s, guint first_id, guint prop_id,
    GValue * value);
