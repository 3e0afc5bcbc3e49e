// vamp.h: the engine as the GStreamer plugin and applications see it. No libtorch types here,
// so callers compile fast and never depend on torch headers. Errors are thrown as
// std::runtime_error (vamp::CheckpointError for bad model files) with a message for the user.
#pragma once

#include <atomic>
#include <cstddef>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "cpu_budget.h"  // set_cpu_threads, cpu_cores: the CPU thread budget
#include "precision.h"

namespace vamp {

class Codec;
class Transformer;

// Where a model file of the default set lives: $VAMPNET_MODELS/<file> when that variable is set
// (e.g. a folder holding the released codec.pth, coarse.pth, c2f.pth), else our small trained set
// (models/default). Callers use it when no model path is given.
std::string default_model_path(const std::string& file);

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
// precision (precision.h): fp32 (exact, the default) or bf16 convolutions; auto = the fastest the
// CPU supports; int8 runs the codec in bf16. Each resolved precision is a separate registry entry.
class CodecModel {
 public:
  static std::shared_ptr<CodecModel> open(const std::string& path, const std::string& device,
                                          Precision precision = Precision::FP32);
  const CodecInfo& info() const { return info_; }
  Precision precision() const;             // what runs (fp32 or bf16)
  const std::string& precision_note() const;  // why it differs from the request, or ""
  const std::string& path() const { return path_; }
  const std::shared_ptr<Codec>& codec() const { return codec_; }

 private:
  CodecModel() = default;
  std::shared_ptr<Codec> codec_;
  CodecInfo info_;
  std::string path_;
};

// A VampNet transformer (coarse.pth or c2f.pth) with the codebooks of its codec, shared
// process-wide: one per (file, codec, device).
class TransformerModel {
 public:
  // precision: fp32 (exact, the default), bf16 or int8 weights (converted once at load), auto =
  // the fastest the CPU supports; one registry entry per (file, codec, device, resolved precision).
  static std::shared_ptr<TransformerModel> open(const std::string& path, const std::shared_ptr<CodecModel>& codec,
                                                const std::string& device, Precision precision = Precision::FP32);
  Precision precision() const;             // what runs (fp32, bf16 or int8)
  const std::string& precision_note() const;  // why it differs from the request, or ""
  int n_codebooks() const;
  int n_conditioning_codebooks() const;
  bool on_cuda() const;  // the model lives on a CUDA device
  const std::string& path() const { return path_; }
  const std::shared_ptr<Transformer>& transformer() const { return model_; }
  const std::shared_ptr<CodecModel>& codec() const { return codec_; }

 private:
  TransformerModel() = default;
  std::shared_ptr<Transformer> model_;
  std::shared_ptr<CodecModel> codec_;
  std::string path_;
};

// How VampNet fills masked tokens (vampnet-reference.md section 3; defaults are the reference app's).
struct SampleSettings {
  int steps = 36;                 // coarse decoding steps
  int c2f_steps = 2;              // coarse-to-fine steps (other c2f settings are the reference's fixed ones)
  double temperature = 1.0;       // sampling temperature
  double mask_temperature = 10.5; // confidence (Gumbel) noise, annealed to 0
  double top_p = 0.0;             // nucleus sampling; 0 = off
  double sample_cutoff = 1.0;     // fraction of steps that sample; argmax after
  int feedback_steps = 1;         // coarse passes over its own output
  uint64_t seed = 0;              // window w of a stream uses seed + w
  int context_frames = 115;       // generated frames kept as prompt at the start of each window (2 s)
  int window_frames = 460;        // new frames per window (8 s): context + new <= the coarse window
  int c2f_window_frames = 173;    // coarse-to-fine chunk (3 s)
};

// How a StreamSampler's windows share the device with other streams' windows: they go through
// the process-wide scheduler of its models (engine/scheduler.h), which batches windows of equal
// length and equal sampling settings into one forward pass per step. Batching never changes a
// window's tokens (each row keeps its own seed).
struct BatchSettings {
  int max_batch = 1;          // rows per forward pass at most (1 = always alone, never waits;
                              // 0 = auto: 8 on CUDA, 1 on CPU)
  int64_t timeout_ns = 0;     // how long a window waits for others after it arrives (0 = only
                              // windows already queued while the device was busy join it)
  std::string precision = "fp32";  // transformer precision: fp32 (exact) or, on CUDA, bf16/fp16
};

class Scheduler;

// Masked tokens in, generated tokens out, one window at a time: each window is the last
// `context_frames` of output (kept, so seams continue) followed by `window_frames` new input
// frames with their mask. Input may have fewer codebooks than the models (the rest are generated)
// or, with a c2f model, more (those above the c2f model's are dropped).
class StreamSampler {
 public:
  // c2f may be null (coarse codebooks only). codebooks_in: K of the input frames.
  StreamSampler(std::shared_ptr<TransformerModel> coarse, std::shared_ptr<TransformerModel> c2f,
                const SampleSettings& settings, int codebooks_in, const BatchSettings& batch = {});
  ~StreamSampler();

