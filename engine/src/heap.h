// heap: the CPU memory of tensors, kept for the next ones instead of handed back to the kernel.
//
// On the VMs this runs on, a page fault costs about 13 us per 4 KiB page. glibc hands blocks above
// its mmap threshold (at most 32 MiB) straight to the kernel and trims the heap top, so every
// sampling step's logits, every layer's activations and above all the released codec's 100 MB
// activations fault their pages in again: 1.6 million faults (~20 s of CPU) in a run of the
// precision benchmark. keep_freed_memory() makes glibc keep what it frees (mmap threshold 32 MiB,
// trim threshold 512 MiB) and makes torch's CPU allocator a caching one for blocks of 1 MiB and
// more: whole 2 MiB huge pages (madvised), reused by size, up to 512 MiB of free blocks kept.
#pragma once

#include <cstddef>

namespace vamp {

// Once per process (the first CPU turn calls it). Leaves glibc alone when the user tunes malloc
// (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES set), and torch's allocator
// alone when VAMP_TENSOR_CACHE=0.
void keep_freed_memory();

// Bytes of free blocks the tensor cache holds now (0 when it is not installed).
size_t tensor_cache_bytes();

// Anonymous memory of `bytes` (rounded up to 2 MiB) starting on a 2 MiB boundary, its whole
// 2 MiB pages advised for transparent huge pages (one fault per 2 MiB instead of 512; a partial
// last page stays small, so it costs no more than it is used); nullptr when the kernel refuses.
// unmap_huge_pages(p, bytes) gives it back.
void* map_huge_pages(size_t bytes);
void unmap_huge_pages(void* p, size_t bytes);

}  // namespace vamp
