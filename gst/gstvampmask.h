#pragma once

#include <gst/gst.h>
#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define GST_TYPE_VAMP_MASK (gst_vamp_mask_get_type ())
G_DECLARE_FINAL_TYPE (GstVampMask, gst_vamp_mask, GST, VAMP_MASK, GstBaseTransform)

/**
 * GstVampMaskPreset:
 * @GST_VAMP_MASK_PRESET_CUSTOM: the individual properties as set
 * @GST_VAMP_MASK_PRESET_UNCONDITIONAL: generate everything but the upper-codebook rule
 * @GST_VAMP_MASK_PRESET_SLIGHT: periodic prompt 5, onset width 5
 * @GST_VAMP_MASK_PRESET_MODERATE: periodic prompt 13, onset width 5
 * @GST_VAMP_MASK_PRESET_STRONG: periodic prompt 17, onset width 5
 * @GST_VAMP_MASK_PRESET_VERY_STRONG: periodic prompt 21, onset width 5
 * @GST_VAMP_MASK_PRESET_BEAT_DRIVEN: beat hints of 50 ms
 * @GST_VAMP_MASK_PRESET_BEAT_DRIVEN_DOWNBEATS: downbeat hints of 50 ms
 * @GST_VAMP_MASK_PRESET_BEAT_DRIVEN_DOWNBEATS_STRONG: downbeat hints of 20 ms
 * @GST_VAMP_MASK_PRESET_COMPRESSION: keep codebook 0, generate the others
 *
 * The mask presets of the VampNet ismir-2023 app (plus compression).
 */
typedef enum
{
  GST_VAMP_MASK_PRESET_CUSTOM,
  GST_VAMP_MASK_PRESET_UNCONDITIONAL,
  GST_VAMP_MASK_PRESET_SLIGHT,
  GST_VAMP_MASK_PRESET_MODERATE,
  GST_VAMP_MASK_PRESET_STRONG,
  GST_VAMP_MASK_PRESET_VERY_STRONG,
  GST_VAMP_MASK_PRESET_BEAT_DRIVEN,
  GST_VAMP_MASK_PRESET_BEAT_DRIVEN_DOWNBEATS,
  GST_VAMP_MASK_PRESET_BEAT_DRIVEN_DOWNBEATS_STRONG,
  GST_VAMP_MASK_PRESET_COMPRESSION,
} GstVampMaskPreset;

#define GST_TYPE_VAMP_MASK_PRESET (gst_vamp_mask_preset_get_type ())
GType gst_vamp_mask_preset_get_type (void);
/* vamp::MaskReference: which reference app's combination the parts follow. */
#define GST_TYPE_VAMP_MASK_COMBINATION (gst_vamp_mask_combination_get_type ())
GType gst_vamp_mask_combination_get_type (void);

G_END_DECLS
