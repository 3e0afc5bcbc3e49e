// optim: what every training run shares. Trainable parameters kept under their checkpoint names
// (so saving is writing the released layout), AdamW, the learning-rate schedule, the loss log and
// the progress line, and resumable training state.
#pragma once

#include "vamp/checkpoint.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

namespace vamp::train {

// A checkpoint's tensors as leaf tensors that require grad, in file order.
class Params {
 public:
  // Every tensor of `ck` becomes a float32 parameter on `device`.
  Params(const Checkpoint& ck, at::Device device);
  const at::Tensor& operator[](const std::string& key) const;  // throws naming a missing key
  std::vector<at::Tensor> trainable() const;  // those that still require grad
  // Fixes every tensor whose key starts with none of `prefixes` (no gradients, no updates).
  void freeze_all_but(const std::vector<std::string>& prefixes);
  int64_t count() const;  // scalars
  // Overwrites every value from a checkpoint of the same layout (resuming); throws on a mismatch.
  void assign(const Checkpoint& ck);
  // The layout checkpoint with these values (CPU, detached); kwargs and metadata are kept.
  Checkpoint checkpoint() const;

 private:
  Checkpoint layout_;
  std::vector<std::pair<std::string, at::Tensor>> list_;
  std::map<std::string, size_t> index_;
};

// AdamW (decoupled weight decay, as torch.optim.AdamW) over a fixed list of parameters.
class AdamW {
 public:
  AdamW(std::vector<at::Tensor> params, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0.0);
  // One update with learning rate lr; gradients are clipped to a global norm of clip (<= 0: off).
  // Returns the gradient norm before clipping.
  double step(double lr, double clip);
  void zero_grad();
  int64_t steps() const { return t_; }
  // State for resuming: moments under "m.<i>", "v.<i>" plus the step count.
  void save(Checkpoint& into) const;
  void load(const Checkpoint& from);

 private:
  std::vector<at::Tensor> params_, m_, v_;
  double beta1_, beta2_, eps_, wd_;
  int64_t t_ = 0;
};

// Linear warm-up, then cosine decay to final_fraction of the peak at total steps.
double learning_rate(int64_t step, int64_t total, double peak, int64_t warmup, double final_fraction = 0.1);

// Appends "step,seconds,name1,name2,..." rows to a CSV file (header written when the file is new).
class LossLog {
 public:
  LossLog(const std::string& path, std::vector<std::string> columns, bool append);
  ~LossLog();
  void row(int64_t step, double seconds, const std::vector<double>& values);

 private:
  std::FILE* f_ = nullptr;
  size_t n_ = 0;
};

// One progress line on stderr: a bar on a terminal, a plain line every 10 s otherwise.
class Progress {
 public:
  // first: the step the run starts at, first_fraction: how far the run already is then (after a
  // resume), earlier_seconds: time spent before the resume (counted by seconds(), not the rate).
  Progress(std::string what, int64_t first, double first_fraction = 0, double earlier_seconds = 0);
  // fraction: how far the run is (0..1), by steps or by the clock, whichever ends it first; the
  // bar and the remaining time follow it.
  void update(int64_t step, double fraction, const std::string& status);
  void done();
  double seconds() const;

 private:
  std::string what_;
  int64_t first_;
  double first_fraction_, earlier_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_print_;
};

// Everything needed to continue a run: the model (released layout) and the optimizer.
// Files: <model> and <model>.state (AdamW moments; step and training seconds in its kwargs).
void save_training_state(const std::string& model_path, const Params& params, const AdamW& opt, double seconds);
// True when <model>.state exists next to <model>; then params and opt are restored from both and
// *seconds receives the training time so far.
bool load_training_state(const std::string& model_path, Params& params, AdamW& opt, double* seconds = nullptr);

}  // namespace vamp::train
