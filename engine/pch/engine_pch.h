// Precompiled header for the engine's multi-file targets: ATen dominates their build time on
// 2 cores. Only ATen, not <torch/torch.h>: its PCH is twice the size (570 MB a target) and no
// engine file needs it. Single-file targets (tests, benches) take no PCH: one would cost more
// than it saves, and 30 of them filled CI's disk.
#include <ATen/ATen.h>
