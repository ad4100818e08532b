/* ctl_admin.c - scimsyncctl's admin-API commands (see ctl_admin.h).
 *
 * One command is one HTTP request (libcurl easy interface) to the admin
 * listener, JSON in and out (jansson). The answer is printed as a table,
 * as "key: value" lines, or with --json as the API's JSON. Everything
 * shown on the terminal that came from the server has its control
 * characters escaped. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl_admin.h"

#define DEFAULT_URL "http://127.0.0.1:8081"
#define CONNECT_TIMEOUT_S 5L
#define TOTAL_TIMEOUT_S 60L
#define MAX_ANSWER ((size_t)256 << 20) /* bytes of one answer */
#define MAX_TOKEN_FILE 4096

/* ---- memory and strings ---- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL) {
		fputs("scimsyncctl: out of memory\n", stderr);
		exit(CTL_EXIT_API);
	}
	return q;
}

/* A growing NUL-terminated string; {0} is the empty one. */
typedef struct sbuf {
	char *p;
	size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

/* The string (never NULL); it stays owned by b. */
static const char *sb_str(const sbuf *b)
{
	return b->p ? b->p : "";
}

/* The string, now owned by the caller (free()). */
static char *sb_take(sbuf *b)
{
	char *p;

	if (b->p == NULL)
		sb_add(b, "", 0);
	p = b->p;
	memset(b, 0, sizeof(*b));
	return p;
}

/* Overwrite a secret before freeing it. */
static void wipe_free(char *p, size_t n)
{
	volatile char *v = p;

	if (p == NULL)
		return;
	while (n-- > 0)
		*v++ = '\0';
	free(p);
}

/* s[0..n) for a terminal: newline, CR and tab as \n \r \t, other C0 and
 * C1 control characters and DEL as \xNN. */
static void sb_clean_n(sbuf *b, const char *s, size_t n)
{
	char x[8];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n') {
			sb_puts(b, "\\n");
		} else if (ch == '\r') {
			sb_puts(b, "\\r");
		} else if (ch == '\t') {
			sb_puts(b, "\\t");
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(x, sizeof(x), "\\x%02x", ch);
			sb_puts(b, x);
		} else if (ch == 0xc2 && i + 1 < n &&
			   (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			snprintf(x, sizeof(x), "\\x%02x",
				 (unsigned char)s[i + 1]);
			sb_puts(b, x);
			i++;
		} else {
			sb_add(b, s + i, 1);
		}
	}
}

static void sb_clean(sbuf *b, const char *s)
{
	sb_clean_n(b, s, strlen(s));
}

/* Columns a UTF-8 string takes: its code points (wide characters are
 * counted as one). */
static size_t text_width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static void print_clean(FILE *f, const char *s)
{
	sbuf b = {0};

	sb_clean(&b, s);
	fputs(sb_str(&b), f);
	free(b.p);
}

/* A JSON value for display: null or missing as null_text, a string
 * cleaned (an empty one as empty_text), numbers and booleans as in JSON,
 * arrays and objects as compact JSON. */
static void sb_value(sbuf *b, const json_t *v, const char *null_text,
		     const char *empty_text)
{
	char num[64];
	char *dump;

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		if (json_string_length(v) == 0)
			sb_puts(b, empty_text);
		else
			sb_clean_n(b, json_string_value(v),
				   json_string_length(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			 json_integer_value(v));
		sb_puts(b, num);
		break;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%g", json_real_value(v));
		sb_puts(b, num);
		break;
	case JSON_TRUE:
		sb_puts(b, "true");
		break;
	case JSON_FALSE:
		sb_puts(b, "false");
		break;
	case JSON_OBJECT:
	case JSON_ARRAY:
		dump = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (dump != NULL)
			sb_clean(b, dump);
		free(dump);
		break;
	case JSON_NULL:
	default:
		sb_puts(b, null_text);
		break;
	}
}

/* New string: the display form of v (sb_value with "-" for null and
 * empty). */
static char *value_text(const json_t *v)
{
	sbuf b = {0};

	sb_value(&b, v, "-", "-");
	return sb_take(&b);
}

static const json_t *get2(const json_t *obj, const char *k1, const char *k2)
{
	return json_object_get(json_object_get(obj, k1), k2);
}

/* ---- tables and key: value lines ---- */

typedef struct table {
	const char *const *heads;
	size_t ncols;
	char **cells; /* row-major; each malloc'd and already clean */
	size_t ncells, cap;
	size_t *width;
} table;

static void table_init(table *t, const char *const *heads, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->heads = heads;
	t->ncols = ncols;
}

/* Append the next cell (taking s over). */
static void table_put(table *t, char *s)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->cells = xrealloc(t->cells, t->cap * sizeof(*t->cells));
	}
	t->cells[t->ncells++] = s;
}

static void table_value(table *t, const json_t *v)
{
	table_put(t, value_text(v));
}

static void table_text(table *t, const char *s)
{
	sbuf b = {0};

	sb_clean(&b, s);
	table_put(t, sb_take(&b));
}

static size_t table_rows(const table *t)
{
	return t->ncells / t->ncols;
}

static void table_layout(table *t)
{
	size_t i, w;

	t->width = xrealloc(NULL, t->ncols * sizeof(*t->width));
	for (i = 0; i < t->ncols; i++)
		t->width[i] = text_width(t->heads[i]);
	for (i = 0; i < t->ncells; i++) {
		w = text_width(t->cells[i]);
		if (w > t->width[i % t->ncols])
			t->width[i % t->ncols] = w;
	}
}

/* One line: columns two spaces apart, the last one not padded. */
static void table_line(const table *t, const char *const *cells)
{
	size_t i, pad;

	for (i = 0; i < t->ncols; i++) {
		fputs(cells[i], stdout);
		if (i + 1 == t->ncols)
			break;
		pad = t->width[i] - text_width(cells[i]) + 2;
		while (pad-- > 0)
			putchar(' ');
	}
	putchar('\n');
}

static void table_head(const table *t)
{
	table_line(t, t->heads);
}

static void table_row(const table *t, size_t row)
{
	table_line(t, (const char *const *)t->cells + row * t->ncols);
}

static void table_free(table *t)
{
	size_t i;

	for (i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->width);
}

/* "key: value" lines, keys of nested objects joined with '.'. */
typedef struct kvlist {
	char **keys, **values;
	size_t n, cap;
} kvlist;

static void kv_collect(kvlist *kv, const char *prefix, const json_t *obj)
{
	const char *key;
	json_t *v;
	sbuf k = {0}, val = {0};

	json_object_foreach ((json_t *)obj, key, v) {
		sb_puts(&k, prefix);
		sb_clean(&k, key);
		if (json_is_object(v) && json_object_size(v) > 0) {
			sb_puts(&k, ".");
			kv_collect(kv, sb_str(&k), v);
			free(sb_take(&k));
			continue;
		}
		sb_value(&val, v, "-", "");
		if (kv->n == kv->cap) {
			kv->cap = kv->cap ? 2 * kv->cap : 16;
			kv->keys =
				xrealloc(kv->keys, kv->cap * sizeof(*kv->keys));
			kv->values = xrealloc(kv->values,
					      kv->cap * sizeof(*kv->values));
		}
		kv->keys[kv->n] = sb_take(&k);
		kv->values[kv->n] = sb_take(&val);
		kv->n++;
	}
}

