// opus_yardstick: the default-model issue's yardstick for the codec, Opus at 8 kbps, through
// libopus directly (built when meson finds the 'opus' dependency: VAMP_HAVE_OPUS).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace vamp::train {

// Whether this build has libopus (otherwise opus_round_trip throws).
bool opus_available();

// audio [N] (mono; any shape is flattened) at sample_rate -> Opus encoded and decoded, [N] float32,
// aligned with the input (the encoder's lookahead, OPUS_GET_LOOKAHEAD, is skipped as a decoder's
// pre-skip would). Opus runs at 48 kHz: other rates are resampled there and back with
// resample_fft. Mono, OPUS_APPLICATION_AUDIO, OPUS_SET_BITRATE(bitrate), 20 ms frames, and the
// rest as gst's opusenc sets it by default (the yardstick is `opusenc bitrate=8000 !
// opusdec`): complexity 10, constrained VBR, and the bandwidth forced to fullband
// (OPUS_SET_BANDWIDTH(OPUS_BANDWIDTH_FULLBAND)). With fullband = false libopus picks the bandwidth
// itself, which at 8 kbps is narrowband (4 kHz): a much larger log-mel distance (about 4 against
// 0.7 on our music), since the bands above it are empty.
at::Tensor opus_round_trip(const at::Tensor& audio, int64_t sample_rate, int bitrate = 8000, bool fullband = true);

// Band-limited resampling of the whole clip through one FFT (an ideal brick-wall low-pass at the
// lower Nyquist frequency): x [N] at `from` Hz -> [out_length] at `to` Hz (default
// ceil(N * to / from)). The clip is zero-padded past its end first, so its two ends do not wrap
// into each other.
at::Tensor resample_fft(const at::Tensor& x, int64_t from, int64_t to, int64_t out_length = -1);

}  // namespace vamp::train
