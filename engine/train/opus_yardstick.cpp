// opus_yardstick: Opus at a low bitrate as a yardstick for the codec (see the header).
#include "opus_yardstick.h"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef VAMP_HAVE_OPUS
#include <opus.h>
#endif

namespace vamp::train {

namespace {

// Smallest n >= at_least whose only prime factors are 2, 3, 5 and 7 (a fast FFT length).
int64_t smooth_at_least(int64_t at_least) {
  for (int64_t n = std::max<int64_t>(1, at_least);; ++n) {
    int64_t r = n;
    for (int64_t p : {2, 3, 5, 7})
      while (r % p == 0) r /= p;
    if (r == 1) return n;
  }
}

}  // namespace

at::Tensor resample_fft(const at::Tensor& x, int64_t from, int64_t to, int64_t out_length) {
  at::NoGradGuard no_grad;
  if (from <= 0 || to <= 0) throw std::invalid_argument("resample_fft: rates must be positive");
  const at::Tensor s = x.detach().to(at::kCPU, at::kDouble).flatten();
  const int64_t n = s.numel();
  const int64_t g = std::gcd(from, to), p = to / g, q = from / g;
  if (out_length < 0) out_length = (n * p + q - 1) / q;
  if (from == to) {
    const int64_t keep = std::min(n, out_length);
    return at::cat({s.narrow(0, 0, keep), at::zeros({out_length - keep}, s.options())}).to(at::kFloat);
  }
  // Padded to q * k samples (k smooth) so the output, p * k samples, is exactly the same duration;
  // at least 8192 zeros (and a tenth of the clip) separate the end from the start.
  const int64_t pad = std::max<int64_t>(8192, n / 10);
  const int64_t k = smooth_at_least((n + pad + q - 1) / q), lp = q * k, lo = p * k;
  const at::Tensor X = at::fft_rfft(at::cat({s, at::zeros({lp - n}, s.options())}));
  at::Tensor Y = at::zeros({lo / 2 + 1}, X.options());
  if (lo > lp) {  // up: the spectrum as it is; the old Nyquist bin is split between +f and -f
    Y.narrow(0, 0, lp / 2 + 1).copy_(X);
    if (lp % 2 == 0) Y.narrow(0, lp / 2, 1).mul_(0.5);
  } else {  // down: brick-wall at the new Nyquist frequency, whose bin holds both +f and -f
    Y.copy_(X.narrow(0, 0, lo / 2 + 1));
    if (lo % 2 == 0) Y.narrow(0, lo / 2, 1).copy_(at::real(X.narrow(0, lo / 2, 1)) * 2.0);
  }
  const at::Tensor y = at::fft_irfft(Y, lo) * (double(lo) / double(lp));
  const int64_t keep = std::min(lo, out_length);
  return at::cat({y.narrow(0, 0, keep), at::zeros({out_length - keep}, y.options())}).to(at::kFloat);
}

#ifdef VAMP_HAVE_OPUS

bool opus_available() { return true; }

at::Tensor opus_round_trip(const at::Tensor& audio, int64_t sample_rate, int bitrate, bool fullband) {
  at::NoGradGuard no_grad;
  constexpr int kRate = 48000, kFrame = kRate / 50;  // 20 ms
  const at::Tensor in = audio.detach().to(at::kCPU, at::kFloat).flatten();
  const int64_t n = in.numel();
  const at::Tensor x48 = (sample_rate == kRate ? in : resample_fft(in, sample_rate, kRate)).contiguous();
  const int64_t m = x48.numel();

  int err = OPUS_OK;
  std::unique_ptr<OpusEncoder, void (*)(OpusEncoder*)> enc(
      opus_encoder_create(kRate, 1, OPUS_APPLICATION_AUDIO, &err), opus_encoder_destroy);
  if (err != OPUS_OK || !enc) throw std::runtime_error(std::string("opus_encoder_create: ") + opus_strerror(err));
  std::unique_ptr<OpusDecoder, void (*)(OpusDecoder*)> dec(opus_decoder_create(kRate, 1, &err), opus_decoder_destroy);
  if (err != OPUS_OK || !dec) throw std::runtime_error(std::string("opus_decoder_create: ") + opus_strerror(err));
  if (opus_encoder_ctl(enc.get(), OPUS_SET_BITRATE(bitrate)) != OPUS_OK)
    throw std::invalid_argument("opus: bitrate " + std::to_string(bitrate) + " refused");
  // gst opusenc's defaults (its audio-type generic is OPUS_APPLICATION_AUDIO, frame-size 20 ms).
  opus_encoder_ctl(enc.get(), OPUS_SET_COMPLEXITY(10));
  opus_encoder_ctl(enc.get(), OPUS_SET_VBR(1));
  opus_encoder_ctl(enc.get(), OPUS_SET_VBR_CONSTRAINT(1));
  opus_encoder_ctl(enc.get(), OPUS_SET_BANDWIDTH(fullband ? OPUS_BANDWIDTH_FULLBAND : OPUS_AUTO));
  opus_int32 lookahead = 0;
  opus_encoder_ctl(enc.get(), OPUS_GET_LOOKAHEAD(&lookahead));

  // Encode the clip and `lookahead` samples of silence after it, in whole frames; the decoded
  // stream lags the input by `lookahead` samples.
  const int64_t frames = (m + lookahead + kFrame - 1) / kFrame;
  std::vector<float> pcm(size_t(frames * kFrame), 0.0f), out(size_t(frames * kFrame), 0.0f);
  std::copy(x48.data_ptr<float>(), x48.data_ptr<float>() + m, pcm.begin());
  std::vector<unsigned char> packet(4000);
  for (int64_t f = 0; f < frames; ++f) {
    const opus_int32 bytes =
        opus_encode_float(enc.get(), pcm.data() + f * kFrame, kFrame, packet.data(), opus_int32(packet.size()));
    if (bytes < 0) throw std::runtime_error(std::string("opus_encode_float: ") + opus_strerror(bytes));
    const int got = opus_decode_float(dec.get(), packet.data(), bytes, out.data() + f * kFrame, kFrame, 0);
    if (got != kFrame) throw std::runtime_error(std::string("opus_decode_float: ") + opus_strerror(got < 0 ? got : OPUS_INTERNAL_ERROR));
  }
  const at::Tensor y48 = at::from_blob(out.data() + lookahead, {m}, at::kFloat).clone();
  return sample_rate == kRate ? y48 : resample_fft(y48, kRate, sample_rate, n);
}

#else

bool opus_available() { return false; }

at::Tensor opus_round_trip(const at::Tensor&, int64_t, int, bool) {
  throw std::runtime_error("opus_round_trip: this build has no libopus (install libopus-dev and reconfigure)");
}

#endif

}  // namespace vamp::train
