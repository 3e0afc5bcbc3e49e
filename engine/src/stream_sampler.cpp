// stream_sampler: VampNet windows that keep generated output as prompt, run through the models'
// shared scheduler (stream_sampler.h).
#include "vamp/stream_sampler.h"

#include "scheduler.h"
#include "vamp/sampler.h"
#include "vamp/transformer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>

namespace vamp {

// --- StreamSampler --------------------------------------------------------------------------

StreamSampler::StreamSampler(std::shared_ptr<TransformerModel> coarse, std::shared_ptr<TransformerModel> c2f,
                             const SampleSettings& settings, int codebooks_in, const BatchSettings& batch)
    : coarse_(std::move(coarse)), c2f_(std::move(c2f)), settings_(settings), batch_(batch), k_in_(codebooks_in) {
  // With a c2f model the output is its codebooks (input codebooks above them are dropped, as the
  // reference's Interface keeps only the model's); coarse only, codebooks above the coarse
  // model's pass through from the input.
  k_out_ = c2f_ ? c2f_->n_codebooks() : std::max(k_in_, coarse_->n_codebooks());
  if (k_in_ < 1 || k_in_ > coarse_->codec()->info().n_codebooks)
    throw std::runtime_error("token stream has " + std::to_string(k_in_) + " codebooks; the codec has " +
                             std::to_string(coarse_->codec()->info().n_codebooks));
  if (settings_.window_frames < 1 || settings_.context_frames < 0)
    throw std::runtime_error("window-frames must be >= 1 and context-frames >= 0");
  scheduler_ = Scheduler::shared(coarse_, c2f_);
}

StreamSampler::~StreamSampler() = default;

void StreamSampler::reset() {
  in_tokens_.clear();
  in_mask_.clear();
  history_.clear();
  pending_ = 0;
  arrivals_.clear();
  pushed_ = consumed_ = 0;
  windows_ = 0;
  cancelled_ = false;
}

void StreamSampler::update(const SampleSettings& s) {
  settings_.steps = s.steps;
  settings_.c2f_steps = s.c2f_steps;
  settings_.temperature = s.temperature;
  settings_.mask_temperature = s.mask_temperature;
  settings_.top_p = s.top_p;
  settings_.sample_cutoff = s.sample_cutoff;
  settings_.feedback_steps = s.feedback_steps;
}

void StreamSampler::update_batch(int max_batch, int64_t timeout_ns) {
  batch_.max_batch = max_batch;
  batch_.timeout_ns = timeout_ns;
}

void StreamSampler::cancel() {
  cancelled_ = true;
  scheduler_->cancel(this);
}

void StreamSampler::push(const uint16_t* tokens, const uint8_t* mask, size_t n_frames, Clock::time_point arrived) {
  const size_t n = n_frames * size_t(k_in_);
  const int size = coarse_->codec()->info().codebook_size;
  for (size_t i = 0; i < n; ++i)
    if (tokens[i] > size)  // == size is MASK: allowed where the mask says generate
      throw std::out_of_range("token " + std::to_string(tokens[i]) + " at codebook " + std::to_string(i % k_in_) +
                              " is outside [0, " + std::to_string(size) + "]");
  in_tokens_.insert(in_tokens_.end(), tokens, tokens + n);
  if (mask)
    in_mask_.insert(in_mask_.end(), mask, mask + n);
  else
    in_mask_.insert(in_mask_.end(), n, uint8_t(1));
  pending_ += n_frames;
  pushed_ += n_frames;
  arrivals_.emplace_back(pushed_, arrived);
}

double StreamSampler::seconds_ready(Clock::time_point now) const {
  if (!window_ready()) return 0.0;
  const uint64_t needed = consumed_ + uint64_t(settings_.window_frames);
  for (const auto& [frames, when] : arrivals_)
    if (frames >= needed) return std::chrono::duration<double>(now - when).count();
  return 0.0;
}

size_t StreamSampler::pull(std::vector<uint16_t>& out) {
  return window_ready() ? run(settings_.window_frames, out) : 0;
}

size_t StreamSampler::drain(std::vector<uint16_t>& out) {
  size_t n = 0;
  while (pending_ > 0) n += run(std::min<int64_t>(int64_t(pending_), settings_.window_frames), out);
  return n;
}

size_t StreamSampler::run(int64_t n_new, std::vector<uint16_t>& out) {
  const int64_t ctx = int64_t(history_.size()) / k_out_, T = ctx + n_new;
  const int mask_token = coarse_->codec()->info().codebook_size;
  at::Tensor codes = at::zeros({1, k_out_, T}, at::kLong), mask = at::ones({1, k_out_, T}, at::kLong);
  auto c = codes.accessor<int64_t, 3>();
  auto m = mask.accessor<int64_t, 3>();
  for (int64_t t = 0; t < ctx; ++t)
    for (int k = 0; k < k_out_; ++k) c[0][k][t] = history_[t * k_out_ + k], m[0][k][t] = 0;
  for (int64_t t = 0; t < n_new; ++t)
    for (int k = 0; k < std::min(k_in_, k_out_); ++k) {
      const uint16_t tok = in_tokens_[t * k_in_ + k];
      const bool generate = in_mask_[t * k_in_ + k] != 0 || tok == mask_token;
      // A masked position keeps its token under the mask: coarse_vamp keeps a window's last
      // frame whatever the mask says (as the reference does), and then it must be the input's.
      c[0][k][ctx + t] = tok == mask_token ? 0 : tok;
      m[0][k][ctx + t] = generate ? 1 : 0;
    }

  VampParams params;
  params.coarse.steps = settings_.steps;
  params.coarse.temperature = settings_.temperature;
  params.coarse.mask_temperature = settings_.mask_temperature;
  if (settings_.top_p > 0 && settings_.top_p < 1) params.coarse.top_p = settings_.top_p;
  params.coarse.sample_cutoff = settings_.sample_cutoff;
  params.c2f.steps = settings_.c2f_steps;
  params.feedback_steps = settings_.feedback_steps;
  params.coarse_window = T;  // one coarse pass per window: the context reaches every new frame
  params.c2f_window = settings_.c2f_window_frames;
  // Through the shared scheduler: alone or batched with other streams' windows, the same tokens.
  Scheduler::Window w;
  w.codes = codes;
  w.mask = mask;
  w.params = params;
  w.seed = settings_.seed + uint64_t(windows_);
  w.max_batch = batch_.max_batch > 0 ? batch_.max_batch : scheduler_->device().is_cuda() ? 8 : 1;
  w.timeout = std::chrono::nanoseconds(std::max<int64_t>(0, batch_.timeout_ns));
  w.owner = this;
  w.cancelled = &cancelled_;
  Scheduler::Result done = scheduler_->run(std::move(w));
  last_batch_ = done.batch_size;
  at::Tensor result = done.tokens[0].to(at::kCPU).t().contiguous();  // [T][k_out]
  if (result.size(0) != T || result.size(1) != k_out_)  // never hand out memory not written
    throw std::logic_error("generated tokens are [" + std::to_string(result.size(0)) + ", " +
                           std::to_string(result.size(1)) + "], expected [" + std::to_string(T) + ", " +
                           std::to_string(k_out_) + "]");
  const int64_t* r = result.data_ptr<int64_t>() + ctx * k_out_;
  const size_t first = out.size();
  for (int64_t i = 0; i < n_new * k_out_; ++i) out.push_back(uint16_t(r[i]));

  // The newest output becomes the next window's prompt.
  history_.insert(history_.end(), out.begin() + long(first), out.end());
  const size_t keep = size_t(settings_.context_frames) * k_out_;
  if (history_.size() > keep) history_.erase(history_.begin(), history_.end() - long(keep));
  in_tokens_.erase(in_tokens_.begin(), in_tokens_.begin() + n_new * k_in_);
  in_mask_.erase(in_mask_.begin(), in_mask_.begin() + n_new * k_in_);
  pending_ -= size_t(n_new);
  consumed_ += uint64_t(n_new);
  while (!arrivals_.empty() && arrivals_.front().first <= consumed_) arrivals_.pop_front();
  ++windows_;
  return size_t(n_new);
}

// --- live windows ---------------------------------------------------------------------------

double measure_window_seconds(std::shared_ptr<TransformerModel> coarse, std::shared_ptr<TransformerModel> c2f,
                             const SampleSettings& settings, int codebooks_in, const BatchSettings& batch) {
  // One window as long as a full one (context + new frames), all of it generated.
  SampleSettings one = settings;
  one.window_frames = settings.context_frames + settings.window_frames;
  one.context_frames = 0;
  StreamSampler sampler(std::move(coarse), std::move(c2f), one, codebooks_in, batch);
  const std::vector<uint16_t> tokens(size_t(one.window_frames) * size_t(codebooks_in), 0);
  sampler.push(tokens.data(), nullptr, size_t(one.window_frames));
  std::vector<uint16_t> out;
  const auto start = std::chrono::steady_clock::now();
  sampler.pull(out);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int StepGovernor::steps_for(const SampleSettings& settings, int min_steps, double seconds_left) const {
  if (per_step_ <= 0) return settings.steps;
  const double fit = (kMargin * seconds_left / per_step_ - settings.c2f_steps) / std::max(1, settings.feedback_steps);
  const int fewest = std::max(1, std::min(min_steps, settings.steps));
  return int(std::clamp(std::floor(fit), double(fewest), double(settings.steps)));
}

void StepGovernor::observe(const SampleSettings& settings, double seconds) {
  const double rate = seconds / (double(settings.steps) * std::max(1, settings.feedback_steps) + settings.c2f_steps);
  per_step_ = per_step_ <= 0 || rate > per_step_ ? rate : 0.8 * per_step_ + 0.2 * rate;
}

}  // namespace vamp
