/* ratelimit.c - per-token request rate limits (token buckets). */
#include "config.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"

typedef struct bucket {
	unsigned char key[RATELIMIT_KEY_MAX];
	size_t keylen;
	double tokens;
	int64_t last_ms;
	int used;
} bucket;

struct ratelimit {
	pthread_mutex_t mu;
	double rate, burst;
	bucket *tab; /* open addressing, power-of-two size */
	size_t cap, n;
};

int ratelimit_new(ratelimit **out, double rate, double burst)
{
	ratelimit *rl = calloc(1, sizeof(*rl));

	*out = NULL;
	if (rl == NULL || rate <= 0 || burst < 1) {
		free(rl);
		return -1;
	}
	rl->cap = 16;
	rl->tab = calloc(rl->cap, sizeof(*rl->tab));
	if (rl->tab == NULL) {
		free(rl);
		return -1;
	}
	rl->rate = rate;
	rl->burst = burst;
	pthread_mutex_init(&rl->mu, NULL);
	*out = rl;
	return 0;
}

void ratelimit_free(ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->mu);
	free(rl->tab);
	free(rl);
}

static uint64_t hash_key(const unsigned char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 1099511628211ULL;
	return h;
}

static bucket *slot(bucket *tab, size_t cap, const unsigned char *k, size_t n)
{
	size_t i = (size_t)hash_key(k, n) & (cap - 1);

	while (tab[i].used &&
	       !(tab[i].keylen == n && memcmp(tab[i].key, k, n) == 0))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static int grow(ratelimit *rl)
{
	size_t cap = rl->cap * 2;
	bucket *tab = calloc(cap, sizeof(*tab));

	if (tab == NULL)
		return -1;
	for (size_t i = 0; i < rl->cap; i++)
		if (rl->tab[i].used)
			*slot(tab, cap, rl->tab[i].key, rl->tab[i].keylen) =
				rl->tab[i];
	free(rl->tab);
	rl->tab = tab;
	rl->cap = cap;
	return 0;
}

int ratelimit_take(ratelimit *rl, const void *key, size_t keylen,
		   int64_t now_ms)
{
	return ratelimit_take_at(rl, key, keylen, rl->rate, rl->burst, now_ms);
}

int ratelimit_take_at(ratelimit *rl, const void *key, size_t keylen,
		      double rate, double burst, int64_t now_ms)
{
	bucket *b;
	int wait = 0;

	if (keylen > RATELIMIT_KEY_MAX)
		keylen = RATELIMIT_KEY_MAX;
	pthread_mutex_lock(&rl->mu);
	if ((rl->n + 1) * 2 > rl->cap && grow(rl) < 0) {
		pthread_mutex_unlock(&rl->mu);
		return 0; /* out of memory: do not refuse service for it */
	}
	b = slot(rl->tab, rl->cap, key, keylen);
	if (!b->used) {
		b->used = 1;
		memcpy(b->key, key, keylen);
		b->keylen = keylen;
		b->tokens = burst;
		b->last_ms = now_ms;
		rl->n++;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (int)ceil((1.0 - b->tokens) / rate);
	pthread_mutex_unlock(&rl->mu);
	return wait;
}
