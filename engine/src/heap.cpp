// heap: glibc thresholds and a caching CPU allocator for large tensors (see the header).
#include "heap.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <sys/mman.h>
#include <torch/version.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace vamp {
namespace {

constexpr size_t kHuge = size_t(2) << 20;           // a transparent huge page
constexpr size_t kLarge = size_t(1) << 20;          // smaller blocks stay with malloc
constexpr size_t kCacheLimit = size_t(512) << 20;   // free bytes kept at most


class TensorCache final : public c10::Allocator {
 public:
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override { return take(n); }
  void copy_data(void* dest, const void* src, size_t count) const override { std::memcpy(dest, src, count); }
#else
  c10::DataPtr allocate(size_t n) const override { return take(n); }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  static TensorCache& instance() {
    static TensorCache* cache = new TensorCache();  // never destroyed: tensors may outlive main
    return *cache;
  }
  size_t cached() {
    std::lock_guard<std::mutex> guard(lock_);
    return cached_;
  }

 private:
  c10::DataPtr take(size_t n) const {
    void* p = n < kLarge ? c10::alloc_cpu(n) : instance().take_large(n);
    return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
  }

  void* take_large(size_t n) {
    const size_t size = (n + kHuge - 1) / kHuge * kHuge;
    {
      std::lock_guard<std::mutex> guard(lock_);
      // The smallest free block that fits without wasting more than a quarter of it.
      auto it = free_.lower_bound(size);
      if (it != free_.end() && it->first <= size + size / 4) {
        void* p = it->second;
        cached_ -= it->first;
        free_.erase(it);
        return p;
      }
    }
    void* p = map_huge_pages(size);
    if (!p) throw std::bad_alloc();
    std::lock_guard<std::mutex> guard(lock_);
    blocks_[p] = size;
    return p;
  }

  static void release(void* p) {
    if (!p) return;
    TensorCache& c = instance();
    std::unique_lock<std::mutex> guard(c.lock_);
    auto it = c.blocks_.find(p);
    if (it == c.blocks_.end()) {
      guard.unlock();
      c10::free_cpu(p);
      return;
    }
    c.free_.emplace(it->second, p);
    c.cached_ += it->second;
    while (c.cached_ > kCacheLimit) {  // the largest free blocks go back first
      auto last = std::prev(c.free_.end());
      c.blocks_.erase(last->second);
      c.cached_ -= last->first;
      unmap_huge_pages(last->second, last->first);
      c.free_.erase(last);
    }
  }

  std::mutex lock_;
  std::unordered_map<void*, size_t> blocks_;  // every large block (its size), in use or free
  std::multimap<size_t, void*> free_;        // free large blocks by size
  size_t cached_ = 0;
};

bool cache_installed = false;

}  // namespace

void keep_freed_memory() {
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    bool tuned = false;
    for (const char* user : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"})
      tuned = tuned || std::getenv(user);
    if (!tuned) {
      mallopt(M_MMAP_THRESHOLD, 32 << 20);
      mallopt(M_TRIM_THRESHOLD, 512 << 20);
    }
#endif
    const char* cache = std::getenv("VAMP_TENSOR_CACHE");
    if (!cache || std::string(cache) != "0") {
      c10::SetCPUAllocator(&TensorCache::instance(), /*priority=*/1);
      cache_installed = true;
    }
  });
}

size_t tensor_cache_bytes() { return cache_installed ? TensorCache::instance().cached() : 0; }

void* map_huge_pages(size_t bytes) {
  const size_t size = (bytes + kHuge - 1) / kHuge * kHuge;
  // One huge page more than needed, to start on a boundary; the slack is unmapped at once.
  auto* base = static_cast<uint8_t*>(mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (base == MAP_FAILED) return nullptr;
  auto* p = reinterpret_cast<uint8_t*>((uintptr_t(base) + kHuge - 1) / kHuge * kHuge);
  if (p > base) munmap(base, size_t(p - base));
  if (base + size + kHuge > p + size) munmap(p + size, size_t(base + size + kHuge - (p + size)));
#ifdef MADV_HUGEPAGE
  if (bytes >= kHuge) madvise(p, bytes / kHuge * kHuge, MADV_HUGEPAGE);
#endif
  return p;
}

void unmap_huge_pages(void* p, size_t bytes) {
  if (p) munmap(p, (bytes + kHuge - 1) / kHuge * kHuge);
}

}  // namespace vamp
