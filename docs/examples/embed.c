/* Embedding gst-vampnet in a C application: audio from the app in (appsrc), a VampNet
 * variation of it back out (appsink), with a property changed while playing.
 *
 *   cc embed.c -o embed $(pkg-config --cflags --libs gstreamer-1.0 gstreamer-app-1.0)
 *   GST_PLUGIN_PATH=<build>/gst ./embed [seconds] [steps]
 *
 * The models come from VAMPNET_MODELS (a folder with codec.pth, coarse.pth, c2f.pth) or the
 * build's default set; set the elements' model properties to choose files explicitly.
 * Prints the samples generated, the pipeline latency and each window's real-time factor.
 */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

#include <math.h>
#include <stdlib.h>

#define RATE 44100
#define HOP 768 /* the codec's samples per token frame (hop-length in the token caps) */

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  const double seconds = argc > 1 ? atof (argv[1]) : 3.0;
  const int steps = argc > 2 ? atoi (argv[2]) : 12;

  GError *err = NULL;
  GstElement *pipe = gst_parse_launch (
      "appsrc name=in format=time caps=audio/x-raw,format=F32LE,layout=interleaved,rate=44100,channels=1 ! "
      "vampenc ! vampmask name=mask periodic-prompt=7 ! vampsample name=sample seed=1 ! "
      "vampdec ! appsink name=out sync=false", &err);
  if (!pipe) {
    g_printerr ("pipeline: %s (is GST_PLUGIN_PATH set to the plugin's folder?)\n", err->message);
    return 1;
  }
  GstElement *sample = gst_bin_get_by_name (GST_BIN (pipe), "sample");
  g_object_set (sample, "steps", steps, "c2f-steps", 1, NULL);
  GstAppSrc *in = GST_APP_SRC (gst_bin_get_by_name (GST_BIN (pipe), "in"));
  GstAppSink *out = GST_APP_SINK (gst_bin_get_by_name (GST_BIN (pipe), "out"));
  GstElement *mask = gst_bin_get_by_name (GST_BIN (pipe), "mask");

  if (gst_element_set_state (pipe, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GstBus *bus = gst_element_get_bus (pipe);
    GstMessage *m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (m) {
      gst_message_parse_error (m, &err, NULL);
      g_printerr ("could not start: %s\n", err->message);
      gst_message_unref (m);
    }
    gst_object_unref (bus);
    return 1;
  }

  /* The application's audio: a chord, pushed in 0.1 s buffers. */
  const long total = (long) (seconds * RATE), chunk = RATE / 10;
  for (long first = 0; first < total; first += chunk) {
    const long n = first + chunk <= total ? chunk : total - first;
    GstBuffer *buf = gst_buffer_new_allocate (NULL, n * sizeof (float), NULL);
    GstMapInfo map;
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    float *x = (float *) map.data;
    for (long i = 0; i < n; ++i) {
      const double t = (double) (first + i) / RATE;
      x[i] = (float) (0.2 * sin (2 * M_PI * 220 * t) + 0.15 * sin (2 * M_PI * 277.2 * t) +
          0.1 * sin (2 * M_PI * 329.6 * t));
    }
    gst_buffer_unmap (buf, &map);
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale (first, GST_SECOND, RATE);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (n, GST_SECOND, RATE);
    if (gst_app_src_push_buffer (in, buf) != GST_FLOW_OK)
      break;
    if (first == total / 2)     /* mask knobs may change while playing (next buffer on) */
      g_object_set (mask, "periodic-prompt", 3, NULL);
  }
  gst_app_src_end_of_stream (in);

  /* The generated audio. */
  guint64 samples = 0;
  GstSample *s;
  while ((s = gst_app_sink_pull_sample (out))) {
    samples += gst_buffer_get_size (gst_sample_get_buffer (s)) / sizeof (float);
    gst_sample_unref (s);
  }

  /* Errors and vampsample's per-window statistics from the bus. */
  int rc = 0;
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *m;
  while ((m = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
    const GstStructure *st = gst_message_get_structure (m);
    if (GST_MESSAGE_TYPE (m) == GST_MESSAGE_ERROR) {
      gst_message_parse_error (m, &err, NULL);
      g_printerr ("error: %s\n", err->message);
      g_clear_error (&err);
      rc = 1;
    } else if (gst_structure_has_name (st, "vampsample")) {
      double rtf = 0;
      guint64 window = 0;
      gst_structure_get_uint64 (st, "window", &window);
      gst_structure_get_double (st, "realtime-factor", &rtf);
      g_print ("window %" G_GUINT64_FORMAT ": real-time factor %.2f\n", window, rtf);
    }
    gst_message_unref (m);
  }
  const guint64 frames = ((guint64) total + HOP - 1) / HOP;
  g_print ("generated %" G_GUINT64_FORMAT " samples (%.2f s) from %ld input samples\n", samples,
      (double) samples / RATE, total);
  if (samples != frames * HOP) {
    g_printerr ("expected %" G_GUINT64_FORMAT " samples\n", frames * HOP);
    rc = 1;
  }

  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (mask);
  gst_object_unref (sample);
  gst_object_unref (in);
  gst_object_unref (out);
  gst_object_unref (pipe);
  return rc;
}
