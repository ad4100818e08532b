/* tmpl_filters.c - the filters of the template language.
 *
 * Each filter replaces *v (its input, owned or borrowed) by its result;
 * arguments are already evaluated. Liquid's rules: string filters turn
 * their input into text (nil is ""), array filters treat a non-array as a
 * one-element array, number filters read "12" as 12 and anything else as
 * 0, and a filter never fails on odd input; it fails (and the render
 * with it) only when a bound is hit. Lengths count code points. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "strutil.h"
#include "tmpl_int.h"

static int nomem(tmpl_ctx *c)
{
	return tmpl_fail(c, "out of memory");
}

static int set_str(tmpl_ctx *c, tv *v, char *s, size_t n)
{
	if (s == NULL)
		return nomem(c);
	if (n > TMPL_MAX_OUTPUT) {
		free(s);
		return tmpl_fail(c, "value longer than %d bytes",
				 TMPL_MAX_OUTPUT);
	}
	tv_free(v);
	*v = tv_str_take(s, n);
	return 0;
}

/* Replace v by new json j (reference stolen; NULL: out of memory). */
static int set_json(tmpl_ctx *c, tv *v, json_t *j)
{
	if (j == NULL)
		return nomem(c);
	if (json_is_array(j) && json_array_size(j) > TMPL_MAX_ARRAY) {
		json_decref(j);
		return tmpl_fail(c, "array longer than %d", TMPL_MAX_ARRAY);
	}
	tv_free(v);
	*v = tv_json(j, true);
	return 0;
}

/* Replace v by el, which v's value holds (or a borrowed value). */
static int set_elem(tmpl_ctx *c, tv *v, json_t *el)
{
	tv nv = tv_json(el, false);

	if (v->own && tv_own(&nv) < 0)
		return nomem(c);
	tv_free(v);
	*v = nv;
	return 0;
}

static void set_nil(tv *v)
{
	tv_free(v);
	*v = tv_nil();
}

