/* check_store.c - the sqlite store plugin, the group-commit writer and the
 * plugin loader.
 *
 * The plugins come from the build tree: TEST_BUILDDIR/plugins/store-sqlite
 * and the fixtures in TEST_BUILDDIR/tests/plugins/.libs. The environment
 * variables SCIMSYNC_TEST_STORE_SO and SCIMSYNC_TEST_FIXTURE_DIR override
 * them (for builds outside make). Every test gets a fresh database in its
 * own mkdtemp directory under /tmp.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* strdup, mkdtemp, ... under -std=c11 */
#endif

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include <scimsync/store.h>

#include "plugin_load.h"
#include "scim_server.h"
#include "writer.h"

#ifndef TEST_BUILDDIR
#define TEST_BUILDDIR "."
#endif

#define T1 "tenant-1"
#define T2 "tenant-2"
#define USER SCIMSYNC_RES_USER
#define GROUP SCIMSYNC_RES_GROUP

static const scimsync_store_plugin *P;
static void *P_handle;

static char dir[64];
static char dbpath[128];
static scimsync_store *S;
static scimsync_store_conn *W; /* writer connection */
static scimsync_store_conn *R; /* a reader */
static scimsync_err E;

/* ---- plumbing ---- */

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : dflt;
}

static const char *store_so(void)
{
	return env_or("SCIMSYNC_TEST_STORE_SO",
		      TEST_BUILDDIR "/plugins/store-sqlite/.libs/"
				    "store_sqlite.so");
}

static const char *fixture_dir(void)
{
	return env_or("SCIMSYNC_TEST_FIXTURE_DIR",
		      TEST_BUILDDIR "/tests/plugins/.libs");
}

static void test_log(int level, const char *plugin, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void test_log(int level, const char *plugin, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%d] %s: ", level, plugin);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const scimsync_host host = {sizeof(scimsync_host), test_log};

static void store_up(void)
{
	scimsync_option opts[] = {{"path", dbpath},
				  {"synchronous", "full"},
				  {"busy_timeout_ms", "2000"},
				  {NULL, NULL}};

	ck_assert_msg(P->open(&S, &host, opts, &E) == 0, "open: %s", E.message);
	ck_assert_msg(P->conn_open(&W, S, 1, &E) == 0, "conn: %s", E.message);
	ck_assert_msg(P->conn_open(&R, S, 0, &E) == 0, "conn: %s", E.message);
}

static void store_down(void)
{
	if (R != NULL)
		P->conn_close(R);
	if (W != NULL)
		P->conn_close(W);
	if (S != NULL)
		P->close(S);
	R = W = NULL;
	S = NULL;
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/scim.db", dir);
	store_up();
}

static void teardown(void)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char path[160];
	size_t i;

	store_down();
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", dbpath, suffix[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void begin(void)
{
	ck_assert_msg(P->begin(W, &E) == 0, "begin: %s", E.message);
}

static void commit(void)
{
	ck_assert_msg(P->commit(W, &E) == 0, "commit: %s", E.message);
}

static int put_on(scimsync_store_conn *c, const char *tenant, int type,
		  const char *id, const char *key, const char *ext,
		  int64_t version, int create)
{
	char json[128], display[64];
	scimsync_resource r;

	memset(&r, 0, sizeof(r));
	snprintf(json, sizeof(json), "{\"id\":\"%s\",\"v\":%lld}", id,
		 (long long)version);
	snprintf(display, sizeof(display), "D-%s", id);
	r.tenant = tenant;
	r.type = type;
	r.id = id;
	r.json = json;
	r.json_len = strlen(json);
	r.version = version;
	if (type == USER)
		r.user_name_key = key;
	else
		r.display_key = key;
	r.external_id = ext;
	r.display = display;
	return P->put(c, &r, create, &E);
}

static int put_user(const char *tenant, const char *id, const char *uname,
		    const char *ext)
{
	return put_on(W, tenant, USER, id, uname, ext, 1, 1);
}

static int put_group(const char *tenant, const char *id, const char *key)
{
	return put_on(W, tenant, GROUP, id, key, NULL, 1, 1);
}

#define OK(expr) ck_assert_msg((expr) == 0, "%s: %s", #expr, E.message)

/* What the callbacks saw. */
#define GOT_MAX 600
static struct got {
	int n;
	char id[GOT_MAX][48];
	char extra[GOT_MAX][48]; /* display, or group_id for members */
	int64_t seq[GOT_MAX];
	int type[GOT_MAX];
	/* the last resource, whole */
	char json[256];
	size_t json_len;
	int64_t version;
	char user_name_key[48], external_id[48], display[48];
	int stop_after; /* >0: return 1 after this many */
} G;

static void got_reset(void)
{
	memset(&G, 0, sizeof(G));
}

static void copy(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src != NULL ? src : "(null)");
}

static int res_cb(const scimsync_resource *r, void *payload)
{
	(void)payload;
	ck_assert_int_lt(G.n, GOT_MAX);
	copy(G.id[G.n], sizeof(G.id[0]), r->id);
	copy(G.extra[G.n], sizeof(G.extra[0]), r->display);
	G.seq[G.n] = r->seq;
	G.type[G.n] = r->type;
	ck_assert_uint_lt(r->json_len, sizeof(G.json));
	memcpy(G.json, r->json, r->json_len);
	G.json[r->json_len] = '\0';
	G.json_len = r->json_len;
	G.version = r->version;
	copy(G.user_name_key, sizeof(G.user_name_key), r->user_name_key);
	copy(G.external_id, sizeof(G.external_id), r->external_id);
	copy(G.display, sizeof(G.display), r->display);
	G.n++;
	return G.stop_after > 0 && G.n >= G.stop_after;
}

