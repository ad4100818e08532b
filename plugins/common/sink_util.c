/* sink_util.c - what the shipped sink plugins share (sink_util.h). */
#include "config.h"

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strdup under -std=c11 */
#endif

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink_util.h"

int su_fail(scimsync_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

void su_free_strv(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int su_opt_str(char **out, const char *key, const char *v, bool empty_ok,
	       scimsync_err *err)
{
	if (v == NULL || (*v == '\0' && !empty_ok))
		return su_fail(err, SCIMSYNC_EFAIL, "option '%s': empty", key);
	free(*out);
	if ((*out = strdup(v)) == NULL)
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	return SCIMSYNC_OK;
}

int su_opt_bool(bool *out, const char *key, const char *v, scimsync_err *err)
{
	if (v != NULL && strcmp(v, "true") == 0)
		*out = true;
	else if (v != NULL && strcmp(v, "false") == 0)
		*out = false;
	else
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option '%s': expected true or false, got '%s'",
			       key, v != NULL ? v : "");
	return SCIMSYNC_OK;
}

int su_opt_long(long *out, const char *key, const char *v, long min, long max,
		const char *unit, scimsync_err *err)
{
	char *end = NULL;
	long n;

	errno = 0;
	n = v != NULL ? strtol(v, &end, 10) : 0;
	if (v == NULL || end == v || *end != '\0' || errno != 0 || n < min ||
	    n > max)
		return su_fail(err, SCIMSYNC_EFAIL,
			       "option '%s': expected %ld to %ld (%s), got "
			       "'%s'",
			       key, min, max, unit, v != NULL ? v : "");
	*out = n;
	return SCIMSYNC_OK;
}

bool su_strv_has(char *const *l, const char *name)
{
	for (size_t i = 0; l != NULL && name != NULL && l[i] != NULL; i++)
		if (strcmp(l[i], name) == 0)
			return true;
	return false;
}

int su_opt_list(char ***out, const char *key, const char *v, size_t max,
		bool empty_ok,
		int (*ok)(const char *key, const char *name, scimsync_err *err),
		scimsync_err *err)
{
	char *copy, *tok, *save = NULL;
	size_t n = 0;
	int rc = SCIMSYNC_OK;

	su_free_strv(*out);
	*out = NULL;
	if (v == NULL || strspn(v, ", ") == strlen(v))
		return empty_ok ? SCIMSYNC_OK
				: su_fail(err, SCIMSYNC_EFAIL,
					  "option '%s': empty", key);
	copy = strdup(v);
	/* At most one name per two characters ("a,b"), and the NULL. */
	*out = calloc(strlen(v) / 2 + 2, sizeof(char *));
	if (copy == NULL || *out == NULL) {
		free(copy);
		return su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	for (tok = strtok_r(copy, ", ", &save);
	     tok != NULL && rc == SCIMSYNC_OK;
	     tok = strtok_r(NULL, ", ", &save)) {
		if (n == max)
			rc = su_fail(err, SCIMSYNC_EFAIL,
				     "option '%s': more than %zu names", key,
				     max);
		else if (su_strv_has(*out, tok))
			rc = su_fail(err, SCIMSYNC_EFAIL,
				     "option '%s': '%s' is listed twice", key,
				     tok);
		else if (ok != NULL && (rc = ok(key, tok, err)) != SCIMSYNC_OK)
			;
		else if (((*out)[n++] = strdup(tok)) == NULL)
			rc = su_fail(err, SCIMSYNC_ERETRY, "out of memory");
	}
	free(copy);
	return rc;
}

int su_read_secret(const char *env, const char *env_opt, const char *file,
		   const char *file_opt, char *buf, size_t cap, size_t *len,
		   scimsync_err *err)
{
	size_t n = 0;

	if (len != NULL)
		*len = 0;
	buf[0] = '\0';
	if (env != NULL) {
		const char *v = getenv(env);

		if (v == NULL)
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option '%s': %s is not set", env_opt,
				       env);
		n = strlen(v);
		if (n >= cap)
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option '%s': longer than %zu bytes",
				       env_opt, cap - 1);
		memcpy(buf, v, n + 1);
	} else if (file != NULL) {
		FILE *f = fopen(file, "re");

		if (f == NULL)
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option '%s': cannot read %s: %s",
				       file_opt, file, strerror(errno));
		n = fread(buf, 1, cap, f);
		fclose(f);
		if (n >= cap)
			return su_fail(err, SCIMSYNC_EFAIL,
				       "option '%s': %s is longer than %zu "
				       "bytes",
				       file_opt, file, cap - 1);
		buf[n] = '\0';
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0)
		return su_fail(err, SCIMSYNC_EFAIL, "option '%s': %s is empty",
			       env != NULL ? env_opt : file_opt,
			       env != NULL ? env : file);
	if (len != NULL)
		*len = n;
	return SCIMSYNC_OK;
}
