/* tmpl_eval.c - rendering compiled templates, and the runtime values.
 *
 * Rendering walks the tree of tmpl_int.h. Values are small structs (tv)
 * that mostly borrow from the resource, the event or the template, so a
 * plain `{{ name.givenName }}` allocates only its output. Every node and
 * loop iteration costs a step; steps, output size and the number of
 * values are bounded, and hitting a bound fails the render with the
 * position of the node that was running. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "tmpl_int.h"

/* ---- Values ---------------------------------------------------------- */

void tv_free(tv *v)
{
	if (v->own) {
		if (v->j != NULL)
			json_decref(v->j);
		else if (v->k == TV_STR)
			free((char *)v->s);
	}
	memset(v, 0, sizeof(*v));
}

tv tv_nil(void)
{
	tv v = {.k = TV_NIL};

	return v;
}

tv tv_int(long long i)
{
	tv v = {.k = TV_INT, .i = i};

	return v;
}

tv tv_real(double d)
{
	tv v = {.k = TV_REAL, .d = d};

	return v;
}

tv tv_bool(bool b)
{
	tv v = {.k = TV_BOOL, .b = b};

	return v;
}

tv tv_str_take(char *s, size_t n)
{
	tv v = {.k = TV_STR, .own = true, .s = s, .n = n};

	return v;
}

tv tv_str_ref(const char *s, size_t n)
{
	tv v = {.k = TV_STR, .s = s, .n = n};

	return v;
}

/* A value for json j; with own, the caller's reference moves into it. */
tv tv_json(json_t *j, bool own)
{
	tv v = {.k = TV_NIL};

	if (j == NULL)
		return v;
	switch (json_typeof(j)) {
	case JSON_STRING:
		v.k = TV_STR;
		v.s = json_string_value(j);
		v.n = json_string_length(j);
		v.j = j;
		v.own = own;
		return v;
	case JSON_ARRAY:
	case JSON_OBJECT:
		v.k = json_is_array(j) ? TV_ARR : TV_OBJ;
		v.j = j;
		v.own = own;
		return v;
	case JSON_INTEGER:
		v = tv_int((long long)json_integer_value(j));
		break;
	case JSON_REAL:
		v = tv_real(json_real_value(j));
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		v = tv_bool(json_is_true(j));
		break;
	default:
		break;
	}
	if (own)
		json_decref(j);
	return v;
}

/* Make v independent of whatever it borrowed from. */
int tv_own(tv *v)
{
	if (v->own)
		return 0;
	if (v->j != NULL) {
		json_incref(v->j);
		v->own = true;
	} else if (v->k == TV_STR) {
		char *s = malloc(v->n + 1);

		if (s == NULL)
			return -1;
		memcpy(s, v->s, v->n);
		s[v->n] = '\0';
		v->s = s;
		v->own = true;
	}
	return 0;
}

