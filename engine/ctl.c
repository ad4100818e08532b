/* ctl.c - scimsyncctl, the operator's command-line tool.
 *
 *   scimsyncctl mapping check FILE
 *   scimsyncctl mapping test FILE RESOURCE.json [--event TYPE] [--json]
 *   scimsyncctl [--url URL] [--token-file FILE] [--json] health|tenant|
 *               token|audit ...          (the admin API, ctl_admin.c)
 *
 * Commands are a table of (name, handler, summary), one level per word.
 * The global options may come before the command; the admin commands also
 * take them anywhere among their arguments. Exit codes: 0 ok, 1 a mapping
 * or resource error or the admin API refused, 2 usage, 3 cannot reach the
 * admin API. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "ctl_admin.h"
#include "mapping.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_USAGE = 2 };

typedef struct ctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *args;
	const char *summary;
} ctl_cmd;

static int cmd_mapping(int argc, char **argv);
static int cmd_mapping_check(int argc, char **argv);
static int cmd_mapping_test(int argc, char **argv);
static int cmd_health(int argc, char **argv);
static int cmd_tenant(int argc, char **argv);
static int cmd_token(int argc, char **argv);
static int cmd_audit(int argc, char **argv);
static int cmd_sink(int argc, char **argv);

/* The global options (--url, --token-file, --json) seen before the
 * command. */
static ctl_admin_opts global_opts;

static const ctl_cmd top_cmds[] = {
	{"mapping", cmd_mapping, "check|test ...",
	 "check a mapping file, or show what it makes of a resource"},
	{"health", cmd_health, "", "check that the admin API answers"},
	{"tenant", cmd_tenant, "list|create|show|set|delete ...",
	 "manage tenants"},
	{"token", cmd_token, "list|create|show|revoke ...",
	 "manage a tenant's SCIM tokens"},
	{"audit", cmd_audit, "[OPTIONS]", "show the audit log"},
	{"sink", cmd_sink, "list|show|replay|resync ...",
	 "sinks: lag, errors, dead letters, replay, re-sync"},
	{NULL, NULL, NULL, NULL},
};

static const ctl_cmd mapping_cmds[] = {
	{"check", cmd_mapping_check, "FILE",
	 "load FILE (and what it extends) and compile every template"},
	{"test", cmd_mapping_test, "FILE RESOURCE.json [--event TYPE] [--json]",
	 "print what a sink would receive for a SCIM User or Group"},
	{NULL, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	const ctl_cmd *c, *s;

	fprintf(f, "usage: scimsyncctl [--help] [--version] [--url URL] "
		   "[--token-file FILE] [--json]\n"
		   "                   COMMAND ...\n\n"
		   "commands:\n");
	for (c = top_cmds; c->name; c++) {
		if (c->run == cmd_mapping) {
			for (s = mapping_cmds; s->name; s++)
				fprintf(f, "  %s %s %s\n      %s\n", c->name,
					s->name, s->args, s->summary);
			continue;
		}
		if (ctl_admin_usage(f, c->name) > 0)
			continue;
		fprintf(f, "  %s %s\n      %s\n", c->name, c->args, c->summary);
	}
	fprintf(f, "\noptions of mapping test:\n"
		   "  --event TYPE   make event.type TYPE (e.g. "
		   "user.deactivated)\n"
		   "  --json         print {\"resourceType\", \"attributes\", "
		   "\"roles\"} as JSON\n");
	ctl_admin_options_usage(f);
	fprintf(f, "\nexit status: 0 ok, 1 mapping or resource error or the "
		   "admin API refused,\n"
		   "  2 usage, 3 cannot reach the admin API\n");
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "scimsyncctl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'scimsyncctl --help'.\n");
	return EXIT_USAGE;
}

static int dispatch(const ctl_cmd *table, const char *what, int argc,
		    char **argv)
{
	const ctl_cmd *c;

	if (argc < 1)
		return usage_error("%s: a command is missing", what);
	for (c = table; c->name; c++)
		if (strcmp(c->name, argv[0]) == 0)
			return c->run(argc, argv);
	return usage_error("unknown command '%s'", argv[0]);
}

static int cmd_mapping(int argc, char **argv)
{
	return dispatch(mapping_cmds, "mapping", argc - 1, argv + 1);
}

static int cmd_health(int argc, char **argv)
{
	return ctl_admin_health(&global_opts, argc, argv);
}

static int cmd_tenant(int argc, char **argv)
{
	return ctl_admin_tenant(&global_opts, argc, argv);
}

static int cmd_token(int argc, char **argv)
{
	return ctl_admin_token(&global_opts, argc, argv);
}

static int cmd_audit(int argc, char **argv)
{
	return ctl_admin_audit(&global_opts, argc, argv);
}

static int cmd_sink(int argc, char **argv)
{
	return ctl_admin_sink(&global_opts, argc, argv);
}

static int load_or_report(mapping **out, const char *path)
{
	mapping_error err;
	char buf[768];

	if (mapping_load(out, path, &err) < 0) {
		fprintf(stderr, "%s\n",
			mapping_error_format(buf, sizeof(buf), &err));
		return -1;
	}
	return 0;
}