/* A copy of v's array, or of [v], or [] for nil; new. */
static json_t *as_array(const tv *v)
{
	json_t *a, *e;

	if (v->k == TV_ARR)
		return json_copy(v->j);
	if ((a = json_array()) == NULL)
		return NULL;
	if (v->k == TV_NIL || v->k == TV_UNDEF)
		return a;
	if ((e = tv_to_json(v)) == NULL || json_array_append_new(a, e) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\v' || ch == '\f';
}

static size_t cp_len(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			k++;
	return k;
}

/* Byte offset of code point number cp in s (n if past the end). */
static size_t cp_off(const char *s, size_t n, size_t cp)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xC0) == 0x80)
			continue;
		if (cp-- == 0)
			return i;
	}
	return n;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p != NULL) {
		if (n > 0)
			memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

/* ---- Strings --------------------------------------------------------- */

static int f_case(tmpl_ctx *c, tv *v, int mode)
{
	char *s;
	size_t i;

	if (tv_stringify(c, v) < 0)
		return -1;
	if (mode == 0 && strlen(v->s) == v->n)
		s = scim_str_fold(v->s);
	else
		s = dup_n(v->s, v->n);
	if (s == NULL)
		return nomem(c);
	for (i = 0; i < v->n; i++) {
		bool up = mode == 1 || (mode == 2 && i == 0);

		if (up && s[i] >= 'a' && s[i] <= 'z')
			s[i] = (char)(s[i] - 'a' + 'A');
		else if (!up && s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	}
	return set_str(c, v, s, v->n);
}

static int f_downcase(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return f_case(c, v, 0);
}

static int f_upcase(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return f_case(c, v, 1);
}

static int f_capitalize(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return f_case(c, v, 2);
}

static int do_strip(tmpl_ctx *c, tv *v, bool left, bool right)
{
	size_t a = 0, b;

	if (tv_stringify(c, v) < 0)
		return -1;
	b = v->n;
	while (left && a < b && is_ws(v->s[a]))
		a++;
	while (right && b > a && is_ws(v->s[b - 1]))
		b--;
	return set_str(c, v, dup_n(v->s + a, b - a), b - a);
}

static int f_strip(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return do_strip(c, v, true, true);
}

static int f_lstrip(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return do_strip(c, v, true, false);
}

static int f_rstrip(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return do_strip(c, v, false, true);
}

static int f_strip_newlines(tmpl_ctx *c, tv *v, tv *a, int na)
{
	char *s;
	size_t i, k = 0;

	(void)a;
	(void)na;
	if (tv_stringify(c, v) < 0)
		return -1;
	if ((s = malloc(v->n + 1)) == NULL)
		return nomem(c);
	for (i = 0; i < v->n; i++)
		if (v->s[i] != '\n' && v->s[i] != '\r')
			s[k++] = v->s[i];
	s[k] = '\0';
	return set_str(c, v, s, k);
}

static int concat_str(tmpl_ctx *c, tv *v, tv *x, bool before)
{
	const tv *first, *second;
	char *s;
	size_t n;

	if (tv_stringify(c, v) < 0 || tv_stringify(c, x) < 0)
		return -1;
	first = before ? x : v;
	second = before ? v : x;
	n = first->n + second->n;
	if (n > TMPL_MAX_OUTPUT)
		return tmpl_fail(c, "value longer than %d bytes",
				 TMPL_MAX_OUTPUT);
	if ((s = malloc(n + 1)) == NULL)
		return nomem(c);
	memcpy(s, first->s, first->n);
	memcpy(s + first->n, second->s, second->n);
	s[n] = '\0';
	return set_str(c, v, s, n);
}

static int f_append(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return concat_str(c, v, &a[0], false);
}

static int f_prepend(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return concat_str(c, v, &a[0], true);
}

/* Replace the first (or every) occurrence of pat by rep. */
static int do_replace(tmpl_ctx *c, tv *v, tv *pat, tv *rep, bool all)
{
	tmpl_sbuf b = {0};
	const char *s, *end, *hit;
	size_t n;
	char *out;

	if (tv_stringify(c, v) < 0 || tv_stringify(c, pat) < 0 ||
	    (rep != NULL && tv_stringify(c, rep) < 0))
		return -1;
	if (pat->n == 0)
		return 0;
	s = v->s;
	end = v->s + v->n;
	while ((hit = memmem(s, (size_t)(end - s), pat->s, pat->n)) != NULL) {
		if (sbuf_add(c, &b, s, (size_t)(hit - s)) < 0 ||
		    (rep != NULL && sbuf_add(c, &b, rep->s, rep->n) < 0)) {
			free(b.p);
			return -1;
		}
		s = hit + pat->n;
		if (!all)
			break;
	}
	if (sbuf_add(c, &b, s, (size_t)(end - s)) < 0) {
		free(b.p);
		return -1;
	}
	out = sbuf_take(&b, &n);
	return set_str(c, v, out, n);
}

static int f_replace(tmpl_ctx *c, tv *v, tv *a, int na)
{
	tv empty = tv_str_ref("", 0);

	return do_replace(c, v, &a[0], na > 1 ? &a[1] : &empty, true);
}

static int f_replace_first(tmpl_ctx *c, tv *v, tv *a, int na)
{
	tv empty = tv_str_ref("", 0);

	return do_replace(c, v, &a[0], na > 1 ? &a[1] : &empty, false);
}

static int f_remove(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return do_replace(c, v, &a[0], NULL, true);
}

static int f_remove_first(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return do_replace(c, v, &a[0], NULL, false);
}

static int push_str(json_t *arr, const char *s, size_t n)
{
	json_t *e;

	if (json_array_size(arr) >= TMPL_MAX_ARRAY)
		return -1;
	e = json_stringn(s, n);
	return e == NULL ? -1 : json_array_append_new(arr, e);
}

/* Ruby's String#split: " " splits on runs of blanks (ignoring leading
 * ones), "" into characters; trailing empty strings are dropped. */
static int f_split(tmpl_ctx *c, tv *v, tv *a, int na)
{
	const char *s, *end, *hit;
	json_t *arr;
	size_t k;

	(void)na;
	if (tv_stringify(c, v) < 0 || tv_stringify(c, &a[0]) < 0)
		return -1;
	if ((arr = json_array()) == NULL)
		return nomem(c);
	s = v->s;
	end = v->s + v->n;
	if (a[0].n == 1 && a[0].s[0] == ' ') {
		while (s < end) {
			const char *w;

			while (s < end && is_ws(*s))
				s++;
			if (s == end)
				break;
			for (w = s; w < end && !is_ws(*w); w++)
				;
			if (push_str(arr, s, (size_t)(w - s)) < 0)
				goto fail;
			s = w;
		}
	} else if (a[0].n == 0) {
		while (s < end) {
			const char *w = s + 1;

			while (w < end && ((unsigned char)*w & 0xC0) == 0x80)
				w++;
			if (push_str(arr, s, (size_t)(w - s)) < 0)
				goto fail;
			s = w;
		}
	} else {
		while ((hit = memmem(s, (size_t)(end - s), a[0].s, a[0].n)) !=
		       NULL) {
			if (push_str(arr, s, (size_t)(hit - s)) < 0)
				goto fail;
			s = hit + a[0].n;
		}
		if (push_str(arr, s, (size_t)(end - s)) < 0)
			goto fail;
	}
	while ((k = json_array_size(arr)) > 0 &&
	       json_string_length(json_array_get(arr, k - 1)) == 0)
		json_array_remove(arr, k - 1);
	return set_json(c, v, arr);
fail:
	json_decref(arr);
	return tmpl_fail(c, "split: too many parts or bad text");
}

static int f_join(tmpl_ctx *c, tv *v, tv *a, int na)
{
	tmpl_sbuf b = {0};
	size_t i, n;
	char *s;

	if (na > 0 && tv_stringify(c, &a[0]) < 0)
		return -1;
	if (v->k != TV_ARR)
		return tv_stringify(c, v);
	for (i = 0; i < json_array_size(v->j); i++) {
		tv e = tv_json(json_array_get(v->j, i), false);

		if ((i > 0 && sbuf_add(c, &b, na > 0 ? a[0].s : " ",
				       na > 0 ? a[0].n : 1) < 0) ||
		    tv_append_str(c, &b, &e) < 0) {
			free(b.p);
			return -1;
		}
	}
	s = sbuf_take(&b, &n);
	return set_str(c, v, s, n);
}

static int f_first(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	if (v->k != TV_ARR || json_array_size(v->j) == 0) {
		set_nil(v);
		return 0;
	}
	return set_elem(c, v, json_array_get(v->j, 0));
}

static int f_last(tmpl_ctx *c, tv *v, tv *a, int na)
{
	size_t n;

	(void)a;
	(void)na;
	if (v->k != TV_ARR || (n = json_array_size(v->j)) == 0) {
		set_nil(v);
		return 0;
	}
	return set_elem(c, v, json_array_get(v->j, n - 1));
}

static int f_size(tmpl_ctx *c, tv *v, tv *a, int na)
{
	long long n = 0;

	(void)c;
	(void)a;
	(void)na;
	if (v->k == TV_STR)
		n = (long long)cp_len(v->s, v->n);
	else if (v->k == TV_ARR)
		n = (long long)json_array_size(v->j);
	else if (v->k == TV_OBJ)
		n = (long long)json_object_size(v->j);
	tv_free(v);
	*v = tv_int(n);
	return 0;
}

static long long num_arg(const tv *a, long long dflt)
{
	tv n;

	if (a == NULL || a->k == TV_NIL || a->k == TV_UNDEF)
		return dflt;
	tv_to_number(a, &n);
	if (n.k == TV_REAL)
		return isfinite(n.d) && fabs(n.d) < 9e18 ? (long long)n.d : 0;
	return n.i;
}

static int f_slice(tmpl_ctx *c, tv *v, tv *a, int na)
{
	long long off = num_arg(&a[0], 0),
		  len = num_arg(na > 1 ? &a[1] : NULL, 1), size;

	if (v->k == TV_ARR) {
		json_t *r = json_array();
		long long i;

		if (r == NULL)
			return nomem(c);
		size = (long long)json_array_size(v->j);
		if (off < 0)
			off += size;
		for (i = off; off >= 0 && i < size && i - off < len; i++)
			json_array_append(r, json_array_get(v->j, (size_t)i));
		return set_json(c, v, r);
	}
	if (tv_stringify(c, v) < 0)
		return -1;
	size = (long long)cp_len(v->s, v->n);
	if (off < 0)
		off += size;
	if (off < 0 || off > size || len <= 0) {
		set_str(c, v, dup_n("", 0), 0);
		return 0;
	}
	if (len > size - off)
		len = size - off;
	{
		size_t b0 = cp_off(v->s, v->n, (size_t)off),
		       b1 = cp_off(v->s, v->n, (size_t)(off + len));

		return set_str(c, v, dup_n(v->s + b0, b1 - b0), b1 - b0);
	}
}

static int f_truncate(tmpl_ctx *c, tv *v, tv *a, int na)
{
	long long len = num_arg(na > 0 ? &a[0] : NULL, 50), keep;
	tv dots = tv_str_ref("...", 3);
	const tv *e = na > 1 ? &a[1] : &dots;
	size_t b, n;
	char *s;

	if (tv_stringify(c, v) < 0 || (na > 1 && tv_stringify(c, &a[1]) < 0))
		return -1;
	if ((long long)cp_len(v->s, v->n) <= len)
		return 0;
	keep = len - (long long)cp_len(e->s, e->n);
	if (keep < 0)
		keep = 0;
	b = cp_off(v->s, v->n, (size_t)keep);
	n = b + e->n;
	if ((s = malloc(n + 1)) == NULL)
		return nomem(c);
	memcpy(s, v->s, b);
	memcpy(s + b, e->s, e->n);
	s[n] = '\0';
	return set_str(c, v, s, n);
}

static int f_truncatewords(tmpl_ctx *c, tv *v, tv *a, int na)
{
	long long words = num_arg(na > 0 ? &a[0] : NULL, 15), k = 0;
	tv dots = tv_str_ref("...", 3);
	const tv *e = na > 1 ? &a[1] : &dots;
	tmpl_sbuf b = {0};
	const char *s, *end;
	size_t n;
	char *out;

	if (tv_stringify(c, v) < 0 || (na > 1 && tv_stringify(c, &a[1]) < 0))
		return -1;
	if (words < 1)
		words = 1;
	s = v->s;
	end = v->s + v->n;
	for (;;) {
		const char *w;

		while (s < end && is_ws(*s))
			s++;
		if (s == end)
			break;
		if (k == words) {
			/* more words than allowed */
			if (sbuf_add(c, &b, e->s, e->n) < 0)
				goto fail;
			out = sbuf_take(&b, &n);
			return set_str(c, v, out, n);
		}
		for (w = s; w < end && !is_ws(*w); w++)
			;
		if ((k > 0 && sbuf_add(c, &b, " ", 1) < 0) ||
		    sbuf_add(c, &b, s, (size_t)(w - s)) < 0)
			goto fail;
		k++;
		s = w;
	}
	free(b.p);
	return 0;
fail:
	free(b.p);
	return -1;
}

static int f_default(tmpl_ctx *c, tv *v, tv *a, int na)
{
	bool use = !tv_truthy(v) || (v->k == TV_STR && v->n == 0) ||
		   (v->k == TV_ARR && json_array_size(v->j) == 0) ||
		   (v->k == TV_OBJ && json_object_size(v->j) == 0);

	(void)na;
	if (!use)
		return 0;
	tv_free(v);
	*v = a[0];
	memset(&a[0], 0, sizeof(a[0])); /* moved */
	(void)c;
	return 0;
}

static int f_date(tmpl_ctx *c, tv *v, tv *a, int na)
{
	int64_t ms;
	time_t secs;
	struct tm tm;
	char buf[512];
	size_t n;

	(void)na;
	if (tv_stringify(c, &a[0]) < 0)
		return -1;
	if (a[0].n == 0 || v->k == TV_NIL || v->k == TV_UNDEF)
		return 0;
	if (v->k == TV_STR &&
	    (strcmp(v->s, "now") == 0 || strcmp(v->s, "today") == 0)) {
		secs = time(NULL);
	} else if (v->k == TV_STR && scim_time_parse(v->s, &ms) == 0) {
		secs = (time_t)(ms / 1000 - (ms % 1000 < 0));
	} else {
		tv num;

		tv_to_number(v, &num);
		if ((v->k == TV_STR && !(num.k == TV_INT && num.i != 0)) ||
		    v->k == TV_BOOL || v->k == TV_ARR || v->k == TV_OBJ)
			return 0;
		secs = (time_t)(num.k == TV_INT ? num.i : (long long)num.d);
	}
	if (gmtime_r(&secs, &tm) == NULL || a[0].n > 256)
		return 0;
	n = strftime(buf, sizeof(buf), a[0].s, &tm);
	return set_str(c, v, dup_n(buf, n), n);
}

static int f_escape_common(tmpl_ctx *c, tv *v, bool once)
{
	tmpl_sbuf b = {0};
	size_t i, n;
	char *s;

	if (tv_stringify(c, v) < 0)
		return -1;
	for (i = 0; i < v->n; i++) {
		const char *rep = NULL;

		switch (v->s[i]) {
		case '&':
			if (once) {
				size_t k = i + 1;

				if (k < v->n && v->s[k] == '#') {
					k++;
					if (k < v->n &&
					    (v->s[k] == 'x' || v->s[k] == 'X'))
						k++;
				}
				while (k < v->n &&
				       ((v->s[k] >= 'a' && v->s[k] <= 'z') ||
					(v->s[k] >= 'A' && v->s[k] <= 'Z') ||
					(v->s[k] >= '0' && v->s[k] <= '9')))
					k++;
				if (k < v->n && v->s[k] == ';' && k > i + 1)
					break;
			}
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			break;
		}
		if (sbuf_add(c, &b, rep ? rep : v->s + i,
			     rep ? strlen(rep) : 1) < 0) {
			free(b.p);
			return -1;
		}
	}
	s = sbuf_take(&b, &n);
	return set_str(c, v, s, n);
}

static int f_escape(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return f_escape_common(c, v, false);
}

static int f_escape_once(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return f_escape_common(c, v, true);
}

static int f_url_encode(tmpl_ctx *c, tv *v, tv *a, int na)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, k = 0;
	char *s;

	(void)a;
	(void)na;
	if (tv_stringify(c, v) < 0)
		return -1;
	if ((s = malloc(v->n * 3 + 1)) == NULL)
		return nomem(c);
	for (i = 0; i < v->n; i++) {
		unsigned char ch = (unsigned char)v->s[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
		    ch == '-' || ch == '~') {
			s[k++] = (char)ch;
		} else if (ch == ' ') {
			s[k++] = '+';
		} else {
			s[k++] = '%';
			s[k++] = hex[ch >> 4];
			s[k++] = hex[ch & 15];
		}
	}
	s[k] = '\0';
	return set_str(c, v, s, k);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decoded bytes must be text: UTF-8 without NUL, else the result is nil. */
static int set_text_or_nil(tmpl_ctx *c, tv *v, char *s, size_t n)
{
	if (s != NULL &&
	    (memchr(s, '\0', n) != NULL || !scim_is_valid_utf8(s, n))) {
		free(s);
		set_nil(v);
		return 0;
	}
	return set_str(c, v, s, n);
}

static int f_url_decode(tmpl_ctx *c, tv *v, tv *a, int na)
{
	size_t i, k = 0;
	char *s;

	(void)a;
	(void)na;
	if (tv_stringify(c, v) < 0)
		return -1;
	if ((s = malloc(v->n + 1)) == NULL)
		return nomem(c);
	for (i = 0; i < v->n; i++) {
		if (v->s[i] == '+') {
			s[k++] = ' ';
		} else if (v->s[i] == '%' && i + 2 < v->n &&
			   hexval(v->s[i + 1]) >= 0 &&
			   hexval(v->s[i + 2]) >= 0) {
			s[k++] = (char)(hexval(v->s[i + 1]) * 16 +
					hexval(v->s[i + 2]));
			i += 2;
		} else {
			s[k++] = v->s[i];
		}
	}
	s[k] = '\0';
	return set_text_or_nil(c, v, s, k);
}

static int digest(tmpl_ctx *c, tv *v, const EVP_MD *md)
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	char *s;

	if (tv_stringify(c, v) < 0)
		return -1;
	if (EVP_Digest(v->s, v->n, out, &len, md, NULL) != 1)
		return tmpl_fail(c, "digest failed");
	if ((s = malloc(len * 2 + 1)) == NULL)
		return nomem(c);
	for (i = 0; i < len; i++)
		snprintf(s + i * 2, 3, "%02x", out[i]);
	return set_str(c, v, s, len * 2);
}

static int f_sha1(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return digest(c, v, EVP_sha1());
}

static int f_sha256(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)a;
	(void)na;
	return digest(c, v, EVP_sha256());
}