static void print_kv(const json_t *obj)
{
	kvlist kv = {0};
	size_t i, w = 0, pad;

	kv_collect(&kv, "", obj);
	for (i = 0; i < kv.n; i++)
		if (text_width(kv.keys[i]) > w)
			w = text_width(kv.keys[i]);
	for (i = 0; i < kv.n; i++) {
		printf("%s:", kv.keys[i]);
		if (kv.values[i][0] != '\0') {
			pad = w - text_width(kv.keys[i]) + 1;
			while (pad-- > 0)
				putchar(' ');
			fputs(kv.values[i], stdout);
		}
		putchar('\n');
		free(kv.keys[i]);
		free(kv.values[i]);
	}
	free(kv.keys);
	free(kv.values);
}

static void print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

/* ---- commands, usage, arguments ---- */

typedef struct admin_ctx {
	ctl_admin_opts o;
	CURL *curl;
	char *base;  /* the admin API's URL without trailing '/' */
	char *token; /* or NULL: not loaded yet */
	size_t token_len;
} admin_ctx;

typedef struct admin_sub admin_sub;

struct admin_sub {
	const char *top;  /* "tenant" */
	const char *name; /* "create", or NULL: top takes no subcommand */
	const char *args;
	const char *summary;
	int (*run)(admin_ctx *c, const admin_sub *s, int argc, char **argv);
};

static int run_health(admin_ctx *c, const admin_sub *s, int argc, char **argv);
static int run_tenant_list(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv);
static int run_tenant_create(admin_ctx *c, const admin_sub *s, int argc,
			     char **argv);
static int run_tenant_show(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv);
static int run_tenant_set(admin_ctx *c, const admin_sub *s, int argc,
			  char **argv);
static int run_tenant_delete(admin_ctx *c, const admin_sub *s, int argc,
			     char **argv);
static int run_token_list(admin_ctx *c, const admin_sub *s, int argc,
			  char **argv);
static int run_token_create(admin_ctx *c, const admin_sub *s, int argc,
			    char **argv);
static int run_token_show(admin_ctx *c, const admin_sub *s, int argc,
			  char **argv);
static int run_token_revoke(admin_ctx *c, const admin_sub *s, int argc,
			    char **argv);
static int run_audit(admin_ctx *c, const admin_sub *s, int argc, char **argv);
static int run_sink_list(admin_ctx *c, const admin_sub *s, int argc,
			 char **argv);
static int run_sink_show(admin_ctx *c, const admin_sub *s, int argc,
			 char **argv);
static int run_sink_replay(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv);
static int run_sink_resync(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv);

static const admin_sub subs[] = {
	{"health", NULL, "", "check that the admin API answers (no token)",
	 run_health},
	{"tenant", "list", "", "list the tenants", run_tenant_list},
	{"tenant", "create",
	 "NAME [--description TEXT] [--rate N] [--burst N] "
	 "[--audit-bodies DAYS] [--mapping NAME=FILE]",
	 "create a tenant (--rate 0: no limit; --audit-bodies: keep bodies)",
	 run_tenant_create},
	{"tenant", "show", "NAME",
	 "show a tenant's settings and its user, group and token counts",
	 run_tenant_show},
	{"tenant", "set",
	 "NAME [--description TEXT] [--rate N] [--burst N] "
	 "[--audit-bodies DAYS|off] [--mapping NAME=FILE|NAME=]",
	 "change only the settings given", run_tenant_set},
	{"tenant", "delete", "NAME --confirm NAME",
	 "delete a tenant with its users, groups and tokens",
	 run_tenant_delete},
	{"token", "list", "TENANT",
	 "list a tenant's SCIM tokens, oldest first, revoked ones included",
	 run_token_list},
	{"token", "create", "TENANT NAME [--expires-in DAYS | --expires TIME]",
	 "create a SCIM bearer token (printed this once; TIME is RFC 3339)",
	 run_token_create},
	{"token", "show", "TENANT ID", "show one SCIM token", run_token_show},
	{"token", "revoke", "TENANT ID", "revoke a SCIM token",
	 run_token_revoke},
	{"audit", NULL,
	 "[--tenant T] [--resource ID] [--kind scim|admin] [--since TIME] "
	 "[--until TIME] [--limit N] [--bodies]",
	 "show audit entries, newest first (--bodies: with captured bodies)",
	 run_audit},
	{"sink", "list", "",
	 "each sink's state, cursor, lag, deliveries, retries and dead letters",
	 run_sink_list},
	{"sink", "show", "NAME", "one sink, with its dead letters",
	 run_sink_show},
	{"sink", "replay", "NAME [SEQ] [--force]",
	 "put a dead letter (or all of them) back for delivery; stale ones "
	 "(resource deleted or changed since) only with --force",
	 run_sink_replay},
	{"sink", "resync", "NAME TENANT",
	 "export every user, group and role of TENANT to the sink again",
	 run_sink_resync},
	{NULL, NULL, NULL, NULL, NULL},
};

/* "tenant create NAME [...]" */
static void sub_line(FILE *f, const admin_sub *s)
{
	fputs(s->top, f);
	if (s->name != NULL)
		fprintf(f, " %s", s->name);
	if (s->args[0] != '\0')
		fprintf(f, " %s", s->args);
}

static void sub_name(FILE *f, const admin_sub *s)
{
	fputs(s->top, f);
	if (s->name != NULL)
		fprintf(f, " %s", s->name);
}

int ctl_admin_usage(FILE *f, const char *command)
{
	const admin_sub *s;
	int n = 0;

	for (s = subs; s->top; s++) {
		if (strcmp(s->top, command) != 0)
			continue;
		fputs("  ", f);
		sub_line(f, s);
		fprintf(f, "\n      %s\n", s->summary);
		n++;
	}
	return n;
}

void ctl_admin_options_usage(FILE *f)
{
	fputs("\nglobal options (before the command, or anywhere among the "
	      "arguments\nof health, tenant, token and audit):\n"
	      "  --url URL          the admin API (default: "
	      "$SCIMSYNC_ADMIN_URL,\n"
	      "                     else " DEFAULT_URL ")\n"
	      "  --token-file FILE  read the admin token from FILE (default: "
	      "the file\n"
	      "                     $SCIMSYNC_ADMIN_TOKEN_FILE, else "
	      "$SCIMSYNC_ADMIN_TOKEN)\n"
	      "  --json             print the API's JSON answer instead of "
	      "a table\n",
	      f);
}

/* Print the usage lines of every subcommand of top. */
static void top_usage(FILE *f, const char *top)
{
	const admin_sub *s;
	const char *lead = "usage: ";

	for (s = subs; s->top; s++) {
		if (strcmp(s->top, top) != 0)
			continue;
		fprintf(f, "%sscimsyncctl ", lead);
		sub_line(f, s);
		fputc('\n', f);
		lead = "       ";
	}
}

/* "scimsyncctl: tenant create: <fmt with arg>", then the usage of s. */
static int sub_usage(const admin_sub *s, const char *fmt, const char *arg)
{
	fputs("scimsyncctl: ", stderr);
	sub_name(stderr, s);
	fputs(": ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nusage: scimsyncctl ", stderr);
	sub_line(stderr, s);
	fputs("\nTry 'scimsyncctl --help'.\n", stderr);
	return CTL_EXIT_USAGE;
}