static int mem_cb(const scimsync_member *m, void *payload)
{
	(void)payload;
	ck_assert_int_lt(G.n, GOT_MAX);
	copy(G.id[G.n], sizeof(G.id[0]), m->member_id);
	copy(G.extra[G.n], sizeof(G.extra[0]), m->display);
	G.type[G.n] = m->member_type;
	G.seq[G.n] = 0;
	copy(G.display, sizeof(G.display), m->group_id);
	G.n++;
	return 0;
}

static int list_q(scimsync_store_conn *c, const char *tenant, int type,
		  int index, const char *value, int64_t after, int64_t offset,
		  int64_t limit)
{
	scimsync_query q = {tenant, type, index, value, after, offset, limit};

	got_reset();
	return P->list(c, &q, res_cb, NULL, &E);
}

static int64_t count_q(scimsync_store_conn *c, const char *tenant, int type,
		       int index, const char *value, int64_t after)
{
	scimsync_query q = {tenant, type, index, value, after, 0, -1};
	int64_t n = -1;

	OK(P->count(c, &q, &n, &E));
	return n;
}

static int members_of(scimsync_store_conn *c, const char *tenant,
		      const char *group, const char *const *only, size_t n)
{
	got_reset();
	return P->members(c, tenant, group, only, n, mem_cb, NULL, &E);
}

static int groups_of(scimsync_store_conn *c, const char *tenant,
		     const char *member)
{
	got_reset();
	return P->groups_of(c, tenant, member, mem_cb, NULL, &E);
}

static int get_res(scimsync_store_conn *c, const char *tenant, int type,
		   const char *id)
{
	got_reset();
	return P->get(c, tenant, type, id, res_cb, NULL, &E);
}

/* G.id joined with ',' */
static const char *got_ids(void)
{
	static char buf[GOT_MAX * 8];
	size_t len = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < G.n && len < sizeof(buf) - 50; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
					i ? "," : "", G.id[i]);
	return buf;
}

#define IDS_EQ(want) ck_assert_str_eq(got_ids(), (want))

/* ---- store: resources ---- */

START_TEST(test_put_get)
{
	const char *json = "{\"id\":\"u1\"}TRAILING";
	scimsync_resource r;
	int64_t seq;

	memset(&r, 0, sizeof(r));
	r.tenant = T1;
	r.type = USER;
	r.id = "u1";
	r.json = json;
	r.json_len = strlen("{\"id\":\"u1\"}"); /* not NUL-bounded */
	r.version = 1;
	r.seq = 12345; /* ignored */
	r.user_name_key = "alice";
	r.external_id = "E1";
	r.display = "Alice";
	OK(P->put(W, &r, 1, &E));

	OK(get_res(R, T1, USER, "u1"));
	ck_assert_int_eq(G.n, 1);
	ck_assert_str_eq(G.json, "{\"id\":\"u1\"}");
	ck_assert_uint_eq(G.json_len, r.json_len);
	ck_assert_int_eq(G.version, 1);
	ck_assert_int_gt(G.seq[0], 0);
	ck_assert_int_ne(G.seq[0], 12345);
	ck_assert_str_eq(G.user_name_key, "alice");
	ck_assert_str_eq(G.external_id, "E1");
	ck_assert_str_eq(G.display, "Alice");
	ck_assert_int_eq(G.type[0], USER);
	seq = G.seq[0];

	ck_assert_int_eq(get_res(R, T2, USER, "u1"), SCIMSYNC_ENOTFOUND);
	ck_assert_int_eq(E.code, SCIMSYNC_ENOTFOUND);
	ck_assert_int_eq(get_res(R, T1, GROUP, "u1"), SCIMSYNC_ENOTFOUND);
	ck_assert_int_eq(get_res(R, T1, USER, "nope"), SCIMSYNC_ENOTFOUND);

	/* replace: version and keys change, seq does not */
	r.json = "{\"id\":\"u1\",\"x\":2}";
	r.json_len = strlen(r.json);
	r.version = 2;
	r.user_name_key = "alice2";
	r.external_id = NULL;
	OK(P->put(W, &r, 0, &E));
	OK(get_res(W, T1, USER, "u1"));
	ck_assert_int_eq(G.version, 2);
	ck_assert_int_eq(G.seq[0], seq);
	ck_assert_str_eq(G.json, "{\"id\":\"u1\",\"x\":2}");
	ck_assert_str_eq(G.user_name_key, "alice2");
	ck_assert_str_eq(G.external_id, "(null)");
	ck_assert_int_eq(
		count_q(R, T1, USER, SCIMSYNC_IDX_USERNAME, "alice", 0), 0);
	ck_assert_int_eq(
		count_q(R, T1, USER, SCIMSYNC_IDX_USERNAME, "alice2", 0), 1);

	/* replace a missing one */
	r.id = "u2";
	ck_assert_int_eq(P->put(W, &r, 0, &E), SCIMSYNC_ENOTFOUND);
	ck_assert_int_eq(E.code, SCIMSYNC_ENOTFOUND);
	r.tenant = T2;
	r.id = "u1";
	ck_assert_int_eq(P->put(W, &r, 0, &E), SCIMSYNC_ENOTFOUND);

	/* readers do not write */
	ck_assert_int_eq(put_on(R, T1, USER, "u9", "z", NULL, 1, 1),
			 SCIMSYNC_EFAIL);
	ck_assert_int_eq(P->begin(R, &E), SCIMSYNC_EFAIL);
}
END_TEST