/* RFC 4514 escaping of an attribute value for a DN:
 * "ann+x@y" -> "ann\+x@y", so a userName cannot split or end an RDN. */
static int f_dn_escape(tmpl_ctx *c, tv *v, tv *a, int na)
{
	size_t i, k = 0;
	char *s;

	(void)a;
	(void)na;
	if (tv_stringify(c, v) < 0)
		return -1;
	if ((s = malloc(v->n * 3 + 1)) == NULL)
		return nomem(c);
	for (i = 0; i < v->n; i++) {
		unsigned char ch = (unsigned char)v->s[i];

		if (ch == '\0') {
			memcpy(s + k, "\\00", 3);
			k += 3;
			continue;
		}
		if (strchr("\"+,;<>\\=", ch) != NULL ||
		    (i == 0 && (ch == ' ' || ch == '#')) ||
		    (i + 1 == v->n && ch == ' '))
			s[k++] = '\\';
		s[k++] = (char)ch;
	}
	return set_str(c, v, s, k);
}

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int f_base64_encode(tmpl_ctx *c, tv *v, tv *a, int na)
{
	const unsigned char *p;
	size_t i, k = 0;
	char *s;

	(void)a;
	(void)na;
	if (tv_stringify(c, v) < 0)
		return -1;
	p = (const unsigned char *)v->s;
	if ((s = malloc((v->n + 2) / 3 * 4 + 1)) == NULL)
		return nomem(c);
	for (i = 0; i + 2 < v->n; i += 3) {
		s[k++] = b64[p[i] >> 2];
		s[k++] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
		s[k++] = b64[((p[i + 1] & 15) << 2) | (p[i + 2] >> 6)];
		s[k++] = b64[p[i + 2] & 63];
	}
	if (i < v->n) {
		s[k++] = b64[p[i] >> 2];
		if (i + 1 < v->n) {
			s[k++] = b64[((p[i] & 3) << 4) | (p[i + 1] >> 4)];
			s[k++] = b64[(p[i + 1] & 15) << 2];
		} else {
			s[k++] = b64[(p[i] & 3) << 4];
			s[k++] = '=';
		}
		s[k++] = '=';
	}
	s[k] = '\0';
	return set_str(c, v, s, k);
}

