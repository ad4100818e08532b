/* strutil.c - small string and time helpers shared by the engine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "strutil.h"

static int ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int scim_strcasecmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;
	int d;

	for (;; p++, q++) {
		d = ascii_lower(*p) - ascii_lower(*q);
		if (d != 0 || *p == '\0')
			return d;
	}
}

int scim_strncasecmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;
	int d;

	for (; n > 0; n--, p++, q++) {
		d = ascii_lower(*p) - ascii_lower(*q);
		if (d != 0 || *p == '\0')
			return d;
	}
	return 0;
}

bool scim_strn_equal_ci(const char *s, const char *t, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\0' || ascii_lower((unsigned char)s[i]) !=
					    ascii_lower((unsigned char)t[i]))
			return false;
	}
	return s[len] == '\0';
}

/* Lower-case code point of cp for the ranges documented in strutil.h
 * (all within U+0080-U+07FF), or cp itself. */
static unsigned fold_cp(unsigned cp)
{
	/* Latin-1 Supplement */
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
		return cp + 0x20;
	/* Latin Extended-A */
	if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
		return cp | 1;
	if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
		return (cp & 1) ? cp + 1 : cp;
	if (cp == 0x178)
		return 0xFF;
	/* Greek */
	if (cp == 0x386)
		return 0x3AC;
	if (cp >= 0x388 && cp <= 0x38A)
		return cp + 0x25;
	if (cp == 0x38C)
		return 0x3CC;
	if (cp == 0x38E || cp == 0x38F)
		return cp + 0x3F;
	if (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2)
		return cp + 0x20;
	if (cp == 0x3C2)
		return 0x3C3;
	/* Cyrillic */
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 0x50;
	if (cp >= 0x410 && cp <= 0x42F)
		return cp + 0x20;
	if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) ||
	    (cp >= 0x4D0 && cp <= 0x52F))
		return cp | 1;
	if (cp == 0x4C0)
		return 0x4CF;
	if (cp >= 0x4C1 && cp <= 0x4CE)
		return (cp & 1) ? cp + 1 : cp;
	return cp;
}

char *scim_str_fold(const char *s)
{
	size_t len = strlen(s);
	unsigned char *out = malloc(len + 1);
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	unsigned cp;

	if (out == NULL)
		return NULL;
	while (i < len) {
		if (p[i] >= 0xC2 && p[i] <= 0xDF && (p[i + 1] & 0xC0) == 0x80) {
			cp = ((unsigned)(p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F);
			cp = fold_cp(cp);
			out[i] = (unsigned char)(0xC0 | (cp >> 6));
			out[i + 1] = (unsigned char)(0x80 | (cp & 0x3F));
			i += 2;
		} else {
			out[i] = (unsigned char)ascii_lower(p[i]);
			i++;
		}
	}
	out[len] = '\0';
	return (char *)out;
}

bool scim_is_valid_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n, k;
	unsigned cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] >= 0xC2 && p[i] <= 0xDF) {
			n = 1;
			cp = p[i] & 0x1F;
			min = 0x80;
		} else if ((p[i] & 0xF0) == 0xE0) {
			n = 2;
			cp = p[i] & 0x0F;
			min = 0x800;
		} else if (p[i] >= 0xF0 && p[i] <= 0xF4) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

/* ---- Time ----------------------------------------------------------- */

#define MS_PER_DAY INT64_C(86400000)

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};

	return (m == 2 && is_leap(y)) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Limits of years 0000 and 9999, so the arithmetic cannot overflow. */
#define MIN_MS (days_from_civil(0, 1, 1) * MS_PER_DAY)
#define MAX_MS (days_from_civil(10000, 1, 1) * MS_PER_DAY - 1)

/* Write v as exactly width decimal digits at p; return the end. */
static char *put_digits(char *p, unsigned v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

int scim_time_format(char out[static 32], int64_t unix_ms)
{
	int64_t days, ms, y;
	int m, d;
	char *p = out;

	out[0] = '\0';
	if (unix_ms < MIN_MS || unix_ms > MAX_MS)
		return -1;
	days = unix_ms / MS_PER_DAY;
	ms = unix_ms % MS_PER_DAY;
	if (ms < 0) {
		ms += MS_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	p = put_digits(p, (unsigned)y, 4);
	*p++ = '-';
	p = put_digits(p, (unsigned)m, 2);
	*p++ = '-';
	p = put_digits(p, (unsigned)d, 2);
	*p++ = 'T';
	p = put_digits(p, (unsigned)(ms / 3600000), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)(ms / 60000 % 60), 2);
	*p++ = ':';
	p = put_digits(p, (unsigned)(ms / 1000 % 60), 2);
	*p++ = '.';
	p = put_digits(p, (unsigned)(ms % 1000), 3);
	*p++ = 'Z';
	*p = '\0';
	return 0;
}

/* Read exactly n decimal digits at *p into *v and advance *p. */
static bool read_digits(const char **p, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return true;
}

static bool expect(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

int scim_time_parse(const char *s, int64_t *unix_ms_out)
{
	const char *p = s;
	int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, scale, sign = 0;
	int64_t t;

	if (s == NULL || !read_digits(&p, 4, &y) || !expect(&p, '-') ||
	    !read_digits(&p, 2, &mo) || !expect(&p, '-') ||
	    !read_digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't')
		return -1;
	p++;
	if (!read_digits(&p, 2, &h) || !expect(&p, ':') ||
	    !read_digits(&p, 2, &mi) || !expect(&p, ':') ||
	    !read_digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (scale = 100; *p >= '0' && *p <= '9'; p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (!read_digits(&p, 2, &oh) || !expect(&p, ':') ||
		    !read_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -1;
	}
	if (*p != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || sec > 60)
		return -1;
	t = days_from_civil(y, mo, d) * MS_PER_DAY +
	    ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
	t -= (int64_t)sign * (oh * 60 + om) * 60000;
	*unix_ms_out = t;
	return 0;
}

void scim_new_uuid(char out[37])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		abort(); /* no randomness: nothing safe to do */
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}
