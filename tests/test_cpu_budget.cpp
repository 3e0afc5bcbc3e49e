// The CPU budget: the cores a process may use, and the turns its computations take.
#include <ATen/Parallel.h>
#include <check.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "vamp/cpu_budget.h"
#include "testutil.h"

namespace {

// A thread pinned to one CPU counts one core; the default budget is at least one core and never
// more than the affinity allows.
START_TEST(test_cores_follow_affinity) {
  cpu_set_t all;
  ck_assert_int_eq(sched_getaffinity(0, sizeof all, &all), 0);
  ck_assert_int_ge(vamp::cpu_cores(), 1);
  ck_assert_int_le(vamp::cpu_cores(), CPU_COUNT(&all));
  int pinned = 0;
  std::thread([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &all)) {
        CPU_SET(c, &one);
        break;
      }
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    pinned = vamp::cpu_cores();
  }).join();
  ck_assert_int_eq(pinned, 1);
}
END_TEST

// Inside a turn torch computes with the budget; set_cpu_threads(0) keeps a budget that was set.
START_TEST(test_turn_applies_the_budget) {
  ck_assert_int_eq(vamp::set_cpu_threads(3), 3);
  ck_assert_int_eq(vamp::set_cpu_threads(0), 3);
  at::set_num_threads(1);
  {
    const vamp::CpuTurn turn;
    ck_assert_int_eq(at::get_num_threads(), 3);
    const vamp::CpuTurn nested;  // the same thread again: no wait
    ck_assert_int_eq(at::get_num_threads(), 3);
  }
  vamp::set_cpu_threads(vamp::cpu_cores());
}
END_TEST

// One computation at a time, in arrival order; a CUDA model's turn does not wait.
START_TEST(test_turns_are_exclusive_and_in_order) {
  std::atomic<int> inside{0}, most{0}, order{0};
  int first = -1, second = -1;
  auto worker = [&](int* slot) {
    const vamp::CpuTurn turn;
    most = std::max(most.load(), ++inside);
    *slot = order++;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    --inside;
  };
  std::thread a, b;
  {
    const vamp::CpuTurn held;  // both wait for this one
    a = std::thread(worker, &first);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    b = std::thread(worker, &second);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    bool cuda_waited = true;
    std::thread([&] {
      const vamp::CpuTurn on_cuda(false);
      cuda_waited = false;
    }).join();
    ck_assert(!cuda_waited);
    ck_assert_int_eq(order.load(), 0);
  }
  a.join();
  b.join();
  ck_assert_int_eq(most.load(), 1);
  ck_assert_int_eq(first, 0);
  ck_assert_int_eq(second, 1);
}
END_TEST

// Narrow turns run side by side while their widths fit in the budget; a turn as wide as the budget
// waits for them, and a narrow turn that arrives after it waits for it (first come, first served).
START_TEST(test_narrow_turns_share_the_budget) {
  vamp::set_cpu_threads(2);
  std::atomic<int> inside{0}, most{0}, order{0};
  int narrow_threads = 0, wide_order = -1, late_order = -1;
  auto narrow = [&](int* slot) {
    const vamp::CpuTurn turn(true, 1);
    narrow_threads = at::get_num_threads();
    most = std::max(most.load(), ++inside);
    if (slot) *slot = order++;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    --inside;
  };
  std::thread a(narrow, nullptr), b(narrow, nullptr);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ck_assert_int_eq(most.load(), 2);  // both narrow turns at once
  std::thread wide([&] {
    const vamp::CpuTurn turn(true, 0);
    ck_assert_int_eq(inside.load(), 0);  // only once both narrow ones ended
    ck_assert_int_eq(at::get_num_threads(), 2);
    wide_order = order++;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  std::thread late(narrow, &late_order);
  a.join();
  b.join();
  wide.join();
  late.join();
  ck_assert_int_eq(narrow_threads, 1);
  ck_assert_int_eq(wide_order, 0);
  ck_assert_int_eq(late_order, 1);
  ck_assert_int_eq(vamp::cpu_width(1e6), 1);
  ck_assert_int_eq(vamp::cpu_width(1e10), 2);
  vamp::set_cpu_threads(vamp::cpu_cores());
}
END_TEST

}  // namespace

Suite* cpu_budget_suite() {
  Suite* s = suite_create("cpu_budget");
  TCase* tc = tcase_create("cpu_budget");
  tcase_add_test(tc, test_cores_follow_affinity);
  tcase_add_test(tc, test_turn_applies_the_budget);
  tcase_add_test(tc, test_turns_are_exclusive_and_in_order);
  tcase_add_test(tc, test_narrow_turns_share_the_budget);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(cpu_budget_suite)