int ctl_admin_global_opt(ctl_admin_opts *o, int argc, char **argv)
{
	static const char *const names[] = {"--url", "--token-file"};
	const char *a, *v;
	size_t i, len;
	int n;

	if (argc < 1)
		return 0;
	a = argv[0];
	if (strcmp(a, "--json") == 0) {
		o->json = 1;
		return 1;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		len = strlen(names[i]);
		if (strncmp(a, names[i], len) != 0 ||
		    (a[len] != '\0' && a[len] != '='))
			continue;
		if (a[len] == '=') {
			v = a + len + 1;
			n = 1;
		} else if (argc >= 2) {
			v = argv[1];
			n = 2;
		} else {
			v = "";
			n = 1;
		}
		if (v[0] == '\0') {
			fprintf(stderr, "scimsyncctl: %s needs a value\n",
				names[i]);
			return -1;
		}
		if (i == 0)
			o->url = v;
		else
			o->token_file = v;
		return n;
	}
	return 0;
}

/* An option of a subcommand: a value option stores into *value, a flag
 * sets *flag. */
typedef struct opt_def {
	const char *name; /* "--rate" */
	const char **value;
	int *flag;
} opt_def;

/* Parse argv[1..argc) of s (argv[0] is its name): the options in defs
 * (ending with a NULL name; "--opt VALUE" or "--opt=VALUE"), the global
 * options, --help, "--" (the rest is positional), and min to max
 * positional arguments into pos[]. Returns 0 to go on, or -1 with *rc
 * the exit code (the usage was printed). */
static int parse_args(admin_ctx *c, const admin_sub *s, int argc, char **argv,
		      const opt_def *defs, const char **pos, int min, int max,
		      int *rc)
{
	const opt_def *d;
	const char *a, *eq;
	size_t len;
	int i, n, npos = 0, only_pos = 0;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (only_pos || a[0] != '-' || a[1] == '\0') {
			if (a[0] == '\0') {
				*rc = sub_usage(s, "empty argument", NULL);
				return -1;
			}
			if (npos >= max) {
				*rc = sub_usage(s, "unexpected argument '%s'",
						a);
				return -1;
			}
			pos[npos++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs("usage: scimsyncctl ", stdout);
			sub_line(stdout, s);
			printf("\n  %s\n", s->summary);
			*rc = CTL_EXIT_OK;
			return -1;
		}
		n = ctl_admin_global_opt(&c->o, argc - i, argv + i);
		if (n < 0) { /* the message is out */
			fputs("usage: scimsyncctl ", stderr);
			sub_line(stderr, s);
			fputs("\nTry 'scimsyncctl --help'.\n", stderr);
			*rc = CTL_EXIT_USAGE;
			return -1;
		}
		if (n > 0) {
			i += n - 1;
			continue;
		}
		eq = strchr(a, '=');
		len = eq ? (size_t)(eq - a) : strlen(a);
		for (d = defs; d && d->name; d++)
			if (strlen(d->name) == len &&
			    strncmp(d->name, a, len) == 0)
				break;
		if (d == NULL || d->name == NULL) {
			*rc = sub_usage(s, "unknown option '%s'", a);
			return -1;
		}
		if (d->flag != NULL) {
			if (eq != NULL) {
				*rc = sub_usage(s, "%s takes no value",
						d->name);
				return -1;
			}
			*d->flag = 1;
		} else if (eq != NULL) {
			*d->value = eq + 1;
		} else if (i + 1 < argc) {
			*d->value = argv[++i];
		} else {
			*rc = sub_usage(s, "%s needs a value", d->name);
			return -1;
		}
	}
	if (npos < min) {
		*rc = sub_usage(s, "missing arguments", NULL);
		return -1;
	}
	while (npos < max)
		pos[npos++] = NULL;
	return 0;
}

/* A decimal integer in [min, max], digits only. */
static int parse_int(const char *s, long long min, long long max,
		     long long *out)
{
	long long v = 0;
	int d;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = *s - '0';
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

/* --rate: a non-negative integer, or a decimal like 0.5. NULL if bad. */
static json_t *parse_rate(const char *s)
{
	long long n;
	size_t digits = 0, dots = 0;
	const char *p;
	double v;

	if (parse_int(s, 0, 1000000000LL, &n) == 0)
		return json_integer(n);
	for (p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.')
			dots++;
		else
			return NULL;
	}
	if (digits == 0 || dots != 1 || digits > 15)
		return NULL;
	v = strtod(s, NULL);
	if (v > 1e9)
		return NULL;
	return json_real(v);
}

/* ---- HTTP ---- */

static const char *base_url(const admin_ctx *c)
{
	const char *env;

	if (c->o.url != NULL)
		return c->o.url;
	env = getenv("SCIMSYNC_ADMIN_URL");
	if (env != NULL && env[0] != '\0')
		return env;
	return DEFAULT_URL;
}

/* Load the admin token into c->token: --token-file, else the file
 * $SCIMSYNC_ADMIN_TOKEN_FILE, else $SCIMSYNC_ADMIN_TOKEN, with leading and
 * trailing white space stripped. Returns 0, or -1 (printed). */
static int load_token(admin_ctx *c)
{
	const char *file = c->o.token_file, *env, *from;
	char chunk[512];
	sbuf b = {0};
	size_t n, start, end, i;
	FILE *f;
	int err;

	if (c->token != NULL)
		return 0;
	if (file == NULL) {
		env = getenv("SCIMSYNC_ADMIN_TOKEN_FILE");
		if (env != NULL && env[0] != '\0')
			file = env;
	}
	if (file != NULL) {
		from = file;
		f = fopen(file, "r");
		if (f == NULL) {
			fprintf(stderr, "scimsyncctl: %s: %s\n", file,
				strerror(errno));
			return -1;
		}
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 &&
		       b.len <= MAX_TOKEN_FILE)
			sb_add(&b, chunk, n);
		err = ferror(f);
		fclose(f);
		memset(chunk, 0, sizeof(chunk));
		if (err) {
			fprintf(stderr, "scimsyncctl: %s: read error\n", file);
			wipe_free(b.p, b.cap);
			return -1;
		}
		if (b.len > MAX_TOKEN_FILE) {
			fprintf(stderr,
				"scimsyncctl: %s: too large for an admin "
				"token\n",
				file);
			wipe_free(b.p, b.cap);
			return -1;
		}
	} else if ((env = getenv("SCIMSYNC_ADMIN_TOKEN")) != NULL) {
		from = "SCIMSYNC_ADMIN_TOKEN";
		sb_puts(&b, env);
	} else {
		fputs("scimsyncctl: no admin token: pass --token-file FILE, "
		      "or set SCIMSYNC_ADMIN_TOKEN_FILE or "
		      "SCIMSYNC_ADMIN_TOKEN\n",
		      stderr);
		return -1;
	}
	start = 0;
	end = b.len;
	while (end > 0 && strchr(" \t\r\n\v\f", b.p[end - 1]) != NULL)
		end--;
	while (start < end && strchr(" \t\r\n\v\f", b.p[start]) != NULL)
		start++;
	for (i = start; i < end; i++) {
		unsigned char ch = (unsigned char)b.p[i];

		if (ch <= 0x20 || ch >= 0x7f)
			break;
	}
	if (start == end || i < end) {
		fprintf(stderr, "scimsyncctl: %s: %s\n", from,
			start == end ? "the admin token is empty"
				     : "the admin token must be one word of "
				       "printable ASCII");
		wipe_free(b.p, b.cap);
		return -1;
	}
	c->token_len = end - start;
	c->token = xrealloc(NULL, c->token_len + 1);
	memcpy(c->token, b.p + start, c->token_len);
	c->token[c->token_len] = '\0';
	wipe_free(b.p, b.cap);
	return 0;
}

