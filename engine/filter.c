/* filter.c - SCIM filter expressions (RFC 7644 §3.4.2.2).
 *
 * Parsing is recursive descent over a private NUL-terminated copy of the
 * text (so `len`-bounded input and scim_schema_match_urn both work):
 *
 *   or     = and *("or" and)
 *   and    = unary *("and" unary)
 *   unary  = "not" *SP "(" or ")" / "(" or ")" / attrExp / valuePath
 *   attrExp   = attrPath SP "pr" / attrPath SP compareOp SP compValue
 *   valuePath = attrPath "[" or "]"           (no nested brackets)
 *
 * Keywords and operators are case-insensitive; any run of blanks separates
 * tokens. An and/or chain becomes one n-ary node built in a loop, so a
 * chain of thousands of terms neither recurses nor deepens the tree. Only
 * "(", "not (" and "[" nest, each counting one level against
 * SCIM_FILTER_MAX_DEPTH, which bounds the tree depth and so the recursion
 * of parse, match, visit and free.
 *
 * Choices where RFC 7644 is silent or loose:
 *  - `ne` is the negation of `eq`: it matches when the attribute is absent
 *    or when no value of a multi-valued attribute equals the literal.
 *  - `null` literal: `attr eq null` matches when the attribute is absent
 *    (i.e. `not (attr pr)`), `attr ne null` is `attr pr`. Any other
 *    operator with null, and true/false with anything but eq/ne, is 400
 *    invalidFilter.
 *  - `pr`: present and not null, not "", not [], not {} (an array counts
 *    only if one of its elements is itself present).
 *  - Attributes without a schema definition ("unknown") never match when
 *    absent from the resource, for every operator including ne and
 *    `eq null`. If the JSON does carry such a key (resources are normally
 *    canonical, so it should not) its values compare by their JSON type,
 *    strings case-insensitively.
 *  - A complex attribute compared without a sub-attribute compares its
 *    "value" sub-attribute (emails co "x", manager eq "id"); `pr` on it
 *    tests the attribute itself.
 *  - dateTime compares as instants (scim_time_parse on both sides); if
 *    either side is not a valid dateTime, eq falls back to a
 *    case-insensitive string comparison and ordering operators don't
 *    match. co/sw/ew on dateTime compare strings.
 *  - Operators other than eq/ne/pr on boolean attributes, and gt/ge/lt/le
 *    on binary attributes, are 400 invalidFilter (RFC 7644: "SHALL fail").
 *    A string literal "true"/"false" (any case) compares as a boolean.
 *  - Numbers compare numerically (integers exactly, otherwise as double);
 *    a string literal that is a JSON number compares numerically with a
 *    numeric attribute; a number literal compares with a string
 *    attribute as its text.
 *  - Case-insensitive comparisons fold both sides with scim_str_fold.
 *  - The visitor reports the schema URN of known attributes, including
 *    scim_schema_common()->id for id/externalId/meta; for an unknown
 *    attribute, the URN it was qualified with (as written), else NULL.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "strutil.h"

enum fnode_kind { FN_CMP, FN_AND, FN_OR, FN_NOT, FN_VALPATH };

enum lit_kind { LIT_NONE, LIT_STRING, LIT_NUMBER, LIT_BOOL, LIT_NULL };

struct flit {
	enum lit_kind kind;
	json_t *json;	  /* the literal; NULL for pr */
	const char *text; /* string value (borrowed from json) or number text */
	char *raw;	  /* LIT_NUMBER: the number as written */
	char *folded;	  /* LIT_STRING: text folded */
	bool bval;	  /* LIT_BOOL */
	bool has_num;	  /* numeric value known (number, numeric string) */
	bool is_int;
	json_int_t ival;
	double dval;
	bool has_time; /* LIT_STRING that is a valid dateTime */
	int64_t time_ms;
};

struct scim_filter {
	enum fnode_kind kind;
	const scim_restype *rt;
	/* FN_AND/FN_OR: nkids >= 2; FN_NOT/FN_VALPATH: kids[0] */
	scim_filter **kids;
	size_t nkids;
	size_t cap;
	/* FN_CMP and FN_VALPATH */
	bool in_vf; /* comparison on a sub-attribute of an element */
	bool ext;   /* the top-level attribute lives in json[urn] */
	bool known; /* the compared attribute has a definition */
	char *urn;  /* schema URN (see above), or NULL */
	char *name; /* top-level attribute (the parent when in_vf) */
	const scim_attr *attr;
	char *sub; /* sub-attribute (what is looked up when in_vf) */
	const scim_attr *sub_def;
	const scim_attr *cmp_def; /* type of compared values; NULL: infer */
	scim_filter_op op;
	struct flit lit;
};

