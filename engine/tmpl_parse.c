/* tmpl_parse.c - compiling templates (see tmpl.h for the language).
 *
 * Two passes: the source is cut into segments (text, {{ output }} and
 * {% tag %}, with raw and comment bodies and whitespace control resolved),
 * then a recursive descent over the segments builds the tree of
 * tmpl_int.h. Inside a segment a small lexer reads literals, operators
 * and "identifiers": a variable or SCIM path such as
 * emails[type eq "x"].value or urn:...:2.0:User:manager.value, which are
 * parsed once here (scim_path_parse_n) and never again at render time.
 * Every error names the line and column in the file. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strutil.h"
#include "tmpl_int.h"

enum seg_kind { S_TEXT, S_OUT, S_TAG };

typedef struct seg {
	enum seg_kind kind;
	size_t a, b; /* text, or the content between the delimiters */
	size_t open; /* offset of "{{" / "{%" (text: a) */
	bool tl, tr; /* {{- and -}} */
} seg;

typedef struct pstate {
	tmpl *t;
	const char *s; /* t->src */
	size_t len;
	int line0, col0;
	tmpl_error *err;
	seg *segs;
	size_t nsegs, cap;
	size_t i; /* next segment */
	int depth;
} pstate;

enum tok_kind {
	T_END,
	T_IDENT,
	T_STR,
	T_NUM,
	T_OP,
	T_PIPE,
	T_COLON,
	T_COMMA,
	T_LPAR,
	T_RPAR,
	T_DOTDOT,
	T_ASSIGN
};

typedef struct lexer {
	pstate *p;
	size_t pos, end;
	enum tok_kind k;
	size_t a, b; /* current token */
} lexer;