static int f_base64_decode(tmpl_ctx *c, tv *v, tv *a, int na)
{
	unsigned int acc = 0;
	int bits = 0;
	size_t i, k = 0;
	char *s;

	(void)a;
	(void)na;
	if (tv_stringify(c, v) < 0)
		return -1;
	if ((s = malloc(v->n + 1)) == NULL)
		return nomem(c);
	for (i = 0; i < v->n && v->s[i] != '='; i++) {
		const char *q = memchr(b64, v->s[i], 64);

		if (q == NULL || v->s[i] == '\0') {
			free(s);
			set_nil(v);
			return 0;
		}
		acc = (acc << 6) | (unsigned int)(q - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			s[k++] = (char)((acc >> bits) & 0xFF);
		}
	}
	s[k] = '\0';
	return set_text_or_nil(c, v, s, k);
}

/* ---- Arrays ---------------------------------------------------------- */

static int f_map(tmpl_ctx *c, tv *v, tv *a, int na)
{
	json_t *src, *r;
	size_t i;

	(void)na;
	if (tv_stringify(c, &a[0]) < 0)
		return -1;
	if ((src = as_array(v)) == NULL || (r = json_array()) == NULL) {
		json_decref(src);
		return nomem(c);
	}
	for (i = 0; i < json_array_size(src); i++) {
		json_t *e = scim_json_get_ci(json_array_get(src, i), a[0].s);

		json_array_append(r, e != NULL ? e : json_null());
	}
	json_decref(src);
	return set_json(c, v, r);
}

