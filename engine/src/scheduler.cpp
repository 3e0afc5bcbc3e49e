// scheduler: gathers windows of many streams into batches; one worker thread per scheduler runs
// them (see scheduler.h for the grouping and dispatch rules).
#include "scheduler.h"

#include "vamp/transformer.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <algorithm>
#include <map>
#include <tuple>

namespace vamp {
namespace {

using Clock = std::chrono::steady_clock;

bool same_sampling(const SamplingParams& a, const SamplingParams& b) {
  return a.steps == b.steps && a.temperature == b.temperature && a.mask_temperature == b.mask_temperature &&
         a.top_p == b.top_p && a.sample_cutoff == b.sample_cutoff;
}

// Windows that may share a forward pass: same shape and the same sampling parameters.
bool same_group(const Scheduler::Window& a, const Scheduler::Window& b) {
  return a.codes.sizes() == b.codes.sizes() && same_sampling(a.params.coarse, b.params.coarse) &&
         same_sampling(a.params.c2f, b.params.c2f) && a.params.feedback_steps == b.params.feedback_steps &&
         a.params.time_stretch == b.params.time_stretch && a.params.coarse_window == b.params.coarse_window &&
         a.params.c2f_window == b.params.c2f_window;
}

// Autocast on CUDA for bf16/fp16, on the calling thread (the worker) while in scope.
struct AutocastScope {
  bool on = false;
  AutocastScope(Precision precision, const at::Device& device) {
    if ((precision != Precision::BF16 && precision != Precision::FP16) || !device.is_cuda()) return;
    const at::ScalarType dtype = precision == Precision::BF16 ? at::kBFloat16 : at::kHalf;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_dtype(at::kCUDA, dtype);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    at::autocast::set_autocast_gpu_dtype(dtype);
    at::autocast::set_enabled(true);
#endif
    on = true;
  }
  ~AutocastScope() {
    if (!on) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
    at::autocast::set_enabled(false);
#endif
    at::autocast::clear_cache();
  }
};

}  // namespace

struct Scheduler::Job {
  Window w;
  Clock::time_point deadline;
  enum State { kQueued, kRunning, kDone, kCancelled } state = kQueued;
  at::Tensor result;
  int batch_size = 0;
  std::exception_ptr error;
};

std::shared_ptr<Scheduler> Scheduler::shared(const std::shared_ptr<TransformerModel>& coarse,
                                             const std::shared_ptr<TransformerModel>& c2f) {
  if (!coarse) throw std::invalid_argument("scheduler needs a coarse model");
  if (c2f && c2f->autocast() != coarse->autocast())
    throw std::invalid_argument(std::string("the coarse and c2f models run different precisions (") +
                                precision_name(coarse->autocast()) + ", " + precision_name(c2f->autocast()) + ")");
  static std::mutex lock;
  static std::map<std::pair<const TransformerModel*, const TransformerModel*>, std::weak_ptr<Scheduler>> schedulers;
  std::lock_guard<std::mutex> guard(lock);
  auto& slot = schedulers[std::make_pair(coarse.get(), c2f.get())];
  if (auto s = slot.lock()) return s;
  std::shared_ptr<Scheduler> s(new Scheduler(coarse, c2f));
  slot = s;
  return s;
}

Scheduler::Scheduler(std::shared_ptr<TransformerModel> coarse, std::shared_ptr<TransformerModel> c2f)
    : coarse_(std::move(coarse)), c2f_(std::move(c2f)) {
  worker_ = std::thread([this] { work(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> guard(lock_);
    stop_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

at::Device Scheduler::device() const { return coarse_->transformer()->device(); }

Scheduler::Stats Scheduler::stats() const {
  std::lock_guard<std::mutex> guard(lock_);
  return stats_;
}

Scheduler::Result Scheduler::run(Window w) {
  if (!w.codes.defined() || w.codes.dim() != 3 || w.codes.size(0) != 1)
    throw std::invalid_argument("scheduler windows are [1, C, T]");
  auto job = std::make_shared<Job>();
  job->w = std::move(w);
  job->w.max_batch = std::max(1, job->w.max_batch);
  job->deadline = Clock::now() + std::min<std::chrono::nanoseconds>(  // no overflow for "forever"
                                     std::max<std::chrono::nanoseconds>(job->w.timeout, std::chrono::nanoseconds(0)),
                                     std::chrono::hours(24 * 365));
  std::unique_lock<std::mutex> guard(lock_);
  if (job->w.cancelled && job->w.cancelled->load()) throw Cancelled();
  queue_.push_back(job);
  wake_.notify_all();
  done_.wait(guard, [&] { return job->state == Job::kDone || job->state == Job::kCancelled; });
  if (job->state == Job::kCancelled) throw Cancelled();
  if (job->error) std::rethrow_exception(job->error);
  return {job->result, job->batch_size};
}

void Scheduler::cancel(const void* owner) {
  std::lock_guard<std::mutex> guard(lock_);
  bool any = false;
  for (auto it = queue_.begin(); it != queue_.end();) {
    if ((*it)->w.owner == owner) {
      (*it)->state = Job::kCancelled;
      it = queue_.erase(it);
      any = true;
    } else {
      ++it;
    }
  }
  if (any) done_.notify_all();
}

void Scheduler::work() {
  std::unique_lock<std::mutex> guard(lock_);
  while (true) {
    wake_.wait(guard, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    // The oldest window of each group decides: dispatch a full group, or one whose oldest
    // window's timeout has expired; otherwise sleep until the earliest deadline or new work.
    const auto now = Clock::now();
    std::vector<std::shared_ptr<Job>> batch;
    Clock::time_point next = Clock::time_point::max();
    std::vector<const Job*> heads;
    for (const auto& head : queue_) {
      bool seen = false;
      for (const Job* h : heads) seen = seen || same_group(h->w, head->w);
      if (seen) continue;
      heads.push_back(head.get());
      std::vector<std::shared_ptr<Job>> group;
      int limit = head->w.max_batch;
      for (const auto& j : queue_) {
        if (!same_group(head->w, j->w)) continue;
        if (int(group.size()) >= std::min(limit, j->w.max_batch)) continue;
        limit = std::min(limit, j->w.max_batch);
        group.push_back(j);
      }
      if (int(group.size()) >= limit || head->deadline <= now) {
        batch = std::move(group);
        break;
      }
      next = std::min(next, head->deadline);
    }
    if (batch.empty()) {
      if (next == Clock::time_point::max()) wake_.wait(guard);
      else wake_.wait_until(guard, next);
      continue;
    }
    for (const auto& j : batch) {
      j->state = Job::kRunning;
      queue_.erase(std::find(queue_.begin(), queue_.end(), j));
    }
    guard.unlock();
    run_batch(batch);
    guard.lock();
    const int n = int(batch.size());
    for (const auto& j : batch) j->state = Job::kDone;
    stats_.windows += uint64_t(n);
    stats_.batches += 1;
    stats_.max_batch_size = std::max(stats_.max_batch_size, n);
    if (int(stats_.batch_sizes.size()) <= n) stats_.batch_sizes.resize(size_t(n) + 1, 0);
    stats_.batch_sizes[size_t(n)] += 1;
    done_.notify_all();
  }
}

void Scheduler::run_batch(const std::vector<std::shared_ptr<Job>>& batch) {
  const int n = int(batch.size());
  try {
    std::vector<at::Tensor> codes, masks;
    std::vector<uint64_t> seeds;
    for (const auto& j : batch) {
      codes.push_back(j->w.codes);
      masks.push_back(j->w.mask.expand_as(j->w.codes));
      seeds.push_back(j->w.seed);
    }
    AutocastScope autocast(precision(), device());
    at::Tensor out = vamp(*coarse_->transformer(), c2f_ ? c2f_->transformer().get() : nullptr, at::cat(codes, 0),
                          at::cat(masks, 0), batch.front()->w.params, seeds);
    for (int b = 0; b < n; ++b) {
      batch[size_t(b)]->result = out.narrow(0, b, 1).contiguous();
      batch[size_t(b)]->batch_size = n;
    }
  } catch (...) {
    for (const auto& j : batch) j->error = std::current_exception();
  }
}

}  // namespace vamp
