/* Shared models through GstContext: "vamp.codec" and "vamp.transformer".
 *
 * Each context holds a model set (GstVampModelSet, a refcounted boxed type in the structure field
 * "models"): the models opened through it, kept loaded. An element that needs a model looks
 * for the context the usual way (its own, set by the bin or the application; a CONTEXT query
 * on its pads; a NEED_CONTEXT message), and when there is none creates one and posts it with
 * HAVE_CONTEXT, so the bin hands it to the other vamp elements of the pipeline. Models are found
 * by the process-wide registry (vamp::CodecModel::open and vamp::TransformerModel::open, the one
 * cache), so a model is loaded once per process; the context keeps it loaded while the pipeline
 * holds the context (across READY<->PAUSED cycles).
 * Applications may create their own sets and set them on a pipeline to share models across
 * pipelines explicitly. */
#pragma once

#include <gst/gst.h>

#include <memory>
#include <string>

#include "vamp/vamp.h"

#define VAMP_CONTEXT_CODEC "vamp.codec"
#define VAMP_CONTEXT_TRANSFORMER "vamp.transformer"

GType gst_vamp_model_set_get_type (void);
#define GST_TYPE_VAMP_MODEL_SET (gst_vamp_model_set_get_type ())

/* The codec of `path` on `device` from the element's "vamp.codec" context. Throws like
 * vamp::CodecModel::open. */
std::shared_ptr<vamp::CodecModel> vamp_context_codec (GstElement * element,
    const std::string & path, const std::string & device,
    vamp::Precision precision = vamp::Precision::FP32);
/* The transformer of `path` (embedding `codec`'s codebooks) on `device`, from "vamp.transformer". */
std::shared_ptr<vamp::TransformerModel> vamp_context_transformer (GstElement * element,
    const std::string & path, const std::shared_ptr<vamp::CodecModel> & codec,
    const std::string & device, vamp::Precision precision = vamp::Precision::FP32);
/* What vampenc and vampdec do at start: the codec named by their `model` property (empty = the
 * default set), with their engine settings (vampsettings.h; read under the element's object
 * lock), through the context above. On failure posts a GST_ELEMENT_ERROR naming the file (or the
 * setting the device cannot run) and returns null. */
struct VampEngineSettings;
std::shared_ptr<vamp::CodecModel> vamp_element_open_codec (GstElement * element,
    const gchar * model, const VampEngineSettings & settings);
/* Answers a CONTEXT query for the vamp context types the element holds; FALSE otherwise. */
gboolean vamp_context_query (GstElement * element, GstQuery * query);