static void pos_lc(const pstate *p, size_t off, int *line, int *col)
{
	int l = p->line0, c = p->col0;
	size_t i;

	for (i = 0; i < off && i < p->len; i++) {
		if (p->s[i] == '\n') {
			l++;
			c = 1;
		} else {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static int perr(pstate *p, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(pstate *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (p->err == NULL)
		return -1;
	pos_lc(p, off, &p->err->line, &p->err->column);
	snprintf(p->err->file, sizeof(p->err->file), "%s", p->t->file);
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int oom(pstate *p, size_t off)
{
	return perr(p, off, "out of memory");
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_name(char c)
{
	return is_alpha(c) || is_digit(c) || c == '_' || c == '-';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* ---- Segments -------------------------------------------------------- */

static int seg_add(pstate *p, enum seg_kind k, size_t a, size_t b, size_t open)
{
	seg *s;

	if (p->nsegs == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		seg *v = realloc(p->segs, cap * sizeof(*v));

		if (v == NULL)
			return oom(p, open);
		p->segs = v;
		p->cap = cap;
	}
	s = &p->segs[p->nsegs++];
	memset(s, 0, sizeof(*s));
	s->kind = k;
	s->a = a;
	s->b = b;
	s->open = open;
	return 0;
}

/* Offset of the closing delimiter ("}}" or "%}", c1 c2) of a segment whose
 * content starts at i, skipping quoted strings; sets *close. */
static int find_end(pstate *p, size_t open, size_t i, char c1, size_t *close)
{
	for (; i < p->len; i++) {
		char c = p->s[i];

		if (c == '"' || c == '\'') {
			size_t q = i;

			for (i++; i < p->len && p->s[i] != c; i++)
				if (p->s[i] == '\\' && i + 1 < p->len)
					i++;
			if (i >= p->len)
				return perr(p, q, "unterminated string");
		} else if (c == c1 && i + 1 < p->len && p->s[i + 1] == '}') {
			*close = i;
			return 0;
		}
	}
	return perr(p, open, "expected '%c}' to close '{%c'", c1,
		    c1 == '}' ? '{' : '%');
}

/* The tag name of a {% %} segment content [a,b): sets *na, *nb. */
static void tag_name(const pstate *p, size_t a, size_t b, size_t *na,
		     size_t *nb)
{
	while (a < b && is_space(p->s[a]))
		a++;
	*na = a;
	if (a < b && p->s[a] == '#') {
		*nb = a + 1;
		return;
	}
	while (a < b && is_name(p->s[a]))
		a++;
	*nb = a;
}

static bool name_is(const pstate *p, size_t a, size_t b, const char *w)
{
	return b - a == strlen(w) && memcmp(p->s + a, w, b - a) == 0;
}

/* Read one "{% ... %}" starting at i (which is at "{%"); fills the span
 * and trim flags. */
static int read_tag(pstate *p, size_t i, size_t *a, size_t *b, size_t *next,
		    bool *tl, bool *tr)
{
	size_t close;

	*a = i + 2;
	*tl = *a < p->len && p->s[*a] == '-';
	if (*tl)
		(*a)++;
	if (find_end(p, i, *a, '%', &close) < 0)
		return -1;
	*b = close;
	*tr = *b > *a && p->s[*b - 1] == '-';
	if (*tr)
		(*b)--;
	*next = close + 2;
	return 0;
}

/* After a raw or comment tag ending at i: find the matching end tag.
 * Sets *body_end (start of the end tag) and *next (after it). */
static int skip_body(pstate *p, size_t open, size_t i, const char *start,
		     const char *stop, size_t *body_end, size_t *next, bool *tl,
		     bool *tr)
{
	int depth = 1;
	bool raw = strcmp(start, "raw") == 0;

	while (i + 1 < p->len) {
		size_t a, b, na, nb, nx;
		const char *q = memchr(p->s + i, '{', p->len - i);

		if (q == NULL)
			break;
		i = (size_t)(q - p->s);
		if (i + 1 >= p->len || p->s[i + 1] != '%') {
			i++;
			continue;
		}
		if (raw) {
			/* raw bodies may hold anything, even stray quotes */
			size_t k = i + 2;

			if (k < p->len && p->s[k] == '-')
				k++;
			while (k < p->len && is_space(p->s[k]))
				k++;
			if (p->len - k >= 6 &&
			    memcmp(p->s + k, "endraw", 6) == 0 &&
			    read_tag(p, i, &a, &b, &nx, tl, tr) == 0) {
				tag_name(p, a, b, &na, &nb);
				if (name_is(p, na, nb, "endraw")) {
					*body_end = i;
					*next = nx;
					return 0;
				}
			}
			i += 2;
			continue;
		}
		if (read_tag(p, i, &a, &b, &nx, tl, tr) < 0)
			return -1;
		tag_name(p, a, b, &na, &nb);
		if (name_is(p, na, nb, start))
			depth++;
		else if (name_is(p, na, nb, stop) && --depth == 0) {
			*body_end = i;
			*next = nx;
			return 0;
		}
		i = nx;
	}
	return perr(p, open, "'%s' not closed: expected '{%% %s %%}'", start,
		    stop);
}

static int segment(pstate *p)
{
	size_t i = 0, text = 0;

	while (i < p->len) {
		size_t a, b, next, na, nb;
		bool tl, tr;

		if (p->s[i] != '{' || i + 1 >= p->len ||
		    (p->s[i + 1] != '{' && p->s[i + 1] != '%')) {
			i++;
			continue;
		}
		if (i > text && seg_add(p, S_TEXT, text, i, text) < 0)
			return -1;
		if (p->s[i + 1] == '{') {
			size_t close;

			a = i + 2;
			tl = a < p->len && p->s[a] == '-';
			if (tl)
				a++;
			if (find_end(p, i, a, '}', &close) < 0)
				return -1;
			b = close;
			tr = b > a && p->s[b - 1] == '-';
			if (tr)
				b--;
			if (seg_add(p, S_OUT, a, b, i) < 0)
				return -1;
			p->segs[p->nsegs - 1].tl = tl;
			p->segs[p->nsegs - 1].tr = tr;
			i = text = close + 2;
			continue;
		}
		if (read_tag(p, i, &a, &b, &next, &tl, &tr) < 0)
			return -1;
		tag_name(p, a, b, &na, &nb);
		if (name_is(p, na, nb, "raw") ||
		    name_is(p, na, nb, "comment")) {
			bool raw = p->s[na] == 'r', etl = false, etr = false;
			size_t body_end = 0, after = 0;

			if (skip_body(p, i, next, raw ? "raw" : "comment",
				      raw ? "endraw" : "endcomment", &body_end,
				      &after, &etl, &etr) < 0)
				return -1;
			/* a zero-width tag carries the trim flags */
			if (seg_add(p, S_TAG, na, na, i) < 0)
				return -1;
			p->segs[p->nsegs - 1].tl = tl;
			if (raw && body_end > next &&
			    seg_add(p, S_TEXT, next, body_end, next) < 0)
				return -1;
			if (seg_add(p, S_TAG, na, na, body_end) < 0)
				return -1;
			p->segs[p->nsegs - 1].tr = etr;
			i = text = after;
			continue;
		}
		if (seg_add(p, S_TAG, a, b, i) < 0)
			return -1;
		p->segs[p->nsegs - 1].tl = tl;
		p->segs[p->nsegs - 1].tr = tr;
		i = text = next;
	}
	if (p->len > text && seg_add(p, S_TEXT, text, p->len, text) < 0)
		return -1;
	/* whitespace control */
	for (i = 0; i < p->nsegs; i++) {
		seg *s = &p->segs[i];

		if (s->kind != S_TEXT)
			continue;
		if (i > 0 && p->segs[i - 1].tr)
			while (s->a < s->b && is_space(p->s[s->a]))
				s->a++;
		if (i + 1 < p->nsegs && p->segs[i + 1].tl)
			while (s->b > s->a && is_space(p->s[s->b - 1]))
				s->b--;
	}
	return 0;
}

/* ---- Lexer ----------------------------------------------------------- */

static int lex(lexer *l)
{
	pstate *p = l->p;
	const char *s = p->s;
	size_t i = l->pos;

	while (i < l->end && is_space(s[i]))
		i++;
	l->a = i;
	if (i >= l->end) {
		l->k = T_END;
		l->b = l->pos = i;
		return 0;
	}
	if (s[i] == '"' || s[i] == '\'') {
		char q = s[i];

		for (i++; i < l->end && s[i] != q; i++)
			if (s[i] == '\\' && i + 1 < l->end)
				i++;
		if (i >= l->end)
			return perr(p, l->a, "unterminated string");
		l->k = T_STR;
		i++;
	} else if (is_digit(s[i]) ||
		   (s[i] == '-' && i + 1 < l->end && is_digit(s[i + 1]))) {
		i++;
		while (i < l->end && is_digit(s[i]))
			i++;
		if (i + 1 < l->end && s[i] == '.' && is_digit(s[i + 1])) {
			i++;
			while (i < l->end && is_digit(s[i]))
				i++;
		}
		l->k = T_NUM;
	} else if (is_alpha(s[i]) || s[i] == '_') {
		bool urn = l->end - i > 4 &&
			   scim_strncasecmp(s + i, "urn:", 4) == 0;

		while (i < l->end) {
			char c = s[i];

			if (is_name(c) || (c == ':' && urn)) {
				i++;
			} else if (c == '.' &&
				   !(i + 1 < l->end && s[i + 1] == '.')) {
				i++;
			} else if (c == '[') {
				size_t o = i;
				int depth = 0;

				for (; i < l->end; i++) {
					if (s[i] == '"' || s[i] == '\'') {
						char q = s[i];

						for (i++;
						     i < l->end && s[i] != q;
						     i++)
							if (s[i] == '\\' &&
							    i + 1 < l->end)
								i++;
					} else if (s[i] == '[') {
						depth++;
					} else if (s[i] == ']' &&
						   --depth == 0) {
						break;
					}
				}
				if (i >= l->end)
					return perr(p, o, "expected ']'");
				i++;
			} else {
				break;
			}
		}
		l->k = T_IDENT;
	} else if (s[i] == '.' && i + 1 < l->end && s[i + 1] == '.') {
		l->k = T_DOTDOT;
		i += 2;
	} else if (s[i] == '=' && i + 1 < l->end && s[i + 1] == '=') {
		l->k = T_OP;
		i += 2;
	} else if ((s[i] == '!' || s[i] == '<' || s[i] == '>') &&
		   i + 1 < l->end &&
		   (s[i + 1] == '=' || (s[i] == '<' && s[i + 1] == '>'))) {
		l->k = T_OP;
		i += 2;
	} else if (s[i] == '<' || s[i] == '>') {
		l->k = T_OP;
		i++;
	} else {
		static const char single[] = "|:,()=";
		static const enum tok_kind kinds[] = {
			T_PIPE, T_COLON, T_COMMA, T_LPAR, T_RPAR, T_ASSIGN};
		const char *f = memchr(single, s[i], sizeof(single) - 1);

		if (f == NULL)
			return perr(p, i, "unexpected character '%c'", s[i]);
		l->k = kinds[f - single];
		i++;
	}
	l->b = l->pos = i;
	return 0;
}

static bool tok_is(const lexer *l, const char *w)
{
	return l->k == T_IDENT && name_is(l->p, l->a, l->b, w);
}

static void lexer_init(lexer *l, pstate *p, size_t a, size_t b)
{
	l->p = p;
	l->pos = a;
	l->end = b;
	l->k = T_END;
	l->a = l->b = a;
}

/* What the current token is, for "expected X, got Y" messages. */
static const char *tok_desc(const lexer *l, char *buf, size_t n)
{
	if (l->k == T_END)
		return "end of tag";
	snprintf(buf, n, "'%.*s'", (int)(l->b - l->a > 40 ? 40 : l->b - l->a),
		 l->p->s + l->a);
	return buf;
}

static int expected(lexer *l, const char *what)
{
	char buf[64];

	return perr(l->p, l->a, "expected %s, got %s", what,
		    tok_desc(l, buf, sizeof(buf)));
}

/* ---- Operands -------------------------------------------------------- */

static int slot_of(pstate *p, const char *s, size_t n, size_t off)
{
	tmpl *t = p->t;
	char **v;
	int i;

	for (i = 0; i < t->nnames; i++)
		if (strlen(t->names[i]) == n && memcmp(t->names[i], s, n) == 0)
			return i;
	v = realloc(t->names, (size_t)(t->nnames + 1) * sizeof(*v));
	if (v == NULL)
		return oom(p, off);
	t->names = v;
	if ((v[t->nnames] = strndup(s, n)) == NULL)
		return oom(p, off);
	return t->nnames++;
}

/* Decode a quoted string token (quotes included): \\ \" \' are escapes,
 * any other backslash is kept. */
static char *unquote(const char *s, size_t n, size_t *outlen)
{
	char *o = malloc(n + 1);
	size_t i, k = 0;

	if (o == NULL)
		return NULL;
	for (i = 1; i + 1 < n; i++) {
		if (s[i] == '\\' && i + 2 < n &&
		    (s[i + 1] == '\\' || s[i + 1] == '"' || s[i + 1] == '\''))
			i++;
		o[k++] = s[i];
	}
	o[k] = '\0';
	*outlen = k;
	return o;
}

/* Parse ".a", "[0]", ["k"] steps in [a,b); -1 if they are not all such. */
static int parse_access(pstate *p, size_t a, size_t b, tmpl_opnd *o)
{
	const char *s = p->s;

	while (a < b) {
		tmpl_access *v, *x;
		size_t e;

		if (o->nacc >= TMPL_MAX_ACCESS)
			return -1;
		v = realloc(o->acc, (size_t)(o->nacc + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		o->acc = v;
		x = &v[o->nacc];
		x->key = NULL;
		x->index = 0;
		if (s[a] == '.') {
			e = ++a;
			while (e < b && is_name(s[e]))
				e++;
			if (e == a)
				return -1;
			if ((x->key = strndup(s + a, e - a)) == NULL)
				return -1;
			o->nacc++;
			a = e;
		} else if (s[a] == '[') {
			e = a + 1;
			if (e < b && (s[e] == '"' || s[e] == '\'')) {
				char q = s[e];
				size_t n;

				for (e++; e < b && s[e] != q; e++)
					;
				if (e + 1 >= b || s[e + 1] != ']')
					return -1;
				x->key =
					unquote(s + a + 1, e + 1 - (a + 1), &n);
				if (x->key == NULL)
					return -1;
				o->nacc++;
				a = e + 2;
			} else {
				char *end;
				long long idx;

				if (e >= b || !(is_digit(s[e]) || s[e] == '-'))
					return -1;
				idx = strtoll(s + e, &end, 10);
				if (end >= s + b || *end != ']')
					return -1;
				x->index = idx;
				o->nacc++;
				a = (size_t)(end - s) + 1;
			}
		} else {
			return -1;
		}
	}
	return 0;
}

static int parse_opnd(lexer *l, tmpl_opnd *o);

static int parse_ident(lexer *l, tmpl_opnd *o)
{
	pstate *p = l->p;
	const char *s = p->s;
	size_t a = l->a, b = l->b, r = a;
	static const struct {
		const char *w;
		enum tv_kind k;
		bool b;
	} kw[] = {{"true", TV_BOOL, true},    {"false", TV_BOOL, false},
		  {"nil", TV_NIL, false},     {"null", TV_NIL, false},
		  {"empty", TV_EMPTY, false}, {"blank", TV_BLANK, false}};
	scim_error serr;
	size_t k;
	int acc_rc;

	for (k = 0; k < sizeof(kw) / sizeof(kw[0]); k++) {
		if (name_is(p, a, b, kw[k].w)) {
			o->kind = OP_LIT;
			o->lit.k = kw[k].k;
			o->lit.b = kw[k].b;
			return lex(l);
		}
	}
	if (b - a > 4 && scim_strncasecmp(s + a, "urn:", 4) == 0) {
		o->kind = OP_VAR;
		o->slot = -1;
		if (scim_path_parse_n(&o->path, p->t->rt, s + a, b - a, &serr) <
		    0)
			return perr(p, a, "invalid attribute path: %s",
				    serr.detail);
		o->unwrap = o->path->filter != NULL;
		return lex(l);
	}
	while (r < b && is_name(s[r]))
		r++;
	if (name_is(p, a, r, "event") || name_is(p, a, r, "forloop")) {
		o->kind = s[a] == 'e' ? OP_EVENT : OP_FORLOOP;
		if (parse_access(p, r, b, o) < 0)
			return perr(p, a, "invalid %s access",
				    o->kind == OP_EVENT ? "event" : "forloop");
		return lex(l);
	}
	o->kind = OP_VAR;
	acc_rc = parse_access(p, r, b, o);
	if (scim_path_parse_n(&o->path, p->t->rt, s + a, b - a, &serr) < 0) {
		o->path = NULL;
		if (acc_rc < 0)
			return perr(p, a, "invalid attribute path: %s",
				    serr.detail);
	}
	if (acc_rc < 0) {
		/* only a path: drop the partial steps */
		tmpl_access *acc = o->acc;
		int i;

		for (i = 0; i < o->nacc; i++)
			free(acc[i].key);
		free(acc);
		o->acc = NULL;
		o->nacc = -1; /* no variable reading */
	}
	o->unwrap = o->path != NULL && o->path->filter != NULL;
	if ((o->slot = slot_of(p, s + a, r - a, a)) < 0)
		return -1;
	return lex(l);
}

static int parse_opnd(lexer *l, tmpl_opnd *o)
{
	pstate *p = l->p;

	memset(o, 0, sizeof(*o));
	switch (l->k) {
	case T_STR: {
		size_t n;
		char *s = unquote(p->s + l->a, l->b - l->a, &n);

		if (s == NULL)
			return oom(p, l->a);
		o->kind = OP_LIT;
		o->lit = tv_str_take(s, n);
		return lex(l);
	}
	case T_NUM: {
		const char *s = p->s + l->a;
		size_t n = l->b - l->a;
		char buf[64];

		if (n >= sizeof(buf))
			return perr(p, l->a, "number too long");
		memcpy(buf, s, n);
		buf[n] = '\0';
		o->kind = OP_LIT;
		if (memchr(buf, '.', n) != NULL)
			o->lit = tv_real(strtod(buf, NULL));
		else
			o->lit = tv_int(strtoll(buf, NULL, 10));
		return lex(l);
	}
	case T_IDENT:
		return parse_ident(l, o);
	case T_LPAR:
		o->kind = OP_RANGE;
		o->lo = calloc(1, sizeof(*o->lo));
		o->hi = calloc(1, sizeof(*o->hi));
		if (o->lo == NULL || o->hi == NULL)
			return oom(p, l->a);
		if (lex(l) < 0 || parse_opnd(l, o->lo) < 0)
			return -1;
		if (l->k != T_DOTDOT)
			return expected(l, "'..' in range");
		if (lex(l) < 0 || parse_opnd(l, o->hi) < 0)
			return -1;
		if (l->k != T_RPAR)
			return expected(l, "')' after range");
		return lex(l);
	default:
		return expected(l, "a value");
	}
}

/* expr := opnd ( '|' name [ ':' opnd (',' opnd)* ] )* */
static int parse_expr(lexer *l, tmpl_expr *e)
{
	pstate *p = l->p;

	if (parse_opnd(l, &e->base) < 0)
		return -1;
	while (l->k == T_PIPE) {
		tmpl_fcall *v, *f;
		size_t name_at;

		if (e->nfilters >= TMPL_MAX_FILTERS)
			return perr(p, l->a, "more than %d filters",
				    TMPL_MAX_FILTERS);
		if (lex(l) < 0)
			return -1;
		if (l->k != T_IDENT)
			return expected(l, "a filter name after '|'");
		v = realloc(e->filters, (size_t)(e->nfilters + 1) * sizeof(*v));
		if (v == NULL)
			return oom(p, l->a);
		e->filters = v;
		f = &v[e->nfilters++];
		memset(f, 0, sizeof(*f));
		name_at = l->a;
		pos_lc(p, name_at, &f->line, &f->column);
		f->def = tmpl_filter_find(p->s + l->a, l->b - l->a);
		if (f->def == NULL)
			return perr(p, l->a, "unknown filter '%.*s'",
				    (int)(l->b - l->a > 40 ? 40 : l->b - l->a),
				    p->s + l->a);
		if (lex(l) < 0)
			return -1;
		if (l->k == T_COLON) {
			f->args = calloc(TMPL_MAX_ARGS, sizeof(*f->args));
			if (f->args == NULL)
				return oom(p, l->a);
			do {
				if (lex(l) < 0)
					return -1;
				if (f->nargs >= f->def->max_args)
					return perr(
						p, l->a,
						"filter '%s' takes at most "
						"%d argument%s",
						f->def->name, f->def->max_args,
						f->def->max_args == 1 ? ""
								      : "s");
				if (parse_opnd(l, &f->args[f->nargs++]) < 0)
					return -1;
			} while (l->k == T_COMMA);
		}
		if (f->nargs < f->def->min_args)
			return perr(p, name_at,
				    "filter '%s' needs %d argument%s, got %d",
				    f->def->name, f->def->min_args,
				    f->def->min_args == 1 ? "" : "s", f->nargs);
		if (l->k != T_PIPE && l->k != T_END)
			return expected(l, "'|' or the end of the tag");
	}
	return 0;
}

static int parse_cond(lexer *l, tmpl_cond *c)
{
	pstate *p = l->p;

	for (;;) {
		int n = c->nterms;
		enum cmp_op op = CMP_TRUTH;
		void *v1, *v2, *v3, *v4;

		if (n >= TMPL_MAX_TERMS)
			return perr(p, l->a, "more than %d conditions",
				    TMPL_MAX_TERMS);
		v1 = realloc(c->lhs, (size_t)(n + 1) * sizeof(*c->lhs));
		if (v1 != NULL)
			c->lhs = v1;
		v2 = realloc(c->rhs, (size_t)(n + 1) * sizeof(*c->rhs));
		if (v2 != NULL)
			c->rhs = v2;
		v3 = realloc(c->ops, (size_t)(n + 1) * sizeof(*c->ops));
		if (v3 != NULL)
			c->ops = v3;
		v4 = realloc(c->or_next, (size_t)(n + 1) * sizeof(*c->or_next));
		if (v4 != NULL)
			c->or_next = v4;
		if (!v1 || !v2 || !v3 || !v4)
			return oom(p, l->a);
		memset(&c->lhs[n], 0, sizeof(c->lhs[n]));
		memset(&c->rhs[n], 0, sizeof(c->rhs[n]));
		c->ops[n] = CMP_TRUTH;
		c->or_next[n] = false;
		c->nterms++;
		if (parse_opnd(l, &c->lhs[n]) < 0)
			return -1;
		if (l->k == T_OP) {
			const char *s = p->s + l->a;

			if (s[0] == '=')
				op = CMP_EQ;
			else if (s[0] == '!' || (s[0] == '<' && s[1] == '>'))
				op = CMP_NE;
			else if (s[0] == '<')
				op = l->b - l->a == 2 ? CMP_LE : CMP_LT;
			else
				op = l->b - l->a == 2 ? CMP_GE : CMP_GT;
		} else if (tok_is(l, "contains")) {
			op = CMP_CONTAINS;
		}
		c->ops[n] = op;
		if (op != CMP_TRUTH) {
			if (lex(l) < 0 || parse_opnd(l, &c->rhs[n]) < 0)
				return -1;
		}
		if (tok_is(l, "and") || tok_is(l, "or")) {
			c->or_next[n] = p->s[l->a] == 'o';
			if (lex(l) < 0)
				return -1;
			continue;
		}
		if (l->k != T_END)
			return expected(l, "'and', 'or', an operator or the "
					   "end of the tag");
		return 0;
	}
}

/* ---- Blocks ---------------------------------------------------------- */

static void node_free(tmpl_node *n);

static void list_free(tmpl_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		node_free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static void opnd_free(tmpl_opnd *o);

void tmpl_opnd_clear(tmpl_opnd *o)
{
	int i;

	if (o->kind == OP_LIT)
		tv_free(&o->lit);
	scim_path_free(o->path);
	for (i = 0; i < o->nacc; i++)
		free(o->acc[i].key);
	free(o->acc);
	opnd_free(o->lo);
	opnd_free(o->hi);
	memset(o, 0, sizeof(*o));
}

/* Clear and free a heap operand (NULL is fine). */
static void opnd_free(tmpl_opnd *o)
{
	if (o == NULL)
		return;
	tmpl_opnd_clear(o);
	free(o);
}

static void expr_clear(tmpl_expr *e)
{
	int i, k;

	tmpl_opnd_clear(&e->base);
	for (i = 0; i < e->nfilters; i++) {
		if (e->filters[i].args == NULL)
			continue;
		for (k = 0; k < TMPL_MAX_ARGS; k++)
			tmpl_opnd_clear(&e->filters[i].args[k]);
		free(e->filters[i].args);
	}
	free(e->filters);
}

static void cond_clear(tmpl_cond *c)
{
	int i;

	for (i = 0; i < c->nterms; i++) {
		tmpl_opnd_clear(&c->lhs[i]);
		tmpl_opnd_clear(&c->rhs[i]);
	}
	free(c->lhs);
	free(c->rhs);
	free(c->ops);
	free(c->or_next);
}

static void node_free(tmpl_node *n)
{
	int i, k;

	if (n == NULL)
		return;
	expr_clear(&n->expr);
	for (i = 0; i < n->nbranches; i++) {
		tmpl_branch *b = &n->branches[i];

		cond_clear(&b->cond);
		for (k = 0; k < b->nwhens; k++)
			tmpl_opnd_clear(&b->whens[k]);
		free(b->whens);
		list_free(&b->body);
	}
	free(n->branches);
	list_free(&n->else_body);
	list_free(&n->body);
	opnd_free(n->limit);
	opnd_free(n->offset);
	free(n);
}

static tmpl_node *node_new(pstate *p, tmpl_list *l, enum node_kind k,
			   size_t off)
{
	tmpl_node *n;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 4;
		tmpl_node **v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL) {
			oom(p, off);
			return NULL;
		}
		l->v = v;
		l->cap = cap;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		oom(p, off);
		return NULL;
	}
	n->kind = k;
	pos_lc(p, off, &n->line, &n->column);
	l->v[l->n++] = n;
	return n;
}

static tmpl_branch *branch_new(pstate *p, tmpl_node *n, size_t off)
{
	tmpl_branch *v =
		realloc(n->branches, (size_t)(n->nbranches + 1) * sizeof(*v));

	if (v == NULL) {
		oom(p, off);
		return NULL;
	}
	n->branches = v;
	memset(&v[n->nbranches], 0, sizeof(*v));
	return &v[n->nbranches++];
}

/* Parse segments into l until a tag named in stops (NULL-terminated);
 * returns its index with p->i at that segment's lexer state in *lx, -2 at
 * the end of input, -1 on error. */
static int parse_list(pstate *p, tmpl_list *l, const char *const *stops,
		      lexer *lx);

static int end_of_tag(lexer *l)
{
	if (l->k != T_END)
		return expected(l, "the end of the tag");
	return 0;
}

static int not_closed(pstate *p, size_t open, const char *tag, const char *end)
{
	return perr(p, open, "'%s' not closed: expected '{%% %s %%}'", tag,
		    end);
}

static int parse_if(pstate *p, tmpl_node *n, lexer *l, bool unless, size_t open)
{
	static const char *const stops[] = {"elsif", "else", "endif", NULL};
	static const char *const ustops[] = {"elsif", "else", "endunless",
					     NULL};
	const char *const *st = unless ? ustops : stops;
	tmpl_branch *b = branch_new(p, n, open);
	int w;

	if (b == NULL)
		return -1;
	b->negate = unless;
	if (parse_cond(l, &b->cond) < 0)
		return -1;
	for (;;) {
		size_t at;

		w = parse_list(p, &b->body, st, l);
		if (w == -2)
			return not_closed(p, open, unless ? "unless" : "if",
					  st[2]);
		if (w < 0)
			return -1;
		at = p->segs[p->i - 1].open;
		if (w == 0) {
			if ((b = branch_new(p, n, at)) == NULL ||
			    parse_cond(l, &b->cond) < 0)
				return -1;
			continue;
		}
		if (end_of_tag(l) < 0)
			return -1;
		if (w == 2)
			return 0;
		n->has_else = true;
		w = parse_list(p, &n->else_body, st + 2, l);
		if (w == -2)
			return not_closed(p, open, unless ? "unless" : "if",
					  st[2]);
		if (w < 0)
			return -1;
		return end_of_tag(l);
	}
}

static int parse_whens(pstate *p, tmpl_branch *b, lexer *l)
{
	for (;;) {
		tmpl_opnd *v =
			realloc(b->whens, (size_t)(b->nwhens + 1) * sizeof(*v));

		if (v == NULL)
			return oom(p, l->a);
		b->whens = v;
		memset(&v[b->nwhens], 0, sizeof(*v));
		if (parse_opnd(l, &v[b->nwhens++]) < 0)
			return -1;
		if (b->nwhens > TMPL_MAX_TERMS)
			return perr(p, l->a, "too many values in 'when'");
		if (l->k == T_COMMA || tok_is(l, "or")) {
			if (lex(l) < 0)
				return -1;
			continue;
		}
		return end_of_tag(l);
	}
}

static int parse_case(pstate *p, tmpl_node *n, lexer *l, size_t open)
{
	static const char *const stops[] = {"when", "else", "endcase", NULL};
	tmpl_list junk = {0};
	tmpl_branch *b;
	int w;

	if (parse_expr(l, &n->expr) < 0 || end_of_tag(l) < 0)
		return -1;
	/* text before the first when is ignored */
	w = parse_list(p, &junk, stops, l);
	list_free(&junk);
	for (;;) {
		if (w == -2)
			return not_closed(p, open, "case", "endcase");
		if (w < 0)
			return -1;
		if (w == 2)
			return end_of_tag(l);
		if (w == 1) {
			if (end_of_tag(l) < 0)
				return -1;
			n->has_else = true;
			w = parse_list(p, &n->else_body, stops + 2, l);
			if (w == -2)
				return not_closed(p, open, "case", "endcase");
			if (w < 0)
				return -1;
			return end_of_tag(l);
		}
		if ((b = branch_new(p, n, l->a)) == NULL ||
		    parse_whens(p, b, l) < 0)
			return -1;
		w = parse_list(p, &b->body, stops, l);
	}
}

static int parse_for(pstate *p, tmpl_node *n, lexer *l, size_t open)
{
	static const char *const stops[] = {"else", "endfor", NULL};
	size_t r;
	int w;

	if (l->k != T_IDENT)
		return expected(l, "a loop variable name");
	for (r = l->a; r < l->b && is_name(p->s[r]); r++)
		;
	if (r != l->b)
		return expected(l, "a loop variable name");
	if ((n->slot = slot_of(p, p->s + l->a, l->b - l->a, l->a)) < 0 ||
	    lex(l) < 0)
		return -1;
	if (!tok_is(l, "in"))
		return expected(l, "'in'");
	if (lex(l) < 0 || parse_opnd(l, &n->expr.base) < 0)
		return -1;
	while (l->k != T_END) {
		tmpl_opnd **slot;

		if (tok_is(l, "reversed")) {
			n->reversed = true;
			if (lex(l) < 0)
				return -1;
			continue;
		}
		if (tok_is(l, "limit"))
			slot = &n->limit;
		else if (tok_is(l, "offset"))
			slot = &n->offset;
		else
			return expected(l, "'limit:', 'offset:', 'reversed' "
					   "or the end of the tag");
		if (*slot != NULL)
			return perr(p, l->a, "repeated loop option");
		if (lex(l) < 0)
			return -1;
		if (l->k != T_COLON)
			return expected(l, "':'");
		if ((*slot = calloc(1, sizeof(**slot))) == NULL)
			return oom(p, l->a);
		if (lex(l) < 0 || parse_opnd(l, *slot) < 0)
			return -1;
		if (l->k == T_COMMA && lex(l) < 0)
			return -1;
	}
	w = parse_list(p, &n->body, stops, l);
	if (w == -2)
		return not_closed(p, open, "for", "endfor");
	if (w < 0 || end_of_tag(l) < 0)
		return -1;
	if (w == 1)
		return 0;
	n->has_else = true;
	w = parse_list(p, &n->else_body, stops + 1, l);
	if (w == -2)
		return not_closed(p, open, "for", "endfor");
	if (w < 0)
		return -1;
	return end_of_tag(l);
}

static int parse_tag(pstate *p, tmpl_list *list, const seg *sg, lexer *l)
{
	size_t na = l->a, open = sg->open;
	tmpl_node *n;
	int rc = 0;

	if (tok_is(l, "if") || tok_is(l, "unless")) {
		bool unless = p->s[na] == 'u';

		if ((n = node_new(p, list, N_IF, open)) == NULL || lex(l) < 0)
			return -1;
		rc = parse_if(p, n, l, unless, open);
	} else if (tok_is(l, "case")) {
		if ((n = node_new(p, list, N_CASE, open)) == NULL || lex(l) < 0)
			return -1;
		rc = parse_case(p, n, l, open);
	} else if (tok_is(l, "for")) {
		if ((n = node_new(p, list, N_FOR, open)) == NULL || lex(l) < 0)
			return -1;
		rc = parse_for(p, n, l, open);
	} else if (tok_is(l, "break") || tok_is(l, "continue")) {
		n = node_new(p, list, p->s[na] == 'b' ? N_BREAK : N_CONTINUE,
			     open);
		if (n == NULL || lex(l) < 0)
			return -1;
		return end_of_tag(l);
	} else if (tok_is(l, "assign")) {
		if ((n = node_new(p, list, N_ASSIGN, open)) == NULL ||
		    lex(l) < 0)
			return -1;
		if (l->k != T_IDENT)
			return expected(l, "a variable name");
		if ((n->slot = slot_of(p, p->s + l->a, l->b - l->a, l->a)) <
			    0 ||
		    lex(l) < 0)
			return -1;
		if (l->k != T_ASSIGN)
			return expected(l, "'='");
		if (lex(l) < 0 || parse_expr(l, &n->expr) < 0)
			return -1;
		return end_of_tag(l);
	} else if (tok_is(l, "capture")) {
		static const char *const stops[] = {"endcapture", NULL};
		int w;

		if ((n = node_new(p, list, N_CAPTURE, open)) == NULL ||
		    lex(l) < 0)
			return -1;
		if (l->k != T_IDENT)
			return expected(l, "a variable name");
		if ((n->slot = slot_of(p, p->s + l->a, l->b - l->a, l->a)) <
			    0 ||
		    lex(l) < 0 || end_of_tag(l) < 0)
			return -1;
		w = parse_list(p, &n->body, stops, l);
		if (w == -2)
			return not_closed(p, open, "capture", "endcapture");
		if (w < 0)
			return -1;
		return end_of_tag(l);
	} else if (tok_is(l, "echo")) {
		if ((n = node_new(p, list, N_OUTPUT, open)) == NULL ||
		    lex(l) < 0 || parse_expr(l, &n->expr) < 0)
			return -1;
		return end_of_tag(l);
	} else if (l->k == T_IDENT) {
		return perr(p, na, "unknown tag '%.*s'",
			    (int)(l->b - na > 40 ? 40 : l->b - na), p->s + na);
	} else {
		return expected(l, "a tag name");
	}
	return rc;
}

static int parse_list(pstate *p, tmpl_list *l, const char *const *stops,
		      lexer *lx)
{
	if (++p->depth > TMPL_MAX_DEPTH) {
		size_t at = p->i > 0 ? p->segs[p->i - 1].open : 0;

		return perr(p, at, "tags nested deeper than %d",
			    TMPL_MAX_DEPTH);
	}
	while (p->i < p->nsegs) {
		const seg *sg = &p->segs[p->i++];
		tmpl_node *n;
		size_t na, nb;
		int k;

		if (sg->kind == S_TEXT) {
			if (sg->b == sg->a)
				continue;
			if ((n = node_new(p, l, N_TEXT, sg->a)) == NULL)
				return -1;
			n->text = p->s + sg->a;
			n->len = sg->b - sg->a;
			continue;
		}
		if (sg->kind == S_OUT) {
			if ((n = node_new(p, l, N_OUTPUT, sg->open)) == NULL)
				return -1;
			lexer_init(lx, p, sg->a, sg->b);
			if (lex(lx) < 0)
				return -1;
			if (lx->k == T_END)
				return perr(
					p, sg->open,
					"expected an expression in '{{ }}'");
			if (parse_expr(lx, &n->expr) < 0)
				return -1;
			if (lx->k != T_END)
				return expected(lx,
						"'|' or the end of the tag");
			continue;
		}
		if (sg->a == sg->b && p->s[sg->a] != '#' &&
		    !(sg->a < p->len && is_alpha(p->s[sg->a])))
			return perr(p, sg->open, "expected a tag name");
		tag_name(p, sg->a, sg->b, &na, &nb);
		if (na < sg->b && p->s[na] == '#')
			continue; /* inline comment */
		if (sg->a == sg->b)
			continue; /* raw/comment markers */
		lexer_init(lx, p, sg->a, sg->b);
		if (lex(lx) < 0)
			return -1;
		for (k = 0; stops != NULL && stops[k] != NULL; k++) {
			if (tok_is(lx, stops[k])) {
				p->depth--;
				return lex(lx) < 0 ? -1 : k;
			}
		}
		if (tok_is(lx, "elsif") || tok_is(lx, "else") ||
		    tok_is(lx, "when") || tok_is(lx, "endif") ||
		    tok_is(lx, "endunless") || tok_is(lx, "endcase") ||
		    tok_is(lx, "endfor") || tok_is(lx, "endcapture") ||
		    tok_is(lx, "endraw") || tok_is(lx, "endcomment")) {
			if (stops != NULL)
				return perr(p, sg->open,
					    "unexpected '%.*s', expected "
					    "'%s'",
					    (int)(lx->b - lx->a), p->s + lx->a,
					    stops[0] != NULL ? stops[0] : "");
			return perr(p, sg->open, "unexpected '%.*s'",
				    (int)(lx->b - lx->a), p->s + lx->a);
		}
		if (parse_tag(p, l, sg, lx) < 0)
			return -1;
	}
	p->depth--;
	return stops != NULL ? -2 : 0;
}

int tmpl_compile(tmpl **out, const char *src, size_t len,
		 const scim_restype *rt, const char *file, int line, int column,
		 tmpl_error *err)
{
	pstate p;
	lexer lx;
	tmpl *t;
	int rc;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	if (err != NULL)
		memset(err, 0, sizeof(*err));
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto nomem;
	snprintf(t->file, sizeof(t->file), "%s", file ? file : "<template>");
	t->rt = rt;
	if ((t->src = malloc(len + 1)) == NULL)
		goto nomem;
	if (len > 0)
		memcpy(t->src, src, len);
	t->src[len] = '\0';
	p.t = t;
	p.s = t->src;
	p.len = len;
	p.line0 = line > 0 ? line : 1;
	p.col0 = column > 0 ? column : 1;
	p.err = err;
	if (memchr(t->src, '\0', len) != NULL) {
		perr(&p, (size_t)(strchr(t->src, '\0') - t->src),
		     "NUL byte in template");
		goto fail;
	}
	rc = segment(&p);
	if (rc == 0)
		rc = parse_list(&p, &t->body, NULL, &lx);
	free(p.segs);
	p.segs = NULL;
	if (rc < 0)
		goto fail;
	t->single = t->body.n == 1 && t->body.v[0]->kind == N_OUTPUT;
	*out = t;
	return 0;
nomem:
	if (err != NULL) {
		snprintf(err->file, sizeof(err->file), "%s",
			 file ? file : "<template>");
		err->line = line;
		err->column = column;
		snprintf(err->message, sizeof(err->message), "out of memory");
	}
fail:
	free(p.segs);
	tmpl_free(t);
	return -1;
}

void tmpl_free(tmpl *t)
{
	int i;

	if (t == NULL)
		return;
	list_free(&t->body);
	for (i = 0; i < t->nnames; i++)
		free(t->names[i]);
	free(t->names);
	free(t->src);
	free(t);
}
