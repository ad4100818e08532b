/* check_sink.c - the sink plugin loader (plugin_load_sink), with the
 * fixture sinks of tests/plugins/sink_*.c.
 *
 * The fixtures come from TEST_BUILDDIR/tests/plugins/.libs; the
 * environment variable SCIMSYNC_TEST_FIXTURE_DIR overrides it (for builds
 * outside make). The good fixture counts what apply sees and reports it in
 * health's message, which is how these tests look inside it.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, mkdtemp, ... under -std=c11 */
#endif

#include <dlfcn.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include <scimsync/sink.h>

#include "plugin_load.h"

#ifndef TEST_BUILDDIR
#define TEST_BUILDDIR "."
#endif

#define OK(expr)                                                               \
	ck_assert_msg((expr) == SCIMSYNC_OK, "%s: %s", #expr, E.message)

static scimsync_err E;
static char lerr[512];
static char last_log[256];

static const char *fixture_dir(void)
{
	const char *v = getenv("SCIMSYNC_TEST_FIXTURE_DIR");

	return v != NULL && *v != '\0' ? v
				       : TEST_BUILDDIR "/tests/plugins/.libs";
}

static void test_log(int level, const char *plugin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void test_log(int level, const char *plugin, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(last_log, sizeof(last_log), "[%d] %s: ", level, plugin);
	if (n < 0 || (size_t)n >= sizeof(last_log))
		return;
	va_start(ap, fmt);
	vsnprintf(last_log + n, sizeof(last_log) - (size_t)n, fmt, ap);
	va_end(ap);
}

static const scimsync_host host = {sizeof(scimsync_host), test_log};

static int load(const char *name, const char *pdir,
		const scimsync_sink_plugin **out, void **handle)
{
	lerr[0] = '\0';
	return plugin_load_sink(out, handle, name, pdir, lerr, sizeof(lerr));
}

static void fixture_path(char *buf, size_t len, const char *file)
{
	int n = snprintf(buf, len, "%s/%s", fixture_dir(), file);

	ck_assert(n > 0 && (size_t)n < len);
}

/* ---- hand-built events ---- */

static const char *const cn[] = {"Ann Example"};
static const char *const mail[] = {"ann@example.com", "a.example@example.com"};
static const scimsync_attr user_attrs[] = {{"cn", cn, 1}, {"mail", mail, 2}};
static const char *const changed[] = {"name.givenName", "emails"};
static const char *const members[] = {"u-1", "u-2"};
static const char event_json[] = "{\"type\":\"user.updated\"}";

/* An event of the given type and seq; key is "key-<seq>". */
static scimsync_event make_event(int64_t seq, const char *type, char *key,
				 size_t keylen)
{
	scimsync_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(key, keylen, "key-%lld", (long long)seq);
	ev.struct_size = sizeof(ev);
	ev.seq = seq;
	ev.key = key;
	ev.type = type;
	ev.tenant = "acme";
	ev.time_ms = INT64_C(1795334462123);
	ev.resource_type = "User";
	ev.resource_id = "u-1";
	ev.version = seq;
	ev.changed = changed;
	ev.n_changed = 2;
	ev.members = members;
	ev.n_members = 2;
	ev.attrs = user_attrs;
	ev.n_attrs = 2;
	ev.resource_json = "{}";
	ev.resource_json_len = 2;
	ev.event_json = event_json;
	ev.event_json_len = sizeof(event_json) - 1;
	return ev;
}

static void expect_health(const scimsync_sink_plugin *p, scimsync_sink *s,
			  const char *want)
{
	memset(&E, 0, sizeof(E));
	OK(p->health(s, &E));
	ck_assert_str_eq(E.message, want);
}

/* ---- accepted ---- */

START_TEST(test_load_good)
{
	const scimsync_sink_plugin *p;
	scimsync_sink *s = NULL, *s2 = NULL;
	scimsync_event ev[3];
	const scimsync_event *evs[3];
	char keys[3][32];
	size_t done = 99;
	void *h;

	ck_assert_msg(load("good", fixture_dir(), &p, &h) == 0, "%s", lerr);
	ck_assert_str_eq(p->header.name, "fixture");
	ck_assert_int_eq(p->header.kind, SCIMSYNC_PLUGIN_SINK);
	ck_assert_int_eq(p->header.abi_major, SCIMSYNC_SINK_ABI_MAJOR);
	ck_assert(PLUGIN_SINK_HAS(p, health));
	ck_assert(PLUGIN_SINK_HAS(p, apply_many));

	last_log[0] = '\0';
	OK(p->open(&s, &host, NULL, &E));
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(last_log, "[2] fixture: opened");
	expect_health(p, s, "events 0, values 0, last key ");

	ev[0] = make_event(1, "user.created", keys[0], sizeof(keys[0]));
	OK(p->apply(s, &ev[0], &E));
	expect_health(p, s, "events 1, values 3, last key key-1");

	ev[1] = make_event(2, "user.updated", keys[1], sizeof(keys[1]));
	ev[2] = make_event(3, "group.members_added", keys[2], sizeof(keys[2]));
	ev[2].n_attrs = 0;
	ev[2].attrs = NULL;
	evs[0] = &ev[1];
	evs[1] = &ev[2];
	OK(p->apply_many(s, evs, 2, &done, &E));
	ck_assert_uint_eq(done, 2);
	expect_health(p, s, "events 3, values 6, last key key-3");

	/* A second state from the same plugin shares nothing. */
	OK(p->open(&s2, &host, NULL, &E));
	ck_assert_ptr_ne(s, s2);
	expect_health(p, s2, "events 0, values 0, last key ");
	p->close(s2);
	expect_health(p, s, "events 3, values 6, last key key-3");

	p->close(s);
	plugin_unload(h);
}
END_TEST

/* apply's result codes come through: done, retry, fail; apply_many
 * reports how many it did and what stopped it. */
START_TEST(test_results)
{
	const scimsync_sink_plugin *p;
	const scimsync_option opts[] = {{"reject", "user.deleted"},
					{"retry", "role.granted"},
					{NULL, NULL}};
	const scimsync_option bad[] = {{"colour", "blue"}, {NULL, NULL}};
	scimsync_sink *s = (void *)1;
	scimsync_event ev[3];
	const scimsync_event *evs[3];
	char keys[3][32];
	size_t done = 99;
	void *h;

	ck_assert_msg(load("good", fixture_dir(), &p, &h) == 0, "%s", lerr);

	ck_assert_int_eq(p->open(&s, &host, bad, &E), SCIMSYNC_EFAIL);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(E.message, "fixture: unknown option 'colour'");

	OK(p->open(&s, &host, opts, &E));
	ev[0] = make_event(1, "user.deleted", keys[0], sizeof(keys[0]));
	ck_assert_int_eq(p->apply(s, &ev[0], &E), SCIMSYNC_EFAIL);
	ck_assert_int_eq(E.code, SCIMSYNC_EFAIL);
	ck_assert_str_eq(E.message, "fixture: rejects 'user.deleted'");
	ev[0] = make_event(1, "role.granted", keys[0], sizeof(keys[0]));
	ck_assert_int_eq(p->apply(s, &ev[0], &E), SCIMSYNC_ERETRY);
	ck_assert_str_eq(E.message, "fixture: retry 'role.granted'");

	ev[0] = make_event(2, "user.created", keys[0], sizeof(keys[0]));
	ev[1] = make_event(3, "role.granted", keys[1], sizeof(keys[1]));
	ev[2] = make_event(4, "user.created", keys[2], sizeof(keys[2]));
	evs[0] = &ev[0];
	evs[1] = &ev[1];
	evs[2] = &ev[2];
	ck_assert_int_eq(p->apply_many(s, evs, 3, &done, &E), SCIMSYNC_ERETRY);
	ck_assert_uint_eq(done, 1);
	expect_health(p, s, "events 1, values 3, last key key-2");
	p->close(s);
	plugin_unload(h);
}
END_TEST

START_TEST(test_load_by_path)
{
	const scimsync_sink_plugin *p;
	char path[512];
	void *h;

	fixture_path(path, sizeof(path), "sink_good.so");
	ck_assert_msg(load(path, "/nonexistent", &p, &h) == 0, "%s", lerr);
	ck_assert_str_eq(p->header.name, "fixture");
	/* Built against this header: the optional entries are covered. */
	ck_assert(p->header.struct_size >=
		  offsetof(scimsync_sink_plugin, apply_many) + sizeof(void *));
	plugin_unload(h);
	plugin_unload(NULL);
}
END_TEST

/* A name is found in a build tree's layout too:
 * <dir>/sink-<name>/.libs/sink_<name>.so. */
START_TEST(test_load_build_tree)
{
	const scimsync_sink_plugin *p;
	char dir[64], sub[128], so[512], target[PATH_MAX];
	void *h;

	snprintf(dir, sizeof(dir), "/tmp/check_sink.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/sink-tree", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(sub, sizeof(sub), "%s/sink-tree/.libs", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	fixture_path(so, sizeof(so), "sink_good.so");
	ck_assert_ptr_nonnull(realpath(so, target));
	snprintf(so, sizeof(so), "%s/sink_tree.so", sub);
	ck_assert_int_eq(symlink(target, so), 0);

	ck_assert_msg(load("tree", dir, &p, &h) == 0, "%s", lerr);
	ck_assert_str_eq(p->header.name, "fixture");
	plugin_unload(h);

	ck_assert_int_eq(unlink(so), 0);
	ck_assert_int_eq(rmdir(sub), 0);
	snprintf(sub, sizeof(sub), "%s/sink-tree", dir);
	ck_assert_int_eq(rmdir(sub), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Optional entries count only when set and covered by struct_size. */
START_TEST(test_load_optional)
{
	const scimsync_sink_plugin *p;
	scimsync_sink *s;
	scimsync_event ev;
	char key[32];
	void *h;

	ck_assert_msg(load("required_only", fixture_dir(), &p, &h) == 0, "%s",
		      lerr);
	ck_assert(!PLUGIN_SINK_HAS(p, health));
	ck_assert(!PLUGIN_SINK_HAS(p, apply_many));
	OK(p->open(&s, &host, NULL, &E));
	ev = make_event(1, "user.created", key, sizeof(key));
	OK(p->apply(s, &ev, &E));
	p->close(s);
	plugin_unload(h);

	/* health and apply_many are set, but beyond struct_size. */
	ck_assert_msg(load("short_desc", fixture_dir(), &p, &h) == 0, "%s",
		      lerr);
	ck_assert_int_eq(p->header.struct_size,
			 offsetof(scimsync_sink_plugin, health));
	ck_assert(!PLUGIN_SINK_HAS(p, health));
	ck_assert(!PLUGIN_SINK_HAS(p, apply_many));
	plugin_unload(h);
}
END_TEST

/* ---- rejected ---- */

/* Load name (a fixture name, or a path) and expect a rejection whose one
 * line contains want and the name, with nothing left loaded. */
static void expect_rejected(const char *name, const char *want)
{
	const scimsync_sink_plugin *p = (void *)1;
	void *h = (void *)1;

	ck_assert_int_eq(load(name, fixture_dir(), &p, &h), SCIMSYNC_EFAIL);
	ck_assert_ptr_null(p);
	ck_assert_ptr_null(h);
	ck_assert_msg(strstr(lerr, want) != NULL, "'%s' lacks '%s'", lerr,
		      want);
	ck_assert_msg(strstr(lerr, name) != NULL, "'%s' lacks '%s'", lerr,
		      name);
	ck_assert_ptr_null(strchr(lerr, '\n'));
}

/* expect_rejected for tests/plugins/<file>, by name or path, and check
 * that the path is named and that the object was dlclose'd. */
static void expect_fixture_rejected(const char *name, const char *file,
				    const char *want)
{
	char path[512];

	fixture_path(path, sizeof(path), file);
	expect_rejected(name != NULL ? name : path, want);
	ck_assert_msg(strstr(lerr, path) != NULL, "'%s' lacks '%s'", lerr,
		      path);
#ifdef RTLD_NOLOAD
	{
		void *still = dlopen(path, RTLD_NOW | RTLD_NOLOAD);

		ck_assert_msg(still == NULL, "%s still loaded", path);
	}
#endif
}

START_TEST(test_load_rejects)
{
	char want[96];

	expect_fixture_rejected("wrong_major", "sink_wrong_major.so",
				"ABI major 2, this scimsyncd supports 1");
	snprintf(want, sizeof(want),
		 "ABI %d.%d is newer than this "
		 "scimsyncd's %d.%d",
		 SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR + 1,
		 SCIMSYNC_SINK_ABI_MAJOR, SCIMSYNC_SINK_ABI_MINOR);
	expect_fixture_rejected("newer_minor", "sink_newer_minor.so", want);
	expect_fixture_rejected("short_size", "sink_short_size.so",
				"smaller than the 1.0 sink descriptor");
	expect_fixture_rejected("missing_cb", "sink_missing_cb.so",
				"required callback 'apply' is missing");
	expect_fixture_rejected("wrong_kind", "sink_wrong_kind.so",
				"a store plugin (kind 1), expected a sink "
				"plugin");
	expect_fixture_rejected("no_name", "sink_no_name.so",
				"descriptor has no name");
	/* A store plugin is not a sink, and a plain .so is no plugin. */
	expect_fixture_rejected(NULL, "store_good.so",
				"a store plugin (kind 1), expected a sink "
				"plugin");
	expect_fixture_rejected(NULL, "store_no_entry.so",
				"no symbol 'scimsync_plugin_entry'");

	expect_rejected("nosuch", "not found");
	ck_assert_ptr_nonnull(strstr(lerr, "/sink_nosuch.so"));
	ck_assert_ptr_nonnull(
		strstr(lerr, "/sink-nosuch/.libs/sink_nosuch.so"));
	expect_rejected("/nonexistent/sink_x.so", "cannot load");
	expect_rejected("..", "not a plugin name");
}
END_TEST

START_TEST(test_load_errbuf)
{
	const scimsync_sink_plugin *p;
	char small[16];
	void *h;

	ck_assert_int_eq(
		plugin_load_sink(&p, &h, NULL, NULL, lerr, sizeof(lerr)),
		SCIMSYNC_EFAIL);
	ck_assert_str_eq(lerr, "sink plugin: no name given");
	/* A short buffer is cut, and terminated; none at all is fine. */
	memset(small, 'x', sizeof(small));
	ck_assert_int_eq(plugin_load_sink(&p, &h, "nosuch", fixture_dir(),
					  small, sizeof(small)),
			 SCIMSYNC_EFAIL);
	ck_assert_str_eq(small, "plugin 'nosuch'");
	ck_assert_int_eq(
		plugin_load_sink(&p, &h, "nosuch", fixture_dir(), NULL, 0),
		SCIMSYNC_EFAIL);
	ck_assert_ptr_null(p);
	ck_assert_ptr_null(h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sink");
	TCase *tc = tcase_create("loader");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_load_good);
	tcase_add_test(tc, test_results);
	tcase_add_test(tc, test_load_by_path);
	tcase_add_test(tc, test_load_build_tree);
	tcase_add_test(tc, test_load_optional);
	tcase_add_test(tc, test_load_rejects);
	tcase_add_test(tc, test_load_errbuf);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
