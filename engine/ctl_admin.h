/* ctl_admin.h - scimsyncctl's admin-API commands: health, tenant, token,
 * audit. They talk HTTP (libcurl) to the daemon's admin listener.
 *
 *   scimsyncctl [GLOBAL...] health
 *   scimsyncctl [GLOBAL...] tenant list|create|show|set|delete ...
 *   scimsyncctl [GLOBAL...] token list|create|show|revoke ...
 *   scimsyncctl [GLOBAL...] audit [OPTIONS]
 *
 * GLOBAL options (--url URL, --token-file FILE, --json) may come before the
 * command or anywhere among its arguments; a later one overrides an
 * earlier one. Exit codes: CTL_EXIT_OK, CTL_EXIT_API (the API answered
 * with an error status), CTL_EXIT_USAGE, CTL_EXIT_UNREACHABLE. */
#ifndef SCIMSYNC_CTL_ADMIN_H
#define SCIMSYNC_CTL_ADMIN_H

#include <stdio.h>

enum {
	CTL_EXIT_OK = 0,
	CTL_EXIT_API = 1,
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_UNREACHABLE = 3
};

/* The global options. NULL members fall back to the environment
 * (SCIMSYNC_ADMIN_URL; SCIMSYNC_ADMIN_TOKEN_FILE, SCIMSYNC_ADMIN_TOKEN)
 * and then to the default URL http://127.0.0.1:8081. */
typedef struct ctl_admin_opts {
	const char *url;	/* --url URL, or NULL */
	const char *token_file; /* --token-file FILE, or NULL */
	int json;		/* --json: print the API's JSON */
} ctl_admin_opts;

/* If argv[0] is a global option ("--url URL", "--url=URL",
 * "--token-file FILE", "--token-file=FILE", "--json"), store it in o and
 * return how many arguments it took (1 or 2). Return 0 if argv[0] is not
 * a global option, -1 if its value is missing or empty (an error is then
 * printed to stderr). argc counts argv[0] and what follows it. */
int ctl_admin_global_opt(ctl_admin_opts *o, int argc, char **argv);

/* The top-level commands. argv[0] is the command name ("tenant"); o holds
 * the global options seen before it. They return an exit code. */
int ctl_admin_health(const ctl_admin_opts *o, int argc, char **argv);
int ctl_admin_tenant(const ctl_admin_opts *o, int argc, char **argv);
int ctl_admin_token(const ctl_admin_opts *o, int argc, char **argv);
int ctl_admin_audit(const ctl_admin_opts *o, int argc, char **argv);
int ctl_admin_sink(const ctl_admin_opts *o, int argc, char **argv);

/* Print the usage lines of top-level command `command` (one per
 * subcommand, "  tenant create NAME [...]\n      summary\n") to f and
 * return how many were printed: 0 if command is not an admin command. */
int ctl_admin_usage(FILE *f, const char *command);

/* Print the global options, the environment and the exit codes. */
void ctl_admin_options_usage(FILE *f);

#endif