static int f_compact(tmpl_ctx *c, tv *v, tv *a, int na)
{
	json_t *r;
	size_t i;

	(void)a;
	(void)na;
	if ((r = as_array(v)) == NULL)
		return nomem(c);
	for (i = json_array_size(r); i-- > 0;)
		if (json_is_null(json_array_get(r, i)))
			json_array_remove(r, i);
	return set_json(c, v, r);
}

static int f_uniq(tmpl_ctx *c, tv *v, tv *a, int na)
{
	json_t *src, *r, *seen;
	size_t i, k;

	(void)a;
	(void)na;
	src = as_array(v);
	r = json_array();
	seen = json_object();
	if (src == NULL || r == NULL || seen == NULL)
		goto oom;
	for (i = 0; i < json_array_size(src); i++) {
		json_t *e = json_array_get(src, i);
		bool dup = false;

		if (json_is_string(e)) {
			if (json_object_getn(seen, json_string_value(e),
					     json_string_length(e)) != NULL)
				continue;
			json_object_setn(seen, json_string_value(e),
					 json_string_length(e), json_true());
		} else {
			c->steps += (long)(json_array_size(r) / 64);
			if (c->steps > TMPL_MAX_STEPS)
				goto steps;
			for (k = 0; k < json_array_size(r) && !dup; k++)
				dup = json_equal(e, json_array_get(r, k));
			if (dup)
				continue;
		}
		json_array_append(r, e);
	}
	json_decref(src);
	json_decref(seen);
	return set_json(c, v, r);
steps:
	json_decref(src);
	json_decref(r);
	json_decref(seen);
	return tmpl_fail(c, "template ran more than %d steps", TMPL_MAX_STEPS);
oom:
	json_decref(src);
	json_decref(r);
	json_decref(seen);
	return nomem(c);
}

