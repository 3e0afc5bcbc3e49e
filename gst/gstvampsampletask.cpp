/* vampsample's streaming task: windows from the input queue through the engine to the src pad,
 * paced for live pipelines (the time a window may take, the steps it gets), with the per-window
 * statistics message. The element itself (properties, pads, caps, events) is gstvampsample.cpp. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstvampsampleprivate.h"

#include "vamptokens.h"

#include <chrono>
#include <exception>

#define GST_CAT_DEFAULT gst_vamp_sample_debug
#define PROCESSING_HEADROOM 1.5         /* measured window time -> budget */

/* Sends pending caps/segment, then the generated frames in `tokens`. Lock not held. */
static GstFlowReturn
gst_vamp_sample_push (GstVampSample * self, GstCaps * caps, GstEvent * segment,
    std::vector < uint16_t > &tokens)
{
  GstVampSamplePrivate *priv = self->priv;
  if (caps) {
    gst_pad_push_event (self->srcpad, gst_event_new_caps (caps));
    gst_caps_unref (caps);
  }
  if (segment)
    gst_pad_push_event (self->srcpad, segment);
  if (tokens.empty ())
    return GST_FLOW_OK;

  const VampTokensInfo & out = priv->out_info;
  const guint64 n_frames = tokens.size () / out.codebooks;
  GstBuffer *buf = vamp_tokens_buffer_new (tokens);
  tokens.clear ();

  GST_BUFFER_PTS (buf) = priv->base_ts + vamp_tokens_frames_to_time (&out, priv->frames_out);
  GST_BUFFER_DURATION (buf) = priv->base_ts + vamp_tokens_frames_to_time (&out,
      priv->frames_out + n_frames) - GST_BUFFER_PTS (buf);
  GST_BUFFER_OFFSET (buf) = priv->frames_out;
  GST_BUFFER_OFFSET_END (buf) = priv->frames_out + n_frames;
  if (priv->frames_out == 0)
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  priv->frames_out += n_frames;
  return gst_pad_push (self->srcpad, buf);
}

/* The time a window may take from its last input frame to its output (the processing part of
 * the reported latency): processing-latency, or 1.5 x the measured window time; NONE while
 * neither is known. Object lock held. */
GstClockTime
gst_vamp_sample_budget (GstVampSample * self)
{
  GstClockTime processing = self->processing_latency;
  if (processing == 0 && self->priv->measured > 0)
    processing = (GstClockTime) (self->priv->measured * PROCESSING_HEADROOM);
  return processing > 0 ? processing + self->batch_timeout : GST_CLOCK_TIME_NONE;
}

/* Measures one full window here, once (for processing-latency=0, when the pipeline is live). */
void
gst_vamp_sample_measure (GstVampSample * self)
{
  GstVampSamplePrivate *priv = self->priv;
  std::lock_guard < std::mutex > once (priv->measure_lock);
  GST_OBJECT_LOCK (self);
  const bool needed = self->processing_latency == 0 && priv->measured == 0 && priv->coarse;
  vamp::SampleSettings settings = self->settings;
  GST_OBJECT_UNLOCK (self);
  if (!needed)
    return;
  const int codebooks = priv->configured ? priv->in_info.codebooks
      : priv->codec->info ().n_codebooks;
  vamp::BatchSettings batch;
  try {
    const double secs = vamp::measure_window_seconds (priv->coarse, priv->c2f, settings, codebooks,
        batch);
    GST_INFO_OBJECT (self, "one window of %d + %d frames, %d + %d steps: %.2f s here",
        settings.context_frames, settings.window_frames, settings.steps, settings.c2f_steps, secs);
    GST_OBJECT_LOCK (self);
    priv->measured = MAX ((GstClockTime) (secs * GST_SECOND), 1);
    GST_OBJECT_UNLOCK (self);
  } catch (const std::exception & e) {
    GST_WARNING_OBJECT (self, "could not measure a window (%s): set processing-latency",
        e.what ());
  }
}

