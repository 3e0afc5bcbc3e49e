// cpu_budget: the CPU threads the engine computes with, and whose turn it is to compute.
//
// Torch's intra-op threads are per calling thread (OpenMP), so three elements of one pipeline
// (vampenc, vampsample's scheduler, vampdec) computing at once with every core each would run
// three times as many threads as there are cores, and OpenMP's spinning teams then slow every one
// of them. Instead every CPU computation of the engine (a codec encode or decode, a transformer
// forward) takes a turn for as many cores as its operations can use (cpu_width): turns are served
// in arrival order and run side by side while their widths fit in the budget, so a small model's
// sampler on one core and the codec on the other overlap, and a released-size forward gets them all.
#pragma once

namespace vamp {

// The cores the calling thread may run on: its CPU affinity, capped by its cgroup's CPU quota (v2
// cpu.max, v1 cpu.cfs_quota_us), at least 1. Torch's own default (physical cores, often 1 on
// a 2-vCPU machine) is not used.
int cpu_cores();

// The process-wide thread budget of every turn, shared by all the elements and models of the
// process: set_cpu_threads(n > 0) sets it (the latest call wins; 0 keeps it), by default cpu_cores().
// Returns the budget now in force.
int set_cpu_threads(int threads);
int cpu_threads();

// The cores worth giving a computation whose largest operation (a GEMM or convolution) costs
// `flops`: 1 below kParallelFlops, the whole budget above. Under it a second thread costs more in
// wake-ups than it saves: with torch 1.13 on 2 cores a [229,192]x[192,768] product runs 2.4x
// slower on 2 threads than on 1, [229,384]x[384,1536] (0.27 GFLOP) 1.1x slower, [575,384]x[384,1536]
// (0.68 GFLOP) 1.4x faster and [229,512]x[512,2048] (0.48 GFLOP) 1.75x faster.
constexpr double kParallelFlops = 0.4e9;
int cpu_width(double flops);

// Holds a CPU turn of `width` cores (clamped to [1, cpu_threads()]) for its lifetime and runs
// torch's operations on the calling thread with that many threads. Turns are served in arrival
// order; one waits until the turns before it have started and its width fits beside the running
// ones. Re-entrant (a turn inside a turn on the same thread is free and keeps the outer width); a
// turn constructed with on_cpu = false (a CUDA model) does nothing. The first turn of the process
// also sets up the tensor heap (heap.h: freed memory kept for the next tensors).
class CpuTurn {
 public:
  explicit CpuTurn(bool on_cpu = true, int width = 0);  // 0: the whole budget
  ~CpuTurn();
  CpuTurn(const CpuTurn&) = delete;
  CpuTurn& operator=(const CpuTurn&) = delete;

 private:
  bool counted_ = false;
  int width_ = 0;  // cores taken from the budget (0: nested or not on the CPU)
};

}  // namespace vamp