START_TEST(test_list_indexes)
{
	begin();
	OK(put_user(T1, "u1", "n1", "x1"));
	OK(put_user(T1, "u2", "n2", "x1"));
	OK(put_user(T1, "u3", "n3", "x2"));
	OK(put_user(T1, "u4", "n4", NULL));
	OK(put_user(T1, "u5", "n5", NULL));
	OK(put_group(T1, "g1", "admins"));
	OK(put_group(T1, "g2", "devs"));
	OK(put_group(T1, "g3", "admins"));
	OK(put_user(T2, "u1", "n1", "x1"));
	commit();

	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	IDS_EQ("u1,u2,u3,u4,u5");
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0), 5);
	OK(list_q(R, T1, GROUP, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	IDS_EQ("g1,g2,g3");
	ck_assert_int_eq(count_q(R, T2, USER, SCIMSYNC_IDX_NONE, NULL, 0), 1);

	OK(list_q(R, T1, USER, SCIMSYNC_IDX_ID, "u3", 0, 0, -1));
	IDS_EQ("u3");
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_ID, "u3", 0), 1);
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_ID, "g1", 0, 0, -1));
	IDS_EQ("");
	ck_assert_int_eq(count_q(R, T1, GROUP, SCIMSYNC_IDX_ID, "g1", 0), 1);

	OK(list_q(R, T1, USER, SCIMSYNC_IDX_USERNAME, "n4", 0, 0, -1));
	IDS_EQ("u4");
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_USERNAME, "n4", 0),
			 1);
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_USERNAME, "N4", 0),
			 0);

	OK(list_q(R, T1, USER, SCIMSYNC_IDX_EXTERNALID, "x1", 0, 0, -1));
	IDS_EQ("u1,u2");
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_EXTERNALID, "x1", 0),
			 2);
	ck_assert_int_eq(count_q(R, T2, USER, SCIMSYNC_IDX_EXTERNALID, "x1", 0),
			 1);

	OK(list_q(R, T1, GROUP, SCIMSYNC_IDX_DISPLAYNAME, "admins", 0, 0, -1));
	IDS_EQ("g1,g3");
	ck_assert_int_eq(
		count_q(R, T1, GROUP, SCIMSYNC_IDX_DISPLAYNAME, "admins", 0),
		2);
	ck_assert_int_eq(
		count_q(R, T1, USER, SCIMSYNC_IDX_DISPLAYNAME, "admins", 0), 0);

	/* offset and limit; count ignores them */
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 1, 2));
	IDS_EQ("u2,u3");
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 4, 10));
	IDS_EQ("u5");
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, 0));
	IDS_EQ("");
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_EXTERNALID, "x1", 0, 1, 1));
	IDS_EQ("u2");

	/* after_seq */
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_ID, "u2", 0, 0, -1));
	ck_assert_int_eq(G.n, 1);
	{
		int64_t s2 = G.seq[0];

		OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, s2, 0, -1));
		IDS_EQ("u3,u4,u5");
		ck_assert_int_eq(
			count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, s2), 3);
		OK(list_q(R, T1, USER, SCIMSYNC_IDX_EXTERNALID, "x1", s2, 0,
			  -1));
		IDS_EQ("");
	}

	ck_assert_int_eq(list_q(R, T1, USER, 99, "x", 0, 0, -1),
			 SCIMSYNC_EFAIL);
	ck_assert_int_eq(list_q(R, T1, USER, SCIMSYNC_IDX_ID, NULL, 0, 0, -1),
			 SCIMSYNC_EFAIL);
}
END_TEST

static void put_many(const char *prefix, int from, int to)
{
	char id[32], uname[48];
	int i;

	begin();
	for (i = from; i < to; i++) {
		snprintf(id, sizeof(id), "%s%02d", prefix, i);
		snprintf(uname, sizeof(uname), "name-%s", id);
		OK(put_user(T1, id, uname, NULL));
	}
	commit();
}

START_TEST(test_paging_after_seq)
{
	char seen[80][48];
	int nseen = 0, i, j, page = 0;
	int64_t cursor = 0;

	put_many("p", 0, 30);
	for (;;) {
		OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, cursor, 0, 7));
		if (G.n == 0)
			break;
		for (i = 0; i < G.n; i++) {
			for (j = 0; j < nseen; j++)
				ck_assert_str_ne(seen[j], G.id[i]);
			ck_assert_int_lt(nseen, 80);
			copy(seen[nseen++], sizeof(seen[0]), G.id[i]);
		}
		cursor = G.seq[G.n - 1];
		if (page++ == 0) {
			/* between pages: delete one seen and one unseen row,
			 * add two */
			OK(P->del(W, T1, USER, "p03", &E));
			OK(P->del(W, T1, USER, "p10", &E));
			put_many("p", 30, 32);
		}
		ck_assert_int_lt(page, 20);
	}
	/* all of p00..p31 but p10, each once, in order */
	ck_assert_int_eq(nseen, 31);
	for (i = 0, j = 0; i < 32; i++) {
		char want[16];

		if (i == 10)
			continue;
		snprintf(want, sizeof(want), "p%02d", i);
		ck_assert_str_eq(seen[j++], want);
	}
}
END_TEST

START_TEST(test_paging_offset)
{
	char seen[80][48];
	int nseen = 0, i, off;

	put_many("q", 0, 20);
	for (off = 0;; off += 6) {
		OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, off, 6));
		if (G.n == 0)
			break;
		for (i = 0; i < G.n; i++)
			copy(seen[nseen++], sizeof(seen[0]), G.id[i]);
		/* inserts land after every existing row: offsets stay */
		if (off == 0)
			put_many("q", 20, 23);
		ck_assert_int_lt(nseen, 60);
	}
	ck_assert_int_eq(nseen, 23);
	for (i = 0; i < 23; i++) {
		char want[16];

		snprintf(want, sizeof(want), "q%02d", i);
		ck_assert_str_eq(seen[i], want);
	}
}
END_TEST

