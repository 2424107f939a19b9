/* str_api.h - the JSON API under /api/v1/, the upload path and the job
 * runner, as the server core (str_server.c) sees them. Folder-private.
 * Service thread only unless a comment says otherwise. */
#ifndef YL_STR_API_H
#define YL_STR_API_H

#include <stddef.h>
#include <stdint.h>

#include "catalog/cat_lessons.h"
#include "catalog/cat_views.h"
#include "streamer/str_internal.h"

/* ---- str_api.c ---- */
/* Opens the catalog (writer thread + this thread's reader). */
int str_api_open(str_server *srv);
/* After the listener is up: starts the job runner. */
int str_api_start(str_server *srv);
/* SIGTERM seen: the job runner stops its child; the writer keeps going
 * until str_api_close(). */
void str_api_stopping(str_server *srv);
/* True when nothing the API owns is still running (draining ends). */
bool str_api_idle(str_server *srv);
/* Stops the job runner, flushes and stops the writer, closes the reader.
 * Safe on a partly opened server. */
void str_api_close(str_server *srv);

/* Before any /api/v1 handler (route rows with STR_RF_API): the catalog is
 * up, the query parameters fit, the token (if any) is valid. 1 when it
 * answered (*ret is the handler's return). */
int str_api_prepare(str_req *r, int *ret);
/* Handlers of the route table (str_server.c); r->id and r->arg come from
 * the row's pattern. Each returns what a handler returns. */
int str_api_not_found(str_req *r);     /* /api/... with no row */
int str_api_lessons_list(str_req *r);  /* GET /api/v1/lessons */
int str_api_lesson_upload(str_req *r); /* POST /api/v1/lessons */
int str_api_lesson_get(str_req *r);    /* GET /api/v1/lessons/{id} */
int str_api_lesson_delete(str_req *r); /* DELETE .../lessons/{id} */
/* POST /api/v1/lessons/{id}/course: head, then its JSON body. */
int str_api_lesson_course_begin(str_req *r);
int str_api_lesson_course_done(str_req *r);
int str_api_job_get(str_req *r);           /* GET /api/v1/jobs/{id} */
int str_api_job_retry(str_req *r);         /* POST /api/v1/jobs/{id}/retry */
int str_api_lesson_edit_begin(str_req *r); /* POST /api/v1/lessons/{id} */
int str_api_lesson_edit_done(str_req *r);
int str_api_courses_list(str_req *r);    /* GET /api/v1/courses */
int str_api_course_get(str_req *r);      /* GET /api/v1/courses/{id} */
int str_api_sites_list(str_req *r);      /* GET /api/v1/sites */
int str_api_site_get(str_req *r);        /* GET /api/v1/sites/{code} */
int str_api_site_lang_begin(str_req *r); /* POST .../sites/{code}/lang */
int str_api_site_lang_done(str_req *r);  /* ... its body is whole */
int str_api_site_tokens(str_req *r);     /* POST /api/v1/sites/{code}/tokens */
int str_api_site_tokens_revoke(str_req *r); /* DELETE ... */
int str_api_whoami(str_req *r);             /* GET /api/v1/whoami */
int str_api_views_begin(str_req *r);        /* POST /api/v1/views: head */
int str_api_views_done(str_req *r);         /* ... its body is whole */
int str_api_stats_now(str_req *r);          /* GET /api/v1/stats/now */
int str_api_stats_ranking(str_req *r);      /* .../stats/ranking */
int str_api_stats_site(str_req *r);         /* .../stats/sites/{code} */
/* WRITEABLE without a file body: a deferred answer is ready. */
int str_api_writeable(str_req *r);
/* The request is going away: drop what the API held for it. */
void str_api_req_cleanup(str_req *r);
/* Answers a deferred request: takes ownership of body (malloc'd JSON). The
 * response leaves from WRITEABLE. */
void str_api_defer_reply(str_req *r, int status, char *body, size_t len);

/* Queues a lesson + job for the writer; answers r (202) after the commit.
 * staged: the upload dir, removed if the create fails. 0 or negative. */
int str_api_create_lesson(str_req *r, const cat_lesson_new *ln,
                          const char *staged);

/* Answers a deferred request with an error object for rc (yl code) and
 * msg. */
void str_api_defer_error(str_req *r, int rc, const char *msg);
/* The same with its own status and error code. */
void str_api_defer_error_code(str_req *r, int status, const char *code,
                              const char *msg);

/* Any thread: how a token stands once cat_tokens_verify answered rc (info
 * filled when 0; YL_ENOTFOUND also for a token of the wrong length). 0:
 * valid; 401 with *code and msg (unknown, revoked, expired); or rc when
 * the catalog failed. The Authorization header and a beacon's body token
 * both go through it. */
int str_token_judge(int rc, const cat_token_info *info, const char **code,
                    char *msg, size_t len);

/* Service thread, for the handlers in other files: a token's info
 * (through the token cache; YL_ENOTFOUND for an unknown or revoked one or
 * one of the wrong length; check info->expired), and str_api.c's checks
 * and answers: need_admin/need_within answer (403/401/404) and return 1
 * when the request may not go on, *ret holding the callback's return. */
