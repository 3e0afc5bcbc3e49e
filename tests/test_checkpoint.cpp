// Checkpoint reader/writer: released layout, tolerance, corruption.
#include "checkpoint.h"
#include "testutil.h"

START_TEST(test_reads_golden_codec) {
  auto ck = vamp::load_checkpoint(vamp::test::data("codec_a.pth"));
  ck_assert_int_eq(ck.tensors.size(), 680);
  ck_assert_int_eq(ck.kwarg_int("n_codebooks"), 14);
}
END_TEST

static Suite* checkpoint_suite() {
  Suite* s = suite_create("checkpoint");
  TCase* tc = tcase_create("read");
  tcase_add_test(tc, test_reads_golden_codec);
  suite_add_tcase(s, tc);
  return s;
}

VAMP_TEST_MAIN(checkpoint_suite)
