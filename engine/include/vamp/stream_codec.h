// stream_codec: the codec over a stream (vampenc, vampdec), with results equal to a whole-signal
// encode or decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "models.h"

namespace vamp {

// Audio in, tokens out, with codes equal to encoding the whole signal at once: every window
// carries the encoder's receptive field of left and right context; only the true signal edges
// see zero padding. Token frames are appended frame-major ([T][K], uint16).
class StreamEncoder {
 public:
  // codebooks: how many of the codec's codebooks to emit (0 = all). min_frames: pull() emits
  // whole multiples of it, counted from the stream's first frame (larger amortizes the context
  // overhead); drain() emits the rest.
  StreamEncoder(std::shared_ptr<CodecModel> model, int codebooks, int min_frames);
  ~StreamEncoder();

  void push(const float* samples, size_t n);  // mono, at the codec rate
  size_t pull(std::vector<uint16_t>& out);    // frames whose right context has arrived
  size_t drain(std::vector<uint16_t>& out);   // end of stream: zero-pads the last frame, emits all
  void reset();
  // Encodes one buffer's window of silence and forgets it: the first-call costs (heap growth, BLAS
  // buffers) are paid before a live stream starts rather than by its first buffer.
  void warm_up();

  int codebooks() const { return codebooks_; }
  // Samples a frame waits for after its own end, at most: the latency this adds.
  int64_t lookahead_samples() const;
  int64_t samples_in() const { return received_; }
  int64_t frames_out() const { return next_; }

 private:
  size_t run(int64_t f0, int64_t f1, std::vector<uint16_t>& out);
  std::shared_ptr<CodecModel> model_;
  int codebooks_, min_frames_, hop_, context_;
  std::vector<float> buf_;
  int64_t buf_start_ = 0, received_ = 0, next_ = 0;
};

// Tokens in (any whole number of frames at a time), audio out, equal to decoding the whole
// sequence at once: windows carry the decoder's context frames on both sides.
class StreamDecoder {
 public:
  StreamDecoder(std::shared_ptr<CodecModel> model, int codebooks, int min_frames);
  ~StreamDecoder();

  // frames: [T][codebooks] tokens; each must be < codebook_size (else std::out_of_range).
  void push(const uint16_t* frames, size_t n_frames);
  // Audio of the frames whose right context has arrived, up to frame `upto`; returns frames.
  size_t pull(std::vector<float>& out, int64_t upto = INT64_MAX);
  size_t drain(std::vector<float>& out);  // end of stream (or a gap/discontinuity ahead)
  void reset();
  void warm_up(int64_t frames);  // decodes `frames` (plus context) of token 0 and forgets it

  int64_t lookahead_frames() const;
  int64_t ready_end() const { return received_ - context_; }  // frames before this can be decoded
  int64_t frames_out() const { return next_; }

 private:
  size_t run(int64_t f0, int64_t f1, std::vector<float>& out);
  std::shared_ptr<CodecModel> model_;
  int codebooks_, min_frames_, hop_, context_;
  std::vector<uint16_t> buf_;  // [frames][codebooks]
  int64_t buf_start_ = 0, received_ = 0, next_ = 0;
};

}  // namespace vamp