START_TEST(test_seq_never_reused)
{
	int64_t last;

	put_many("s", 0, 3);
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_ID, "s02", 0, 0, -1));
	last = G.seq[0];
	OK(P->del(W, T1, USER, "s02", &E));
	OK(put_user(T1, "s03", "name-s03", NULL));
	OK(get_res(R, T1, USER, "s03"));
	ck_assert_int_gt(G.seq[0], last);
}
END_TEST

START_TEST(test_conflicts)
{
	OK(put_user(T1, "u1", "bob", NULL));
	ck_assert_int_eq(put_user(T1, "u2", "bob", NULL), SCIMSYNC_ECONFLICT);
	ck_assert_int_eq(E.code, SCIMSYNC_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(E.message, "userName"));
	ck_assert_int_eq(put_user(T1, "u1", "carol", NULL), SCIMSYNC_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(E.message, "id"));
	ck_assert_ptr_null(strstr(E.message, "userName"));

	/* other tenant: both fine */
	OK(put_user(T2, "u1", "bob", NULL));
	OK(put_user(T2, "u2", "alice", NULL));
	/* users without a userName key do not collide */
	OK(put_user(T1, "n1", NULL, NULL));
	OK(put_user(T1, "n2", NULL, NULL));
	/* a group may have a user's id? ids are per type */
	OK(put_group(T1, "g1", "bob"));
	OK(put_group(T1, "g2", "bob")); /* displayName not unique here */

	/* replacing onto a taken userName */
	OK(put_user(T1, "u3", "dave", NULL));
	ck_assert_int_eq(put_on(W, T1, USER, "u3", "bob", NULL, 2, 0),
			 SCIMSYNC_ECONFLICT);
	ck_assert_ptr_nonnull(strstr(E.message, "userName"));
	OK(get_res(R, T1, USER, "u3"));
	ck_assert_str_eq(G.user_name_key, "dave");
	ck_assert_int_eq(G.version, 1);
	OK(put_on(W, T1, USER, "u3", "dave", NULL, 2, 0));
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0), 4);
}
END_TEST

/* ---- store: membership ---- */

START_TEST(test_del_membership)
{
	begin();
	OK(put_user(T1, "u1", "a", NULL));
	OK(put_user(T1, "u2", "b", NULL));
	OK(put_group(T1, "g1", "g1"));
	OK(put_group(T1, "g2", "g2"));
	OK(put_group(T1, "g3", "g3"));
	OK(P->member_add(W, T1, "g1", "u1", &E));
	OK(P->member_add(W, T1, "g1", "u2", &E));
	OK(P->member_add(W, T1, "g1", "g2", &E));
	OK(P->member_add(W, T1, "g3", "g1", &E));
	OK(P->member_add(W, T1, "g3", "u1", &E));
	commit();

	OK(members_of(R, T1, "g1", NULL, 0));
	IDS_EQ("u1,u2,g2");
	ck_assert_int_eq(G.type[2], GROUP);
	OK(groups_of(R, T1, "u1"));
	IDS_EQ("u1,u1"); /* member ids; the groups are in display */

	/* the group goes: its own rows and the rows naming it */
	OK(P->del(W, T1, GROUP, "g1", &E));
	OK(members_of(R, T1, "g1", NULL, 0));
	ck_assert_int_eq(G.n, 0);
	OK(members_of(R, T1, "g3", NULL, 0));
	IDS_EQ("u1");
	OK(groups_of(R, T1, "u2"));
	ck_assert_int_eq(G.n, 0);
	OK(groups_of(R, T1, "g2"));
	ck_assert_int_eq(G.n, 0);

	/* a user goes */
	OK(P->del(W, T1, USER, "u1", &E));
	OK(members_of(R, T1, "g3", NULL, 0));
	ck_assert_int_eq(G.n, 0);
	ck_assert_int_eq(P->del(W, T1, USER, "u1", &E), SCIMSYNC_ENOTFOUND);
	ck_assert_int_eq(P->del(W, T1, GROUP, "u2", &E), SCIMSYNC_ENOTFOUND);
	ck_assert_int_eq(P->del(W, T2, USER, "u2", &E), SCIMSYNC_ENOTFOUND);
	OK(get_res(R, T1, USER, "u2"));
}
END_TEST

START_TEST(test_member_idempotent)
{
	begin();
	OK(put_group(T1, "g1", "g1"));
	OK(put_user(T1, "u1", "a", NULL));
	OK(put_user(T1, "u2", "b", NULL));
	OK(put_user(T1, "u3", "c", NULL));
	commit();

	OK(P->member_add(W, T1, "g1", "u3", &E));
	OK(P->member_add(W, T1, "g1", "u1", &E));
	OK(P->member_add(W, T1, "g1", "u2", &E));
	OK(P->member_add(W, T1, "g1", "u1", &E));
	OK(members_of(R, T1, "g1", NULL, 0));
	IDS_EQ("u3,u1,u2");
	ck_assert_str_eq(G.extra[0], "D-u3");
	ck_assert_str_eq(G.display, "g1"); /* group_id */
	ck_assert_int_eq(G.type[0], USER);

	OK(P->member_remove(W, T1, "g1", "u1", &E));
	OK(P->member_remove(W, T1, "g1", "u1", &E));
	OK(P->member_remove(W, T1, "g1", "nobody", &E));
	OK(members_of(R, T1, "g1", NULL, 0));
	IDS_EQ("u3,u2");
	OK(P->member_add(W, T1, "g1", "u1", &E));
	OK(members_of(R, T1, "g1", NULL, 0));
	IDS_EQ("u3,u2,u1");

	OK(P->member_clear(W, T1, "g1", &E));
	OK(P->member_clear(W, T1, "g1", &E));
	OK(P->member_remove(W, T1, "g1", "u3", &E));
	OK(members_of(R, T1, "g1", NULL, 0));
	ck_assert_int_eq(G.n, 0);
	/* the resources themselves stay */
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0), 3);
}
END_TEST