/* ---- Small helpers -------------------------------------------------- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_namechar(char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '_';
}

static char *dup_s(const char *s)
{
	return s == NULL ? NULL : strndup(s, strlen(s));
}

static bool is_extension(const scim_restype *rt, const scim_schema *s)
{
	if (s == NULL || s == scim_schema_common())
		return false;
	return rt == NULL || s != rt->core;
}

/* The schema of rt whose attribute table holds def, or NULL. */
static const scim_schema *schema_of_attr(const scim_restype *rt,
					 const scim_attr *def)
{
	const scim_schema *cand[3];
	size_t i, j, n = 0;

	if (def == NULL)
		return NULL;
	if (rt != NULL)
		cand[n++] = rt->core;
	cand[n++] = scim_schema_common();
	for (i = 0; i < n; i++) {
		for (j = 0; cand[i] != NULL && j < cand[i]->n_attrs; j++)
			if (&cand[i]->attrs[j] == def)
				return cand[i];
	}
	for (i = 0;
	     rt != NULL && rt->extensions != NULL && rt->extensions[i] != NULL;
	     i++) {
		for (j = 0; j < rt->extensions[i]->n_attrs; j++)
			if (&rt->extensions[i]->attrs[j] == def)
				return rt->extensions[i];
	}
	return NULL;
}

static const char *op_name(scim_filter_op op)
{
	static const char *const names[] = {"eq", "ne", "co", "sw", "ew",
					    "pr", "gt", "ge", "lt", "le"};

	return (size_t)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

/* ---- Nodes ---------------------------------------------------------- */

static scim_filter *node_new(enum fnode_kind kind, const scim_restype *rt)
{
	scim_filter *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	f->kind = kind;
	f->rt = rt;
	return f;
}

void scim_filter_free(scim_filter *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nkids; i++)
		scim_filter_free(f->kids[i]);
	free(f->kids);
	free(f->urn);
	free(f->name);
	free(f->sub);
	json_decref(f->lit.json);
	free(f->lit.raw);
	free(f->lit.folded);
	free(f);
}

/* Append kid to f; on failure kid is not taken. */
static int node_add(scim_filter *f, scim_filter *kid)
{
	if (f->nkids == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4;
		scim_filter **k = realloc(f->kids, cap * sizeof(*k));

		if (k == NULL)
			return -1;
		f->kids = k;
		f->cap = cap;
	}
	f->kids[f->nkids++] = kid;
	return 0;
}

/* ---- Parser --------------------------------------------------------- */

struct parser {
	const char *s; /* NUL-terminated copy of the text */
	size_t len;
	size_t pos;
	const scim_restype *rt;
	scim_error *err;
	int depth;
	/* value filter context */
	bool in_vf;
	const scim_attr *parent;
	const char *parent_name;
	const char *parent_urn;
};

/* A written attribute path, as spans of p->s. */
struct apath {
	size_t pos;
	const scim_schema *schema; /* known URN prefix, or NULL */
	size_t urn_pos, urn_len;   /* URN as written (0 length: none) */
	size_t name_pos, name_len;
	size_t sub_pos, sub_len; /* 0 length: no sub-attribute */
};