static void
gst_vamp_sample_post_stats (GstVampSample * self, guint64 window, size_t frames, int steps,
    double seconds, int batch_size)
{
  const VampTokensInfo & out = self->priv->out_info;
  const double audio_seconds = (double) frames * out.hop_length / out.rate;
  const int all_steps = steps + self->settings.c2f_steps;
  GstStructure *s = gst_structure_new ("vampsample",
      "window", G_TYPE_UINT64, window,
      "frames", G_TYPE_INT, (gint) frames,
      "seconds", G_TYPE_DOUBLE, seconds,
      "realtime-factor", G_TYPE_DOUBLE, audio_seconds > 0 ? seconds / audio_seconds : 0.0,
      "steps", G_TYPE_INT, steps,
      "steps-per-second", G_TYPE_DOUBLE, seconds > 0 ? all_steps / seconds : 0.0,
      "batch-size", G_TYPE_INT, batch_size, NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* The streaming thread: waits for a full window (or EOS), generates it, pushes it. */
void
gst_vamp_sample_loop (GstVampSample * self)
{
  GstVampSamplePrivate *priv = self->priv;
  std::unique_lock < std::mutex > guard (priv->lock);
  priv->cond.wait (guard, [&] {
        return priv->flushing || priv->eos || !priv->queue.empty () || priv->pending_segment;
      });
  if (priv->flushing) {
    guard.unlock ();
    gst_pad_pause_task (self->srcpad);
    return;
  }
  /* Hand queued input to the sampler (only this thread touches it). */
  while (!priv->queue.empty ()) {
    PendingInput & in = priv->queue.front ();
    try {
      priv->sampler->push (in.tokens.data (), in.mask.empty ()? nullptr : in.mask.data (), in.frames,
          in.arrived);
    } catch (const std::exception & e) {
      guard.unlock ();
      GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("Invalid tokens."), ("%s", e.what ()));
      gst_pad_push_event (self->srcpad, gst_event_new_eos ());
      gst_pad_pause_task (self->srcpad);
      return;
    }
    priv->queued_frames -= in.frames;
    priv->queue.pop_front ();
  }
  priv->cond.notify_all ();
  const bool eos = priv->eos;
  GstCaps *caps = priv->pending_caps;
  GstEvent *segment = priv->pending_segment;
  priv->pending_caps = nullptr;
  priv->pending_segment = nullptr;
  vamp::SampleSettings settings;
  GST_OBJECT_LOCK (self);
  settings = self->settings;
  const int max_batch = self->max_batch;
  const int64_t batch_timeout = (int64_t) MIN (self->batch_timeout, (GstClockTime) G_MAXINT64);
  const int min_steps = self->min_steps;
  const GstClockTime budget = priv->live ? gst_vamp_sample_budget (self) : GST_CLOCK_TIME_NONE;
  const GstClockTime measured = priv->measured;
  GST_OBJECT_UNLOCK (self);
  guard.unlock ();
  if (priv->governor.seconds_per_step () <= 0 && measured > 0)
    priv->governor.observe (settings, measured / 1e9);  /* the measured window: a first rate */

  std::vector < uint16_t > tokens;
  GstFlowReturn ret = GST_FLOW_OK;
  if (!priv->sampler) {
    /* No caps were ever accepted (none came, or they were refused): no stream to generate or
     * to describe, so a pending segment goes nowhere; EOS still goes out. */
    gst_clear_event (&segment);
  }
  try {
    if (priv->sampler)
      priv->sampler->update_batch (max_batch, batch_timeout);
    while (priv->sampler && ret == GST_FLOW_OK) {
      const guint64 window = priv->sampler->windows_done ();
      const auto start = std::chrono::steady_clock::now ();
      vamp::SampleSettings paced = settings;
      if (GST_CLOCK_TIME_IS_VALID (budget) && priv->sampler->window_ready ()) {
        const double waited = priv->sampler->seconds_ready (start);
        paced.steps = priv->governor.steps_for (settings, min_steps, budget / 1e9 - waited);
        if (paced.steps < settings.steps)
          GST_INFO_OBJECT (self, "window %" G_GUINT64_FORMAT ": %d of %d steps to be ready "
              "in time (%.2f s of %.2f s left)", window, paced.steps, settings.steps,
              budget / 1e9 - waited, budget / 1e9);
      }
      priv->sampler->update (paced);
      size_t frames = 0;
      if (priv->sampler->window_ready ())
        frames = priv->sampler->pull (tokens);
      else if (eos)
        frames = priv->sampler->drain (tokens);  /* the last, partial window */
      if (frames == 0)
        break;
      const double secs =
          std::chrono::duration < double >(std::chrono::steady_clock::now () - start).count ();
      GST_DEBUG_OBJECT (self, "window %" G_GUINT64_FORMAT ": %zu frames, %d steps in %.2f s",
          window, frames, paced.steps, secs);
      if (frames == (size_t) settings.window_frames)
        priv->governor.observe (paced, secs);
      gst_vamp_sample_post_stats (self, window, frames, paced.steps, secs,
          priv->sampler->last_batch_size ());
      ret = gst_vamp_sample_push (self, caps, segment, tokens);
      caps = nullptr;
      segment = nullptr;
    }
  } catch (const std::exception & e) {
    bool flushing;
    {
      std::lock_guard < std::mutex > g2 (priv->lock);
      flushing = priv->flushing;
    }
    if (flushing) {
      GST_DEBUG_OBJECT (self, "window withdrawn: flushing (%s)", e.what ());
      ret = GST_FLOW_FLUSHING;
    } else {
      GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Generation failed."), ("%s", e.what ()));
      ret = GST_FLOW_ERROR;
    }
  }
  if ((caps || segment) && ret == GST_FLOW_OK)
    ret = gst_vamp_sample_push (self, caps, segment, tokens);
  else if (caps || segment) {
    gst_clear_caps (&caps);
    gst_clear_event (&segment);
  }

  if (ret == GST_FLOW_OK && eos) {
    gst_pad_push_event (self->srcpad, gst_event_new_eos ());
    gst_pad_pause_task (self->srcpad);
  } else if (ret != GST_FLOW_OK) {
    GST_DEBUG_OBJECT (self, "pausing: %s", gst_flow_get_name (ret));
    if (ret == GST_FLOW_EOS || ret < GST_FLOW_EOS) {
      if (ret != GST_FLOW_EOS)
        GST_ELEMENT_FLOW_ERROR (self, ret);
      gst_pad_push_event (self->srcpad, gst_event_new_eos ());
    }
    std::lock_guard < std::mutex > g2 (priv->lock);
    priv->flushing = priv->flushing || ret == GST_FLOW_FLUSHING;
    priv->cond.notify_all ();
    gst_pad_pause_task (self->srcpad);
  }
}