START_TEST(test_members_only_ids)
{
	const char *one[] = {"m05"};
	const char *three[] = {"m02", "nope", "m17"};
	const char *many[] = {"m00", "m01", "m02", "m03", "m04", "m05",
			      "m06", "m07", "m08", "m09", "m10", "nope"};
	char id[16];
	int i;

	begin();
	OK(put_group(T1, "g1", "g1"));
	for (i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "m%02d", i);
		OK(put_user(T1, id, id, NULL));
	}
	/* insertion order is the reverse of id order */
	for (i = 19; i >= 0; i--) {
		snprintf(id, sizeof(id), "m%02d", i);
		OK(P->member_add(W, T1, "g1", id, &E));
	}
	commit();

	OK(members_of(R, T1, "g1", one, 1));
	IDS_EQ("m05");
	ck_assert_str_eq(G.extra[0], "D-m05");
	OK(members_of(R, T1, "g1", three, 3));
	IDS_EQ("m17,m02");
	OK(members_of(R, T1, "g1", many, 12));
	IDS_EQ("m10,m09,m08,m07,m06,m05,m04,m03,m02,m01,m00");
	OK(members_of(R, T1, "g1", many, 0));
	ck_assert_int_eq(G.n, 0);
	OK(members_of(R, T2, "g1", three, 3));
	ck_assert_int_eq(G.n, 0);
	OK(members_of(R, T1, "g1", NULL, 0));
	ck_assert_int_eq(G.n, 20);
	ck_assert_str_eq(G.id[0], "m19");
}
END_TEST

START_TEST(test_groups_of)
{
	begin();
	OK(put_user(T1, "u1", "a", NULL));
	OK(put_group(T1, "g1", "g1"));
	OK(put_group(T1, "g2", "g2"));
	OK(put_group(T1, "g3", "g3"));
	OK(put_group(T1, "g4", "g4"));
	OK(P->member_add(W, T1, "g2", "u1", &E));
	OK(P->member_add(W, T1, "g1", "u1", &E));
	OK(P->member_add(W, T1, "g3", "u1", &E));
	OK(P->member_add(W, T1, "g4", "g2", &E));
	OK(put_user(T2, "u1", "a", NULL));
	OK(put_group(T2, "g9", "g9"));
	OK(P->member_add(W, T2, "g9", "u1", &E));
	commit();

	OK(groups_of(R, T1, "u1"));
	ck_assert_int_eq(G.n, 3);
	/* extra is the group's display; group_id in display (last) */
	ck_assert_str_eq(G.extra[0], "D-g1");
	ck_assert_str_eq(G.extra[1], "D-g2");
	ck_assert_str_eq(G.extra[2], "D-g3");
	ck_assert_str_eq(G.display, "g3");
	ck_assert_int_eq(G.type[0], USER);
	OK(groups_of(R, T1, "g2"));
	ck_assert_int_eq(G.n, 1);
	ck_assert_str_eq(G.display, "g4");
	ck_assert_int_eq(G.type[0], GROUP);
	OK(groups_of(R, T2, "u1"));
	ck_assert_int_eq(G.n, 1);
	ck_assert_str_eq(G.display, "g9");
	OK(groups_of(R, T1, "nobody"));
	ck_assert_int_eq(G.n, 0);
}
END_TEST

START_TEST(test_member_add_missing)
{
	OK(put_group(T1, "g1", "g1"));
	OK(put_user(T2, "u2", "b", NULL));
	ck_assert_int_eq(P->member_add(W, T1, "g1", "ghost", &E),
			 SCIMSYNC_ENOTFOUND);
	ck_assert_int_eq(E.code, SCIMSYNC_ENOTFOUND);
	/* exists, but in another tenant */
	ck_assert_int_eq(P->member_add(W, T1, "g1", "u2", &E),
			 SCIMSYNC_ENOTFOUND);
	/* no such group */
	ck_assert_int_eq(P->member_add(W, T2, "g1", "u2", &E),
			 SCIMSYNC_ENOTFOUND);
	OK(members_of(R, T1, "g1", NULL, 0));
	ck_assert_int_eq(G.n, 0);
}
END_TEST

START_TEST(test_callback_stop)
{
	put_many("c", 0, 5);
	got_reset();
	G.stop_after = 2;
	{
		scimsync_query q = {T1, USER, SCIMSYNC_IDX_NONE, NULL, 0,
				    0,	-1};

		ck_assert_int_eq(P->list(R, &q, res_cb, NULL, &E),
				 SCIMSYNC_ESTOPPED);
	}
	ck_assert_int_eq(G.n, 2);
	/* the connection and statement are reusable */
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	ck_assert_int_eq(G.n, 5);
}
END_TEST

/* ---- store: transactions and durability ---- */