int tmpl_fail(tmpl_ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL)
		return -1;
	snprintf(c->err->file, sizeof(c->err->file), "%s", c->t->file);
	c->err->line = c->line;
	c->err->column = c->column;
	va_start(ap, fmt);
	vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int sbuf_add(tmpl_ctx *c, tmpl_sbuf *b, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (b->n + n > TMPL_MAX_OUTPUT)
		return tmpl_fail(c, "output longer than %d bytes",
				 TMPL_MAX_OUTPUT);
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->n + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL)
			return tmpl_fail(c, "out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

/* The buffer's text as a new string (never NULL unless out of memory);
 * the buffer is left empty. */
char *sbuf_take(tmpl_sbuf *b, size_t *n)
{
	char *p = b->p;

	*n = b->n;
	if (p == NULL)
		p = calloc(1, 1);
	b->p = NULL;
	b->n = b->cap = 0;
	return p;
}

/* Shortest text that reads back as d, Liquid style ("2.0", "0.1"). */
static int fmt_real(char *buf, size_t size, double d)
{
	int prec;

	if (isnan(d))
		return snprintf(buf, size, "NaN");
	if (isinf(d))
		return snprintf(buf, size, d < 0 ? "-Infinity" : "Infinity");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, size, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (strpbrk(buf, ".e") == NULL)
		strncat(buf, ".0", size - strlen(buf) - 1);
	return (int)strlen(buf);
}

int tv_append_str(tmpl_ctx *c, tmpl_sbuf *b, const tv *v)
{
	char buf[64];
	size_t i;

	switch (v->k) {
	case TV_BOOL:
		return v->b ? sbuf_add(c, b, "true", 4)
			    : sbuf_add(c, b, "false", 5);
	case TV_INT:
		return sbuf_add(
			c, b, buf,
			(size_t)snprintf(buf, sizeof(buf), "%lld", v->i));
	case TV_REAL:
		return sbuf_add(c, b, buf,
				(size_t)fmt_real(buf, sizeof(buf), v->d));
	case TV_STR:
		return sbuf_add(c, b, v->s, v->n);
	case TV_ARR:
		for (i = 0; i < json_array_size(v->j); i++) {
			tv e = tv_json(json_array_get(v->j, i), false);

			if (tv_append_str(c, b, &e) < 0)
				return -1;
		}
		return 0;
	case TV_OBJ: {
		char *s = json_dumps(v->j, JSON_COMPACT | JSON_ENCODE_ANY);
		int rc;

		if (s == NULL)
			return tmpl_fail(c, "out of memory");
		rc = sbuf_add(c, b, s, strlen(s));
		free(s);
		return rc;
	}
	default:
		return 0;
	}
}

int tv_stringify(tmpl_ctx *c, tv *v)
{
	tmpl_sbuf b = {0};
	size_t n;
	char *s;

	if (v->k == TV_STR)
		return 0;
	if (tv_append_str(c, &b, v) < 0) {
		free(b.p);
		return -1;
	}
	if ((s = sbuf_take(&b, &n)) == NULL)
		return tmpl_fail(c, "out of memory");
	tv_free(v);
	*v = tv_str_take(s, n);
	return 0;
}

bool tv_truthy(const tv *v)
{
	if (v->k == TV_UNDEF || v->k == TV_NIL)
		return false;
	if (v->k == TV_BOOL)
		return v->b;
	return true;
}

static bool is_blank_str(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r' && s[i] != '\v' && s[i] != '\f')
			return false;
	return true;
}

static bool is_emptyish(const tv *v)
{
	return (v->k == TV_STR && v->n == 0) ||
	       (v->k == TV_ARR && json_array_size(v->j) == 0) ||
	       (v->k == TV_OBJ && json_object_size(v->j) == 0);
}

static bool is_num(const tv *v)
{
	return v->k == TV_INT || v->k == TV_REAL;
}

static double num_of(const tv *v)
{
	return v->k == TV_INT ? (double)v->i : v->d;
}

bool tv_equal(const tv *a, const tv *b)
{
	if (a->k == TV_EMPTY || a->k == TV_BLANK) {
		const tv *t = a;

		a = b;
		b = t;
	}
	switch (b->k) {
	case TV_EMPTY:
		return a->k == TV_EMPTY || is_emptyish(a);
	case TV_BLANK:
		return a->k == TV_BLANK || a->k == TV_NIL || a->k == TV_UNDEF ||
		       (a->k == TV_BOOL && !a->b) || is_emptyish(a) ||
		       (a->k == TV_STR && is_blank_str(a->s, a->n));
	case TV_UNDEF:
	case TV_NIL:
		return a->k == TV_NIL || a->k == TV_UNDEF;
	case TV_INT:
	case TV_REAL:
		if (a->k == TV_INT && b->k == TV_INT)
			return a->i == b->i;
		return is_num(a) && num_of(a) == num_of(b);
	case TV_BOOL:
		return a->k == TV_BOOL && a->b == b->b;
	case TV_STR:
		return a->k == TV_STR && a->n == b->n &&
		       memcmp(a->s, b->s, a->n) == 0;
	case TV_ARR:
	case TV_OBJ:
		return a->k == b->k && json_equal(a->j, b->j);
	}
	return false;
}

/* -1/0/1 into *r; false if a and b do not compare. */
static bool tv_order(const tv *a, const tv *b, int *r)
{
	if (is_num(a) && is_num(b)) {
		if (a->k == TV_INT && b->k == TV_INT)
			*r = (a->i > b->i) - (a->i < b->i);
		else
			*r = (num_of(a) > num_of(b)) - (num_of(a) < num_of(b));
		return true;
	}
	if (a->k == TV_STR && b->k == TV_STR) {
		size_t n = a->n < b->n ? a->n : b->n;
		int m = memcmp(a->s, b->s, n);

		*r = m != 0 ? (m > 0) - (m < 0) : (a->n > b->n) - (a->n < b->n);
		return true;
	}
	return false;
}

json_t *tv_to_json(const tv *v)
{
	switch (v->k) {
	case TV_BOOL:
		return json_boolean(v->b);
	case TV_INT:
		return json_integer((json_int_t)v->i);
	case TV_REAL:
		return json_real(v->d);
	case TV_STR:
		if (v->j != NULL)
			return json_incref(v->j);
		return json_stringn(v->s, v->n);
	case TV_ARR:
	case TV_OBJ:
		return json_incref(v->j);
	default:
		return json_null();
	}
}

int tv_to_number(const tv *v, tv *out)
{
	char buf[64], *end;
	size_t a = 0, b;

	*out = tv_int(0);
	if (is_num(v)) {
		*out = *v;
		out->own = false;
		out->j = NULL;
		return 0;
	}
	if (v->k != TV_STR)
		return 0;
	b = v->n;
	while (a < b && is_blank_str(v->s + a, 1))
		a++;
	while (b > a && is_blank_str(v->s + b - 1, 1))
		b--;
	if (b == a || b - a >= sizeof(buf))
		return 0;
	memcpy(buf, v->s + a, b - a);
	buf[b - a] = '\0';
	{
		long long i = strtoll(buf, &end, 10);

		if (*end == '\0') {
			*out = tv_int(i);
			return 0;
		}
	}
	{
		double d = strtod(buf, &end);

		if (*end == '\0' &&
		    (buf[0] == '-' || buf[0] == '+' || buf[0] == '.' ||
		     (buf[0] >= '0' && buf[0] <= '9')))
			*out = tv_real(d);
	}
	return 0;
}

/* ---- Operands and expressions --------------------------------------- */

static size_t utf8_len(const char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			k++;
	return k;
}

/* Replace v (borrowed chain) by one step of access. */
static void access_step(tv *v, const tmpl_access *a)
{
	if (a->key == NULL) {
		long long i = a->index;
		size_t n;

		if (v->k != TV_ARR) {
			*v = tv_nil();
			return;
		}
		n = json_array_size(v->j);
		if (i < 0)
			i += (long long)n;
		*v = i >= 0 && (size_t)i < n
			     ? tv_json(json_array_get(v->j, (size_t)i), false)
			     : tv_nil();
		return;
	}
	if (v->k == TV_OBJ) {
		json_t *e = scim_json_get_ci(v->j, a->key);

		if (e != NULL || (strcmp(a->key, "size") != 0)) {
			*v = tv_json(e, false);
			return;
		}
	}
	if (strcmp(a->key, "size") == 0) {
		if (v->k == TV_ARR)
			*v = tv_int((long long)json_array_size(v->j));
		else if (v->k == TV_OBJ)
			*v = tv_int((long long)json_object_size(v->j));
		else if (v->k == TV_STR)
			*v = tv_int((long long)utf8_len(v->s, v->n));
		else
			*v = tv_nil();
		return;
	}
	if (v->k == TV_ARR &&
	    (strcmp(a->key, "first") == 0 || strcmp(a->key, "last") == 0)) {
		size_t n = json_array_size(v->j);

		*v = n == 0 ? tv_nil()
			    : tv_json(json_array_get(v->j, a->key[0] == 'f'
								   ? 0
								   : n - 1),
				      false);
		return;
	}
	*v = tv_nil();
}

static void eval_path(tmpl_ctx *c, const tmpl_opnd *o, tv *out)
{
	const scim_path *p = o->path;
	json_t *cont, *v;

	if (p->filter == NULL) {
		cont = scim_path_container(p, (json_t *)c->res, false);
		if (cont == NULL) {
			*out = tv_nil();
			return;
		}
		if (p->attr_name == NULL) {
			*out = tv_json(cont, false);
			return;
		}
		v = scim_json_get_ci(cont, p->attr_name);
		if (p->sub_name == NULL || v == NULL) {
			*out = tv_json(v, false);
			return;
		}
		if (json_is_object(v)) {
			*out = tv_json(scim_json_get_ci(v, p->sub_name), false);
			return;
		}
		if (!json_is_array(v)) {
			*out = tv_nil();
			return;
		}
	}
	v = scim_path_get(p, c->res);
	if (o->unwrap && json_array_size(v) == 1) {
		*out = tv_json(json_array_get(v, 0), false);
		tv_own(out);
		json_decref(v);
		return;
	}
	*out = tv_json(v, true);
}

static int eval_opnd(tmpl_ctx *c, const tmpl_opnd *o, tv *out)
{
	int i;

	switch (o->kind) {
	case OP_LIT:
		*out = o->lit;
		out->own = false;
		return 0;
	case OP_VAR:
		if (o->slot >= 0 && o->nacc >= 0 &&
		    c->vars[o->slot].k != TV_UNDEF) {
			*out = c->vars[o->slot];
			out->own = false;
			for (i = 0; i < o->nacc; i++)
				access_step(out, &o->acc[i]);
			return 0;
		}
		if (o->path != NULL)
			eval_path(c, o, out);
		else
			*out = tv_nil();
		return 0;
	case OP_EVENT:
		*out = c->event != NULL ? tv_json((json_t *)c->event, false)
					: tv_nil();
		for (i = 0; i < o->nacc; i++)
			access_step(out, &o->acc[i]);
		return 0;
	case OP_FORLOOP: {
		const tmpl_loop *l = c->loop;
		const char *k;

		*out = tv_nil();
		if (l == NULL || o->nacc < 1 || o->acc[0].key == NULL)
			return 0;
		k = o->acc[0].key;
		if (strcmp(k, "index") == 0)
			*out = tv_int(l->index0 + 1);
		else if (strcmp(k, "index0") == 0)
			*out = tv_int(l->index0);
		else if (strcmp(k, "rindex") == 0)
			*out = tv_int(l->length - l->index0);
		else if (strcmp(k, "rindex0") == 0)
			*out = tv_int(l->length - l->index0 - 1);
		else if (strcmp(k, "first") == 0)
			*out = tv_bool(l->index0 == 0);
		else if (strcmp(k, "last") == 0)
			*out = tv_bool(l->index0 == l->length - 1);
		else if (strcmp(k, "length") == 0)
			*out = tv_int(l->length);
		return 0;
	}
	case OP_RANGE:
	default:
		*out = tv_nil();
		return 0;
	}
}

static int eval_expr(tmpl_ctx *c, const tmpl_expr *e, tv *out)
{
	tv args[TMPL_MAX_ARGS];
	int i, k, rc;

	if (eval_opnd(c, &e->base, out) < 0)
		return -1;
	for (i = 0; i < e->nfilters; i++) {
		const tmpl_fcall *f = &e->filters[i];

		for (k = 0; k < f->nargs; k++)
			eval_opnd(c, &f->args[k], &args[k]);
		c->line = f->line;
		c->column = f->column;
		rc = f->def->fn(c, out, args, f->nargs);
		for (k = 0; k < f->nargs; k++)
			tv_free(&args[k]);
		/* big values cost steps, so loops over them stay bounded */
		if (rc == 0 && out->k == TV_STR)
			c->steps += (long)(out->n / 4096);
		else if (rc == 0 && out->k == TV_ARR)
			c->steps += (long)(json_array_size(out->j) / 64);
		if (rc == 0 && c->steps > TMPL_MAX_STEPS)
			rc = tmpl_fail(c, "template ran more than %d steps",
				       TMPL_MAX_STEPS);
		if (rc < 0) {
			tv_free(out);
			return -1;
		}
	}
	return 0;
}

static bool compare(const tv *a, enum cmp_op op, const tv *b)
{
	int r;

	switch (op) {
	case CMP_TRUTH:
		return tv_truthy(a);
	case CMP_EQ:
		return tv_equal(a, b);
	case CMP_NE:
		return !tv_equal(a, b);
	case CMP_CONTAINS:
		if (a->k == TV_STR && b->k == TV_STR)
			return b->n == 0 ||
			       memmem(a->s, a->n, b->s, b->n) != NULL;
		if (a->k == TV_ARR) {
			size_t i;

			for (i = 0; i < json_array_size(a->j); i++) {
				tv e = tv_json(json_array_get(a->j, i), false);

				if (tv_equal(&e, b))
					return true;
			}
		}
		return false;
	default:
		if (!tv_order(a, b, &r))
			return false;
		return op == CMP_LT   ? r < 0
		       : op == CMP_GT ? r > 0
		       : op == CMP_LE ? r <= 0
				      : r >= 0;
	}
}

static bool eval_term(tmpl_ctx *c, const tmpl_cond *cd, int i)
{
	tv a, b = {0};
	bool r;

	eval_opnd(c, &cd->lhs[i], &a);
	if (cd->ops[i] != CMP_TRUTH)
		eval_opnd(c, &cd->rhs[i], &b);
	r = compare(&a, cd->ops[i], &b);
	tv_free(&a);
	tv_free(&b);
	return r;
}

/* Liquid evaluates and/or from the right, without precedence. */
static bool eval_cond(tmpl_ctx *c, const tmpl_cond *cd)
{
	int i = cd->nterms - 1;
	bool r = eval_term(c, cd, i);

	for (i--; i >= 0; i--) {
		bool t = eval_term(c, cd, i);

		r = cd->or_next[i] ? (t || r) : (t && r);
	}
	return r;
}

/* ---- Nodes ----------------------------------------------------------- */

static int render_list(tmpl_ctx *c, const tmpl_list *l);

static int step(tmpl_ctx *c)
{
	if (++c->steps > TMPL_MAX_STEPS)
		return tmpl_fail(c, "template ran more than %d steps",
				 TMPL_MAX_STEPS);
	return 0;
}

static long long opnd_int(tmpl_ctx *c, const tmpl_opnd *o, long long dflt)
{
	tv v, n;

	if (o == NULL)
		return dflt;
	eval_opnd(c, o, &v);
	if (v.k == TV_NIL || v.k == TV_UNDEF) {
		tv_free(&v);
		return dflt;
	}
	tv_to_number(&v, &n);
	tv_free(&v);
	if (n.k == TV_REAL)
		return isfinite(n.d) && fabs(n.d) < 9e18 ? (long long)n.d : 0;
	return n.i;
}

static int render_for(tmpl_ctx *c, const tmpl_node *n)
{
	const tmpl_opnd *o = &n->expr.base;
	long long lo = 0, count, from, to, k;
	tmpl_loop loop;
	tv coll = {0}, saved;
	int rc = 0;

	if (o->kind == OP_RANGE) {
		long long hi = opnd_int(c, o->hi, 0);

		lo = opnd_int(c, o->lo, 0);
		if (hi < lo)
			count = 0;
		else if (__builtin_sub_overflow(hi, lo, &count) ||
			 __builtin_add_overflow(count, 1, &count))
			count = LLONG_MAX;
		coll = tv_nil();
	} else {
		eval_opnd(c, o, &coll);
		if (tv_own(&coll) < 0)
			return tmpl_fail(c, "out of memory");
		if (coll.k == TV_ARR)
			count = (long long)json_array_size(coll.j);
		else if (coll.k == TV_NIL || coll.k == TV_UNDEF ||
			 (coll.k == TV_BOOL && !coll.b) || is_emptyish(&coll))
			count = 0;
		else
			count = 1;
	}
	from = opnd_int(c, n->offset, 0);
	if (from < 0)
		from = 0;
	to = count;
	if (n->limit != NULL) {
		long long lim = opnd_int(c, n->limit, count);

		if (lim < 0)
			lim = 0;
		if (lim < to - from)
			to = from + lim;
	}
	if (from > to)
		from = to;
	if (to == from) {
		tv_free(&coll);
		return n->has_else ? render_list(c, &n->else_body) : 0;
	}
	saved = c->vars[n->slot];
	memset(&c->vars[n->slot], 0, sizeof(tv));
	loop.length = to - from;
	loop.parent = c->loop;
	c->loop = &loop;
	for (k = 0; k < to - from; k++) {
		long long idx = n->reversed ? to - 1 - k : from + k;
		tv *var = &c->vars[n->slot];

		if ((rc = step(c)) < 0)
			break;
		loop.index0 = k;
		tv_free(var);
		if (o->kind == OP_RANGE)
			*var = tv_int(lo + idx);
		else if (coll.k == TV_ARR)
			*var = tv_json(json_array_get(coll.j, (size_t)idx),
				       false);
		else
			*var = coll, var->own = false;
		if ((rc = render_list(c, &n->body)) < 0)
			break;
		if (c->brk == 1) {
			c->brk = 0;
			break;
		}
		c->brk = 0;
	}
	c->loop = loop.parent;
	tv_free(&c->vars[n->slot]);
	c->vars[n->slot] = saved;
	tv_free(&coll);
	return rc;
}

static int render_node(tmpl_ctx *c, const tmpl_node *n)
{
	tv v;
	int i, k;

	c->line = n->line;
	c->column = n->column;
	switch (n->kind) {
	case N_TEXT:
		return sbuf_add(c, c->out, n->text, n->len);
	case N_OUTPUT:
		if (eval_expr(c, &n->expr, &v) < 0)
			return -1;
		k = tv_append_str(c, c->out, &v);
		tv_free(&v);
		return k;
	case N_IF:
		for (i = 0; i < n->nbranches; i++) {
			const tmpl_branch *b = &n->branches[i];

			if (eval_cond(c, &b->cond) != b->negate)
				return render_list(c, &b->body);
		}
		return n->has_else ? render_list(c, &n->else_body) : 0;
	case N_CASE: {
		bool matched = false;
		int rc = 0;

		if (eval_expr(c, &n->expr, &v) < 0)
			return -1;
		for (i = 0; i < n->nbranches && rc == 0 && !c->brk; i++) {
			const tmpl_branch *b = &n->branches[i];

			for (k = 0; k < b->nwhens; k++) {
				tv w;
				bool eq;

				eval_opnd(c, &b->whens[k], &w);
				eq = tv_equal(&v, &w);
				tv_free(&w);
				if (eq) {
					matched = true;
					rc = render_list(c, &b->body);
					break;
				}
			}
		}
		tv_free(&v);
		if (rc == 0 && !matched && n->has_else)
			rc = render_list(c, &n->else_body);
		return rc;
	}
	case N_FOR:
		return render_for(c, n);
	case N_BREAK:
		c->brk = 1;
		return 0;
	case N_CONTINUE:
		c->brk = 2;
		return 0;
	case N_ASSIGN:
		if (eval_expr(c, &n->expr, &v) < 0)
			return -1;
		if (tv_own(&v) < 0)
			return tmpl_fail(c, "out of memory");
		if (v.k == TV_UNDEF)
			v.k = TV_NIL;
		tv_free(&c->vars[n->slot]);
		c->vars[n->slot] = v;
		return 0;
	case N_CAPTURE: {
		tmpl_sbuf b = {0}, *saved = c->out;
		size_t len;
		char *s;
		int rc;

		c->out = &b;
		rc = render_list(c, &n->body);
		c->out = saved;
		if (rc < 0) {
			free(b.p);
			return -1;
		}
		if ((s = sbuf_take(&b, &len)) == NULL)
			return tmpl_fail(c, "out of memory");
		tv_free(&c->vars[n->slot]);
		c->vars[n->slot] = tv_str_take(s, len);
		return 0;
	}
	}
	return 0;
}

static int render_list(tmpl_ctx *c, const tmpl_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (step(c) < 0 || render_node(c, l->v[i]) < 0)
			return -1;
		if (c->brk)
			return 0;
	}
	return 0;
}