static int cmd_mapping_check(int argc, char **argv)
{
	mapping *m;

	if (argc != 2)
		return usage_error("%s: expects exactly one FILE",
				   "mapping check");
	if (load_or_report(&m, argv[1]) < 0)
		return EXIT_ERR;
	printf("%s: OK (%zu user, %zu group attributes, role: %s)\n", argv[1],
	       mapping_attr_count(m, MAPPING_USER),
	       mapping_attr_count(m, MAPPING_GROUP),
	       mapping_has_roles(m) ? "yes" : "no");
	mapping_free(m);
	return EXIT_OK;
}

/* User or Group, from the core schema URN in the resource's schemas. */
static int resource_section(const json_t *res, mapping_section *out)
{
	const json_t *schemas = json_object_get(res, "schemas"), *v;
	size_t i;

	json_array_foreach (schemas, i, v) {
		const char *s = json_string_value(v);

		if (s == NULL)
			continue;
		if (strcasecmp(s, "urn:ietf:params:scim:schemas:core:2.0:"
				  "User") == 0) {
			*out = MAPPING_USER;
			return 0;
		}
		if (strcasecmp(s, "urn:ietf:params:scim:schemas:core:2.0:"
				  "Group") == 0) {
			*out = MAPPING_GROUP;
			return 0;
		}
	}
	return -1;
}

/* One "attr: value" line; newlines in a value are shown as \n. */
static void print_value(const char *attr, const char *value)
{
	printf("%s: ", attr);
	for (; *value; value++) {
		if (*value == '\n')
			fputs("\\n", stdout);
		else if (*value == '\r')
			fputs("\\r", stdout);
		else
			putchar(*value);
	}
	putchar('\n');
}

static void print_text(const json_t *attrs, const json_t *roles)
{
	const char *key;
	json_t *values, *v;
	size_t i;

	json_object_foreach ((json_t *)attrs, key, values)
		json_array_foreach (values, i, v)
			print_value(key, json_string_value(v));
	if (roles == NULL)
		return;
	if (json_array_size(roles) == 0) {
		printf("# roles: none\n");
		return;
	}
	printf("# roles\n");
	json_array_foreach (roles, i, v)
		print_value("role", json_string_value(v));
}

static int cmd_mapping_test(int argc, char **argv)
{
	const char *file = NULL, *resfile = NULL, *event_type = NULL;
	int as_json = global_opts.json, i, rc = EXIT_ERR;
	mapping *m = NULL;
	mapping_section sec;
	mapping_error err;
	json_t *res = NULL, *event = NULL, *attrs = NULL, *roles = NULL;
	json_error_t jerr;
	char buf[768];

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			as_json = 1;
		} else if (strcmp(argv[i], "--event") == 0) {
			if (++i >= argc)
				return usage_error("%s needs a TYPE",
						   "--event");
			event_type = argv[i];
		} else if (strncmp(argv[i], "--event=", 8) == 0) {
			event_type = argv[i] + 8;
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			return usage_error("mapping test: unknown option '%s'",
					   argv[i]);
		} else if (file == NULL) {
			file = argv[i];
		} else if (resfile == NULL) {
			resfile = argv[i];
		} else {
			return usage_error("mapping test: unexpected '%s'",
					   argv[i]);
		}
	}
	if (file == NULL || resfile == NULL)
		return usage_error("%s: expects FILE and RESOURCE.json",
				   "mapping test");
	if (event_type != NULL && event_type[0] == '\0')
		return usage_error("%s needs a TYPE", "--event");

	if (strcmp(resfile, "-") == 0)
		res = json_loadf(stdin, 0, &jerr);
	else
		res = json_load_file(resfile, 0, &jerr);
	if (res == NULL) {
		fprintf(stderr, "%s:%d:%d: %s\n", resfile, jerr.line,
			jerr.column, jerr.text);
		goto done;
	}
	if (!json_is_object(res) || resource_section(res, &sec) < 0) {
		fprintf(stderr,
			"%s: not a SCIM User or Group (its \"schemas\" names "
			"neither core schema)\n",
			resfile);
		goto done;
	}
	if (load_or_report(&m, file) < 0)
		goto done;
	if (event_type != NULL)
		event = json_pack("{ss}", "type", event_type);
	if (mapping_eval(&attrs, m, sec, res, event, &err) < 0 ||
	    (sec == MAPPING_GROUP && mapping_has_roles(m) &&
	     mapping_roles(&roles, m, res, &err) < 0)) {
		fprintf(stderr, "%s\n",
			mapping_error_format(buf, sizeof(buf), &err));
		goto done;
	}
	if (as_json) {
		json_t *doc = json_pack("{sssO}", "resourceType",
					sec == MAPPING_USER ? "User" : "Group",
					"attributes", attrs);

		if (roles != NULL)
			json_object_set(doc, "roles", roles);
		json_dumpf(doc, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(doc);
	} else {
		print_text(attrs, roles);
	}
	rc = EXIT_OK;
done:
	json_decref(attrs);
	json_decref(roles);
	json_decref(event);
	json_decref(res);
	mapping_free(m);
	return rc;
}

int main(int argc, char **argv)
{
	int i = 1, n;

	/* Global options before the command. */
	while (i < argc) {
		n = ctl_admin_global_opt(&global_opts, argc - i, argv + i);
		if (n < 0) {
			fprintf(stderr, "Try 'scimsyncctl --help'.\n");
			return EXIT_USAGE;
		}
		if (n == 0)
			break;
		i += n;
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
		printf("scimsyncctl %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (argv[i][0] == '-')
		return usage_error("unknown option '%s'", argv[i]);
	return dispatch(top_cmds, "scimsyncctl", argc - i, argv + i);
}