START_TEST(test_savepoints)
{
	begin();
	OK(P->savepoint(W, &E));
	OK(put_user(T1, "a", "a", NULL));
	OK(P->release(W, &E));

	OK(P->savepoint(W, &E));
	OK(put_user(T1, "b", "b", NULL));
	ck_assert_int_eq(put_user(T1, "b2", "a", NULL), SCIMSYNC_ECONFLICT);
	OK(P->rollback_to(W, &E));

	OK(P->savepoint(W, &E));
	OK(put_user(T1, "d", "d", NULL));
	OK(P->release(W, &E));

	/* the writer sees its open transaction, a reader does not */
	OK(list_q(W, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	IDS_EQ("a,d");
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	IDS_EQ("");
	commit();
	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	IDS_EQ("a,d");

	begin();
	OK(put_user(T1, "e", "e", NULL));
	OK(P->rollback(W, &E));
	OK(list_q(W, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	IDS_EQ("a,d");
}
END_TEST

START_TEST(test_durability)
{
	begin();
	OK(put_user(T1, "u1", "a", "ext"));
	OK(put_group(T1, "g1", "g1"));
	OK(P->member_add(W, T1, "g1", "u1", &E));
	commit();
	store_down();
	store_up();
	OK(get_res(R, T1, USER, "u1"));
	ck_assert_str_eq(G.external_id, "ext");
	OK(members_of(R, T1, "g1", NULL, 0));
	IDS_EQ("u1");
	/* and the file is usable as is (schema not recreated) */
	OK(put_user(T1, "u2", "b", NULL));
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0), 2);
}
END_TEST

START_TEST(test_bad_options)
{
	scimsync_option none[] = {{NULL, NULL}};
	scimsync_option bad_sync[] = {
		{"path", dbpath}, {"synchronous", "sometimes"}, {NULL, NULL}};
	scimsync_option bad_cache[] = {
		{"path", dbpath}, {"cache_size_kb", "lots"}, {NULL, NULL}};
	scimsync_store *s2 = NULL;

	ck_assert_int_eq(P->open(&s2, &host, none, &E), SCIMSYNC_EFAIL);
	ck_assert_ptr_nonnull(strstr(E.message, "path"));
	ck_assert_ptr_null(s2);
	ck_assert_int_eq(P->open(&s2, &host, bad_sync, &E), SCIMSYNC_EFAIL);
	ck_assert_ptr_nonnull(strstr(E.message, "synchronous"));
	ck_assert_int_eq(P->open(&s2, &host, bad_cache, &E), SCIMSYNC_EFAIL);
	ck_assert_ptr_nonnull(strstr(E.message, "cache_size_kb"));
}
END_TEST

/* ---- writer ---- */

/* A count of finished jobs that a thread can wait for. */
struct waiter {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
};

#define WAITER_INIT                                                            \
	{                                                                      \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0         \
	}

static void waiter_add(struct waiter *wt)
{
	pthread_mutex_lock(&wt->mu);
	wt->done++;
	pthread_cond_broadcast(&wt->cv);
	pthread_mutex_unlock(&wt->mu);
}

/* Wait until wt->done >= n or 30 s pass; returns wt->done. */
static int waiter_wait(struct waiter *wt, int n)
{
	struct timespec until;
	int got;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&wt->mu);
	while (wt->done < n &&
	       pthread_cond_timedwait(&wt->cv, &wt->mu, &until) != ETIMEDOUT)
		;
	got = wt->done;
	pthread_mutex_unlock(&wt->mu);
	return got;
}

enum { JOB_INSERT, JOB_FAIL, JOB_GATE };

struct tjob {
	writer_job job; /* first: the callbacks cast back */
	int kind;
	char id[32];
	int ran, run_rc, committed, dones;
	struct waiter *wt;
};

static struct waiter gate = WAITER_INIT;    /* done: 1 when open */
static struct waiter entered = WAITER_INIT; /* done: 1 when gate runs */

static int tjob_run(writer_job *job, const scimsync_store_plugin *p,
		    scimsync_store_conn *c)
{
	struct tjob *t = (struct tjob *)job;

	t->ran = 1;
	switch (t->kind) {
	case JOB_GATE:
		waiter_add(&entered);
		return waiter_wait(&gate, 1) == 1 ? 0 : -1;
	case JOB_FAIL:
		/* some work, then a conflict: all of it must go */
		if (put_on(c, T1, USER, "partial", "partial", NULL, 1, 1) != 0)
			return -1;
		return put_on(c, T1, USER, "dup", t->id, NULL, 1, 1) == 0 ? 0
									  : 1;
	default:
		(void)p;
		return put_on(c, T1, USER, t->id, t->id, NULL, 1, 1) == 0 ? 0
									  : 1;
	}
}

static void tjob_done(writer_job *job, int run_rc, int committed)
{
	struct tjob *t = (struct tjob *)job;

	t->run_rc = run_rc;
	t->committed = committed;
	t->dones++;
	waiter_add(t->wt);
}

static void tjob_init(struct tjob *t, int kind, const char *id,
		      struct waiter *wt)
{
	memset(t, 0, sizeof(*t));
	t->job.run = tjob_run;
	t->job.done = tjob_done;
	t->kind = kind;
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->wt = wt;
}

static writer *writer_up(const scimsync_store_plugin *p, int max_batch)
{
	char errbuf[256] = "";
	writer *w = NULL;

	ck_assert_msg(
		writer_start(&w, p, S, max_batch, errbuf, sizeof(errbuf)) == 0,
		"writer_start: %s", errbuf);
	return w;
}

START_TEST(test_writer_batch_savepoints)
{
	struct waiter wt = WAITER_INIT;
	struct tjob g, a, b, c;
	uint64_t batches, jobs;
	writer *w = writer_up(P, 0);

	/* g holds the writer inside batch 1 until a, b, c are queued, so
	 * they make up batch 2 together */
	tjob_init(&g, JOB_GATE, "gate", &wt);
	tjob_init(&a, JOB_INSERT, "a", &wt);
	tjob_init(&b, JOB_FAIL, "a", &wt); /* userName "a" is taken */
	tjob_init(&c, JOB_INSERT, "c", &wt);
	writer_submit(w, &g.job);
	ck_assert_int_eq(waiter_wait(&entered, 1), 1);
	writer_submit(w, &a.job);
	writer_submit(w, &b.job);
	writer_submit(w, &c.job);
	waiter_add(&gate);
	ck_assert_int_eq(waiter_wait(&wt, 4), 4);

	ck_assert_int_eq(g.committed, 1);
	ck_assert_int_eq(a.run_rc, 0);
	ck_assert_int_eq(a.committed, 1);
	ck_assert_int_ne(b.run_rc, 0);
	ck_assert_int_eq(b.committed, 1);
	ck_assert_int_eq(c.run_rc, 0);
	ck_assert_int_eq(c.committed, 1);
	ck_assert_int_eq(a.dones + b.dones + c.dones + g.dones, 4);
	writer_stats(w, &batches, &jobs);
	ck_assert_uint_eq(batches, 2);
	ck_assert_uint_eq(jobs, 4);
	writer_stop(w);

	OK(list_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0, 0, -1));
	IDS_EQ("a,c");
}
END_TEST

