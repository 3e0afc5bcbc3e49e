// cpu_budget: the CPU threads the engine computes with, and whose turn it is to compute.
//
// Torch's intra-op threads are per calling thread (OpenMP), so three elements of one pipeline
// (vampenc, vampsample's scheduler, vampdec) computing at once with every core each would run
// three times as many threads as there are cores, and OpenMP's spinning teams then slow every one
// of them. Instead every CPU computation of the engine (a codec encode or decode, a transformer
// forward) takes a turn: one at a time in the process, in arrival order, each with the whole budget.
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

// Holds the CPU turn for its lifetime and runs torch's operations on the calling thread with
// cpu_threads() threads. Re-entrant (a turn inside a turn on the same thread is free); a turn
// constructed with on_cpu = false (a CUDA model) does nothing.
class CpuTurn {
 public:
  explicit CpuTurn(bool on_cpu = true);
  ~CpuTurn();
  CpuTurn(const CpuTurn&) = delete;
  CpuTurn& operator=(const CpuTurn&) = delete;

 private:
  bool counted_ = false;
};

}  // namespace vamp