typedef struct sort_opts {
	const char *key; /* compare this property of objects, or NULL */
	bool ci;	 /* strings case-insensitively */
} sort_opts;

/* Numbers before strings before everything else. */
static int sort_cmp(const void *pa, const void *pb, void *arg)
{
	const sort_opts *o = arg;
	json_t *x = *(json_t *const *)pa, *y = *(json_t *const *)pb;
	int rx, ry;

	if (o->key != NULL) {
		x = scim_json_get_ci(x, o->key);
		y = scim_json_get_ci(y, o->key);
	}
	rx = json_is_number(x) ? 0 : json_is_string(x) ? 1 : 2;
	ry = json_is_number(y) ? 0 : json_is_string(y) ? 1 : 2;
	if (rx != ry)
		return rx - ry;
	if (rx == 0) {
		double a = json_number_value(x), b = json_number_value(y);

		return (a > b) - (a < b);
	}
	if (rx == 1) {
		if (o->ci)
			return scim_strcasecmp(json_string_value(x),
					       json_string_value(y));
		return strcmp(json_string_value(x), json_string_value(y));
	}
	return 0;
}

static int do_sort(tmpl_ctx *c, tv *v, tv *a, int na, bool ci)
{
	json_t *src, *r, **items;
	sort_opts opts;
	size_t i, n;

	if (na > 0 && tv_stringify(c, &a[0]) < 0)
		return -1;
	if ((src = as_array(v)) == NULL)
		return nomem(c);
	n = json_array_size(src);
	if ((items = malloc((n ? n : 1) * sizeof(*items))) == NULL ||
	    (r = json_array()) == NULL) {
		free(items);
		json_decref(src);
		return nomem(c);
	}
	for (i = 0; i < n; i++)
		items[i] = json_array_get(src, i);
	opts.key = na > 0 ? a[0].s : NULL;
	opts.ci = ci;
	qsort_r(items, n, sizeof(*items), sort_cmp, &opts);
	for (i = 0; i < n; i++)
		json_array_append(r, items[i]);
	free(items);
	json_decref(src);
	return set_json(c, v, r);
}

static int f_sort(tmpl_ctx *c, tv *v, tv *a, int na)
{
	return do_sort(c, v, a, na, false);
}

