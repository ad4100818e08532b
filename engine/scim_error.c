/* scim_error.c - SCIM protocol errors. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "scim_error.h"

int scim_error_set(scim_error *err, int status, const char *stype,
		   const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->status = status;
	err->scim_type = stype;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -1;
}

void scim_error_clear(scim_error *err)
{
	if (err == NULL)
		return;
	err->status = 0;
	err->scim_type = NULL;
	err->detail[0] = '\0';
}
