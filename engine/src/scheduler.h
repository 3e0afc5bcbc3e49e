// scheduler: shared, thread-safe batching of sampling work from many streams onto one device
// (docs/architecture.md, "How a buffer flows").
//
// One Scheduler per (coarse model, c2f model) in the process; the models fix the device and the
// precision. Any number of StreamSamplers (one per vampsample element, each on its own streaming
// thread) submit windows with a blocking call; a worker thread owned by the scheduler gathers
// them into batches and runs Interface.vamp once per batch, so every sampling step of every
// stage is ONE forward pass over all rows. Rows join and leave between windows.
//
// Grouping rule: only windows with the same key share a batch: the same length T (the model has
// no key-padding mask, so padding a row would change its output; streams with equal window and
// context sizes have equal T after their first window) and the same VampParams (coarse and c2f
// steps, temperatures, top-p, cutoff, feedback steps, time stretch, windows). Per-row sampling
// parameters would be cheap for generate, which samples row by row, but are not needed by
// today's callers. Each row keeps its own seed (vamp's per-row seed overload), so a window's
// tokens are the same alone or in any batch (sampler.h, "Batching rule").
//
// When a batch runs: a group is dispatched when it holds as many windows as the smallest
// max_batch among them, or when the timeout of its oldest window has expired. With max_batch 1
// a window runs at once, alone. With timeout 0 windows still batch when they queue up while the
// device is busy with an earlier batch, which costs no latency.
//
// Precision: the coarse model's autocast() (models.h, plan_precision): on CUDA, bf16 or fp16 runs
// the transformer under autocast (matrix products and attention in 16 bit, logits read back as
// fp32); fp32 and every CPU model run as loaded.
#pragma once

#include "vamp/errors.h"
#include "vamp/models.h"
#include "vamp/sampler.h"

#include <ATen/ATen.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace vamp {

class Scheduler {
 public:
  // The process-wide scheduler of these models (created on first use, destroyed with its last
  // user). c2f may be null; it must then have the coarse model's autocast precision.
  static std::shared_ptr<Scheduler> shared(const std::shared_ptr<TransformerModel>& coarse,
                                           const std::shared_ptr<TransformerModel>& c2f);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  struct Window {
    at::Tensor codes;      // int64 [1, C, T]
    at::Tensor mask;       // int64 [1, C, T], 1 = generate
    VampParams params;     // part of the grouping key
    uint64_t seed = 0;     // this row's seed (vamp's seed for a batch of 1)
    int max_batch = 1;     // the most rows this window accepts sharing a forward pass with (>= 1)
    std::chrono::nanoseconds timeout{0};  // how long it may wait for others
    const void* owner = nullptr;          // for cancel()
    // When set and true at submission (checked under the scheduler's lock, so a cancel() that
    // sets it first and then calls cancel(owner) can never miss the window), run() throws Cancelled.
    const std::atomic<bool>* cancelled = nullptr;
  };
  struct Result {
    at::Tensor tokens;  // int64 [1, C', T], what vamp() returns for this window alone
    int batch_size = 1; // rows in the forward passes that computed it
  };
  // Blocks until the window's batch has run. Rethrows the batch's error; throws Cancelled when
  // cancel(owner) removed it first.
  Result run(Window w);
  // Removes the owner's windows that have not started (their run() throws Cancelled). A window
  // whose batch is running finishes.
  void cancel(const void* owner);

  struct Stats {
    uint64_t windows = 0;              // windows run
    uint64_t batches = 0;              // batches run (vamp calls)
    int max_batch_size = 0;            // largest batch so far
    std::vector<uint64_t> batch_sizes; // batch_sizes[n]: batches of n rows
  };
  Stats stats() const;
  Precision precision() const { return coarse_->autocast(); }
  at::Device device() const;

 private:
  struct Job;
  Scheduler(std::shared_ptr<TransformerModel> coarse, std::shared_ptr<TransformerModel> c2f);
  void work();
  void run_batch(const std::vector<std::shared_ptr<Job>>& batch);

  std::shared_ptr<TransformerModel> coarse_, c2f_;
  mutable std::mutex lock_;
  std::condition_variable wake_;  // worker: new work or stop
  std::condition_variable done_;  // submitters: a job finished or was cancelled
  std::deque<std::shared_ptr<Job>> queue_;
  Stats stats_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace vamp
