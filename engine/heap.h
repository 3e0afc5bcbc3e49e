// heap: keeps the memory that tensors free, for the next ones.
//
// glibc hands allocations above its mmap threshold (128 KiB, raised only as such blocks are
// freed) straight to the kernel and trims the heap top above 128 KiB, so every sampling step's
// logits and every layer's activations fault their pages in again: on a 2-vCPU VM about 13 us
// per 4 KiB page, a third of a default-model window and ~20 s of system time in a released-size
// generation. Raising both thresholds keeps freed blocks in the heap for reuse.
#pragma once

namespace vamp {

// Once per process, on glibc: mmap threshold 32 MiB (glibc's maximum), trim threshold 512 MiB.
// Does nothing when the user tunes malloc (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_,
// GLIBC_TUNABLES set) or on other C libraries.
void keep_freed_memory();

}  // namespace vamp