  using Clock = std::chrono::steady_clock;
  // frames: [n][codebooks_in] tokens, mask: [n][codebooks_in] (1 = generate) or null (all 1).
  // arrived: when they reached the caller (a live window's deadline runs from its last frame's).
  void push(const uint16_t* tokens, const uint8_t* mask, size_t n_frames, Clock::time_point arrived = Clock::now());
  bool window_ready() const { return int64_t(pending_) >= settings_.window_frames; }
  // Seconds from the arrival of the input that completed the next window to `now` (0: not ready).
  double seconds_ready(Clock::time_point now) const;
  // Runs one window if a full one is pending; appends [n][codebooks_out] tokens; returns n.
  size_t pull(std::vector<uint16_t>& out);
  size_t drain(std::vector<uint16_t>& out);  // end of stream: the last, partial window
  void reset();                              // new stream: no context, window count back to 0
  // Takes the sampling knobs of `s` (steps, temperatures, top-p, cutoff, feedback) for the next
  // windows; window sizes and the seed stay as constructed.
  void update(const SampleSettings& s);
  // Batch size and timeout for the next windows (the precision stays as constructed).
  void update_batch(int max_batch, int64_t timeout_ns);
  // From any thread: a window of this sampler still waiting in the scheduler is withdrawn and
  // its pull()/drain() throws vamp::Cancelled (scheduler.h) with the sampler state unchanged.
  void cancel();  // stays in effect (every window throws) until reset()
  // Rows in the batch that computed the last window (1 = it ran alone).
  int last_batch_size() const { return last_batch_; }

  int codebooks_out() const { return k_out_; }
  int64_t windows_done() const { return windows_; }
  const SampleSettings& settings() const { return settings_; }

 private:
  size_t run(int64_t n_new, std::vector<uint16_t>& out);
  std::shared_ptr<TransformerModel> coarse_, c2f_;
  SampleSettings settings_;
  BatchSettings batch_;
  std::shared_ptr<Scheduler> scheduler_;
  std::atomic<bool> cancelled_{false};  // set by cancel(), cleared by reset()
  int last_batch_ = 0;
  int k_in_, k_out_;
  std::vector<uint16_t> in_tokens_;  // [pending][k_in]
  std::vector<uint8_t> in_mask_;     // [pending][k_in]
  size_t pending_ = 0;
  std::deque<std::pair<uint64_t, Clock::time_point>> arrivals_;  // (input frames once in, when)
  uint64_t pushed_ = 0, consumed_ = 0;                          // input frames since reset()
  std::vector<uint16_t> history_;    // last output frames, [<= context][k_out]
  int64_t windows_ = 0;
};

// The time one full window of `settings` (context_frames + window_frames frames, every token
// generated, from arbitrary tokens) takes here, through the models' shared scheduler like any
// window: what a live pipeline has to budget for each window.
double measure_window_seconds(std::shared_ptr<TransformerModel> coarse, std::shared_ptr<TransformerModel> c2f,
                              const SampleSettings& settings, int codebooks_in, const BatchSettings& batch = {});

// Coarse steps for windows with a deadline (live streams): a window gets `settings.steps` when
// they fit in the time it has left, else as many as fit, never fewer than `min_steps`. A window's
// time is modelled as seconds-per-step x (coarse steps x feedback passes + c2f steps); the rate
// starts from a measurement (or 0: full steps until one window has been timed) and follows the
// windows run: at once when they get slower, gradually when they get faster.
class StepGovernor {
 public:
  explicit StepGovernor(double seconds_per_step = 0) : per_step_(seconds_per_step) {}
  int steps_for(const SampleSettings& settings, int min_steps, double seconds_left) const;
  void observe(const SampleSettings& settings, double seconds);  // a window run with `settings`
  double seconds_per_step() const { return per_step_; }

  static constexpr double kMargin = 0.85;  // of the time left a window plans to use

 private:
  double per_step_;
};

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
  int64_t frames_in() const { return received_; }
  int64_t frames_out() const { return next_; }

 private:
  size_t run(int64_t f0, int64_t f1, std::vector<float>& out);
  std::shared_ptr<CodecModel> model_;
  int codebooks_, min_frames_, hop_, context_;
  std::vector<uint16_t> buf_;  // [frames][codebooks]
  int64_t buf_start_ = 0, received_ = 0, next_ = 0;
};

// ---- streaming masks (vampmask) ---------------------------------------------------------------

class BeatTracker;

