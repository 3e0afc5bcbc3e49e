// Helpers shared by the engine tests (libcheck).
#pragma once

#include <ATen/ATen.h>
#include <check.h>

#include "testfiles.h"

#include <cstdlib>
#include <string>

namespace vamp::test {

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace vamp::test

// ck_assert for tensors: same shape, max |a-b| <= atol; prints the offending maximum.
#define VAMP_ASSERT_CLOSE(a, b, atol)                                                             \
  do {                                                                                            \
    const at::Tensor _a = (a), _b = (b);                                                          \
    ck_assert_msg(_a.sizes() == _b.sizes(), "shape mismatch in %s vs %s", #a, #b);                \
    const double _d = vamp::test::max_abs_diff(_a, _b);                                           \
    ck_assert_msg(_d <= (atol), "%s vs %s: max abs diff %g > %g", #a, #b, _d, double(atol));     \
  } while (0)

#define VAMP_ASSERT_EQUAL(a, b)                                                                   \
  do {                                                                                            \
    const at::Tensor _a = (a), _b = (b);                                                          \
    ck_assert_msg(_a.sizes() == _b.sizes(), "shape mismatch in %s vs %s", #a, #b);                \
    const int64_t _n = (_a.to(at::kLong) != _b.to(at::kLong)).sum().item<int64_t>();              \
    ck_assert_msg(_n == 0, "%s vs %s: %lld of %lld entries differ", #a, #b, (long long)_n,        \
                  (long long)_a.numel());                                                         \
  } while (0)

// Runs one suite; libcheck forks per test, so each test initialises libtorch itself.
#define VAMP_TEST_MAIN(suite_fn)                                                                  \
  int main() {                                                                                    \
    SRunner* sr = srunner_create(suite_fn());                                                     \
    srunner_run_all(sr, CK_NORMAL);                                                               \
    int failed = srunner_ntests_failed(sr);                                                       \
    srunner_free(sr);                                                                             \
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;                                             \
  }
