/* vamp-launch: gst-launch-1.0 for the pipelines, plus what gst-launch does not print.
 *
 *   vamp-launch [--duration SECONDS] [--latency MS] [--quiet] PIPELINE-DESCRIPTION...
 *
 * Runs the pipeline like gst-launch-1.0 (same description syntax) and prints, on stdout:
 *   - "latency: live=yes min=<ms> ms max=<ms|none>" once the pipeline plays and after every
 *     LATENCY message (the pipeline's latency query: what a live sink waits for);
 *   - at the end, per vampsample element: windows generated and the real-time factor
 *     (processing time / audio time, from its "vampsample" element messages);
 *   - at the end, for a live pipeline, per synchronizing sink: buffers received and how many
 *     arrived after their play-out time (running time + pipeline latency + 20 ms): an audio
 *     card would have played silence there (an underrun), whatever the sink then does.
 * --duration stops the pipeline with EOS after that many seconds of PLAYING (live sources run
 * forever);
 * Ctrl-C also ends it with EOS, so files are finalized. --latency sets the pipeline latency
 * (GstPipeline:latency) instead of the computed one. Exit status: 0 on EOS, 1 on an error.
 */
#include <gst/gst.h>
#include <glib-unix.h>

#include <stdlib.h>
#include <string.h>

typedef struct
{
  gchar *name;
  guint windows;
  gdouble seconds, audio_seconds;
} SampleStats;

/* Lateness of the buffers reaching one sink's pad, measured against the pipeline clock. */
typedef struct
{
  GstElement *sink;
  const GstClockTime *latency;  /* the pipeline latency last queried (App.last_min) */
  GstSegment segment;
  guint buffers, late;
  GstClockTimeDiff worst;       /* largest lateness seen, ns */
} SinkStats;

typedef struct
{
  GMainLoop *loop;
  GstElement *pipeline;
  gboolean quiet, playing, error, live;
  GPtrArray *stats;             /* SampleStats* */
  GPtrArray *sinks;             /* SinkStats* */
  GstClockTime last_min;
  gdouble duration;             /* --duration: seconds of PLAYING before EOS, 0 = none */
} App;

static gboolean send_eos (gpointer data);

#define LATE_TOLERANCE (20 * GST_MSECOND)

static GstPadProbeReturn
on_sink_data (GstPad * pad, GstPadProbeInfo * info, gpointer data)
{
  SinkStats *s = data;
  if (GST_PAD_PROBE_INFO_TYPE (info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);
    if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT)
      gst_event_copy_segment (ev, &s->segment);
    return GST_PAD_PROBE_OK;
  }
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
  if (s->segment.format != GST_FORMAT_TIME)
    return GST_PAD_PROBE_OK;    /* encoded bytes (a file): no play-out time to miss */
  GstClock *clock = gst_element_get_clock (s->sink);
  if (!clock || !GST_BUFFER_PTS_IS_VALID (buf)) {
    if (clock)
      gst_object_unref (clock);
    return GST_PAD_PROBE_OK;
  }
  GstClockTime now = gst_clock_get_time (clock) - gst_element_get_base_time (s->sink);
  gst_object_unref (clock);
  GstClockTime rt = gst_segment_to_running_time (&s->segment, GST_FORMAT_TIME, GST_BUFFER_PTS (buf));
  GstClockTime latency = *s->latency;
  s->buffers++;
  if (GST_CLOCK_TIME_IS_VALID (rt) && GST_CLOCK_TIME_IS_VALID (latency)) {
    GstClockTimeDiff lateness = GST_CLOCK_DIFF (rt + latency, now);
    if (lateness > s->worst)
      s->worst = lateness;
    if (lateness > (GstClockTimeDiff) LATE_TOLERANCE)
      s->late++;
  }
  return GST_PAD_PROBE_OK;
}

/* A probe on the sink pad of every sink that synchronizes to the clock. */
static void
watch_sinks (App * app)
{
  GstIterator *it = gst_bin_iterate_sinks (GST_BIN (app->pipeline));
  GValue item = G_VALUE_INIT;
  while (gst_iterator_next (it, &item) == GST_ITERATOR_OK) {
    GstElement *sink = g_value_get_object (&item);
    gboolean sync = FALSE;
    if (g_object_class_find_property (G_OBJECT_GET_CLASS (sink), "sync"))
      g_object_get (sink, "sync", &sync, NULL);
    GstPad *pad = gst_element_get_static_pad (sink, "sink");
    if (sync && pad) {
      SinkStats *s = g_new0 (SinkStats, 1);
      s->sink = sink;
      s->latency = &app->last_min;
      gst_segment_init (&s->segment, GST_FORMAT_TIME);
      gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
          on_sink_data, s, NULL);
      g_ptr_array_add (app->sinks, s);
    }
    if (pad)
      gst_object_unref (pad);
    g_value_reset (&item);
  }
  g_value_unset (&item);
  gst_iterator_free (it);
}

static void
print_latency (App * app)
{
  GstQuery *q = gst_query_new_latency ();
  if (gst_element_query (app->pipeline, q)) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency (q, &live, &min, &max);
    app->live = live;
    if (app->last_min != min || !live) {
      gchar maxs[32];
      if (GST_CLOCK_TIME_IS_VALID (max))
        g_snprintf (maxs, sizeof (maxs), "%.1f ms", max / 1e6);
      else
        g_strlcpy (maxs, "none", sizeof (maxs));
      g_print ("latency: live=%s min=%.1f ms max=%s\n", live ? "yes" : "no", min / 1e6, maxs);
      app->last_min = min;
    }
  } else {
    g_print ("latency: query failed\n");
  }
  gst_query_unref (q);
}

