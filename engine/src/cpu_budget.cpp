// cpu_budget: the thread budget and the CPU turns (see the header).
#include "vamp/cpu_budget.h"

#include "heap.h"

#include <ATen/Parallel.h>
#include <sched.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <string>

namespace vamp {

namespace {

// The CPU quota of this process's cgroup in cores (rounded up), or 0 when there is none.
int cgroup_quota_cores() {
  std::string group;  // "0::/some/path" (v2)
  std::ifstream self("/proc/self/cgroup");
  for (std::string line; std::getline(self, line);)
    if (line.rfind("0::", 0) == 0) group = line.substr(3);
  auto cores = [](double quota, double period) { return quota > 0 && period > 0 ? int(std::ceil(quota / period)) : 0; };
  for (const std::string& dir : {"/sys/fs/cgroup" + group, std::string("/sys/fs/cgroup")}) {
    std::ifstream max(dir + "/cpu.max");  // "max 100000" or "<quota> <period>"
    std::string quota;
    double period = 0;
    if (max >> quota >> period) return quota == "max" ? 0 : cores(std::stod(quota), period);
  }
  std::ifstream q("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), p("/sys/fs/cgroup/cpu/cpu.cfs_period_us");
  double quota = 0, period = 0;
  if (q >> quota && p >> period) return cores(quota, period);
  return 0;
}

std::atomic<int> budget{0};  // 0: cpu_cores()

struct Turns {
  std::mutex lock;
  std::condition_variable next_up;
  uint64_t issued = 0, serving = 0;  // tickets: FIFO, so a short decode is not starved by a sampler
  int busy = 0;                      // cores taken by running turns
};

Turns& turns() {
  static Turns t;
  return t;
}

thread_local int held = 0;  // turns this thread holds (nested)

// Torch 1.13 as Debian builds it runs its elementwise kernels (softmax, GELU, norms, Snake's
// neighbours) with AVX2 even on AVX-512 CPUs; the AVX-512 ones are up to 2x faster there (a coarse
// forward 3% faster). The choice is made at torch's first kernel call, so it is set when the engine
// is loaded, unless the user chose one (ATEN_CPU_CAPABILITY).
const bool wide_vectors = [] {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    return setenv("ATEN_CPU_CAPABILITY", "avx512", /*overwrite=*/0) == 0;
#endif
  return false;
}();

}  // namespace

int cpu_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  int cores = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  const int quota = cgroup_quota_cores();
  if (quota > 0 && quota < cores) cores = quota;
  return cores > 0 ? cores : 1;
}

int cpu_threads() {
  int b = budget.load();
  if (b == 0) {  // first use: the cores of the thread that asks, once
    const int cores = cpu_cores();
    b = budget.compare_exchange_strong(b, cores) ? cores : b;
  }
  return b;
}

int set_cpu_threads(int threads) {
  if (threads > 0) budget.store(threads);
  return cpu_threads();
}

int cpu_width(double flops) { return flops < kParallelFlops ? 1 : cpu_threads(); }

CpuTurn::CpuTurn(bool on_cpu, int width) {
  if (!on_cpu) return;
  counted_ = true;
  if (held++ > 0) return;
  keep_freed_memory();
  const int budget = cpu_threads();
  width_ = width <= 0 ? budget : std::min(width, budget);
  Turns& t = turns();
  std::unique_lock<std::mutex> guard(t.lock);
  const uint64_t ticket = t.issued++;
  // busy == 0 admits a turn wider than a budget lowered since it was sized.
  t.next_up.wait(guard, [&] { return t.serving == ticket && (t.busy == 0 || t.busy + width_ <= budget); });
  t.busy += width_;
  ++t.serving;
  guard.unlock();
  t.next_up.notify_all();  // the next in line may fit beside this one
  if (at::get_num_threads() != width_) at::set_num_threads(width_);
}

CpuTurn::~CpuTurn() {
  if (!counted_ || --held > 0) return;
  Turns& t = turns();
  {
    std::lock_guard<std::mutex> guard(t.lock);
    t.busy -= width_;
  }
  t.next_up.notify_all();
}

}  // namespace vamp
