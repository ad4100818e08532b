/* canned.c - the throughput ceiling for contrib/bench/run.sh.
 *
 * A bare libevhtp server set up like scimsyncd (same libraries, same
 * threading model: evhtp_use_threads_wexit with N worker threads, a
 * generic callback, keep-alive) that answers every request, whatever its
 * method or path, with 200 and one fixed ~400-byte SCIM User body.
 * Anything scimsyncd does per request beyond this is the server's own cost.
 *
 *   cc -O2 -o canned canned.c \
 *      $(pkg-config --cflags --libs evhtp libevent libevent_pthreads) \
 *      -lpthread
 *   ./canned PORT THREADS [ADDRESS]
 *
 * Exits on SIGTERM/SIGINT.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <evhtp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char body[] =
	"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],"
	"\"id\":\"2819c223-7f76-453a-919d-413861904646\","
	"\"userName\":\"bjensen@example.com\","
	"\"name\":{\"familyName\":\"Jensen\",\"givenName\":\"Barbara\"},"
	"\"displayName\":\"Babs Jensen\",\"active\":true,"
	"\"emails\":[{\"value\":\"bjensen@example.com\",\"type\":\"work\","
	"\"primary\":true}],"
	"\"meta\":{\"resourceType\":\"User\","
	"\"created\":\"2011-08-01T18:29:49.793Z\","
	"\"lastModified\":\"2011-08-01T18:29:49.793Z\","
	"\"version\":\"W/\\\"1\\\"\"}}";

static void on_request(evhtp_request_t *req, void *arg)
{
	(void)arg;
	evhtp_headers_add_header(req->headers_out,
				 evhtp_header_new("Content-Type",
						  "application/scim+json", 0,
						  0));
	evbuffer_add_reference(req->buffer_out, body, sizeof(body) - 1, NULL,
			       NULL);
	evhtp_send_reply(req, EVHTP_RES_OK);
}

static void on_thread_init(evhtp_t *htp, evthr_t *thr, void *arg)
{
	(void)htp;
	(void)thr;
	(void)arg;
}

static void on_thread_exit(evhtp_t *htp, evthr_t *thr, void *arg)
{
	(void)htp;
	(void)thr;
	(void)arg;
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	struct event_base *base;
	struct event *sigterm, *sigint;
	evhtp_t *htp;
	const char *addr = "127.0.0.1";
	int port, threads;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s PORT THREADS [ADDRESS]\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	threads = atoi(argv[2]);
	if (argc == 4)
		addr = argv[3];
	if (port <= 0 || port > 65535 || threads <= 0) {
		fprintf(stderr, "canned: bad port or thread count\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();
	base = event_base_new();
	htp = evhtp_new(base, NULL);
	if (base == NULL || htp == NULL) {
		fprintf(stderr, "canned: cannot create the server\n");
		return 1;
	}
	evhtp_set_gencb(htp, on_request, NULL);
	if (evhtp_use_threads_wexit(htp, on_thread_init, on_thread_exit,
				    threads, NULL) != 0) {
		fprintf(stderr, "canned: cannot start worker threads\n");
		return 1;
	}
	if (evhtp_bind_socket(htp, addr, (uint16_t)port, 1024) != 0) {
		fprintf(stderr, "canned: cannot listen on %s:%d\n", addr, port);
		return 1;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	fprintf(stderr,
		"canned: listening on %s:%d, %d threads, %zu-byte body\n", addr,
		port, threads, sizeof(body) - 1);
	event_base_loop(base, 0);
	evhtp_unbind_socket(htp);
	event_free(sigterm);
	event_free(sigint);
	evhtp_free(htp);
	event_base_free(base);
	return 0;
}