static SampleStats *
stats_for (App * app, const gchar * name)
{
  for (guint i = 0; i < app->stats->len; ++i) {
    SampleStats *s = g_ptr_array_index (app->stats, i);
    if (!strcmp (s->name, name))
      return s;
  }
  SampleStats *s = g_new0 (SampleStats, 1);
  s->name = g_strdup (name);
  g_ptr_array_add (app->stats, s);
  return s;
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  App *app = data;
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      GError *err;
      gchar *dbg;
      gst_message_parse_error (msg, &err, &dbg);
      g_printerr ("ERROR from %s: %s\n%s\n", GST_OBJECT_NAME (msg->src), err->message,
          dbg ? dbg : "");
      g_clear_error (&err);
      g_free (dbg);
      app->error = TRUE;
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *err;
      gchar *dbg;
      gst_message_parse_warning (msg, &err, &dbg);
      if (!app->quiet)
        g_printerr ("WARNING from %s: %s\n", GST_OBJECT_NAME (msg->src), err->message);
      g_clear_error (&err);
      g_free (dbg);
      break;
    }
    case GST_MESSAGE_EOS:
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_STATE_CHANGED:
      if (GST_MESSAGE_SRC (msg) == GST_OBJECT (app->pipeline)) {
        GstState old, state;
        gst_message_parse_state_changed (msg, &old, &state, NULL);
        if (state == GST_STATE_PLAYING && !app->playing) {
          app->playing = TRUE;
          print_latency (app);
          if (app->duration > 0)
            g_timeout_add ((guint) (app->duration * 1000), send_eos, app);
        }
      }
      break;
    case GST_MESSAGE_LATENCY:
      gst_bin_recalculate_latency (GST_BIN (app->pipeline));
      if (app->playing)
        print_latency (app);
      break;
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);
      if (s && gst_structure_has_name (s, "vampsample")) {
        SampleStats *st = stats_for (app, GST_OBJECT_NAME (msg->src));
        gdouble secs = 0, rtf = 0;
        gst_structure_get_double (s, "seconds", &secs);
        gst_structure_get_double (s, "realtime-factor", &rtf);
        st->windows++;
        st->seconds += secs;
        if (rtf > 0)
          st->audio_seconds += secs / rtf;
      }
      break;
    }
    default:
      break;
  }
  return TRUE;
}

static gboolean
send_eos (gpointer data)
{
  App *app = data;
  gst_element_send_event (app->pipeline, gst_event_new_eos ());
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  App app = { 0 };
  gdouble duration = 0, latency_ms = -1;
  int i = 1;
  gst_init (&argc, &argv);
  for (; i < argc && g_str_has_prefix (argv[i], "--"); ++i) {
    if (!strcmp (argv[i], "--duration") && i + 1 < argc)
      duration = g_ascii_strtod (argv[++i], NULL);
    else if (!strcmp (argv[i], "--latency") && i + 1 < argc)
      latency_ms = g_ascii_strtod (argv[++i], NULL);
    else if (!strcmp (argv[i], "--quiet"))
      app.quiet = TRUE;
    else
      break;
  }
  if (i >= argc) {
    g_printerr ("usage: vamp-launch [--duration SECONDS] [--latency MS] [--quiet] "
        "PIPELINE-DESCRIPTION...\n");
    return 2;
  }
  GError *err = NULL;
  app.pipeline = gst_parse_launchv ((const gchar **) argv + i, &err);
  if (!app.pipeline || err) {
    g_printerr ("could not build the pipeline: %s\n", err ? err->message : "unknown error");
    return 1;
  }
  if (!GST_IS_PIPELINE (app.pipeline)) {
    GstElement *p = gst_pipeline_new (NULL);
    gst_bin_add (GST_BIN (p), app.pipeline);
    app.pipeline = p;
  }
  if (latency_ms >= 0)
    gst_pipeline_set_latency (GST_PIPELINE (app.pipeline), (GstClockTime) (latency_ms * 1e6));
  app.loop = g_main_loop_new (NULL, FALSE);
  app.stats = g_ptr_array_new ();
  app.sinks = g_ptr_array_new_with_free_func (g_free);
  watch_sinks (&app);
  app.last_min = GST_CLOCK_TIME_NONE;
  GstBus *bus = gst_element_get_bus (app.pipeline);
  gst_bus_add_watch (bus, on_bus, &app);
  g_unix_signal_add (SIGINT, send_eos, &app);
  app.duration = duration;

  if (gst_element_set_state (app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    /* the error message on the bus says why */
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (msg) {
      on_bus (bus, msg, &app);
      gst_message_unref (msg);
    } else {
      g_printerr ("ERROR: the pipeline does not want to play\n");
    }
    app.error = TRUE;
  } else {
    g_main_loop_run (app.loop);
  }
  gst_element_set_state (app.pipeline, GST_STATE_NULL);

  for (guint s = 0; s < app.stats->len; ++s) {
    SampleStats *st = g_ptr_array_index (app.stats, s);
    g_print ("%s: %u windows, %.2f s of audio in %.2f s (real-time factor %.2f)\n", st->name,
        st->windows, st->audio_seconds, st->seconds,
        st->audio_seconds > 0 ? st->seconds / st->audio_seconds : 0.0);
  }
  for (guint s = 0; s < app.sinks->len; ++s) {
    SinkStats *st = g_ptr_array_index (app.sinks, s);
    if (app.live && st->segment.format == GST_FORMAT_TIME)
      g_print ("%s: %u buffers, %u late (underruns), worst lateness %.1f ms\n",
          GST_OBJECT_NAME (st->sink), st->buffers, st->late, st->worst / 1e6);
  }
  g_ptr_array_unref (app.sinks);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  return app.error ? 1 : 0;
}
