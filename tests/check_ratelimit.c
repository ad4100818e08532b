/* check_ratelimit.c - the per-token token bucket, on an explicit clock. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "ratelimit.h"

START_TEST(burst_then_refill)
{
	ratelimit *rl;
	const char *k = "token-a";

	ck_assert_int_eq(ratelimit_new(&rl, 2.0, 3.0), 0);
	/* A full bucket: three at once, then a wait. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ratelimit_take(rl, k, 7, 1000), 0);
	ck_assert_int_eq(ratelimit_take(rl, k, 7, 1000), 1);
	/* 2 per second: after 500 ms one more, then empty again. */
	ck_assert_int_eq(ratelimit_take(rl, k, 7, 1500), 0);
	ck_assert_int_ge(ratelimit_take(rl, k, 7, 1500), 1);
	/* Never more than the burst, however long the pause. */
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ratelimit_take(rl, k, 7, 100000), 0);
	ck_assert_int_eq(ratelimit_take(rl, k, 7, 100000), 1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(keys_are_independent_and_many)
{
	ratelimit *rl;
	char key[32];

	ck_assert_int_eq(ratelimit_new(&rl, 1.0, 1.0), 0);
	ck_assert_int_eq(ratelimit_take(rl, "a", 1, 0), 0);
	ck_assert_int_eq(ratelimit_take(rl, "a", 1, 0), 1);
	ck_assert_int_eq(ratelimit_take(rl, "b", 1, 0), 0);
	/* Enough keys to make the table grow; each has its own bucket. */
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(key, sizeof(key), "key-%d", i);

		ck_assert_int_eq(ratelimit_take(rl, key, (size_t)n, 0), 0);
	}
	for (int i = 0; i < 1000; i++) {
		int n = snprintf(key, sizeof(key), "key-%d", i);

		ck_assert_int_eq(ratelimit_take(rl, key, (size_t)n, 0), 1);
	}
	ck_assert_int_eq(ratelimit_take(rl, "a", 1, 0), 1);
	ratelimit_free(rl);
}
END_TEST

START_TEST(slow_rates_wait_longer)
{
	ratelimit *rl;

	ck_assert_int_eq(ratelimit_new(&rl, 0.1, 1.0), 0); /* one per 10 s */
	ck_assert_int_eq(ratelimit_take(rl, "k", 1, 0), 0);
	ck_assert_int_eq(ratelimit_take(rl, "k", 1, 0), 10);
	ck_assert_int_eq(ratelimit_take(rl, "k", 1, 5000), 5);
	ck_assert_int_eq(ratelimit_take(rl, "k", 1, 10000), 0);
	ratelimit_free(rl);
	ck_assert_int_ne(ratelimit_new(&rl, 0, 1), 0);
	ck_assert_int_ne(ratelimit_new(&rl, 1, 0.5), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("bucket");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, burst_then_refill);
	tcase_add_test(tc, keys_are_independent_and_many);
	tcase_add_test(tc, slow_rates_wait_longer);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