typedef struct answer {
	sbuf body;
	int too_big;
} answer;

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	answer *a = ud;
	size_t n = size * nmemb;

	if (a->body.len + n > MAX_ANSWER) {
		a->too_big = 1;
		return 0;
	}
	sb_add(&a->body, p, n);
	return n;
}

static struct curl_slist *add_header(struct curl_slist *list, const char *h)
{
	struct curl_slist *l = curl_slist_append(list, h);

	if (l == NULL) {
		fputs("scimsyncctl: out of memory\n", stderr);
		exit(CTL_EXIT_API);
	}
	return l;
}

/* Percent-encode s (a path segment or a query value) onto b. */
static void sb_escape(sbuf *b, CURL *curl, const char *s)
{
	char *e = curl_easy_escape(curl, s, 0);

	if (e == NULL) {
		fputs("scimsyncctl: out of memory\n", stderr);
		exit(CTL_EXIT_API);
	}
	sb_puts(b, e);
	curl_free(e);
}

/* The message of an error answer: its "error" (or SCIM "detail"), else
 * the first line of a plain-text body, else a note naming url. */
static void error_text(sbuf *out, const json_t *doc, const sbuf *body,
		       const char *url)
{
	const char *s = json_string_value(json_object_get(doc, "error"));
	size_t n;

	if (s == NULL)
		s = json_string_value(json_object_get(doc, "detail"));
	if (s != NULL && s[0] != '\0') {
		sb_clean(out, s);
		return;
	}
	s = sb_str(body);
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	n = strcspn(s, "\r\n");
	if (doc == NULL && n > 0 && s[0] != '<') {
		sb_clean_n(out, s, n > 200 ? 200 : n);
		return;
	}
	sb_puts(out, doc == NULL && n > 0 ? "non-JSON answer from "
					  : "no error message from ");
	sb_clean(out, url);
}

/* Send method path (already encoded, with its query) and body (or NULL)
 * to the admin API, with the admin token if auth. On a 2xx answer with a
 * JSON body, *out is that body (json_decref) and CTL_EXIT_OK is returned;
 * otherwise the error was printed and the exit code is returned. */
static int api(admin_ctx *c, const char *method, const char *path,
	       const json_t *body, int auth, json_t **out)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	sbuf url = {0}, authz = {0}, msg = {0}, noproxy = {0};
	answer a = {{0}, 0};
	char *payload = NULL;
	const char *env;
	json_t *doc = NULL;
	json_error_t jerr;
	long status = 0;
	CURLcode res;
	int rc = CTL_EXIT_API;

	*out = NULL;
	if (auth && load_token(c) < 0)
		return CTL_EXIT_USAGE;
	if (c->base == NULL) {
		/* Taken only now: --url may come after the command. */
		sb_puts(&url, base_url(c));
		while (url.len > 0 && url.p[url.len - 1] == '/')
			url.p[--url.len] = '\0';
		c->base = sb_take(&url);
	}
	sb_puts(&url, c->base);
	sb_puts(&url, path);

	curl_easy_reset(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_URL, sb_str(&url));
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, TOTAL_TIMEOUT_S);
	curl_easy_setopt(c->curl, CURLOPT_USERAGENT,
			 "scimsyncctl/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c->curl, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* Never send the admin token to a proxy for a loopback address
	 * ($no_proxy, which CURLOPT_NOPROXY overrides, is kept). */
	env = getenv("no_proxy");
	if (env == NULL || env[0] == '\0')
		env = getenv("NO_PROXY");
	sb_puts(&noproxy, "localhost,127.0.0.1,::1");
	if (env != NULL && env[0] != '\0') {
		sb_puts(&noproxy, ",");
		sb_puts(&noproxy, env);
	}
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, sb_str(&noproxy));
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &a);

	hdrs = add_header(hdrs, "Accept: application/json");
	if (auth) {
		sb_puts(&authz, "Authorization: Bearer ");
		sb_add(&authz, c->token, c->token_len);
		hdrs = add_header(hdrs, sb_str(&authz));
		wipe_free(authz.p, authz.cap);
	}
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (payload == NULL) {
			fputs("scimsyncctl: out of memory\n", stderr);
			goto done;
		}
		hdrs = add_header(hdrs, "Content-Type: application/json");
		hdrs = add_header(hdrs, "Expect:");
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE,
				 (long)strlen(payload));
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
	}
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "POST") == 0) {
		if (body == NULL) {
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE, 0L);
			curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, "");
		}
	} else {
		curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);
	}

	res = curl_easy_perform(c->curl);
	if (res != CURLE_OK) {
		if (a.too_big) {
			fprintf(stderr,
				"scimsyncctl: %s %s: the answer is larger "
				"than %zu MiB\n",
				method, sb_str(&url), MAX_ANSWER >> 20);
			goto done;
		}
		fprintf(stderr,
			"scimsyncctl: cannot reach the admin API at %s: %s\n",
			sb_str(&url),
			errbuf[0] ? errbuf : curl_easy_strerror(res));
		rc = CTL_EXIT_UNREACHABLE;
		goto done;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (a.body.len > 0)
		doc = json_loadb(a.body.p, a.body.len, 0, &jerr);
	if (status < 200 || status > 299) {
		error_text(&msg, doc, &a.body, sb_str(&url));
		fprintf(stderr, "scimsyncctl: %s (HTTP %ld)\n", sb_str(&msg),
			status);
		goto done;
	}
	if (doc == NULL) {
		fprintf(stderr,
			"scimsyncctl: %s %s: the answer is not JSON (HTTP "
			"%ld)\n",
			method, sb_str(&url), status);
		goto done;
	}
	*out = doc;
	doc = NULL;
	rc = CTL_EXIT_OK;
done:
	json_decref(doc);
	curl_slist_free_all(hdrs);
	free(payload);
	free(url.p);
	free(msg.p);
	free(noproxy.p);
	free(a.body.p);
	return rc;
}

/* An answer without the expected member. */
static int unexpected(const char *what)
{
	fprintf(stderr,
		"scimsyncctl: unexpected answer from the admin API: "
		"%s\n",
		what);
	return CTL_EXIT_API;
}

/* ---- health ---- */

static int run_health(admin_ctx *c, const admin_sub *s, int argc, char **argv)
{
	json_t *doc;
	const char *st;
	sbuf ver = {0};
	int rc;

	if (parse_args(c, s, argc, argv, NULL, NULL, 0, 0, &rc) < 0)
		return rc;
	rc = api(c, "GET", "/api/v1/health", NULL, 0, &doc);
	if (rc != CTL_EXIT_OK)
		return rc;
	st = json_string_value(json_object_get(doc, "status"));
	if (c->o.json) {
		print_json(doc);
	} else if (st != NULL && strcmp(st, "ok") == 0) {
		fputs("ok (version ", stdout);
		sb_value(&ver, json_object_get(doc, "version"), "unknown",
			 "unknown");
		fputs(sb_str(&ver), stdout);
		free(ver.p);
		puts(")");
	} else {
		fputs("scimsyncctl: the admin API says its status is '",
		      stderr);
		print_clean(stderr, st ? st : "(none)");
		fputs("'\n", stderr);
	}
	if (st == NULL || strcmp(st, "ok") != 0)
		rc = CTL_EXIT_API;
	json_decref(doc);
	return rc;
}