#define N_THREADS 8
#define N_PER_THREAD 250

struct submitter {
	pthread_t t;
	writer *w;
	int no;
	int ok;
};

/* Like an HTTP worker: submit, wait for done, next. */
static void *submitter_main(void *arg)
{
	struct submitter *sb = arg;
	struct waiter wt = WAITER_INIT;
	struct tjob j;
	char id[32];
	int i;

	for (i = 0; i < N_PER_THREAD; i++) {
		snprintf(id, sizeof(id), "t%d-%d", sb->no, i);
		tjob_init(&j, JOB_INSERT, id, &wt);
		writer_submit(sb->w, &j.job);
		if (waiter_wait(&wt, i + 1) != i + 1)
			break;
		if (j.run_rc == 0 && j.committed == 1 && j.dones == 1)
			sb->ok++;
	}
	return NULL;
}

START_TEST(test_writer_concurrent)
{
	struct submitter sb[N_THREADS];
	uint64_t batches, jobs;
	writer *w = writer_up(P, 0);
	int i, ok = 0;

	for (i = 0; i < N_THREADS; i++) {
		sb[i].w = w;
		sb[i].no = i;
		sb[i].ok = 0;
		ck_assert_int_eq(
			pthread_create(&sb[i].t, NULL, submitter_main, &sb[i]),
			0);
	}
	for (i = 0; i < N_THREADS; i++) {
		pthread_join(sb[i].t, NULL);
		ok += sb[i].ok;
	}
	writer_stats(w, &batches, &jobs);
	writer_stop(w);
	fprintf(stderr, "writer: %d jobs in %llu batches\n", ok,
		(unsigned long long)batches);
	ck_assert_int_eq(ok, N_THREADS * N_PER_THREAD);
	ck_assert_uint_eq(jobs, N_THREADS * N_PER_THREAD);
	ck_assert_uint_lt(batches, jobs);
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0),
			 N_THREADS * N_PER_THREAD);
}
END_TEST

START_TEST(test_writer_stop_drains)
{
	enum { N = 300 };
	struct waiter wt = WAITER_INIT;
	struct tjob *j = calloc(N, sizeof(*j));
	uint64_t batches, jobs;
	writer *w = writer_up(P, 64);
	char id[32];
	int i, ok = 0;

	ck_assert_ptr_nonnull(j);
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "d%03d", i);
		tjob_init(&j[i], JOB_INSERT, id, &wt);
		writer_submit(w, &j[i].job);
	}
	writer_stats(w, &batches, &jobs);
	writer_stop(w); /* no wait before: stop itself must drain */
	ck_assert_int_eq(wt.done, N);
	for (i = 0; i < N; i++)
		ok += j[i].committed == 1 && j[i].run_rc == 0 &&
		      j[i].dones == 1;
	ck_assert_int_eq(ok, N);
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0), N);
	free(j);
}
END_TEST

/* A store whose begin or commit fails, around the real one. */
static scimsync_store_plugin broken;

static int broken_begin(scimsync_store_conn *c, scimsync_err *err)
{
	(void)c;
	err->code = SCIMSYNC_ERETRY;
	snprintf(err->message, sizeof(err->message), "injected begin");
	return SCIMSYNC_ERETRY;
}

static int broken_commit(scimsync_store_conn *c, scimsync_err *err)
{
	(void)c;
	err->code = SCIMSYNC_EFAIL;
	snprintf(err->message, sizeof(err->message), "injected commit");
	return SCIMSYNC_EFAIL;
}

START_TEST(test_writer_commit_fails)
{
	struct waiter wt = WAITER_INIT;
	struct tjob a, b;
	char msg[300];
	writer *w;

	broken = *P;
	broken.commit = broken_commit;
	w = writer_up(&broken, 0);
	tjob_init(&a, JOB_INSERT, "a", &wt);
	tjob_init(&b, JOB_INSERT, "b", &wt);
	writer_submit(w, &a.job);
	writer_submit(w, &b.job);
	ck_assert_int_eq(waiter_wait(&wt, 2), 2);
	ck_assert_int_eq(a.ran + b.ran, 2);
	ck_assert_int_eq(a.committed + b.committed, 0);
	ck_assert_int_eq(a.dones + b.dones, 2);
	writer_last_error(w, msg, sizeof(msg));
	ck_assert_ptr_nonnull(strstr(msg, "injected commit"));
	writer_stop(w);
	/* rolled back */
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0), 0);

	broken = *P;
	broken.begin = broken_begin;
	w = writer_up(&broken, 0);
	tjob_init(&a, JOB_INSERT, "a", &wt);
	wt.done = 0;
	writer_submit(w, &a.job);
	ck_assert_int_eq(waiter_wait(&wt, 1), 1);
	ck_assert_int_eq(a.ran, 0);
	ck_assert_int_eq(a.committed, 0);
	ck_assert_int_eq(a.run_rc, SCIMSYNC_ERETRY);
	writer_stop(w);
	ck_assert_int_eq(count_q(R, T1, USER, SCIMSYNC_IDX_NONE, NULL, 0), 0);
}
END_TEST