/* Append the text of v to arr as one value, unless it is empty. */
static int add_value(tmpl_ctx *c, json_t *arr, const tv *v)
{
	json_t *s;

	c->scratch.n = 0;
	if (tv_append_str(c, &c->scratch, v) < 0)
		return -1;
	if (c->scratch.n == 0)
		return 0;
	if (json_array_size(arr) >= TMPL_MAX_VALUES)
		return tmpl_fail(c, "more than %d values", TMPL_MAX_VALUES);
	s = json_stringn(c->scratch.p, c->scratch.n);
	if (s == NULL)
		return tmpl_fail(c, "value is not valid UTF-8");
	return json_array_append_new(arr, s) < 0 ? tmpl_fail(c, "out of memory")
						 : 0;
}

int tmpl_render(json_t **out, const tmpl *t, const json_t *resource,
		const json_t *event, tmpl_error *err)
{
	tv stackvars[32];
	tmpl_sbuf outb = {0};
	tmpl_ctx c;
	json_t *arr;
	int rc = 0, i;

	*out = NULL;
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.res = resource;
	c.event = event;
	c.err = err;
	c.out = &outb;
	if ((arr = json_array()) == NULL)
		return tmpl_fail(&c, "out of memory");
	if (t->nnames <= 32) {
		memset(stackvars, 0, sizeof(stackvars));
		c.vars = stackvars;
	} else if ((c.vars = calloc((size_t)t->nnames, sizeof(tv))) == NULL) {
		json_decref(arr);
		return tmpl_fail(&c, "out of memory");
	}
	if (t->single) {
		const tmpl_node *n = t->body.v[0];
		tv v;

		c.line = n->line;
		c.column = n->column;
		rc = eval_expr(&c, &n->expr, &v);
		if (rc == 0 && v.k == TV_ARR) {
			size_t k;

			for (k = 0; k < json_array_size(v.j) && rc == 0; k++) {
				tv e = tv_json(json_array_get(v.j, k), false);

				rc = add_value(&c, arr, &e);
			}
		} else if (rc == 0) {
			rc = add_value(&c, arr, &v);
		}
		if (rc == 0 || v.k != TV_UNDEF)
			tv_free(&v);
	} else {
		rc = render_list(&c, &t->body);
		if (rc == 0 && outb.n > 0) {
			json_t *s = json_stringn(outb.p, outb.n);

			if (s == NULL)
				rc = tmpl_fail(&c, "value is not valid UTF-8");
			else
				json_array_append_new(arr, s);
		}
	}
	for (i = 0; i < t->nnames; i++)
		tv_free(&c.vars[i]);
	if (c.vars != stackvars)
		free(c.vars);
	free(outb.p);
	free(c.scratch.p);
	if (rc < 0) {
		json_decref(arr);
		return -1;
	}
	*out = arr;
	return 0;
}

char *tmpl_render_string(const tmpl *t, const json_t *resource,
			 const json_t *event, tmpl_error *err)
{
	json_t *arr;
	size_t i, n = 0;
	char *s;

	if (tmpl_render(&arr, t, resource, event, err) < 0)
		return NULL;
	for (i = 0; i < json_array_size(arr); i++)
		n += json_string_length(json_array_get(arr, i)) + 1;
	if ((s = malloc(n + 1)) != NULL) {
		n = 0;
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *e = json_array_get(arr, i);

			if (i > 0)
				s[n++] = ',';
			memcpy(s + n, json_string_value(e),
			       json_string_length(e));
			n += json_string_length(e);
		}
		s[n] = '\0';
	}
	json_decref(arr);
	return s;
}
