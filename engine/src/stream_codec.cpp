// stream_codec: codec windows with receptive-field context, so streamed results equal
// whole-signal ones (stream_codec.h).
#include "vamp/stream_codec.h"

#include "vamp/codec.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace vamp {
namespace {

// Longest window run through the codec at once: bounds memory on fast (non-live) input.
constexpr int64_t kMaxWindowFrames = 576;

}  // namespace

// --- StreamEncoder --------------------------------------------------------------------------

StreamEncoder::StreamEncoder(std::shared_ptr<CodecModel> model, int codebooks, int min_frames)
    : model_(std::move(model)),
      codebooks_(codebooks > 0 ? std::min(codebooks, model_->info().n_codebooks) : model_->info().n_codebooks),
      min_frames_(std::max(1, min_frames)),
      hop_(model_->info().hop_length),
      context_(int(model_->codec()->encoder_context_frames())) {}

StreamEncoder::~StreamEncoder() = default;

void StreamEncoder::reset() {
  buf_.clear();
  buf_start_ = received_ = next_ = 0;
}

void StreamEncoder::warm_up() {
  model_->codec()->encode(at::zeros({1, 1, int64_t(min_frames_ + 2 * context_) * hop_}, at::kFloat));
}

int64_t StreamEncoder::lookahead_samples() const { return int64_t(context_ + min_frames_) * hop_; }

void StreamEncoder::push(const float* samples, size_t n) {
  buf_.insert(buf_.end(), samples, samples + n);
  received_ += int64_t(n);
}

size_t StreamEncoder::pull(std::vector<uint16_t>& out) {
  // Frame f is final once samples up to (f + 1 + context) * hop have arrived. Whole multiples of
  // min_frames only, so buffers stay aligned to the stream (a sampler's windows of the same size
  // then each complete with one buffer, not one frame into the next).
  int64_t ready_end = received_ / hop_ - context_;
  ready_end = next_ + (ready_end - next_) / min_frames_ * min_frames_;
  if (ready_end <= next_) return 0;
  size_t n = 0;
  while (next_ < ready_end) n += run(next_, std::min(ready_end, next_ + kMaxWindowFrames), out);
  return n;
}

size_t StreamEncoder::drain(std::vector<uint16_t>& out) {
  const int64_t total = (received_ + hop_ - 1) / hop_;
  size_t n = 0;
  while (next_ < total) n += run(next_, std::min(total, next_ + kMaxWindowFrames), out);
  return n;
}

size_t StreamEncoder::run(int64_t f0, int64_t f1, std::vector<uint16_t>& out) {
  // The window reaches `context_` frames past f1, or the end of what has arrived, zero-padded to
  // a whole frame like the end of a file (pull() only runs windows that end before that).
  const int64_t total_frames = (received_ + hop_ - 1) / hop_;
  const int64_t ws = std::max<int64_t>(0, f0 - context_) * hop_;
  const int64_t we = std::min(total_frames, f1 + context_) * hop_;
  at::Tensor window = at::zeros({1, 1, we - ws}, at::kFloat);
  const int64_t have = std::min(we, received_) - ws;
  std::copy_n(buf_.begin() + (ws - buf_start_), have, window.data_ptr<float>());
  at::Tensor codes = model_->codec()->encode(window).to(at::kCPU);  // [1,K,Tw]
  codes = codes.index({0, at::indexing::Slice(0, codebooks_), at::indexing::Slice(f0 - ws / hop_, f1 - ws / hop_)})
              .t()
              .contiguous();  // [T][K]
  const int64_t* c = codes.data_ptr<int64_t>();
  for (int64_t i = 0; i < codes.numel(); ++i) out.push_back(uint16_t(c[i]));
  next_ = f1;
  // Drop audio no later window needs (left context of the next frame).
  const int64_t keep_from = std::max<int64_t>(0, next_ - context_) * hop_;
  if (keep_from > buf_start_) {
    buf_.erase(buf_.begin(), buf_.begin() + std::min<int64_t>(int64_t(buf_.size()), keep_from - buf_start_));
    buf_start_ = keep_from;
  }
  return size_t(f1 - f0);
}

// --- StreamDecoder --------------------------------------------------------------------------

StreamDecoder::StreamDecoder(std::shared_ptr<CodecModel> model, int codebooks, int min_frames)
    : model_(std::move(model)),
      codebooks_(codebooks),
      min_frames_(std::max(1, min_frames)),
      hop_(model_->info().hop_length),
      context_(int(model_->codec()->decoder_context_frames())) {
  if (codebooks_ < 1 || codebooks_ > model_->info().n_codebooks)
    throw std::runtime_error("token stream has " + std::to_string(codebooks) + " codebooks; the codec has " +
                             std::to_string(model_->info().n_codebooks));
}

StreamDecoder::~StreamDecoder() = default;

void StreamDecoder::reset() {
  buf_.clear();
  buf_start_ = received_ = next_ = 0;
}

void StreamDecoder::warm_up(int64_t frames) {
  model_->codec()->decode(at::zeros({1, codebooks_, std::max<int64_t>(1, frames) + 2 * context_}, at::kLong));
}

int64_t StreamDecoder::lookahead_frames() const { return context_ + min_frames_; }

void StreamDecoder::push(const uint16_t* frames, size_t n_frames) {
  const size_t n = n_frames * size_t(codebooks_);
  const int size = model_->info().codebook_size;
  for (size_t i = 0; i < n; ++i)
    if (frames[i] >= size)
      throw std::out_of_range("token " + std::to_string(frames[i]) + " at frame " +
                              std::to_string(received_ + int64_t(i) / codebooks_) + ", codebook " +
                              std::to_string(i % size_t(codebooks_)) + " is outside [0, " + std::to_string(size) + ")");
  buf_.insert(buf_.end(), frames, frames + n);
  received_ += int64_t(n_frames);
}

size_t StreamDecoder::pull(std::vector<float>& out, int64_t upto) {
  const int64_t ready_end = std::min(upto, received_ - context_);
  if (ready_end - next_ < min_frames_) return 0;
  size_t n = 0;
  while (next_ < ready_end) n += run(next_, std::min(ready_end, next_ + kMaxWindowFrames), out);
  return n;
}

size_t StreamDecoder::drain(std::vector<float>& out) {
  size_t n = 0;
  while (next_ < received_) n += run(next_, std::min(received_, next_ + kMaxWindowFrames), out);
  return n;
}

size_t StreamDecoder::run(int64_t f0, int64_t f1, std::vector<float>& out) {
  const int64_t ws = std::max<int64_t>(0, f0 - context_);
  const int64_t we = std::min(received_, f1 + context_);
  at::Tensor codes = at::empty({we - ws, codebooks_}, at::kLong);
  int64_t* c = codes.data_ptr<int64_t>();
  const uint16_t* src = buf_.data() + (ws - buf_start_) * codebooks_;
  for (int64_t i = 0; i < codes.numel(); ++i) c[i] = src[i];
  at::Tensor audio = model_->codec()->decode(codes.t().unsqueeze(0)).to(at::kCPU).contiguous();  // [1,1,W*hop]
  const float* a = audio.data_ptr<float>() + (f0 - ws) * hop_;
  out.insert(out.end(), a, a + (f1 - f0) * hop_);
  next_ = f1;
  const int64_t keep_from = std::max<int64_t>(0, next_ - context_);
  if (keep_from > buf_start_) {
    buf_.erase(buf_.begin(), buf_.begin() + (keep_from - buf_start_) * codebooks_);
    buf_start_ = keep_from;
  }
  return size_t(f1 - f0);
}

}  // namespace vamp