static int f_sort_natural(tmpl_ctx *c, tv *v, tv *a, int na)
{
	return do_sort(c, v, a, na, true);
}

static int f_reverse(tmpl_ctx *c, tv *v, tv *a, int na)
{
	json_t *r;
	size_t i, n;

	(void)a;
	(void)na;
	if (v->k != TV_ARR)
		return 0;
	if ((r = json_array()) == NULL)
		return nomem(c);
	n = json_array_size(v->j);
	for (i = n; i-- > 0;)
		json_array_append(r, json_array_get(v->j, i));
	return set_json(c, v, r);
}

static int f_concat(tmpl_ctx *c, tv *v, tv *a, int na)
{
	json_t *r, *x;

	(void)na;
	if ((r = as_array(v)) == NULL || (x = as_array(&a[0])) == NULL) {
		json_decref(r);
		return nomem(c);
	}
	if (json_array_size(r) + json_array_size(x) > TMPL_MAX_ARRAY) {
		json_decref(r);
		json_decref(x);
		return tmpl_fail(c, "array longer than %d", TMPL_MAX_ARRAY);
	}
	json_array_extend(r, x);
	json_decref(x);
	return set_json(c, v, r);
}

static int f_where(tmpl_ctx *c, tv *v, tv *a, int na)
{
	json_t *src, *r;
	size_t i;

	if (tv_stringify(c, &a[0]) < 0)
		return -1;
	if ((src = as_array(v)) == NULL || (r = json_array()) == NULL) {
		json_decref(src);
		return nomem(c);
	}
	for (i = 0; i < json_array_size(src); i++) {
		json_t *e = json_array_get(src, i);
		tv x = tv_json(scim_json_get_ci(e, a[0].s), false);

		if (na > 1 ? tv_equal(&x, &a[1]) : tv_truthy(&x))
			json_array_append(r, e);
	}
	json_decref(src);
	return set_json(c, v, r);
}

/* ---- Numbers --------------------------------------------------------- */

enum { M_PLUS, M_MINUS, M_TIMES, M_DIV, M_MOD };

static int math(tmpl_ctx *c, tv *v, tv *arg, int op)
{
	tv x, y, r = tv_nil();

	(void)c;
	tv_to_number(v, &x);
	tv_to_number(arg, &y);
	if (x.k == TV_INT && y.k == TV_INT) {
		long long a = x.i, b = y.i, q;

		switch (op) {
		case M_PLUS:
			r = __builtin_add_overflow(a, b, &q)
				    ? tv_real((double)a + (double)b)
				    : tv_int(q);
			break;
		case M_MINUS:
			r = __builtin_sub_overflow(a, b, &q)
				    ? tv_real((double)a - (double)b)
				    : tv_int(q);
			break;
		case M_TIMES:
			r = __builtin_mul_overflow(a, b, &q)
				    ? tv_real((double)a * (double)b)
				    : tv_int(q);
			break;
		case M_DIV:
			if (b == 0)
				break;
			if (a == LLONG_MIN && b == -1) {
				r = tv_real(-(double)a);
				break;
			}
			q = a / b;
			if (a % b != 0 && ((a < 0) != (b < 0)))
				q--;
			r = tv_int(q);
			break;
		case M_MOD:
			if (b == 0)
				break;
			if (b == -1) {
				r = tv_int(0);
				break;
			}
			q = a % b;
			if (q != 0 && ((q < 0) != (b < 0)))
				q += b;
			r = tv_int(q);
			break;
		}
	} else {
		double a = x.k == TV_INT ? (double)x.i : x.d,
		       b = y.k == TV_INT ? (double)y.i : y.d;

		switch (op) {
		case M_PLUS:
			r = tv_real(a + b);
			break;
		case M_MINUS:
			r = tv_real(a - b);
			break;
		case M_TIMES:
			r = tv_real(a * b);
			break;
		case M_DIV:
			if (b != 0)
				r = tv_real(a / b);
			break;
		case M_MOD:
			if (b != 0) {
				double m = fmod(a, b);

				if (m != 0 && ((m < 0) != (b < 0)))
					m += b;
				r = tv_real(m);
			}
			break;
		}
	}
	tv_free(v);
	*v = r;
	return 0;
}

static int f_plus(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return math(c, v, &a[0], M_PLUS);
}

static int f_minus(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return math(c, v, &a[0], M_MINUS);
}

static int f_times(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return math(c, v, &a[0], M_TIMES);
}

static int f_divided_by(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return math(c, v, &a[0], M_DIV);
}

static int f_modulo(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)na;
	return math(c, v, &a[0], M_MOD);
}