/* ---- tenant ---- */

/* "/api/v1/tenants/NAME" plus rest. */
static void tenant_path(sbuf *b, admin_ctx *c, const char *name,
			const char *rest)
{
	sb_puts(b, "/api/v1/tenants/");
	sb_escape(b, c->curl, name);
	sb_puts(b, rest);
}

static int run_tenant_list(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv)
{
	static const char *const heads[] = {"NAME",  "CREATED", "RATE",
					    "BURST", "BODIES",	"DESCRIPTION"};
	const json_t *list, *t, *rate, *on;
	json_t *doc;
	table tab;
	size_t i;
	sbuf b = {0};
	int rc;

	if (parse_args(c, s, argc, argv, NULL, NULL, 0, 0, &rc) < 0)
		return rc;
	rc = api(c, "GET", "/api/v1/tenants", NULL, 1, &doc);
	if (rc != CTL_EXIT_OK)
		return rc;
	list = json_object_get(doc, "tenants");
	if (c->o.json) {
		print_json(doc);
	} else if (!json_is_array(list)) {
		rc = unexpected("no \"tenants\" array");
	} else if (json_array_size(list) == 0) {
		puts("no tenants");
	} else {
		table_init(&tab, heads, 6);
		json_array_foreach (list, i, t) {
			table_value(&tab, json_object_get(t, "name"));
			table_value(&tab, json_object_get(t, "created"));
			rate = get2(t, "rate_limit", "requests_per_second");
			if (json_is_number(rate) &&
			    json_number_value(rate) == 0)
				table_text(&tab, "off");
			else
				table_value(&tab, rate);
			table_value(&tab, get2(t, "rate_limit", "burst"));
			on = get2(t, "audit_bodies", "enabled");
			if (json_is_true(on)) {
				sb_value(&b,
					 get2(t, "audit_bodies",
					      "retention_days"),
					 "on", "on");
				if (json_is_integer(get2(t, "audit_bodies",
							 "retention_days")))
					sb_puts(&b, "d");
				table_put(&tab, sb_take(&b));
			} else {
				table_text(&tab,
					   json_is_false(on) ? "off" : "-");
			}
			table_value(&tab, json_object_get(t, "description"));
		}
		table_layout(&tab);
		table_head(&tab);
		for (i = 0; i < table_rows(&tab); i++)
			table_row(&tab, i);
		table_free(&tab);
	}
	json_decref(doc);
	return rc;
}

/* The settings of tenant create/set into body. Returns 0, or -1 with *rc
 * set (usage printed). */
static int tenant_settings(const admin_sub *s, json_t *body, const char *desc,
			   const char *rate, const char *burst,
			   const char *bodies, const char *map, int *rc)
{
	json_t *rl, *v;
	long long n;

	if (map != NULL) {
		/* NAME=FILE (made absolute: the daemon reads it), or NAME=
		 * to go back to the config's file of that name. */
		const char *eq = strchr(map, '=');
		char *name, *abs = NULL;

		if (eq == NULL || eq == map) {
			*rc = sub_usage(
				s, "--mapping needs NAME=FILE, not '%s'", map);
			return -1;
		}
		name = strndup(map, (size_t)(eq - map));
		if (eq[1] != '\0' && eq[1] != '/') {
			abs = realpath(eq + 1, NULL);
			if (abs == NULL) {
				*rc = sub_usage(s,
						"--mapping: no such file '%s'",
						eq + 1);
				free(name);
				return -1;
			}
		}
		json_object_set_new(body, "mappings",
				    json_pack("{s:o}", name,
					      eq[1] == '\0' ? json_null()
					      : abs	    ? json_string(abs)
						    : json_string(eq + 1)));
		free(abs);
		free(name);
	}
	if (desc != NULL)
		json_object_set_new(body, "description", json_string(desc));
	if (rate != NULL || burst != NULL) {
		rl = json_object();
		json_object_set_new(body, "rate_limit", rl);
		if (rate != NULL) {
			v = parse_rate(rate);
			if (v == NULL) {
				*rc = sub_usage(s,
						"--rate needs a number of "
						"requests per second (0: no "
						"limit), not '%s'",
						rate);
				return -1;
			}
			json_object_set_new(rl, "requests_per_second", v);
		}
		if (burst != NULL) {
			if (parse_int(burst, 0, 1000000000LL, &n) < 0) {
				*rc = sub_usage(s,
						"--burst needs a whole number, "
						"not '%s'",
						burst);
				return -1;
			}
			json_object_set_new(rl, "burst", json_integer(n));
		}
	}
	if (bodies != NULL) {
		if (strcmp(bodies, "off") == 0) {
			json_object_set_new(body, "audit_bodies",
					    json_pack("{sb}", "enabled", 0));
		} else if (parse_int(bodies, 1, 36500, &n) == 0) {
			json_object_set_new(body, "audit_bodies",
					    json_pack("{sbsI}", "enabled", 1,
						      "retention_days",
						      (json_int_t)n));
		} else {
			*rc = sub_usage(s,
					"--audit-bodies needs DAYS (1 to "
					"36500) or 'off', not '%s'",
					bodies);
			return -1;
		}
	}
	return 0;
}

static int tenant_create_or_set(admin_ctx *c, const admin_sub *s, int argc,
				char **argv, int create)
{
	const char *name, *desc = NULL, *rate = NULL, *burst = NULL,
			  *bodies = NULL, *map = NULL;
	const opt_def defs[] = {
		{"--description", &desc, NULL},	   {"--mapping", &map, NULL},
		{"--rate", &rate, NULL},	   {"--burst", &burst, NULL},
		{"--audit-bodies", &bodies, NULL}, {NULL, NULL, NULL},
	};
	json_t *body = NULL, *doc;
	sbuf path = {0};
	int rc;

	if (parse_args(c, s, argc, argv, defs, &name, 1, 1, &rc) < 0)
		return rc;
	body = json_object();
	if (create)
		json_object_set_new(body, "name", json_string(name));
	if (tenant_settings(s, body, desc, rate, burst, bodies, map, &rc) < 0)
		goto done;
	if (!create && json_object_size(body) == 0) {
		rc = sub_usage(s,
			       "nothing to change: give --description, "
			       "--rate, --burst, --audit-bodies or --mapping",
			       NULL);
		goto done;
	}
	if (create) {
		rc = api(c, "POST", "/api/v1/tenants", body, 1, &doc);
	} else {
		tenant_path(&path, c, name, "");
		rc = api(c, "PATCH", sb_str(&path), body, 1, &doc);
	}
	if (rc != CTL_EXIT_OK)
		goto done;
	if (c->o.json) {
		print_json(doc);
	} else {
		printf("%s tenant ", create ? "created" : "updated");
		print_clean(stdout, name);
		fputs(":\n\n", stdout);
		print_kv(doc);
	}
	json_decref(doc);
done:
	json_decref(body);
	free(path.p);
	return rc;
}

static int run_tenant_create(admin_ctx *c, const admin_sub *s, int argc,
			     char **argv)
{
	return tenant_create_or_set(c, s, argc, argv, 1);
}

static int run_tenant_set(admin_ctx *c, const admin_sub *s, int argc,
			  char **argv)
{
	return tenant_create_or_set(c, s, argc, argv, 0);
}

