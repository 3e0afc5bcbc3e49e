/* vampsample's instance and private state, shared by gstvampsample.cpp (the element) and
 * gstvampsampletask.cpp (its streaming task). */
#pragma once

#include "gstvampsample.h"
#include "vamp/vamp.h"
#include "vampsettings.h"
#include "vamptokens.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

GST_DEBUG_CATEGORY_EXTERN (gst_vamp_sample_debug);

/* Input waiting for the streaming thread, in arrival order. */
struct PendingInput
{
  std::vector<uint16_t> tokens;
  std::vector<uint8_t> mask;   /* empty: mask=none input (generate everything) */
  size_t frames = 0;
  std::chrono::steady_clock::time_point arrived;
};


struct GstVampSamplePrivate
{
  std::mutex lock;
  std::condition_variable cond;
  std::deque<PendingInput> queue;
  size_t queued_frames = 0;
  bool eos = false;
  bool flushing = false;
  GstCaps *pending_caps = nullptr;    /* output caps to send before the next buffer */
  GstEvent *pending_segment = nullptr;

  std::shared_ptr<vamp::CodecModel> codec;
  std::shared_ptr<vamp::TransformerModel> coarse, c2f;
  VampEngineSettings engine;          /* device, threads, precision (properties; vampsettings.h) */
  std::unique_ptr<vamp::StreamSampler> sampler;   /* used by the streaming thread only */
  VampTokensInfo in_info = { }, out_info = { };
  bool configured = false;
  GstClockTime base_ts = GST_CLOCK_TIME_NONE;  /* PTS of the first input frame */
  guint64 frames_out = 0;
  guint64 seed = 0;

  /* Live pacing: the streaming thread's, except `live` and `measured` (object lock). */
  bool live = false;                   /* the last latency query found a live upstream */
  GstClockTime measured = 0;           /* one full window's time here (0: not measured yet) */
  vamp::StepGovernor governor;
  std::mutex measure_lock;             /* one measurement at a time */
};

struct _GstVampSample
{
  GstElement parent;
  GstPad *sinkpad, *srcpad;

  /* properties, under the object lock */
  gchar *coarse_model, *c2f_model, *codec_model;
  vamp::SampleSettings settings;
  gint64 seed;
  gboolean generate_unmasked;
  GstClockTime processing_latency;
  gint min_steps;
  gint max_batch;
  GstClockTime batch_timeout;

  GstVampSamplePrivate *priv;
};

/* The streaming thread: waits for a full window (or EOS), generates it, pushes it. */
void gst_vamp_sample_loop (GstVampSample * self);
/* The time a window may take from its last input frame to its output (the processing part of
 * the reported latency); NONE while unknown. Object lock held. */
GstClockTime gst_vamp_sample_budget (GstVampSample * self);
/* Measures one full window here, once (processing-latency=0 in a live pipeline). */
void gst_vamp_sample_measure (GstVampSample * self);
