// vamp.h: the engine as the GStreamer plugin and applications see it. No libtorch types here,
// so callers compile fast and never depend on torch headers. Errors are thrown as
// std::runtime_error (vamp::CheckpointError for bad model files) with a message for the user.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vamp {

class Codec;

// Where a model file of the default set lives: $VAMPNET_MODELS/<file> when that variable is set
// (e.g. a folder holding the released codec.pth, coarse.pth, c2f.pth), else the set generated
// with this build. Callers use it when no model path is given.
std::string default_model_path(const std::string& file);
// True when `path` is a file of the generated default set, whose weights are random (untrained).
bool is_untrained_default(const std::string& path);

// Picks the torch threads for CPU work (0 = leave torch's default). Call before heavy work.
void set_cpu_threads(int threads);

// "auto" (CUDA when present, else CPU), "cpu", "cuda", "cuda:N". Throws on anything else or on
// a CUDA device this build or machine does not have.
std::string resolve_device(const std::string& device);

struct CodecInfo {
  int sample_rate = 0;
  int hop_length = 0;     // audio samples per token frame
  int n_codebooks = 0;
  int codebook_size = 0;  // the value codebook_size itself means MASK in token buffers
  std::string id;         // 8 hex digits identifying the weights
};

// A loaded codec shared process-wide: one per (file, device), however many elements use it.
class CodecModel {
 public:
  static std::shared_ptr<CodecModel> open(const std::string& path, const std::string& device);
  const CodecInfo& info() const { return info_; }
  const std::string& path() const { return path_; }
  const std::shared_ptr<Codec>& codec() const { return codec_; }

 private:
  CodecModel() = default;
  std::shared_ptr<Codec> codec_;
  CodecInfo info_;
  std::string path_;
};

// Audio in, tokens out, with codes equal to encoding the whole signal at once: every window
// carries the encoder's receptive field of left and right context; only the true signal edges
// see zero padding. Token frames are appended frame-major ([T][K], uint16).
class StreamEncoder {
 public:
  // codebooks: how many of the codec's codebooks to emit (0 = all). min_frames: frames to
  // gather before running the encoder (amortizes the context overhead).
  StreamEncoder(std::shared_ptr<CodecModel> model, int codebooks, int min_frames);
  ~StreamEncoder();

  void push(const float* samples, size_t n);  // mono, at the codec rate
  size_t pull(std::vector<uint16_t>& out);    // frames whose right context has arrived
  size_t drain(std::vector<uint16_t>& out);   // end of stream: zero-pads the last frame, emits all
  void reset();

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

  int64_t lookahead_frames() const;
  int64_t ready_end() const { return received_ - context_; }  // frames before this can be decoded
  int64_t frames_in() const { return received_; }
  int64_t frames_out() const { return next_; }

 private:
  size_t run(int64_t f0, int64_t f1, std::vector<float>& out);
  std::shared_ptr<CodecModel> model_;
  int codebooks_, min_frames_, hop_, context_;
  std::vector<uint16_t> buf_;  // [frames][codebooks]
  int64_t buf_start_ = 0, received_ = 0, next_ = 0;
};

}  // namespace vamp
