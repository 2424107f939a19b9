/* cat_fixture.c - see cat_fixture.h. */
#include "cat_fixture.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/cat_jobs.h"
#include "catalog/cat_lessons.h"
#include "catalog/cat_sites.h"

char *fx_tmpdir(void)
{
    char *d = strdup("/tmp/yl-cat-XXXXXX");

    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

void fx_rmdir(char *dir)
{
    char cmd[256];

    if (dir == NULL)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

char *fx_write_dist(const char *dir)
{
    char *dist = malloc(512);

    assert_non_null(dist);
    snprintf(dist, 512, "%s/dist", dir);
    mkdir(dist, 0755);
    write_file(dist, "provinces.csv",
               "code,name\n11,\"北京市\"\n91,\"测试省\"\n");
    write_file(dist, "cities.csv",
               "code,name,provinceCode\n1101,\"市辖区\",11\n"
               "9101,\"甲市\",91\n9102,\"乙州\",91\n");
    write_file(dist, "areas.csv",
               "code,name,cityCode,provinceCode\n"
               "910101,\"一县\",9101,91\n910102,\"二县\",9101,91\n"
               "910201,\"三县\",9102,91\n");
    write_file(dist, "streets.csv",
               "code,name,areaCode,provinceCode,cityCode\n"
               "910101001,\"东镇\",910101,91,9101\n"
               "910101002,\"西乡\",910101,91,9101\n"
               "910102001,\"南镇\",910102,91,9101\n"
               "910201001,\"北乡\",910201,91,9102\n");
    write_file(dist, "villages.csv",
               "code,name,streetCode,provinceCode,cityCode,areaCode\n"
               "910101001001,\"一村\",910101001,91,9101,910101\n"
               "910101001002,\"二村\",910101001,91,9101,910101\n"
               "910101002001,\"三村\",910101002,91,9101,910101\n"
               "910102001001,\"四村\",910102001,91,9101,910102\n"
               "910201001001,\"五村\",910201001,91,9102,910201\n"
               "910201001002,\"六村\",910201001,91,9102,910201\n");
    return dist;
}

cat_db *fx_open_with_sites(const char *dir)
{
    char path[512];
    char *dist = fx_write_dist(dir);
    cat_import_stats st;
    cat_db *db = NULL;

    snprintf(path, sizeof(path), "%s/yunling.db", dir);
    assert_int_equal(cat_db_open(path, 0, &db), 0);
    assert_int_equal(cat_sites_import(db, dist, "91", &st), 0);
    assert_int_equal(st.counts[CAT_LEVEL_VILLAGE], 6);
    free(dist);
    return db;
}

int64_t fx_lesson(cat_db *db, const char *zh_title, double duration_s)
{
    cat_lesson_new ln = {0};
    int64_t lid = 0, jid = 0;
    json_t *job = NULL, *meta;
    char buf[512];

    ln.titles = json_pack("{s:s}", "zh", zh_title);
    ln.inputs = json_pack("{s:s}", "source", "source.mp4");
    ln.uploads_dir = "/nonexistent/uploads";
    assert_int_equal(cat_lessons_create(db, &ln, &lid, &jid), 0);
    /* Claim whatever is next: tests create lessons one at a time. */
    assert_int_equal(cat_jobs_claim(db, &job), 0);
    assert_int_equal(json_integer_value(json_object_get(job, "id")), jid);
    snprintf(buf, sizeof(buf),
             "{\"version\":1,\"duration_s\":%.3f,\"poster\":\"poster.jpg\","
             "\"video\":[],\"audio\":[{\"lang\":\"zh\"}],"
             "\"languages\":[\"zh\"],\"subtitle_languages\":[]}",
             duration_s);
    meta = fx_json(buf);
    assert_int_equal(cat_jobs_finish(db, jid, meta), 0);
    json_decref(meta);
    json_decref(job);
    json_decref(ln.titles);
    json_decref(ln.inputs);
    return lid;
}

json_t *fx_json(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (j == NULL)
        fail_msg("bad JSON in test: %s: %s", e.text, text);
    return j;
}

int64_t fx_ms(const char *day, int hh, int mm)
{
    int64_t d = 0;

    assert_int_equal(cat_day_parse(day, &d), 0);
    return d * 86400000 - CAT_TZ_OFFSET_MS + ((int64_t)hh * 60 + mm) * 60000;
}
