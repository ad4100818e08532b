/* sink_util.h - what the shipped sink plugins share: filling a
 * scimsync_err, reading options, reading a secret from a file or the
 * environment. Linked into each plugin (a libtool convenience library),
 * never exported: a plugin still exports only its entry symbol. Not for
 * out-of-tree plugins (contrib/sink-example needs none of it).
 */
#ifndef SCIMSYNC_SINK_UTIL_H
#define SCIMSYNC_SINK_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <scimsync/sink.h>

/* One line to the host's log, prefixed with name, when the host has a
 * log (checked by struct_size, as plugin.h asks). */
#define SU_LOG(host, name, level, ...)                                         \
	do {                                                                   \
		const scimsync_host *h_ = (host);                              \
		if (h_ != NULL &&                                              \
		    h_->struct_size >=                                         \
			    offsetof(scimsync_host, log) + sizeof(h_->log) &&  \
		    h_->log != NULL)                                           \
			h_->log((level), (name), __VA_ARGS__);                 \
	} while (0)

/* err->code = code and a message; returns code. */
int su_fail(scimsync_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Free a NULL-ended string vector and its strings. */
void su_free_strv(char **v);

/* Options. Each returns SCIMSYNC_OK, or SCIMSYNC_EFAIL with a message
 * naming the option key (SCIMSYNC_ERETRY when out of memory). */

/* A string (a copy replaces *out); "" is refused unless empty_ok. */
int su_opt_str(char **out, const char *key, const char *v, bool empty_ok,
	       scimsync_err *err);
/* "true" or "false". */
int su_opt_bool(bool *out, const char *key, const char *v, scimsync_err *err);
/* A whole number in [min, max]; unit names it in the message. */
int su_opt_long(long *out, const char *key, const char *v, long min, long max,
		const char *unit, scimsync_err *err);

/* "a, b,c" (names split at commas and blanks) into a NULL-ended list of
 * new strings (*out freed first); at most max names, none twice (a name
 * listed twice is a typo, and doubles a column or attribute in what the
 * sink sends). Empty is refused unless empty_ok (then *out is NULL).
 * ok(name), when not NULL, checks each name and fills err if it fails. */
int su_opt_list(char ***out, const char *key, const char *v, size_t max,
		bool empty_ok,
		int (*ok)(const char *key, const char *name, scimsync_err *err),
		scimsync_err *err);
/* Does the NULL-ended list l hold name (exactly)? */
bool su_strv_has(char *const *l, const char *name);

/* A secret into buf (NUL-terminated, cap - 1 bytes at most, trailing
 * line ends dropped): from the environment variable env when set, else
 * from file (read each call, so a fixed file needs no restart). env_opt
 * and file_opt name the options in messages; the secret itself is never
 * in one. Empty is refused. *len (when len is not NULL) is its length,
 * which counts NUL bytes a binary key in a file may hold. The caller
 * wipes buf after use. */
int su_read_secret(const char *env, const char *env_opt, const char *file,
		   const char *file_opt, char *buf, size_t cap, size_t *len,
		   scimsync_err *err);

#endif
