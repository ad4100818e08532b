/* audit.c - the audit log: one JSON line per operation. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "log.h"
#include "strutil.h"

struct audit_log {
	int fd;
	char *path;
};

int audit_open(audit_log **out, const char *path, char *errbuf, size_t errlen)
{
	audit_log *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL)
		return -1;
	a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (a->fd < 0) {
		snprintf(errbuf, errlen, "audit log %s: %s", path,
			 strerror(errno));
		free(a);
		return -1;
	}
	a->path = strdup(path);
	*out = a;
	return 0;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

void audit_write(audit_log *a, const audit_rec *r)
{
	char when[32];
	json_t *o;
	char *line;
	size_t len;

	if (a == NULL)
		return;
	scim_time_format(when, r->time_ms);
	o = json_object();
	set_str(o, "time", when);
	set_str(o, "tenant", r->tenant);
	set_str(o, "token_prefix", r->token_prefix);
	set_str(o, "client", r->client);
	set_str(o, "method", r->method);
	set_str(o, "path", r->path);
	set_str(o, "resource_type", r->resource_type);
	set_str(o, "resource_id", r->resource_id);
	json_object_set_new(o, "status", json_integer(r->status));
	json_object_set_new(
		o, "duration_ms",
		json_real((double)(int64_t)(r->duration_ms * 1000) / 1000.0));
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line == NULL)
		return;
	len = strlen(line);
	line[len] = '\n'; /* replaces the NUL: one write, one line */
	if (write(a->fd, line, len + 1) != (ssize_t)(len + 1))
		log_msg(LOG_ERR, "audit", "cannot append to %s: %s", a->path,
			strerror(errno));
	free(line);
}

void audit_close(audit_log *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	free(a->path);
	free(a);
}
