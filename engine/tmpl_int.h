/* tmpl_int.h - private to the template engine (tmpl_parse.c, tmpl_eval.c,
 * tmpl_filters.c): the compiled tree, runtime values and filter table.
 *
 * A value (tv) is either borrowed (own false: it points into the resource,
 * the event, the template's literals or a json value someone else holds)
 * or owned (own true: s was malloc'd when j is NULL, else j holds one
 * reference that keeps s alive). */
#ifndef SCIMSYNC_TMPL_INT_H
#define SCIMSYNC_TMPL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "scim_path.h"
#include "tmpl.h"

#define TMPL_MAX_DEPTH 64    /* nesting of tags */
#define TMPL_MAX_FILTERS 64  /* filters in one chain */
#define TMPL_MAX_TERMS 64    /* comparisons in one condition */
#define TMPL_MAX_ACCESS 16   /* .x / [i] after a variable */
#define TMPL_MAX_ARGS 3	     /* arguments of one filter */
#define TMPL_MAX_ARRAY 65536 /* elements of an intermediate array */

enum tv_kind {
	TV_UNDEF = 0, /* variable slot never assigned */
	TV_NIL,
	TV_BOOL,
	TV_INT,
	TV_REAL,
	TV_STR,
	TV_ARR,	  /* j is an array */
	TV_OBJ,	  /* j is an object */
	TV_EMPTY, /* the literal `empty` */
	TV_BLANK  /* the literal `blank` */
};

typedef struct tv {
	enum tv_kind k;
	bool own;
	bool b;
	long long i;
	double d;
	const char *s;
	size_t n;
	json_t *j;
} tv;

typedef struct tmpl_sbuf {
	char *p;
	size_t n, cap;
} tmpl_sbuf;

struct tmpl_ctx;

typedef int (*tmpl_filter_fn)(struct tmpl_ctx *c, tv *v, tv *args, int nargs);

typedef struct tmpl_filter_def {
	const char *name;
	int min_args, max_args;
	tmpl_filter_fn fn;
} tmpl_filter_def;

/* One step after a variable: .name or [index] or ["key"]. */
typedef struct tmpl_access {
	char *key; /* NULL: index */
	long long index;
} tmpl_access;

enum opnd_kind {
	OP_LIT,	    /* lit */
	OP_VAR,	    /* slot (variable or attribute path) */
	OP_EVENT,   /* event + access */
	OP_FORLOOP, /* forloop.<key> */
	OP_RANGE    /* (lo..hi) */
};

typedef struct tmpl_opnd {
	enum opnd_kind kind;
	tv lit;		  /* OP_LIT (owned by the template) */
	int slot;	  /* OP_VAR: variable slot of the root name */
	scim_path *path;  /* OP_VAR: the text as a SCIM path, or NULL */
	bool unwrap;	  /* path has a value filter: 1 match -> scalar */
	tmpl_access *acc; /* OP_VAR/OP_EVENT/OP_FORLOOP: steps after root */
	int nacc;
	struct tmpl_opnd *lo, *hi; /* OP_RANGE */
} tmpl_opnd;

typedef struct tmpl_fcall {
	const tmpl_filter_def *def;
	tmpl_opnd *args;
	int nargs;
	int line, column;
} tmpl_fcall;

typedef struct tmpl_expr {
	tmpl_opnd base;
	tmpl_fcall *filters;
	int nfilters;
} tmpl_expr;

enum cmp_op {
	CMP_TRUTH, /* just lhs */
	CMP_EQ,
	CMP_NE,
	CMP_LT,
	CMP_GT,
	CMP_LE,
	CMP_GE,
	CMP_CONTAINS
};

typedef struct tmpl_cond {
	int nterms;
	tmpl_opnd *lhs, *rhs;
	enum cmp_op *ops;
	bool *or_next; /* join of term i and i+1: or (true) / and */
} tmpl_cond;

enum node_kind {
	N_TEXT,
	N_OUTPUT,
	N_IF,
	N_CASE,
	N_FOR,
	N_BREAK,
	N_CONTINUE,
	N_ASSIGN,
	N_CAPTURE
};

struct tmpl_node;

typedef struct tmpl_list {
	struct tmpl_node **v;
	size_t n, cap;
} tmpl_list;

typedef struct tmpl_branch {
	tmpl_cond cond;	  /* N_IF */
	bool negate;	  /* unless */
	tmpl_opnd *whens; /* N_CASE */
	int nwhens;
	tmpl_list body;
} tmpl_branch;

typedef struct tmpl_node {
	enum node_kind kind;
	int line, column;
	const char *text; /* N_TEXT, into tmpl->src */
	size_t len;
	tmpl_expr expr; /* OUTPUT, ASSIGN, CASE subject, FOR collection */
	int slot;	/* ASSIGN, CAPTURE, FOR variable */
	tmpl_branch *branches;
	int nbranches;
	bool has_else;
	tmpl_list else_body;
	tmpl_opnd *limit, *offset; /* FOR */
	bool reversed;
	tmpl_list body; /* FOR, CAPTURE */
} tmpl_node;

struct tmpl {
	char *src;
	tmpl_list body;
	char **names; /* variable slot names */
	int nnames;
	const scim_restype *rt;
	char file[128];
	bool single; /* exactly one output tag */
};

typedef struct tmpl_loop {
	long long index0, length;
	struct tmpl_loop *parent;
} tmpl_loop;

typedef struct tmpl_ctx {
	const tmpl *t;
	const json_t *res, *event;
	tv *vars;
	tmpl_sbuf *out;
	long steps;
	int brk; /* 1 break, 2 continue */
	tmpl_loop *loop;
	tmpl_error *err;
	int line, column; /* of the node being run, for errors */
	tmpl_sbuf scratch;
} tmpl_ctx;

/* tmpl_filters.c */
const tmpl_filter_def *tmpl_filter_find(const char *name, size_t len);

/* tmpl_eval.c: values */
void tv_free(tv *v);
tv tv_nil(void);
tv tv_int(long long i);
tv tv_real(double d);
tv tv_bool(bool b);
tv tv_str_take(char *s, size_t n);
tv tv_str_ref(const char *s, size_t n);
tv tv_json(json_t *j, bool own);
int tv_own(tv *v);
int tv_stringify(tmpl_ctx *c, tv *v);
int tv_append_str(tmpl_ctx *c, tmpl_sbuf *b, const tv *v);
bool tv_truthy(const tv *v);
bool tv_equal(const tv *a, const tv *b);
json_t *tv_to_json(const tv *v);
int tv_to_number(const tv *v, tv *out);
int tmpl_fail(tmpl_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int sbuf_add(tmpl_ctx *c, tmpl_sbuf *b, const char *s, size_t n);
char *sbuf_take(tmpl_sbuf *b, size_t *n);

/* tmpl_parse.c: freeing compiled parts */
void tmpl_opnd_clear(tmpl_opnd *o);

#endif
