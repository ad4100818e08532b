/* scim_error.h - SCIM protocol errors (RFC 7644 §3.12).
 *
 * Errors go into a caller-allocated struct, so reporting one never
 * allocates. Every module that can reject client input fills one; the HTTP
 * layer renders it as a SCIM error body. */
#ifndef SCIMSYNC_SCIM_ERROR_H
#define SCIMSYNC_SCIM_ERROR_H

#include <stdarg.h>

/* scimType values (RFC 7644 Table 9). */
#define SCIM_ERR_INVALID_FILTER "invalidFilter"
#define SCIM_ERR_TOO_MANY "tooMany"
#define SCIM_ERR_UNIQUENESS "uniqueness"
#define SCIM_ERR_MUTABILITY "mutability"
#define SCIM_ERR_INVALID_SYNTAX "invalidSyntax"
#define SCIM_ERR_INVALID_PATH "invalidPath"
#define SCIM_ERR_NO_TARGET "noTarget"
#define SCIM_ERR_INVALID_VALUE "invalidValue"
#define SCIM_ERR_INVALID_VERS "invalidVers"
#define SCIM_ERR_SENSITIVE "sensitive"

typedef struct scim_error {
	int status;	       /* HTTP status, e.g. 400 */
	const char *scim_type; /* one of SCIM_ERR_*, or NULL */
	char detail[256];      /* human-readable, never internals */
} scim_error;

/* Fill err (if not NULL) and return -1, so callers can write
 * `return scim_error_set(err, 400, SCIM_ERR_INVALID_PATH, "...");` */
int scim_error_set(scim_error *err, int status, const char *stype,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Clear err to "no error" (status 0). */
void scim_error_clear(scim_error *err);

#endif
