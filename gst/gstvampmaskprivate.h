/* vampmask's instance and private state, shared by gstvampmask.cpp (the element) and
 * gstvampmaskbeats.cpp (its beat and onset sources). */
#pragma once

#include "gstvampmask.h"
#include "vamp/vamp.h"
#include "vamptokens.h"

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

GST_DEBUG_CATEGORY_EXTERN (gst_vamp_mask_debug);

struct GstVampMaskPrivate
{
  std::mutex lock;
  std::condition_variable cond;
  std::unique_ptr<vamp::StreamMasker> masker;
  VampTokensInfo in_info = { };
  bool configured = false;
  guint64 next_offset = 0;         /* running frame count for buffers without OFFSET */
  bool duration_queried = false;
  GstClockTime duration = GST_CLOCK_TIME_NONE;
  bool warned_no_beats = false, warned_no_end = false;
  /* beats from beats-file / beats-audio, read at start */
  std::vector<double> file_beats, file_downbeats, file_onsets;
  bool have_file = false;
  /* the audio pad */
  GstPad *audio_pad = nullptr;
  gint audio_rate = 0;
  std::vector<float> pending_audio;  /* audio that came before the token caps */
  bool audio_eos = false, audio_flushing = false, flushing = false;
};

struct _GstVampMask
{
  GstBaseTransform parent;

  /* properties, under the object lock */
  GstVampMaskPreset preset;
  vamp::MaskSettings settings;   /* the time properties in ns are its seconds (VAMP_FIELD_NS) */
  gchar *beats_file, *beats_audio;

  GstVampMaskPrivate *priv;
};

/* Reads beats-file and analyses beats-audio into priv->file_* (priv->lock held). Posts an error
 * naming the file and returns FALSE when one cannot be read. */
gboolean gst_vamp_mask_read_beats (GstVampMask * self, const std::string & beats_file,
    const std::string & beats_audio);
/* The "audio" request pad: mono audio at the codec rate for live beat and onset analysis. */
GstPad *gst_vamp_mask_request_new_pad (GstElement * element, GstPadTemplate * templ,
    const gchar * name, const GstCaps * caps);
void gst_vamp_mask_release_pad (GstElement * element, GstPad * pad);
