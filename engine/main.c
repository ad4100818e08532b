/* main.c - scimsyncd, the scimsync daemon. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "scim_server.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: scimsyncd -c FILE\n"
		"       scimsyncd --check -c FILE\n"
		"\n"
		"scimsync SCIM 2.0 provisioning server.\n"
		"\n"
		"  -c, --config FILE   configuration file (YAML; see "
		"contrib/scimsyncd.yaml)\n"
		"      --check         load and validate the configuration, "
		"then exit\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n"
		"\n"
		"Signals: SIGTERM or SIGINT stop accepting connections, finish "
		"in-flight\nrequests, then exit.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	scimsync_config *cfg;
	scim_srv *srv;
	char err[1024];
	int c, check = 0;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'k':
			check = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("scimsyncd %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (conf_load_file(&cfg, path, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "config", "%s", err);
		return 1;
	}
	log_set_level(cfg->log_level);
	if (check) {
		printf("%s: OK\n", path);
		conf_free(cfg);
		return 0;
	}
	if (!cfg->has_token && !cfg->has_admin_token)
		log_msg(LOG_WARN, "auth",
			"neither auth.token_sha256 nor admin.token_sha256 is "
			"configured: no token can be made, so every SCIM "
			"request but discovery will get 401");
	log_msg(LOG_INFO, "main", "scimsyncd %s starting", PACKAGE_VERSION);
	if (scim_srv_start(&srv, cfg, err, sizeof(err)) < 0) {
		log_msg(LOG_ERR, "main", "%s", err);
		conf_free(cfg);
		return 1;
	}
	scim_srv_run(srv);
	scim_srv_free(srv);
	conf_free(cfg);
	log_msg(LOG_INFO, "main", "bye");
	return 0;
}