static void perr(struct parser *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void perr(struct parser *p, size_t pos, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scim_error_set(p->err, 400, SCIM_ERR_INVALID_FILTER,
		       "%s at position %zu", msg, pos);
}

static void poom(struct parser *p)
{
	scim_error_set(p->err, 500, NULL, "out of memory");
}

static size_t skip_ws(struct parser *p)
{
	size_t start = p->pos;

	while (is_ws(p->s[p->pos]))
		p->pos++;
	return p->pos - start;
}

/* Does the keyword kw (lower case) start at pos, not followed by a name
 * character? */
static bool keyword_at(const struct parser *p, size_t pos, const char *kw)
{
	size_t n = strlen(kw);

	if (p->len - pos < n || !scim_strn_equal_ci(kw, p->s + pos, n))
		return false;
	return !is_namechar(p->s[pos + n]) && p->s[pos + n] != '.' &&
	       p->s[pos + n] != ':' && p->s[pos + n] != '$';
}

/* Length of an attribute name at pos (ALPHA *nameChar, or "$ref"). */
static size_t name_at(const struct parser *p, size_t pos)
{
	size_t n = 0;

	if (p->s[pos] == '$') {
		if (scim_strncasecmp(p->s + pos, "$ref", 4) == 0 &&
		    !is_namechar(p->s[pos + 4]))
			return 4;
		return 0;
	}
	if (!is_alpha(p->s[pos]))
		return 0;
	while (is_namechar(p->s[pos + n]))
		n++;
	return n;
}

static int parse_attrpath(struct parser *p, struct apath *ap)
{
	size_t n;

	memset(ap, 0, sizeof(*ap));
	ap->pos = p->pos;
	if (p->len - p->pos >= 4 &&
	    scim_strncasecmp(p->s + p->pos, "urn:", 4) == 0) {
		const char *rest = NULL;
		const scim_schema *sch = NULL;

		if (p->in_vf) {
			perr(p, p->pos,
			     "expected sub-attribute name "
			     "(no URN inside a value filter)");
			return -1;
		}
		if (p->rt != NULL)
			sch = scim_schema_match_urn(p->rt, p->s + p->pos,
						    &rest);
		if (sch != NULL && rest != NULL && rest > p->s + p->pos &&
		    rest[-1] == ':') {
			ap->schema = sch;
			ap->urn_pos = p->pos;
			ap->urn_len = (size_t)(rest - 1 - (p->s + p->pos));
			p->pos = (size_t)(rest - p->s);
		} else {
			/* Unknown schema: the name follows the last ':' of
			 * the token. */
			size_t end = p->pos, colon = 0;

			while (p->s[end] != '\0' && !is_ws(p->s[end]) &&
			       strchr("[]()\"", p->s[end]) == NULL) {
				if (p->s[end] == ':')
					colon = end;
				end++;
			}
			ap->urn_pos = p->pos;
			ap->urn_len = colon - p->pos;
			p->pos = colon + 1;
		}
	}
	n = name_at(p, p->pos);
	if (n == 0) {
		perr(p, p->pos,
		     ap->urn_len ? "expected attribute name after URN"
				 : "expected attribute path");
		return -1;
	}
	ap->name_pos = p->pos;
	ap->name_len = n;
	p->pos += n;
	if (p->s[p->pos] == '.') {
		if (p->in_vf) {
			perr(p, p->pos,
			     "expected comparison operator "
			     "(no sub-attribute of a sub-attribute)");
			return -1;
		}
		p->pos++;
		n = name_at(p, p->pos);
		if (n == 0) {
			perr(p, p->pos, "expected sub-attribute name");
			return -1;
		}
		ap->sub_pos = p->pos;
		ap->sub_len = n;
		p->pos += n;
	}
	return 0;
}

/* Fill the attribute fields of n (FN_CMP or FN_VALPATH) from ap. */
static int resolve(struct parser *p, const struct apath *ap, scim_filter *n)
{
	char *name = strndup(p->s + ap->name_pos, ap->name_len);
	char *sub = NULL;
	const scim_schema *sch = NULL;
	const scim_attr *def = NULL;

	if (name == NULL)
		goto oom;
	if (p->in_vf) {
		n->in_vf = true;
		n->attr = p->parent;
		n->sub_def = p->parent ? scim_attr_sub(p->parent, name) : NULL;
		n->cmp_def = n->sub_def;
		n->known = n->sub_def != NULL;
		if (n->sub_def != NULL) {
			free(name);
			name = dup_s(n->sub_def->name);
			if (name == NULL)
				goto oom;
		}
		n->sub = name;
		name = NULL;
		if (p->parent_name != NULL &&
		    (n->name = dup_s(p->parent_name)) == NULL)
			goto oom;
		if (p->parent_urn != NULL &&
		    (n->urn = dup_s(p->parent_urn)) == NULL)
			goto oom;
		return 0;
	}

	if (ap->schema != NULL)
		def = scim_schema_find(p->rt, ap->schema->id, name, &sch);
	else if (ap->urn_len == 0 && p->rt != NULL)
		def = scim_schema_find(p->rt, NULL, name, &sch);
	if (def == NULL)
		sch = ap->schema;
	n->attr = def;
	if (def != NULL) {
		free(name);
		if ((name = dup_s(def->name)) == NULL)
			goto oom;
	}
	n->name = name;
	name = NULL;
	if (sch != NULL) {
		n->ext = is_extension(p->rt, sch);
		if ((n->urn = dup_s(sch->id)) == NULL)
			goto oom;
	} else if (ap->urn_len > 0) {
		n->ext = true;
		n->urn = strndup(p->s + ap->urn_pos, ap->urn_len);
		if (n->urn == NULL)
			goto oom;
	}
	if (ap->sub_len > 0) {
		sub = strndup(p->s + ap->sub_pos, ap->sub_len);
		if (sub == NULL)
			goto oom;
		n->sub_def = def ? scim_attr_sub(def, sub) : NULL;
		if (n->sub_def != NULL) {
			free(sub);
			if ((sub = dup_s(n->sub_def->name)) == NULL)
				goto oom;
		}
		n->sub = sub;
		n->cmp_def = n->sub_def;
		n->known = n->sub_def != NULL;
	} else {
		n->cmp_def = def;
		if (def != NULL && def->type == SCIM_T_COMPLEX)
			n->cmp_def = scim_attr_sub(def, "value");
		n->known = def != NULL;
	}
	return 0;
oom:
	free(name); /* NULL once owned by n */
	poom(p);
	return -1;
}

/* Scan a JSON number at pos; returns its length, 0 if none. */
static size_t number_len(const char *s)
{
	size_t i = 0;

	if (s[i] == '-')
		i++;
	if (s[i] == '0')
		i++;
	else if (s[i] >= '1' && s[i] <= '9')
		while (is_digit(s[i]))
			i++;
	else
		return 0;
	if (s[i] == '.') {
		if (!is_digit(s[i + 1]))
			return 0;
		i++;
		while (is_digit(s[i]))
			i++;
	}
	if (s[i] == 'e' || s[i] == 'E') {
		size_t j = i + 1;

		if (s[j] == '+' || s[j] == '-')
			j++;
		if (!is_digit(s[j]))
			return 0;
		while (is_digit(s[j]))
			j++;
		i = j;
	}
	return i;
}

/* Decode n bytes of s, a JSON number (as scanned by number_len), into
 * *out (new reference): an integer, or a real when the integer doesn't fit
 * json_int_t. Returns 0, -1 if it doesn't fit a double either, -2 if out
 * of memory. */
static int number_decode(const char *s, size_t n, json_t **out)
{
	json_error_t jerr;
	char *buf;

	*out = json_loadb(s, n, JSON_DECODE_ANY, &jerr);
	if (*out != NULL)
		return 0;
	if (json_error_code(&jerr) == json_error_out_of_memory)
		return -2;
	if (memchr(s, '.', n) != NULL || memchr(s, 'e', n) != NULL ||
	    memchr(s, 'E', n) != NULL)
		return -1; /* a real that overflows */
	/* an integer that overflows: read it again as a real */
	buf = malloc(n + 3);
	if (buf == NULL)
		return -2;
	memcpy(buf, s, n);
	memcpy(buf + n, "e0", 3);
	*out = json_loadb(buf, n + 2, JSON_DECODE_ANY, &jerr);
	free(buf);
	if (*out != NULL)
		return 0;
	return json_error_code(&jerr) == json_error_out_of_memory ? -2 : -1;
}

static void lit_set_num(struct flit *l, const json_t *j)
{
	l->has_num = true;
	l->is_int = json_is_integer(j);
	if (l->is_int)
		l->ival = json_integer_value(j);
	l->dval = json_number_value(j);
}

/* Parse compValue at p->pos into l. */
static int parse_value(struct parser *p, struct flit *l)
{
	size_t start = p->pos, n;
	const char *s = p->s;
	int rc;

	if (s[start] == '"') {
		size_t i = start + 1;
		json_error_t jerr;

		for (;;) {
			unsigned char c = (unsigned char)s[i];

			if (c == '\0') {
				perr(p, start, "unterminated string");
				return -1;
			}
			if (c == '"')
				break;
			if (c < 0x20) {
				perr(p, i, "control character in string");
				return -1;
			}
			if (c == '\\') {
				if (s[i + 1] == '\0') {
					perr(p, start, "unterminated string");
					return -1;
				}
				i++;
			}
			i++;
		}
		l->json = json_loadb(s + start, i + 1 - start, JSON_DECODE_ANY,
				     &jerr);
		if (l->json == NULL &&
		    json_error_code(&jerr) == json_error_out_of_memory) {
			poom(p);
			return -1;
		}
		if (l->json == NULL || !json_is_string(l->json)) {
			perr(p, start, "invalid string value");
			return -1;
		}
		l->kind = LIT_STRING;
		l->text = json_string_value(l->json);
		l->folded = scim_str_fold(l->text);
		if (l->folded == NULL) {
			poom(p);
			return -1;
		}
		l->has_time = scim_time_parse(l->text, &l->time_ms) == 0;
		n = number_len(l->text);
		if (n > 0 && n == strlen(l->text)) {
			json_t *num;

			rc = number_decode(l->text, n, &num);
			if (rc == -2) {
				poom(p);
				return -1;
			}
			if (rc == 0)
				lit_set_num(l, num);
			json_decref(num);
		}
		p->pos = i + 1;
		return 0;
	}
	if (s[start] == '-' || is_digit(s[start])) {
		n = number_len(s + start);
		if (n == 0 || is_namechar(s[start + n]) ||
		    s[start + n] == '.') {
			perr(p, start, "invalid number");
			return -1;
		}
		rc = number_decode(s + start, n, &l->json);
		l->raw = strndup(s + start, n);
		if (rc == -2 || l->raw == NULL) {
			poom(p);
			return -1;
		}
		if (rc < 0) {
			perr(p, start, "number out of range");
			return -1;
		}
		l->kind = LIT_NUMBER;
		l->text = l->raw;
		lit_set_num(l, l->json);
		p->pos = start + n;
		return 0;
	}
	if (keyword_at(p, start, "true") || keyword_at(p, start, "false")) {
		l->kind = LIT_BOOL;
		l->bval = (s[start] == 't' || s[start] == 'T');
		l->json = json_boolean(l->bval);
		p->pos = start + (l->bval ? 4 : 5);
		return 0;
	}
	if (keyword_at(p, start, "null")) {
		l->kind = LIT_NULL;
		l->json = json_null();
		p->pos = start + 4;
		return 0;
	}
	perr(p, start, "expected value (string, number, true, false or null)");
	return -1;
}

static scim_filter *parse_or(struct parser *p);

/* Rest of a value path, p->pos at "[". */
static scim_filter *parse_valpath(struct parser *p, const struct apath *ap)
{
	scim_filter *n, *inner;
	struct parser saved = *p;

	if (p->in_vf) {
		perr(p, p->pos, "nested value filter not allowed");
		return NULL;
	}
	if (ap->sub_len > 0) {
		perr(p, p->pos,
		     "expected comparison operator "
		     "(no value filter on a sub-attribute)");
		return NULL;
	}
	n = node_new(FN_VALPATH, p->rt);
	if (n == NULL) {
		poom(p);
		return NULL;
	}
	if (resolve(p, ap, n) < 0)
		goto fail;
	if (n->attr != NULL && n->attr->type != SCIM_T_COMPLEX) {
		perr(p, ap->pos,
		     "value filter on attribute '%s', which is "
		     "not complex",
		     n->attr->name);
		goto fail;
	}
	if (++p->depth > SCIM_FILTER_MAX_DEPTH) {
		perr(p, p->pos, "filter nested too deeply (max %d)",
		     SCIM_FILTER_MAX_DEPTH);
		goto fail;
	}
	p->pos++;
	p->in_vf = true;
	p->parent = n->attr;
	p->parent_name = n->name;
	p->parent_urn = n->urn;
	inner = parse_or(p);
	p->in_vf = saved.in_vf;
	p->parent = saved.parent;
	p->parent_name = saved.parent_name;
	p->parent_urn = saved.parent_urn;
	if (inner == NULL)
		goto fail;
	if (node_add(n, inner) < 0) {
		scim_filter_free(inner);
		poom(p);
		goto fail;
	}
	skip_ws(p);
	if (p->s[p->pos] != ']') {
		perr(p, p->pos, "expected ']'");
		goto fail;
	}
	p->pos++;
	p->depth--;
	return n;
fail:
	scim_filter_free(n);
	return NULL;
}

static const scim_filter_op ops[] = {
	SCIM_OP_EQ, SCIM_OP_NE, SCIM_OP_CO, SCIM_OP_SW, SCIM_OP_EW,
	SCIM_OP_PR, SCIM_OP_GT, SCIM_OP_GE, SCIM_OP_LT, SCIM_OP_LE};

static scim_filter *parse_attrexp(struct parser *p)
{
	struct apath ap;
	scim_filter *n;
	size_t opos, vpos, gap, i;
	const scim_attr *d;
	char c;

	if (parse_attrpath(p, &ap) < 0)
		return NULL;
	if (p->s[p->pos] == '[')
		return parse_valpath(p, &ap);
	gap = skip_ws(p);
	opos = p->pos;
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (keyword_at(p, opos, op_name(ops[i])))
			break;
	if (gap == 0 || i == sizeof(ops) / sizeof(ops[0])) {
		if (p->in_vf && p->s[opos] == '[')
			perr(p, opos, "nested value filter not allowed");
		else
			perr(p, opos, "expected comparison operator");
		return NULL;
	}
	n = node_new(FN_CMP, p->rt);
	if (n == NULL) {
		poom(p);
		return NULL;
	}
	n->op = ops[i];
	p->pos = opos + 2;
	if (resolve(p, &ap, n) < 0)
		goto fail;
	d = n->cmp_def;
	if (d != NULL && d->type == SCIM_T_BOOLEAN && n->op != SCIM_OP_EQ &&
	    n->op != SCIM_OP_NE && n->op != SCIM_OP_PR) {
		perr(p, opos, "operator '%s' not allowed on boolean attribute",
		     op_name(n->op));
		goto fail;
	}
	if (d != NULL && d->type == SCIM_T_BINARY &&
	    (n->op == SCIM_OP_GT || n->op == SCIM_OP_GE ||
	     n->op == SCIM_OP_LT || n->op == SCIM_OP_LE)) {
		perr(p, opos, "operator '%s' not allowed on binary attribute",
		     op_name(n->op));
		goto fail;
	}
	if (n->op == SCIM_OP_PR)
		return n;
	if (skip_ws(p) == 0 && p->s[p->pos] != '"') {
		perr(p, p->pos, "expected space after operator");
		goto fail;
	}
	vpos = p->pos;
	if (parse_value(p, &n->lit) < 0)
		goto fail;
	c = p->s[p->pos];
	if (c != '\0' && !is_ws(c) && c != ')' && c != ']') {
		perr(p, p->pos, "expected space after value");
		goto fail;
	}
	if ((n->lit.kind == LIT_BOOL || n->lit.kind == LIT_NULL) &&
	    n->op != SCIM_OP_EQ && n->op != SCIM_OP_NE) {
		perr(p, vpos, "operator '%s' needs a string or number value",
		     op_name(n->op));
		goto fail;
	}
	return n;
fail:
	scim_filter_free(n);
	return NULL;
}

/* "(" or ")" with p->pos just after "(". */
static scim_filter *parse_group(struct parser *p, size_t open, bool negate)
{
	scim_filter *inner, *n;

	if (++p->depth > SCIM_FILTER_MAX_DEPTH) {
		perr(p, open, "filter nested too deeply (max %d)",
		     SCIM_FILTER_MAX_DEPTH);
		return NULL;
	}
	inner = parse_or(p);
	if (inner == NULL)
		return NULL;
	skip_ws(p);
	if (p->s[p->pos] != ')') {
		perr(p, p->pos, "expected ')'");
		scim_filter_free(inner);
		return NULL;
	}
	p->pos++;
	p->depth--;
	if (!negate)
		return inner;
	n = node_new(FN_NOT, p->rt);
	if (n == NULL || node_add(n, inner) < 0) {
		free(n);
		scim_filter_free(inner);
		poom(p);
		return NULL;
	}
	return n;
}

static scim_filter *parse_unary(struct parser *p)
{
	size_t q;

	skip_ws(p);
	if (p->s[p->pos] == '(') {
		p->pos++;
		return parse_group(p, p->pos - 1, false);
	}
	if (keyword_at(p, p->pos, "not")) {
		q = p->pos + 3;
		while (is_ws(p->s[q]))
			q++;
		if (p->s[q] == '(') {
			p->pos = q + 1;
			return parse_group(p, q, true);
		}
		/* otherwise an attribute named "not" */
	}
	return parse_attrexp(p);
}

/* A chain of `kind` (FN_AND: unary terms, FN_OR: and-chains), built in a
 * loop so that long chains don't recurse. */
static scim_filter *parse_chain(struct parser *p, enum fnode_kind kind)
{
	const char *kw = kind == FN_OR ? "or" : "and";
	scim_filter *first, *n = NULL, *next;

	first = kind == FN_OR ? parse_chain(p, FN_AND) : parse_unary(p);
	if (first == NULL)
		return NULL;
	for (;;) {
		size_t save = p->pos;

		skip_ws(p);
		if (!keyword_at(p, p->pos, kw)) {
			p->pos = save;
			break;
		}
		p->pos += strlen(kw);
		if (n == NULL) {
			n = node_new(kind, p->rt);
			if (n == NULL || node_add(n, first) < 0) {
				free(n);
				scim_filter_free(first);
				poom(p);
				return NULL;
			}
		}
		next = kind == FN_OR ? parse_chain(p, FN_AND) : parse_unary(p);
		if (next == NULL) {
			scim_filter_free(n);
			return NULL;
		}
		if (node_add(n, next) < 0) {
			scim_filter_free(next);
			scim_filter_free(n);
			poom(p);
			return NULL;
		}
	}
	return n != NULL ? n : first;
}

static scim_filter *parse_or(struct parser *p)
{
	return parse_chain(p, FN_OR);
}

static int parse_text(scim_filter **out, struct parser *p, const char *text,
		      size_t len)
{
	scim_filter *f;
	char *buf;
	const char *z;

	*out = NULL;
	if (text == NULL)
		return scim_error_set(p->err, 400, SCIM_ERR_INVALID_FILTER,
				      "missing filter");
	if (len > SCIM_FILTER_MAX_LEN)
		return scim_error_set(p->err, 400, SCIM_ERR_INVALID_FILTER,
				      "filter longer than %d bytes",
				      SCIM_FILTER_MAX_LEN);
	z = memchr(text, '\0', len);
	if (z != NULL)
		return scim_error_set(p->err, 400, SCIM_ERR_INVALID_FILTER,
				      "NUL byte at position %zu",
				      (size_t)(z - text));
	if (!scim_is_valid_utf8(text, len))
		return scim_error_set(p->err, 400, SCIM_ERR_INVALID_FILTER,
				      "filter is not valid UTF-8");
	buf = strndup(text, len);
	if (buf == NULL)
		return scim_error_set(p->err, 500, NULL, "out of memory");
	p->s = buf;
	p->len = len;
	p->pos = 0;
	f = parse_or(p);
	if (f != NULL) {
		skip_ws(p);
		if (p->pos != p->len) {
			if (p->s[p->pos] == ')')
				perr(p, p->pos, "unbalanced ')'");
			else if (p->s[p->pos] == ']')
				perr(p, p->pos, "unbalanced ']'");
			else
				perr(p, p->pos,
				     "expected 'and', 'or' or end of filter");
			scim_filter_free(f);
			f = NULL;
		}
	}
	free(buf);
	if (f == NULL)
		return -1;
	*out = f;
	return 0;
}

int scim_filter_parse(scim_filter **out, const scim_restype *rt,
		      const char *text, scim_error *err)
{
	struct parser p;

	memset(&p, 0, sizeof(p));
	p.rt = rt;
	p.err = err;
	return parse_text(out, &p, text, text ? strlen(text) : 0);
}

int scim_filter_parse_sub(scim_filter **out, const scim_restype *rt,
			  const scim_attr *parent, const char *text, size_t len,
			  scim_error *err)
{
	struct parser p;
	const scim_schema *sch = schema_of_attr(rt, parent);

	memset(&p, 0, sizeof(p));
	p.rt = rt;
	p.err = err;
	p.in_vf = true;
	p.parent = parent;
	p.parent_name = parent ? parent->name : NULL;
	p.parent_urn = sch ? sch->id : NULL;
	return parse_text(out, &p, text, len);
}

/* ---- Matching ------------------------------------------------------- */

static bool ord_ok(scim_filter_op op, int c)
{
	switch (op) {
	case SCIM_OP_EQ:
		return c == 0;
	case SCIM_OP_GT:
		return c > 0;
	case SCIM_OP_GE:
		return c >= 0;
	case SCIM_OP_LT:
		return c < 0;
	case SCIM_OP_LE:
		return c <= 0;
	default:
		return false;
	}
}

static bool str_op(scim_filter_op op, const char *a, size_t alen, const char *b,
		   size_t blen)
{
	int c;

	switch (op) {
	case SCIM_OP_CO:
		return blen == 0 || memmem(a, alen, b, blen) != NULL;
	case SCIM_OP_SW:
		return alen >= blen && memcmp(a, b, blen) == 0;
	case SCIM_OP_EW:
		return alen >= blen && memcmp(a + alen - blen, b, blen) == 0;
	default:
		c = memcmp(a, b, alen < blen ? alen : blen);
		if (c == 0)
			c = (alen > blen) - (alen < blen);
		return ord_ok(op, c);
	}
}

/* "true"/"false" in any case, as a boolean; -1 if neither. */
static int bool_of_string(const char *s)
{
	if (scim_strcasecmp(s, "true") == 0)
		return 1;
	if (scim_strcasecmp(s, "false") == 0)
		return 0;
	return -1;
}

static bool cmp_bool(const json_t *v, const struct flit *l, scim_filter_op op)
{
	int a, b;

	if (op != SCIM_OP_EQ)
		return false;
	if (json_is_boolean(v))
		a = json_is_true(v);
	else if (json_is_string(v))
		a = bool_of_string(json_string_value(v));
	else
		return false;
	if (l->kind == LIT_BOOL)
		b = l->bval;
	else if (l->kind == LIT_STRING)
		b = bool_of_string(l->text);
	else
		return false;
	return a >= 0 && b >= 0 && a == b;
}

static bool cmp_number(const json_t *v, const struct flit *l, scim_filter_op op)
{
	json_int_t ai = 0;
	double ad;
	bool aint;
	json_t *tmp = NULL;
	int c;

	if (!l->has_num)
		return false;
	if (json_is_string(v)) {
		/* A numeric string in a numeric attribute (bad data, or
		 * an unknown attribute): compare its value. */
		const char *s = json_string_value(v);
		size_t n = number_len(s);

		if (n == 0 || n != strlen(s) || number_decode(s, n, &tmp) < 0)
			return false;
		v = tmp;
	}
	if (!json_is_number(v)) {
		json_decref(tmp);
		return false;
	}
	aint = json_is_integer(v);
	if (aint)
		ai = json_integer_value(v);
	ad = json_number_value(v);
	json_decref(tmp);
	if (aint && l->is_int)
		c = (ai > l->ival) - (ai < l->ival);
	else
		c = (ad > l->dval) - (ad < l->dval);
	return ord_ok(op, c);
}

static bool cmp_string(const char *a, const struct flit *l, scim_filter_op op,
		       bool exact)
{
	const char *b;
	char *fa;
	bool r;

	if (l->kind == LIT_STRING)
		b = exact ? l->text : l->folded;
	else if (l->kind == LIT_NUMBER)
		b = l->raw;
	else
		return false;
	if (exact || l->kind == LIT_NUMBER)
		return str_op(op, a, strlen(a), b, strlen(b));
	fa = scim_str_fold(a);
	if (fa == NULL)
		return false;
	r = str_op(op, fa, strlen(fa), b, strlen(b));
	free(fa);
	return r;
}

static bool cmp_datetime(const json_t *v, const struct flit *l,
			 scim_filter_op op)
{
	int64_t t;
	const char *s;

	if (!json_is_string(v) || l->kind != LIT_STRING)
		return false;
	s = json_string_value(v);
	if (op == SCIM_OP_CO || op == SCIM_OP_SW || op == SCIM_OP_EW)
		return cmp_string(s, l, op, false);
	if (l->has_time && scim_time_parse(s, &t) == 0)
		return ord_ok(op, (t > l->time_ms) - (t < l->time_ms));
	if (op == SCIM_OP_EQ)
		return cmp_string(s, l, op, false);
	return false;
}

/* Compare one scalar value; op is never NE or PR here. */
static bool cmp_one(const scim_filter *f, const json_t *v, scim_filter_op op)
{
	scim_type t;
	bool exact = false;

	if (v == NULL || json_is_null(v))
		return false;
	if (f->cmp_def != NULL) {
		t = f->cmp_def->type;
		exact = f->cmp_def->case_exact;
	} else if (json_is_string(v)) {
		t = SCIM_T_STRING;
	} else if (json_is_number(v)) {
		t = SCIM_T_DECIMAL;
	} else if (json_is_boolean(v)) {
		t = SCIM_T_BOOLEAN;
	} else {
		return false;
	}
	switch (t) {
	case SCIM_T_BOOLEAN:
		return cmp_bool(v, &f->lit, op);
	case SCIM_T_INTEGER:
	case SCIM_T_DECIMAL:
		return cmp_number(v, &f->lit, op);
	case SCIM_T_DATETIME:
		return cmp_datetime(v, &f->lit, op);
	case SCIM_T_COMPLEX:
		return false;
	default:
		if (!json_is_string(v))
			return false;
		return cmp_string(json_string_value(v), &f->lit, op, exact);
	}
}

/* v: a value or an array of values. use_value: compare the "value"
 * sub-attribute of objects (complex attribute without sub-attribute).
 * Arrays nested in arrays are ignored, so this never recurses. */
static bool cmp_values(const scim_filter *f, const json_t *v, scim_filter_op op,
		       bool use_value)
{
	size_t i, n = 1;
	const json_t *el = v;

	if (v == NULL)
		return false;
	if (json_is_array(v))
		n = json_array_size(v);
	for (i = 0; i < n; i++) {
		if (json_is_array(v))
			el = json_array_get(v, i);
		if (json_is_object(el)) {
			if (!use_value)
				continue;
			el = scim_json_get_ci(el, "value");
		}
		if (el == NULL || json_is_array(el) || json_is_object(el))
			continue;
		if (cmp_one(f, el, op))
			return true;
	}
	return false;
}

static bool is_present(const json_t *v)
{
	size_t i;

	if (v == NULL || json_is_null(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	if (json_is_array(v)) {
		for (i = 0; i < json_array_size(v); i++) {
			const json_t *el = json_array_get(v, i);

			/* nested arrays: non-empty counts, no recursion */
			if (json_is_array(el) ? json_array_size(el) > 0
					      : is_present(el))
				return true;
		}
		return false;
	}
	return true;
}

/* The value of the node's attribute in json (a resource, or an element
 * when in_vf). Borrowed, may be NULL. */
static const json_t *attr_value(const scim_filter *f, const json_t *json)
{
	const json_t *c = json;

	if (f->in_vf)
		return scim_json_get_ci(json, f->sub);
	if (f->ext)
		c = scim_json_get_ci(json, f->urn);
	return scim_json_get_ci(c, f->name);
}

static bool present_path(const scim_filter *f, const json_t *v)
{
	size_t i;

	if (f->in_vf || f->sub == NULL)
		return is_present(v);
	if (json_is_object(v))
		return is_present(scim_json_get_ci(v, f->sub));
	for (i = 0; i < json_array_size(v); i++)
		if (is_present(scim_json_get_ci(json_array_get(v, i), f->sub)))
			return true;
	return false;
}

/* Any value of the node's path in v satisfies op (not NE/PR)? */
static bool any_value(const scim_filter *f, const json_t *v, scim_filter_op op)
{
	size_t i;

	if (f->in_vf)
		return cmp_values(f, v, op, false);
	if (f->sub == NULL)
		return cmp_values(f, v, op, true);
	if (json_is_object(v))
		return cmp_values(f, scim_json_get_ci(v, f->sub), op, false);
	for (i = 0; i < json_array_size(v); i++)
		if (cmp_values(f,
			       scim_json_get_ci(json_array_get(v, i), f->sub),
			       op, false))
			return true;
	return false;
}

static bool match_cmp(const scim_filter *f, const json_t *json)
{
	const json_t *v = attr_value(f, json);
	bool pr = present_path(f, v);

	if (!f->known && !pr)
		return false;
	if (f->op == SCIM_OP_PR)
		return pr;
	if (f->lit.kind == LIT_NULL)
		return f->op == SCIM_OP_EQ ? !pr : pr;
	if (f->op == SCIM_OP_NE)
		return !any_value(f, v, SCIM_OP_EQ);
	return any_value(f, v, f->op);
}

bool scim_filter_match(const scim_filter *f, const json_t *json)
{
	const json_t *v;
	size_t i;

	if (f == NULL || json == NULL)
		return false;
	switch (f->kind) {
	case FN_AND:
		for (i = 0; i < f->nkids; i++)
			if (!scim_filter_match(f->kids[i], json))
				return false;
		return true;
	case FN_OR:
		for (i = 0; i < f->nkids; i++)
			if (scim_filter_match(f->kids[i], json))
				return true;
		return false;
	case FN_NOT:
		return !scim_filter_match(f->kids[0], json);
	case FN_VALPATH:
		v = attr_value(f, json);
		if (json_is_object(v))
			return scim_filter_match(f->kids[0], v);
		for (i = 0; i < json_array_size(v); i++) {
			const json_t *el = json_array_get(v, i);

			if (json_is_object(el) &&
			    scim_filter_match(f->kids[0], el))
				return true;
		}
		return false;
	case FN_CMP:
		return match_cmp(f, json);
	}
	return false;
}

/* ---- Visitor and index hint ----------------------------------------- */

static void visit(const scim_filter *f,
		  void (*cb)(const scim_filter_cmp *cmp, void *payload),
		  void *payload, bool negated)
{
	scim_filter_cmp c;
	size_t i;

	switch (f->kind) {
	case FN_CMP:
		c.urn = f->urn;
		c.attr = f->name;
		c.sub = f->sub;
		c.op = f->op;
		c.value = f->lit.json;
		c.negated = negated;
		c.in_value_filter = f->in_vf;
		cb(&c, payload);
		break;
	case FN_NOT:
		visit(f->kids[0], cb, payload, !negated);
		break;
	default:
		for (i = 0; i < f->nkids; i++)
			visit(f->kids[i], cb, payload, negated);
		break;
	}
}

void scim_filter_visit(const scim_filter *f,
		       void (*cb)(const scim_filter_cmp *cmp, void *payload),
		       void *payload)
{
	if (f != NULL && cb != NULL)
		visit(f, cb, payload, false);
}

static bool hint_attr_ok(const scim_restype *rt, const char *name)
{
	if (rt == NULL)
		return false;
	if (strcmp(name, "id") == 0 || strcmp(name, "externalId") == 0)
		return true;
	if (rt->id == SCIM_RT_USER)
		return strcmp(name, "userName") == 0;
	if (rt->id == SCIM_RT_GROUP)
		return strcmp(name, "displayName") == 0;
	return false;
}

bool scim_filter_index_hint(const scim_filter *f, const char **attr,
			    const char **value)
{
	size_t i;

	if (f == NULL)
		return false;
	if (f->kind == FN_AND) {
		for (i = 0; i < f->nkids; i++)
			if (scim_filter_index_hint(f->kids[i], attr, value))
				return true;
		return false;
	}
	if (f->kind != FN_CMP || f->in_vf || f->sub != NULL || f->ext ||
	    f->op != SCIM_OP_EQ || f->lit.kind != LIT_STRING ||
	    f->attr == NULL || !hint_attr_ok(f->rt, f->attr->name))
		return false;
	if (attr != NULL)
		*attr = f->attr->name;
	if (value != NULL)
		*value = f->lit.text;
	return true;
}
