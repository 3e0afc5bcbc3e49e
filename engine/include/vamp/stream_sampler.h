// stream_sampler: VampNet over a token stream, window by window (vampsample), and the step
// governor that keeps live windows on time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models.h"

namespace vamp {

// How VampNet fills masked tokens (sampler.h; defaults are the reference app's).
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
// the process-wide scheduler of its models (engine/src/scheduler.h), which batches windows of equal
// length and equal sampling settings into one forward pass per step. Batching never changes a
// window's tokens (each row keeps its own seed).
struct BatchSettings {
  int max_batch = 1;          // rows per forward pass at most (1 = always alone, never waits;
                              // 0 = auto: 8 on CUDA, 1 on CPU)
  int64_t timeout_ns = 0;     // how long a window waits for others after it arrives (0 = only
                              // windows already queued while the device was busy join it)
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

}  // namespace vamp