/* GET path and print the object as "key: value" lines. */
static int show_object(admin_ctx *c, const char *path)
{
	json_t *doc;
	int rc;

	rc = api(c, "GET", path, NULL, 1, &doc);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (c->o.json)
		print_json(doc);
	else if (json_is_object(doc))
		print_kv(doc);
	else
		rc = unexpected("not a JSON object");
	json_decref(doc);
	return rc;
}

static int run_tenant_show(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv)
{
	const char *name;
	sbuf path = {0};
	int rc;

	if (parse_args(c, s, argc, argv, NULL, &name, 1, 1, &rc) < 0)
		return rc;
	tenant_path(&path, c, name, "");
	rc = show_object(c, sb_str(&path));
	free(path.p);
	return rc;
}

/* Ask on the terminal for the tenant's name; 0 if it was typed. */
static int confirm_on_tty(const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ok;

	fputs("Type the tenant name to delete it and all its users, groups "
	      "and tokens: ",
	      stderr);
	fflush(stderr);
	n = getline(&line, &cap, stdin);
	if (n < 0) {
		fputc('\n', stderr);
		free(line);
		return -1;
	}
	while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
		line[--n] = '\0';
	ok = strcmp(line, name) == 0;
	free(line);
	return ok ? 0 : -1;
}

static int run_tenant_delete(admin_ctx *c, const admin_sub *s, int argc,
			     char **argv)
{
	const char *name, *confirm = NULL;
	const opt_def defs[] = {
		{"--confirm", &confirm, NULL},
		{NULL, NULL, NULL},
	};
	sbuf path = {0}, what = {0};
	json_t *doc;
	int rc;

	if (parse_args(c, s, argc, argv, defs, &name, 1, 1, &rc) < 0)
		return rc;
	if (confirm != NULL && strcmp(confirm, name) != 0)
		return sub_usage(s,
				 "--confirm must repeat the tenant name "
				 "exactly; nothing deleted",
				 NULL);
	if (confirm == NULL) {
		if (!isatty(STDIN_FILENO))
			return sub_usage(s,
					 "pass --confirm %s to delete the "
					 "tenant and all its users, groups "
					 "and tokens",
					 name);
		/* Fail on a missing token before asking. */
		if (load_token(c) < 0)
			return CTL_EXIT_USAGE;
		if (confirm_on_tty(name) < 0) {
			fputs("scimsyncctl: the name does not match; "
			      "nothing deleted\n",
			      stderr);
			return CTL_EXIT_USAGE;
		}
	}
	tenant_path(&path, c, name, "?confirm=");
	sb_escape(&path, c->curl, name);
	rc = api(c, "DELETE", sb_str(&path), NULL, 1, &doc);
	free(path.p);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (c->o.json) {
		print_json(doc);
	} else {
		sb_puts(&what, "deleted tenant ");
		sb_value(&what, json_object_get(doc, "deleted"), name, name);
		sb_puts(&what, " (");
		sb_value(&what, json_object_get(doc, "users"), "?", "?");
		sb_puts(&what, " users, ");
		sb_value(&what, json_object_get(doc, "groups"), "?", "?");
		sb_puts(&what, " groups, ");
		sb_value(&what, json_object_get(doc, "tokens"), "?", "?");
		sb_puts(&what, " tokens)");
		puts(sb_str(&what));
		free(what.p);
	}
	json_decref(doc);
	return rc;
}

/* ---- token ---- */

/* "/api/v1/tenants/T/scim/tokens" or ".../tokens/ID" */
static void token_path(sbuf *b, admin_ctx *c, const char *tenant,
		       const char *id)
{
	tenant_path(b, c, tenant, "/scim/tokens");
	if (id != NULL) {
		sb_puts(b, "/");
		sb_escape(b, c->curl, id);
	}
}

static int run_token_list(admin_ctx *c, const admin_sub *s, int argc,
			  char **argv)
{
	static const char *const heads[] = {
		"ID",	   "NAME",	"STATUS",     "CREATED",
		"EXPIRES", "LAST USED", "LAST CLIENT"};
	static const char *const keys[] = {"id",	 "name",    "status",
					   "created",	 "expires", "last_used",
					   "last_client"};
	const char *tenant;
	const json_t *list, *t;
	json_t *doc;
	sbuf path = {0};
	table tab;
	size_t i, k;
	int rc;

	if (parse_args(c, s, argc, argv, NULL, &tenant, 1, 1, &rc) < 0)
		return rc;
	token_path(&path, c, tenant, NULL);
	rc = api(c, "GET", sb_str(&path), NULL, 1, &doc);
	free(path.p);
	if (rc != CTL_EXIT_OK)
		return rc;
	list = json_object_get(doc, "tokens");
	if (c->o.json) {
		print_json(doc);
	} else if (!json_is_array(list)) {
		rc = unexpected("no \"tokens\" array");
	} else if (json_array_size(list) == 0) {
		fputs("no tokens for tenant ", stdout);
		print_clean(stdout, tenant);
		putchar('\n');
	} else {
		table_init(&tab, heads, 7);
		json_array_foreach (list, i, t)
			for (k = 0; k < 7; k++)
				table_value(&tab, json_object_get(t, keys[k]));
		table_layout(&tab);
		table_head(&tab);
		for (i = 0; i < table_rows(&tab); i++)
			table_row(&tab, i);
		table_free(&tab);
	}
	json_decref(doc);
	return rc;
}

static int run_token_create(admin_ctx *c, const admin_sub *s, int argc,
			    char **argv)
{
	const char *pos[2], *in_days = NULL, *expires = NULL, *secret;
	const opt_def defs[] = {
		{"--expires-in", &in_days, NULL},
		{"--expires", &expires, NULL},
		{NULL, NULL, NULL},
	};
	json_t *body, *doc;
	sbuf path = {0}, line = {0};
	long long days = 0;
	int rc;

	if (parse_args(c, s, argc, argv, defs, pos, 2, 2, &rc) < 0)
		return rc;
	if (in_days != NULL && expires != NULL)
		return sub_usage(s, "give --expires-in or --expires, not both",
				 NULL);
	if (in_days != NULL && parse_int(in_days, 1, 36500, &days) < 0)
		return sub_usage(s,
				 "--expires-in needs DAYS (1 to 36500), "
				 "not '%s'",
				 in_days);
	if (expires != NULL && expires[0] == '\0')
		return sub_usage(s, "--expires needs an RFC 3339 time", NULL);
	body = json_pack("{ss}", "name", pos[1]);
	if (in_days != NULL)
		json_object_set_new(body, "expires_in_days",
				    json_integer(days));
	if (expires != NULL)
		json_object_set_new(body, "expires", json_string(expires));
	token_path(&path, c, pos[0], NULL);
	rc = api(c, "POST", sb_str(&path), body, 1, &doc);
	free(path.p);
	json_decref(body);
	if (rc != CTL_EXIT_OK)
		return rc;
	secret = json_string_value(json_object_get(doc, "token"));
	if (c->o.json) {
		print_json(doc);
	} else if (secret == NULL) {
		rc = unexpected("no \"token\" in the new token");
	} else {
		sb_puts(&line, "New SCIM token for tenant ");
		sb_value(&line, json_object_get(doc, "tenant"), pos[0], pos[0]);
		sb_puts(&line, " (shown only now; store it in your IdP):\n\n"
			       "  Token:         ");
		sb_clean(&line, secret);
		sb_puts(&line, "\n  SCIM base URL: ");
		sb_value(&line, json_object_get(doc, "scim_base_url"), "-",
			 "-");
		sb_puts(&line, "\n  Token id:      ");
		sb_value(&line, json_object_get(doc, "id"), "-", "-");
		sb_puts(&line, "   name: ");
		sb_value(&line, json_object_get(doc, "name"), "-", "-");
		sb_puts(&line, "   expires: ");
		sb_value(&line, json_object_get(doc, "expires"), "never",
			 "never");
		puts(sb_str(&line));
		wipe_free(line.p, line.cap);
	}
	json_decref(doc);
	return rc;
}