// The mask controls of the ismir-2023 app (vampnet-reference.md 4.3), for a stream. Times are in
// seconds and become frames with the reference's ceil rule (Interface.s2t).
struct MaskSettings {
  double rand_mask_intensity = 1.0;  // each token generated with this probability (< 1: extra hints)
  double prefix_s = 0.0;             // keep frames [0, s2t(prefix)) of the stream
  double suffix_s = 0.0;             // keep the last s2t(suffix) frames (needs the stream's end)
  int64_t periodic_prompt = 3;       // keep every n-th frame (0 = off)
  int64_t periodic_width = 1;        // frames kept around each periodic hint (periodic_mask's w)
  bool random_roll = false;          // shift the periodic hints by r in [0, period), r from seed
  int64_t onset_mask_width = 0;      // 0 = off; hints only within this many frames of an onset
  double beat_mask_width_s = 0.0;    // 0 = off; keep s2t(width) frames from each beat
  bool downbeats_only = false;       // beat hints on downbeats only
  double dropout = 0.0;              // each kept token is generated instead with this probability
  int64_t n_conditioning_codebooks = 0;  // codebooks < n always kept
  int64_t upper_codebook_mask = 9;       // codebooks >= n always generated
  uint64_t seed = 0;
};

// The presets of the ismir-2023 app ("unconditional", "slight", "moderate", "strong",
// "very-strong", "beat-driven", "beat-driven-downbeats", "beat-driven-downbeats-strong") and
// "compression" (codebook 0 kept, everything else generated), as MaskSettings (seed 0).
// Throws std::invalid_argument on an unknown name.
MaskSettings mask_preset(const std::string& name);

// Reads a beats file: one beat per line, "TIME [LABEL]" with TIME in seconds; the beat is a
// downbeat when LABEL is 1 (the bar position of madmom/mir_eval's "time beat" files) or starts
// with 'd'/'D'. Blank lines and lines starting with '#' are skipped. Throws naming the file.
void read_beats_file(const std::string& path, std::vector<double>& beats,
                     std::vector<double>& downbeats);

// Beats, downbeats and onsets (seconds) of a whole WAV file (mixed to mono), with aubio
// (make_aubio_beat_tracker at the file's rate). Throws naming the file.
void analyse_beats(const std::string& wav_path, std::vector<double>& beats,
                   std::vector<double>& downbeats, std::vector<double>& onsets);

// Builds masks for a token stream frame range by frame range, combined as the ismir-2023 app
// combines them (app.py _vamp):
//   m = random(intensity) AND inpaint(prefix, suffix) AND periodic(prompt, width, roll)
//   [OR onset(width)] [AND beat(width)] -> dropout -> keep codebooks < ncc -> generate >= upper
// (AND = mask_and, which adds hints; OR = mask_or, which keeps hints only near onsets). Every
// part depends only on the absolute frame index, the codebook and the settings (random draws come
// from a counter-based hash of (seed, frame, codebook)), so a stream cut into buffers of any
// sizes gets the same mask as the whole stream at once. Beats and onsets come from set_beats()
// or push_audio() (the latest wins); with none, beat and onset parts leave the mask unchanged.
// Not thread-safe: one caller at a time.
class StreamMasker {
 public:
  StreamMasker(int codebooks, int sample_rate, int hop, const MaskSettings& settings);
  ~StreamMasker();

  void set(const MaskSettings& settings) { settings_ = settings; }
  const MaskSettings& settings() const { return settings_; }

  // Mask of frames [offset, offset + n): out = [n][codebooks] bytes, 1 = generate, 0 = keep.
  // end_frame: the stream's frame count when known (for the suffix), else -1 (suffix ignored).
  void mask(int64_t offset, size_t n, std::vector<uint8_t>& out, int64_t end_frame = -1) const;

  // Beats, downbeats and onsets in seconds from frame 0 (downbeats may also be listed in beats),
  // e.g. from read_beats_file or analyse_beats.
  void set_beats(const std::vector<double>& beats, const std::vector<double>& downbeats,
                 const std::vector<double>& onsets = {});
  // Live analysis: mono audio at sample_rate from frame 0's time on (aubio beat tracker).
  void push_audio(const float* samples, size_t n);
  double audio_seconds() const;          // audio pushed so far
  double analysis_latency_s() const;     // how far detections lag behind the pushed audio
  size_t beat_count() const { return beats_.size(); }
  size_t onset_count() const { return onsets_.size(); }
  bool has_beat_source() const { return have_beats_; }
  void reset_audio();  // forget pushed audio and its detections (back to set_beats' ones)

 private:
  void refresh_from_tracker();
  void set_beat_frames(const std::vector<double>& beats, const std::vector<double>& downbeats);
  void save_sources();
  int k_, rate_, hop_;
  MaskSettings settings_;
  std::vector<int64_t> beats_, downbeats_, onsets_;  // frame indices, ascending
  bool have_beats_ = false;
  std::vector<int64_t> saved_beats_, saved_downbeats_, saved_onsets_;  // from set_beats
  bool saved_have_beats_ = false;
  std::unique_ptr<BeatTracker> tracker_;
};

}  // namespace vamp