int str_api_token(str_server *srv, const char *tok, cat_token_info *info);
int str_api_need_admin(str_req *r, const char *what, int *ret);
int str_api_need_within(str_req *r, const char *code, int *ret);
int str_api_reply_cat_error(str_req *r, int rc, const char *msg);
/* Sends obj (taken) as the JSON body. */
int str_api_reply_json(str_req *r, int status, json_t *obj);
/* Query integer in lo..hi into *out (0 when absent); -1 when it answered
 * 400 (*ret). */
int str_api_qint(str_req *r, const char *name, int lo, int hi, int *out,
                 int *ret);

/* ---- str_query.c: slow reads on a pool of reader threads ---- */
#define STR_QUERY_THREADS 1 /* 2 cores: the loop and the writer need theirs */
enum str_query_kind { STR_Q_RANKING, STR_Q_SITE, STR_Q_VIEWS, STR_Q_SIGNIN };
struct str_qpool;
/* A pool of n reader threads named name ("yl-query", "yl-ingest"). */
int str_query_start(str_server *srv, const char *name, int n,
                    struct str_qpool **out);
/* Service thread: runs the query on a pool thread and answers r (200 with
 * the JSON, or the error) when it is done. 0 or -ENOMEM. Strings are
 * copied; from/to may be NULL. */
int str_query_submit(str_req *r, int kind, const char *code, const char *from,
                     const char *to);
/* Service thread: moves r's JSON body to the ingest thread, which parses
 * and checks it and submits it to the writer (str_api_submit_views), or
 * answers r with the error. 0 or -ENOMEM. */
int str_query_submit_views(str_req *r);
/* Service thread: checks a sign-in's password on a pool thread (slow on
 * purpose) and opens its session through the writer; the answer goes to
 * str_session_signin_done(). Strings are copied (the password is wiped
 * once checked). 0 or -ENOMEM. */
int str_query_submit_signin(str_req *r, const char *name, const char *password,
                            const char *addr);
/* The same for a batch from the websocket channel: in (malloc'd, taken)
 * is the message, tok its sender, addr the client's address; the answer
 * goes to str_ws_views_answer(serial). 0 or -ENOMEM. */
int str_query_submit_raw_views(str_server *srv, uint64_t serial,
                               const cat_token_info *tok, const char *addr,
                               char *in, size_t len);
/* Any thread: see str_api.c. Takes ownership of b. */
int str_api_submit_views(str_server *srv, uint64_t serial, cat_view_batch *b);
/* Service thread, once per loop round: wakes the pool's thread if queries
 * were queued since the last call (one wake for all the requests one
 * poll() round brought in). NULL is a no-op. */
void str_query_kick(struct str_qpool *p);
/* Finishes queued queries, joins the threads, frees. NULL is a no-op. */
void str_query_stop(struct str_qpool *p);

/* ---- str_server.c: bodies ---- */
/* Content-Length of the request, or -1 when absent or malformed. */
int64_t str_req_content_length(str_req *r);
/* Checks Content-Length against limit before anything is allocated for
 * the body: 1 when it answered (411 / 413; *ret holds the callback's
 * return, and r must not be touched any more), else 0. */
int str_body_refused(str_req *r, int64_t limit, int *ret);
/* Prepares to receive a body of kind (STR_BODY_*) of at most limit bytes:
 * 411 without Content-Length, 413 over the limit (answered here), sends
 * "100 Continue" when asked. Returns what the lws callback returns. */
int str_body_begin(str_req *r, int kind, int64_t limit);

/* ---- str_upload.c: POST /api/v1/lessons ---- */
int str_upload_begin(str_req *r);
int str_upload_feed(str_req *r, const char *in, size_t len);
int str_upload_done(str_req *r);
void str_upload_free(str_req *r); /* removes a staging dir left behind */

/* ---- str_jobs.c: the job runner thread ---- */
struct str_jobs;
int str_jobs_start(str_server *srv, struct str_jobs **out);
/* Any thread: a job was queued, look now. */
void str_jobs_wake(struct str_jobs *j);
/* Asks the runner to stop: kills a running transcoder (the job stays
 * "running" in the catalog and is requeued at the next start). */
void str_jobs_stop(struct str_jobs *j);
bool str_jobs_stopped(struct str_jobs *j);
/* Any thread: job id was cancelled in the catalog while it ran (its
 * lesson was deleted). The runner kills its transcoder (SIGTERM, SIGKILL
 * after 5 s), removes its output and records nothing more for it. */
void str_jobs_cancel(struct str_jobs *j, int64_t id);
/* Joins the thread and frees j. NULL is a no-op. */
void str_jobs_free(struct str_jobs *j);
/* The job being run now (0 none) and its child's pid, for /metrics. */
int64_t str_jobs_current(struct str_jobs *j);
/* Any thread: copies in to out (at most len bytes, NUL-terminated) with
 * every "data_dir/" (as configured, and its realpath) removed, so that
 * messages shown through the API name files relative to the data
 * directory, never server paths. */
void str_jobs_relpaths(const char *data_dir, const char *in, char *out,
                       size_t len);

#endif