static int run_token_show(admin_ctx *c, const admin_sub *s, int argc,
			  char **argv)
{
	const char *pos[2];
	sbuf path = {0};
	int rc;

	if (parse_args(c, s, argc, argv, NULL, pos, 2, 2, &rc) < 0)
		return rc;
	token_path(&path, c, pos[0], pos[1]);
	rc = show_object(c, sb_str(&path));
	free(path.p);
	return rc;
}

static int run_token_revoke(admin_ctx *c, const admin_sub *s, int argc,
			    char **argv)
{
	const char *pos[2];
	const json_t *when;
	json_t *doc;
	sbuf path = {0}, line = {0};
	int rc;

	if (parse_args(c, s, argc, argv, NULL, pos, 2, 2, &rc) < 0)
		return rc;
	token_path(&path, c, pos[0], pos[1]);
	rc = api(c, "DELETE", sb_str(&path), NULL, 1, &doc);
	free(path.p);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (c->o.json) {
		print_json(doc);
	} else {
		sb_puts(&line, "revoked token ");
		sb_value(&line, json_object_get(doc, "id"), pos[1], pos[1]);
		sb_puts(&line, " (");
		sb_value(&line, json_object_get(doc, "name"), "-", "-");
		sb_puts(&line, ") of tenant ");
		sb_value(&line, json_object_get(doc, "tenant"), pos[0], pos[0]);
		when = json_object_get(doc, "revoked");
		if (json_is_string(when)) {
			sb_puts(&line, " at ");
			sb_value(&line, when, "-", "-");
		}
		puts(sb_str(&line));
		free(line.p);
	}
	json_decref(doc);
	return rc;
}

/* ---- audit ---- */

/* Append "&key=value" (or "?key=value" first) if value is not NULL. */
static void add_query(sbuf *b, admin_ctx *c, const char *key, const char *value)
{
	if (value == NULL)
		return;
	sb_puts(b, strchr(sb_str(b), '?') ? "&" : "?");
	sb_puts(b, key);
	sb_puts(b, "=");
	sb_escape(b, c->curl, value);
}

/* A captured body under its row: pretty JSON if it is JSON. Returns 1 if
 * there was one. */
static int print_body(const char *label, const json_t *v)
{
	const char *s = json_string_value(v), *eol;
	json_t *parsed;
	char *pretty = NULL;
	sbuf b = {0};
	size_t n;

	if (s == NULL)
		return 0;
	printf("    %s:", label);
	if (s[0] == '\0') {
		puts(" (empty)");
		return 1;
	}
	putchar('\n');
	parsed = json_loads(s, JSON_DECODE_ANY, NULL);
	if (parsed != NULL)
		pretty = json_dumps(parsed, JSON_INDENT(2) |
						    JSON_PRESERVE_ORDER |
						    JSON_ENCODE_ANY);
	if (pretty != NULL)
		s = pretty;
	while (*s) {
		eol = strchr(s, '\n');
		n = eol ? (size_t)(eol - s) : strlen(s);
		if (n > 0 && s[n - 1] == '\r')
			n--;
		sb_clean_n(&b, s, n);
		printf("      %s\n", sb_str(&b));
		free(sb_take(&b));
		s = eol ? eol + 1 : s + n;
	}
	free(pretty);
	json_decref(parsed);
	return 1;
}

static int run_audit(admin_ctx *c, const admin_sub *s, int argc, char **argv)
{
	static const char *const heads[] = {"TIME",  "KIND",   "TENANT",
					    "TOKEN", "CLIENT", "METHOD",
					    "PATH",  "STATUS", "MS"};
	const char *tenant = NULL, *resource = NULL, *kind = NULL,
		   *since = NULL, *until = NULL, *limit = NULL;
	int bodies = 0;
	const opt_def defs[] = {
		{"--tenant", &tenant, NULL}, {"--resource", &resource, NULL},
		{"--kind", &kind, NULL},     {"--since", &since, NULL},
		{"--until", &until, NULL},   {"--limit", &limit, NULL},
		{"--bodies", NULL, &bodies}, {NULL, NULL, NULL},
	};
	const json_t *list, *e, *tok, *ms;
	json_t *doc;
	sbuf path = {0};
	table tab;
	size_t i;
	long long n;
	char num[64];
	int rc, k;

	if (parse_args(c, s, argc, argv, defs, NULL, 0, 0, &rc) < 0)
		return rc;
	if (kind != NULL && strcmp(kind, "scim") != 0 &&
	    strcmp(kind, "admin") != 0)
		return sub_usage(s, "--kind is scim or admin, not '%s'", kind);
	if (limit != NULL && parse_int(limit, 1, 1000000000LL, &n) < 0)
		return sub_usage(s, "--limit needs a positive number, not '%s'",
				 limit);
	if (tenant != NULL && tenant[0] == '\0')
		return sub_usage(s, "--tenant needs a tenant name", NULL);
	sb_puts(&path, "/api/v1/audit");
	add_query(&path, c, "tenant", tenant);
	add_query(&path, c, "resource_id", resource);
	add_query(&path, c, "kind", kind);
	add_query(&path, c, "since", since);
	add_query(&path, c, "until", until);
	add_query(&path, c, "limit", limit);
	if (bodies)
		add_query(&path, c, "bodies", "1");
	rc = api(c, "GET", sb_str(&path), NULL, 1, &doc);
	free(path.p);
	if (rc != CTL_EXIT_OK)
		return rc;
	list = json_object_get(doc, "entries");
	if (c->o.json) {
		print_json(doc);
	} else if (!json_is_array(list)) {
		rc = unexpected("no \"entries\" array");
	} else if (json_array_size(list) == 0) {
		puts("no audit entries");
	} else {
		table_init(&tab, heads, 9);
		json_array_foreach (list, i, e) {
			table_value(&tab, json_object_get(e, "time"));
			table_value(&tab, json_object_get(e, "kind"));
			table_value(&tab, json_object_get(e, "tenant"));
			tok = json_object_get(e, "token_name");
			if (json_string_length(tok) == 0)
				tok = json_object_get(e, "token_prefix");
			table_value(&tab, tok);
			table_value(&tab, json_object_get(e, "client"));
			table_value(&tab, json_object_get(e, "method"));
			table_value(&tab, json_object_get(e, "path"));
			table_value(&tab, json_object_get(e, "status"));
			ms = json_object_get(e, "duration_ms");
			if (json_is_real(ms)) {
				snprintf(num, sizeof(num), "%.1f",
					 json_real_value(ms));
				table_text(&tab, num);
			} else {
				table_value(&tab, ms);
			}
		}
		table_layout(&tab);
		table_head(&tab);
		for (i = 0; i < table_rows(&tab); i++) {
			table_row(&tab, i);
			if (!bodies)
				continue;
			e = json_array_get(list, i);
			k = print_body("request body",
				       json_object_get(e, "request_body"));
			k |= print_body("response body",
					json_object_get(e, "response_body"));
			if (k && i + 1 < table_rows(&tab))
				putchar('\n');
		}
		table_free(&tab);
	}
	json_decref(doc);
	return rc;
}