/* ---- loader ---- */

static char lerr[512];

static int load(const char *name, const char *pdir,
		const scimsync_store_plugin **out, void **handle)
{
	lerr[0] = '\0';
	return plugin_load_store(out, handle, name, pdir, lerr, sizeof(lerr));
}

/* Load a fixture by name from the fixture dir and expect a rejection
 * whose message contains want. */
static void expect_rejected(const char *name, const char *want)
{
	const scimsync_store_plugin *p = (void *)1;
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

START_TEST(test_load_sqlite)
{
	const scimsync_store_plugin *p;
	void *h;

	OK(load(store_so(), NULL, &p, &h));
	ck_assert_str_eq(p->header.name, "sqlite");
	ck_assert_int_eq(p->header.kind, SCIMSYNC_PLUGIN_STORE);
	plugin_unload(h);
	if (getenv("SCIMSYNC_TEST_STORE_SO") == NULL) {
		/* by name from a build tree's plugins/ */
		ck_assert_msg(
			load("sqlite", TEST_BUILDDIR "/plugins", &p, &h) == 0,
			"%s", lerr);
		ck_assert_str_eq(p->header.name, "sqlite");
		plugin_unload(h);
	}
}
END_TEST

START_TEST(test_load_good)
{
	const scimsync_store_plugin *p;
	scimsync_store *s = NULL;
	char path[512];
	void *h;

	ck_assert_msg(load("good", fixture_dir(), &p, &h) == 0, "%s", lerr);
	ck_assert_str_eq(p->header.name, "fixture");
	OK(p->open(&s, &host, NULL, &E));
	p->close(s);
	plugin_unload(h);

	snprintf(path, sizeof(path), "%s/store_good.so", fixture_dir());
	ck_assert_msg(load(path, "/nonexistent", &p, &h) == 0, "%s", lerr);
	/* Built against this header: the optional 1.1 entries are covered. */
	ck_assert(p->header.struct_size >=
		  offsetof(scimsync_store_plugin, read_end) + sizeof(void *));
	plugin_unload(h);
	plugin_unload(NULL);
}
END_TEST

/* A 1.0 plugin loads; what lies beyond its struct_size is never used. */
START_TEST(test_load_older_minor)
{
	const scimsync_store_plugin *p;
	void *h;

	ck_assert_msg(load("v1_0", fixture_dir(), &p, &h) == 0, "%s", lerr);
	ck_assert_int_eq(p->header.abi_minor, 0);
	ck_assert(!SCIM_STORE_HAS(p, read_begin));
	ck_assert(!SCIM_STORE_HAS(p, read_end));
	plugin_unload(h);
}
END_TEST

START_TEST(test_load_rejects)
{
	expect_rejected("wrong_major",
			"ABI major 2, this scimsyncd supports 1");
	{
		char want[64];

		snprintf(want, sizeof(want), "ABI %d.%d is newer",
			 SCIMSYNC_STORE_ABI_MAJOR,
			 SCIMSYNC_STORE_ABI_MINOR + 1);
		expect_rejected("newer_minor", want);
	}
	expect_rejected("short_size", "descriptor size");
	expect_rejected("no_entry", "no symbol 'scimsync_plugin_entry'");
	expect_rejected("missing_cb", "required callback 'members'");
	expect_rejected("wrong_kind", "a sink plugin");
	expect_rejected("nosuch", "not found");
	expect_rejected("/nonexistent/store_x.so", "cannot load");
}
END_TEST

START_TEST(test_load_open_fails)
{
	const scimsync_store_plugin *p;
	scimsync_store *s = (void *)1;
	void *h;

	ck_assert_msg(load("open_fails", fixture_dir(), &p, &h) == 0, "%s",
		      lerr);
	memset(&E, 0, sizeof(E));
	ck_assert_int_eq(p->open(&s, &host, NULL, &E), SCIMSYNC_EFAIL);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(E.code, SCIMSYNC_EFAIL);
	ck_assert_str_eq(E.message, "fixture: open fails on purpose");
	plugin_unload(h);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc;

	tc = tcase_create("sqlite");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_put_get);
	tcase_add_test(tc, test_list_indexes);
	tcase_add_test(tc, test_paging_after_seq);
	tcase_add_test(tc, test_paging_offset);
	tcase_add_test(tc, test_seq_never_reused);
	tcase_add_test(tc, test_conflicts);
	tcase_add_test(tc, test_del_membership);
	tcase_add_test(tc, test_member_idempotent);
	tcase_add_test(tc, test_members_only_ids);
	tcase_add_test(tc, test_groups_of);
	tcase_add_test(tc, test_member_add_missing);
	tcase_add_test(tc, test_callback_stop);
	tcase_add_test(tc, test_savepoints);
	tcase_add_test(tc, test_durability);
	tcase_add_test(tc, test_bad_options);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_writer_batch_savepoints);
	tcase_add_test(tc, test_writer_concurrent);
	tcase_add_test(tc, test_writer_stop_drains);
	tcase_add_test(tc, test_writer_commit_fails);
	suite_add_tcase(s, tc);

	tc = tcase_create("loader");
	tcase_add_test(tc, test_load_sqlite);
	tcase_add_test(tc, test_load_good);
	tcase_add_test(tc, test_load_older_minor);
	tcase_add_test(tc, test_load_rejects);
	tcase_add_test(tc, test_load_open_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	if (plugin_load_store(&P, &P_handle, store_so(), NULL, lerr,
			      sizeof(lerr)) != 0) {
		fprintf(stderr, "check_store: %s\n", lerr);
		return EXIT_FAILURE;
	}
	sr = srunner_create(store_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	plugin_unload(P_handle);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