static int f_abs(tmpl_ctx *c, tv *v, tv *a, int na)
{
	tv x;

	(void)c;
	(void)a;
	(void)na;
	tv_to_number(v, &x);
	tv_free(v);
	if (x.k == TV_INT)
		*v = x.i == LLONG_MIN ? tv_real(-(double)x.i)
				      : tv_int(x.i < 0 ? -x.i : x.i);
	else
		*v = tv_real(fabs(x.d));
	return 0;
}

static int clamp(tv *v, tv *arg, bool least)
{
	tv x, y;
	double a, b;

	tv_to_number(v, &x);
	tv_to_number(arg, &y);
	a = x.k == TV_INT ? (double)x.i : x.d;
	b = y.k == TV_INT ? (double)y.i : y.d;
	tv_free(v);
	*v = (least ? a < b : a > b) ? y : x;
	return 0;
}

static int f_at_least(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)c;
	(void)na;
	return clamp(v, &a[0], true);
}

static int f_at_most(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)c;
	(void)na;
	return clamp(v, &a[0], false);
}

static int rounding(tv *v, int mode, long long digits)
{
	tv x;
	double d, r;

	tv_to_number(v, &x);
	tv_free(v);
	if (x.k == TV_INT) {
		*v = x;
		return 0;
	}
	d = x.d;
	if (mode == 0 && digits > 0) {
		double m = pow(10.0, (double)(digits > 15 ? 15 : digits));

		*v = tv_real(round(d * m) / m);
		return 0;
	}
	r = mode == 0 ? round(d) : mode == 1 ? ceil(d) : floor(d);
	*v = isfinite(r) && fabs(r) < 9e18 ? tv_int((long long)r) : tv_real(r);
	return 0;
}

static int f_round(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)c;
	return rounding(v, 0, num_arg(na > 0 ? &a[0] : NULL, 0));
}

static int f_ceil(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)c;
	(void)a;
	(void)na;
	return rounding(v, 1, 0);
}

static int f_floor(tmpl_ctx *c, tv *v, tv *a, int na)
{
	(void)c;
	(void)a;
	(void)na;
	return rounding(v, 2, 0);
}

/* ---- Table ----------------------------------------------------------- */

static const tmpl_filter_def filters[] = {
	{"abs", 0, 0, f_abs},
	{"append", 1, 1, f_append},
	{"at_least", 1, 1, f_at_least},
	{"at_most", 1, 1, f_at_most},
	{"base64_decode", 0, 0, f_base64_decode},
	{"base64_encode", 0, 0, f_base64_encode},
	{"capitalize", 0, 0, f_capitalize},
	{"ceil", 0, 0, f_ceil},
	{"compact", 0, 0, f_compact},
	{"concat", 1, 1, f_concat},
	{"date", 1, 1, f_date},
	{"default", 1, 1, f_default},
	{"divided_by", 1, 1, f_divided_by},
	{"dn_escape", 0, 0, f_dn_escape},
	{"downcase", 0, 0, f_downcase},
	{"escape", 0, 0, f_escape},
	{"escape_once", 0, 0, f_escape_once},
	{"first", 0, 0, f_first},
	{"floor", 0, 0, f_floor},
	{"join", 0, 1, f_join},
	{"last", 0, 0, f_last},
	{"lstrip", 0, 0, f_lstrip},
	{"map", 1, 1, f_map},
	{"minus", 1, 1, f_minus},
	{"modulo", 1, 1, f_modulo},
	{"plus", 1, 1, f_plus},
	{"prepend", 1, 1, f_prepend},
	{"remove", 1, 1, f_remove},
	{"remove_first", 1, 1, f_remove_first},
	{"replace", 1, 2, f_replace},
	{"replace_first", 1, 2, f_replace_first},
	{"reverse", 0, 0, f_reverse},
	{"round", 0, 1, f_round},
	{"rstrip", 0, 0, f_rstrip},
	{"sha1", 0, 0, f_sha1},
	{"sha256", 0, 0, f_sha256},
	{"size", 0, 0, f_size},
	{"slice", 1, 2, f_slice},
	{"sort", 0, 1, f_sort},
	{"sort_natural", 0, 1, f_sort_natural},
	{"split", 1, 1, f_split},
	{"strip", 0, 0, f_strip},
	{"strip_newlines", 0, 0, f_strip_newlines},
	{"times", 1, 1, f_times},
	{"truncate", 0, 2, f_truncate},
	{"truncatewords", 0, 2, f_truncatewords},
	{"uniq", 0, 0, f_uniq},
	{"upcase", 0, 0, f_upcase},
	{"url_decode", 0, 0, f_url_decode},
	{"url_encode", 0, 0, f_url_encode},
	{"where", 1, 2, f_where},
};

const tmpl_filter_def *tmpl_filter_find(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		if (strlen(filters[i].name) == len &&
		    memcmp(filters[i].name, name, len) == 0)
			return &filters[i];
	return NULL;
}

int tmpl_filter_known(const char *name)
{
	return name != NULL && tmpl_filter_find(name, strlen(name)) != NULL;
}