/* ---- entry points ---- */

/* ---- sinks ---- */

static void sink_path(sbuf *b, admin_ctx *c, const char *name, const char *rest)
{
	sb_puts(b, "/api/v1/sinks/");
	sb_escape(b, c->curl, name);
	sb_puts(b, rest);
}

static int run_sink_list(admin_ctx *c, const admin_sub *s, int argc,
			 char **argv)
{
	static const char *const heads[] = {
		"NAME",	     "PLUGIN",	"STATE",  "CURSOR", "LAG",
		"DELIVERED", "RETRIES", "FAILED", "DEAD",   "LAST ERROR"};
	static const char *const keys[] = {
		"name",	     "plugin",	"state",  "cursor",	  "lag",
		"delivered", "retries", "failed", "dead_letters", "last_error"};
	const json_t *list, *t;
	json_t *doc;
	table tab;
	size_t i;
	int rc;

	if (parse_args(c, s, argc, argv, NULL, NULL, 0, 0, &rc) < 0)
		return rc;
	rc = api(c, "GET", "/api/v1/sinks", NULL, 1, &doc);
	if (rc != CTL_EXIT_OK)
		return rc;
	list = json_object_get(doc, "sinks");
	if (c->o.json) {
		print_json(doc);
	} else if (!json_is_array(list)) {
		rc = unexpected("no \"sinks\" array");
	} else if (json_array_size(list) == 0) {
		puts("no sinks configured");
	} else {
		table_init(&tab, heads, 10);
		json_array_foreach (list, i, t)
			for (size_t k = 0; k < 10; k++)
				table_value(&tab, json_object_get(t, keys[k]));
		table_layout(&tab);
		table_head(&tab);
		for (i = 0; i < table_rows(&tab); i++)
			table_row(&tab, i);
		table_free(&tab);
	}
	json_decref(doc);
	return rc;
}

static int run_sink_show(admin_ctx *c, const admin_sub *s, int argc,
			 char **argv)
{
	const char *name;
	sbuf path = {0};
	int rc;

	if (parse_args(c, s, argc, argv, NULL, &name, 1, 1, &rc) < 0)
		return rc;
	sink_path(&path, c, name, "");
	rc = show_object(c, sb_str(&path));
	free(path.p);
	return rc;
}

/* POST body to the sink's action and print what it answered. */
static int sink_action(admin_ctx *c, const char *name, const char *action,
		       json_t *body, const char *key, const char *what)
{
	sbuf path = {0};
	json_t *doc;
	int rc;

	sink_path(&path, c, name, action);
	rc = api(c, "POST", sb_str(&path), body, 1, &doc);
	free(path.p);
	json_decref(body);
	if (rc != CTL_EXIT_OK)
		return rc;
	if (c->o.json)
		print_json(doc);
	else {
		printf("%s: %lld %s\n", name,
		       (long long)json_integer_value(json_object_get(doc, key)),
		       what);
		if (json_integer_value(json_object_get(doc, "stale")) > 0)
			printf("%s: %lld stale dead letter(s) kept: their "
			       "resource was deleted or changed since (replay "
			       "them with --force)\n",
			       name,
			       (long long)json_integer_value(
				       json_object_get(doc, "stale")));
	}
	json_decref(doc);
	return rc;
}

static int run_sink_replay(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv)
{
	const char *pos[2] = {NULL, NULL};
	json_t *body = json_object();
	long long seq;
	int rc, force = 0;
	const opt_def defs[] = {
		{"--force", NULL, &force},
		{NULL, NULL, NULL},
	};

	if (parse_args(c, s, argc, argv, defs, pos, 1, 2, &rc) < 0) {
		json_decref(body);
		return rc;
	}
	if (force)
		json_object_set_new(body, "force", json_true());
	if (pos[1]) {
		if (parse_int(pos[1], 1, INT64_MAX, &seq) < 0) {
			json_decref(body);
			return sub_usage(s,
					 "SEQ must be a dead letter's seq, "
					 "not '%s'",
					 pos[1]);
		}
		json_object_set_new(body, "seq", json_integer(seq));
	}
	return sink_action(c, pos[0], "/replay", body, "replayed",
			   "dead letter(s) put back for delivery");
}

static int run_sink_resync(admin_ctx *c, const admin_sub *s, int argc,
			   char **argv)
{
	const char *pos[2];
	int rc;

	if (parse_args(c, s, argc, argv, NULL, pos, 2, 2, &rc) < 0)
		return rc;
	return sink_action(c, pos[0], "/resync",
			   json_pack("{s:s}", "tenant", pos[1]), "events",
			   "events queued for the sink");
}

/* Run top-level command top: find its subcommand (after any global
 * options), set up curl and the URL, run it. */
static int run_top(const ctl_admin_opts *o, const char *top, int argc,
		   char **argv)
{
	const admin_sub *s;
	admin_ctx c;
	int i = 1, n, rc;

	memset(&c, 0, sizeof(c));
	c.o = *o;
	for (s = subs; s->top && strcmp(s->top, top) != 0; s++)
		;
	if (s->name != NULL) {
		while (i < argc) {
			n = ctl_admin_global_opt(&c.o, argc - i, argv + i);
			if (n < 0) {
				top_usage(stderr, top);
				return CTL_EXIT_USAGE;
			}
			if (n == 0)
				break;
			i += n;
		}
		if (i >= argc) {
			fprintf(stderr,
				"scimsyncctl: %s: a command is missing\n", top);
			top_usage(stderr, top);
			return CTL_EXIT_USAGE;
		}
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			top_usage(stdout, top);
			return CTL_EXIT_OK;
		}
		for (; s->top && strcmp(s->top, top) == 0; s++)
			if (strcmp(s->name, argv[i]) == 0)
				break;
		if (s->top == NULL || strcmp(s->top, top) != 0) {
			fprintf(stderr,
				"scimsyncctl: unknown command '%s %s'\n", top,
				argv[i]);
			top_usage(stderr, top);
			return CTL_EXIT_USAGE;
		}
		argc -= i;
		argv += i;
	}

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("scimsyncctl: cannot initialise libcurl\n", stderr);
		return CTL_EXIT_UNREACHABLE;
	}
	c.curl = curl_easy_init();
	if (c.curl == NULL) {
		fputs("scimsyncctl: cannot initialise libcurl\n", stderr);
		rc = CTL_EXIT_UNREACHABLE;
	} else {
		rc = s->run(&c, s, argc, argv);
		curl_easy_cleanup(c.curl);
	}
	curl_global_cleanup();
	free(c.base);
	wipe_free(c.token, c.token_len);
	return rc;
}

int ctl_admin_health(const ctl_admin_opts *o, int argc, char **argv)
{
	return run_top(o, "health", argc, argv);
}

int ctl_admin_tenant(const ctl_admin_opts *o, int argc, char **argv)
{
	return run_top(o, "tenant", argc, argv);
}

int ctl_admin_token(const ctl_admin_opts *o, int argc, char **argv)
{
	return run_top(o, "token", argc, argv);
}

int ctl_admin_audit(const ctl_admin_opts *o, int argc, char **argv)
{
	return run_top(o, "audit", argc, argv);
}

int ctl_admin_sink(const ctl_admin_opts *o, int argc, char **argv)
{
	return run_top(o, "sink", argc, argv);
}
