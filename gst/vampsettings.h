/* The settings vampenc, vampdec and vampsample share, declared once (as the opus plugin's common
 * files do): the "device", "threads" and "precision" properties, and the precision enum that
 * gst-inspect-1.0 lists with its values. The engine (vamp/precision.h) owns what each precision
 * means on each device; the elements only carry the choice. */
#pragma once

#include <gst/gst.h>

#include "vamp/vamp.h"

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
 * audioresample and level declare theirs): the field at `offset` has the property's value type
 * (gint, gint64, guint64, gdouble, gboolean). */
struct VampFieldProperty
{
  guint id;
  gsize offset;
};
#define VAMP_FIELD(id, type, field) { id, G_STRUCT_OFFSET (type, field) }
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
