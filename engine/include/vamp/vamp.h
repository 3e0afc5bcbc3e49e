// vamp.h: the engine's front door for the GStreamer plugin and applications. Errors are thrown as
// std::runtime_error (vamp::CheckpointError for bad model files) with a message for the user.
// Everything it includes is free of libtorch types; the model-level C++ API with tensors (codec.h,
// transformer.h, sampler.h, ...) sits beside it for the tools and training.
#pragma once

#include "errors.h"          // CheckpointError, Cancelled
#include "models.h"          // CodecModel, TransformerModel, default_model_path, resolve_device
#include "stream_codec.h"    // StreamEncoder, StreamDecoder
#include "mask_settings.h"   // MaskSettings, mask_preset, seconds_to_frames
#include "stream_masker.h"   // StreamMasker, beats files
#include "stream_sampler.h"  // SampleSettings, BatchSettings, StreamSampler, StepGovernor
#include "token_file.h"      // TokenFormat, the .vtok header, whole token files
