// The tensor heap: large CPU tensors come back from a cache instead of fresh pages.
#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <check.h>

#include "heap.h"
#include "testutil.h"

namespace {

// A freed large tensor's block is kept and handed to the next tensor of that size; small tensors
// and raw allocations still work.
START_TEST(test_large_blocks_are_reused) {
  vamp::keep_freed_memory();
  const size_t before = vamp::tensor_cache_bytes();
  void* first = nullptr;
  {
    at::Tensor t = at::ones({4 << 20}, at::kFloat);  // 16 MiB
    first = t.data_ptr();
    ck_assert_uint_eq(uintptr_t(first) % (2 << 20), 0);  // on a huge-page boundary
    ck_assert_float_eq(t.sum().item<float>(), float(4 << 20));
  }
  ck_assert_uint_ge(vamp::tensor_cache_bytes(), before + (16 << 20));
  {
    at::Tensor again = at::empty({4 << 20}, at::kFloat);
    ck_assert_ptr_eq(again.data_ptr(), first);
    ck_assert_uint_eq(vamp::tensor_cache_bytes(), before);
    at::Tensor small = at::arange(10, at::kFloat);
    ck_assert_float_eq(small.sum().item<float>(), 45.0f);
  }
  at::Allocator* a = c10::GetCPUAllocator();
  for (size_t n : {size_t(100), size_t(8) << 20}) {
    void* p = a->raw_allocate(n);
    ck_assert_ptr_nonnull(p);
    static_cast<char*>(p)[n - 1] = 1;
    a->raw_deallocate(p);
  }
}
END_TEST

// The cache is bounded: freeing more than 512 MiB of large blocks keeps at most 512 MiB.
START_TEST(test_cache_is_bounded) {
  vamp::keep_freed_memory();
  {
    std::vector<at::Tensor> big;
    for (int i = 0; i < 12; ++i) big.push_back(at::empty({int64_t(64) << 20}, at::kByte));  // 768 MiB
  }
  ck_assert_uint_le(vamp::tensor_cache_bytes(), size_t(512) << 20);
  ck_assert_uint_ge(vamp::tensor_cache_bytes(), size_t(448) << 20);
}
END_TEST

}  // namespace

Suite* heap_suite() {
  Suite* s = suite_create("heap");
  TCase* tc = tcase_create("heap");
  tcase_add_test(tc, test_large_blocks_are_reused);
  tcase_add_test(tc, test_cache_is_bounded);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(heap_suite)
