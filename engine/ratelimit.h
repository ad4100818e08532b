/* ratelimit.h - per-token request rate limits (token buckets).
 *
 * Each key (a token's hash) has a bucket of `burst` requests refilled at
 * `rate` per second. A request takes one; an empty bucket answers how long
 * to wait, for the Retry-After of a 429. Threads: safe from any thread. */
#ifndef SCIMSYNC_RATELIMIT_H
#define SCIMSYNC_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 32

typedef struct ratelimit ratelimit;

/* rate > 0 requests per second, burst >= 1. *out is new. */
int ratelimit_new(ratelimit **out, double rate, double burst);
void ratelimit_free(ratelimit *rl);

/* Take one request for key (at most RATELIMIT_KEY_MAX bytes) at now_ms.
 * Returns 0 if allowed, else the whole seconds (>= 1) until one is. */
int ratelimit_take(ratelimit *rl, const void *key, size_t keylen,
		   int64_t now_ms);

/* The same with this key's own rate and burst (per-tenant limits; a
 * bucket keeps the tokens it has when its limits change). rate > 0. */
int ratelimit_take_at(ratelimit *rl, const void *key, size_t keylen,
		      double rate, double burst, int64_t now_ms);

#endif
