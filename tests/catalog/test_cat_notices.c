/* test_cat_notices.c - notices: the request check, storage with one
 * receipt row per station below the targets, receipts (first time kept,
 * "read" implies delivered, rows not targeted untouched), the replay list,
 * withdrawal, and the per-child report. Through the real writer thread. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/cat_config.h"
#include "catalog/cat_notices.h"
#include "catalog/cat_writer.h"
#include "cat_fixture.h"
#include "common/yl_err.h"

typedef struct fx {
    char *dir;
    cat_config cfg;
    cat_writer *w;
    cat_db *rd;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];

    f->dir = fx_tmpdir();
    cat_db_close(fx_open_with_sites(f->dir));
    cat_config_init(&f->cfg);
    cat_config_set(&f->cfg, "server", "data", f->dir, err, sizeof(err));
    assert_int_equal(cat_config_finish(&f->cfg, err, sizeof(err)), 0);
    assert_int_equal(cat_writer_start(&f->cfg, &f->w), 0);
    assert_int_equal(cat_reader_open(f->cfg.db_path, &f->rd), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;

    cat_db_close(f->rd);
    cat_writer_stop(f->w);
    fx_rmdir(f->dir);
    free(f);
    return 0;
}

static void check_refuses_each_bad_field(void **state)
{
    static const struct {
        const char *json, *field;
    } bad[] = {
        {"[]", "body"},
        {"{\"body\":\"b\",\"targets\":[\"91\"]}", "title"},
        {"{\"title\":\"\",\"body\":\"b\",\"targets\":[\"91\"]}", "title"},
        {"{\"title\":\"a\\nb\",\"body\":\"b\",\"targets\":[\"91\"]}", "title"},
        {"{\"title\":\"t\",\"body\":3,\"targets\":[\"91\"]}", "body"},
        {"{\"title\":\"t\",\"body\":\"a\\u0001\",\"targets\":[\"91\"]}",
         "body"},
        {"{\"title\":\"t\",\"body\":\"b\"}", "targets"},
        {"{\"title\":\"t\",\"body\":\"b\",\"targets\":[]}", "targets"},
        {"{\"title\":\"t\",\"body\":\"b\",\"targets\":[\"91\",\"9x\"]}",
         "targets[1]"},
        {"{\"title\":\"t\",\"body\":\"b\",\"targets\":[91]}", "targets[0]"},
        {"{\"title\":\"t\",\"body\":\"b\",\"targets\":[\"91\"],"
         "\"attachments\":[0]}",
         "attachments[0]"},
    };
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *in = fx_json(bad[i].json);

        err[0] = '\0';
        assert_int_equal(cat_notices_check(in, err, sizeof(err)), YL_EINVAL);
        if (strncmp(err, bad[i].field, strlen(bad[i].field)) != 0)
            fail_msg("%s: error \"%s\" does not name %s", bad[i].json, err,
                     bad[i].field);
        json_decref(in);
    }
    {
        json_t *in = fx_json("{\"title\":\"关于防火\",\"body\":\"第一段\\n\\n"
                             "第二段 <b>不是HTML</b>\",\"targets\":[\"9101\","
                             "\"910201001001\"]}");

        assert_int_equal(cat_notices_check(in, err, sizeof(err)), 0);
        json_decref(in);
    }
}

static int create(fx *f, const char *json, int64_t *id, int *sites, char *err)
{
    json_t *in = fx_json(json);
    cat_sync s;
    int rc;

    cat_sync_init(&s);
    rc = cat_notices_create_submit(f->w, in, "91", 0, 0, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    *id = s.res.id;
    *sites = s.res.accepted;
    if (err != NULL)
        snprintf(err, 256, "%.200s", s.res.error);
    cat_sync_fini(&s);
    json_decref(in);
    return rc;
}

static int ack(fx *f, const char *site, int64_t id, int state, int *changed)
{
    cat_notice_ack k;
    cat_sync s;
    int rc;

    memset(&k, 0, sizeof(k));
    snprintf(k.site, sizeof(k.site), "%s", site);
    k.notice = id;
    k.state = state;
    k.at_ms = cat_now_ms();
    cat_sync_init(&s);
    rc = cat_notices_ack_submit(f->w, &k, 1, cat_sync_done, &s);
    if (rc == 0)
        rc = cat_sync_wait(&s);
    *changed = s.res.accepted;
    cat_sync_fini(&s);
    return rc;
}

static void stored_expanded_acked_replayed(void **state)
{
    fx *f = *state;
    int64_t id, id2, ids[8], t[3];
    int sites, changed, n;
    char err[256];
    json_t *o = NULL;

    /* An unknown code is named; nothing is stored. */
    assert_int_equal(create(f,
                            "{\"title\":\"t\",\"body\":\"b\",\"targets\":"
                            "[\"9101\",\"9199\"]}",
                            &id, &sites, err),
                     YL_EINVAL);
    assert_non_null(strstr(err, "targets[1]: unknown code 9199"));
    /* A county only: its 2 townships and 3 villages. */
    assert_int_equal(create(f,
                            "{\"title\":\"一县通知\",\"body\":\"b\","
                            "\"targets\":[\"910101\"]}",
                            &id, &sites, NULL),
                     0);
    assert_true(id > 0);
    assert_int_equal(sites, 5);
    /* Overlapping targets count each site once: 9101 (7 stations) and
     * one of its villages. */
    assert_int_equal(create(f,
                            "{\"title\":\"甲市通知\",\"body\":\"b\","
                            "\"targets\":[\"9101\",\"910101001001\"]}",
                            &id2, &sites, NULL),
                     0);
    assert_int_equal(sites, 7);

    /* Replay: both pending for 一村, ascending; only the second for 四村. */
    n = cat_notices_pending(f->rd, "910101001001", 0, ids, 8);
    assert_int_equal(n, 2);
    assert_true(ids[0] == id && ids[1] == id2);
    n = cat_notices_pending(f->rd, "910102001001", 0, ids, 8);
    assert_int_equal(n, 1);
    assert_true(ids[0] == id2);
    n = cat_notices_pending(f->rd, "910201001001", 0, ids, 8);
    assert_int_equal(n, 0);
    assert_int_equal(cat_notices_sent_to(f->rd, id, "910201001001"), 0);
    assert_int_equal(cat_notices_sent_to(f->rd, id, "910101001001"), 1);

    /* Receipts: delivered once; read implies delivered; a site not
     * targeted changes nothing. */
    assert_int_equal(ack(f, "910101001001", id, CAT_NOTICE_DELIVERED, &changed),
                     0);
    assert_int_equal(changed, 1);
    assert_int_equal(ack(f, "910101001001", id, CAT_NOTICE_DELIVERED, &changed),
                     0);
    assert_int_equal(changed, 0);
    assert_int_equal(ack(f, "910101001002", id, CAT_NOTICE_READ, &changed), 0);
    assert_int_equal(changed, 2); /* delivered and read */
    assert_int_equal(ack(f, "910201001001", id, CAT_NOTICE_READ, &changed), 0);
    assert_int_equal(changed, 0);
    n = cat_notices_pending(f->rd, "910101001001", 0, ids, 8);
    assert_int_equal(n, 1);
    assert_true(ids[0] == id2);
    n = cat_notices_pending(f->rd, "910101001001", id2, ids, 8);
    assert_int_equal(n, 0); /* since: above the client's highest */

    assert_int_equal(cat_notices_totals(f->rd, id, "91", t), 0);
    assert_true(t[0] == 5 && t[1] == 2 && t[2] == 1);
    assert_int_equal(cat_notices_report(f->rd, id, "9101", &o), 0);
    {
        json_t *kids = json_object_get(o, "children");

        assert_int_equal(json_array_size(kids), 1); /* only 910101 targeted */
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(kids, 0), "code")),
            "910101");
        assert_int_equal(json_integer_value(json_object_get(
                             json_array_get(kids, 0), "delivered")),
                         2);
    }
    json_decref(o);

    /* Withdrawn: no longer pending anywhere; the receipts stay. */
    {
        cat_sync s;

        cat_sync_init(&s);
        assert_int_equal(cat_notices_withdraw_submit(f->w, id2, cat_now_ms(),
                                                     cat_sync_done, &s),
                         0);
        assert_int_equal(cat_sync_wait(&s), 0);
        cat_sync_fini(&s);
        cat_sync_init(&s);
        assert_int_equal(cat_notices_withdraw_submit(f->w, 999, cat_now_ms(),
                                                     cat_sync_done, &s),
                         0);
        assert_int_equal(cat_sync_wait(&s), YL_ENOTFOUND);
        cat_sync_fini(&s);
    }
    assert_int_equal(cat_notices_pending(f->rd, "910102001001", 0, ids, 8), 0);
    assert_int_equal(cat_notices_get(f->rd, id2, &o), 0);
    assert_non_null(json_object_get(o, "withdrawn_ms"));
    json_decref(o);
    assert_int_equal(cat_notices_for_site(f->rd, "910101001002", 0, 10, &o), 0);
    assert_int_equal(json_array_size(o), 2);
    assert_true(json_integer_value(
                    json_object_get(json_array_get(o, 0), "read_ms")) > 0);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_refuses_each_bad_field),
        cmocka_unit_test_setup_teardown(stored_expanded_acked_replayed, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
