/* Units for yl_lang: BCP-47 normalisation and the language name table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "common/yl_err.h"
#include "common/yl_lang.h"

static void check_norm(const char *in, const char *want)
{
    char out[YL_LANG_MAX];

    memset(out, 'X', sizeof(out));
    if (yl_lang_normalize(in, out, sizeof(out)) != 0)
        fail_msg("yl_lang_normalize(\"%s\") failed", in);
    if (strcmp(out, want) != 0)
        fail_msg("yl_lang_normalize(\"%s\") = \"%s\", want \"%s\"", in, out,
                 want);
}

static void check_bad(const char *in)
{
    char out[YL_LANG_MAX] = "unchanged";
    int ret = yl_lang_normalize(in, out, sizeof(out));

    if (ret != YL_EBADLANG)
        fail_msg("yl_lang_normalize(\"%s\") = %d (\"%s\"), want YL_EBADLANG",
                 in ? in : "(null)", ret, out);
    assert_string_equal(out, "unchanged"); /* untouched on error */
}

static void iso639_codes_shorten(void **state)
{
    (void)state;
    check_norm("zho", "zh");
    check_norm("chi", "zh");
    check_norm("bod", "bo");
    check_norm("tib", "bo");
    check_norm("eng", "en");
    check_norm("fre", "fr");
    check_norm("fra", "fr");
    check_norm("iii", "ii"); /* Sichuan Yi */
    check_norm("zha", "za"); /* Zhuang */
    check_norm("bur", "my");
    check_norm("zh", "zh");
    check_norm("bo", "bo");
}

static void codes_without_short_form_stay(void **state)
{
    (void)state;
    check_norm("lis", "lis");
    check_norm("duu", "duu");
    check_norm("wbm", "wbm");
    check_norm("prk", "prk");
    check_norm("tdd", "tdd");
    check_norm("khb", "khb");
    check_norm("kac", "kac");
    check_norm("hni", "hni");
    check_norm("bca", "bca");
    check_norm("hmn", "hmn");
    check_norm("und", "und");
    check_norm("yue", "yue");
    check_norm("cmn", "cmn");
    check_norm("qaa", "qaa"); /* private use range, well-formed */
}

static void case_follows_bcp47(void **state)
{
    (void)state;
    check_norm("ZH", "zh");
    check_norm("LIS", "lis");
    check_norm("TIB", "bo");
    check_norm("zh-cn", "zh-CN");
    check_norm("ZH-HANS-cn", "zh-Hans-CN");
    check_norm("zho-hant-tw", "zh-Hant-TW");
    check_norm("bod-CN", "bo-CN");
    check_norm("sr-latn-rs", "sr-Latn-RS");
    check_norm("es-419", "es-419");
    check_norm("de-ch-1996", "de-CH-1996");
    check_norm("sl-rozaj-biske", "sl-rozaj-biske");
    check_norm("zh-yue-HK", "zh-yue-HK"); /* extlang */
    check_norm("en-US-u-ca-gregory", "en-US-u-ca-gregory");
    check_norm("en-x-Twain", "en-x-twain");
    check_norm("x-yunling", "x-yunling");
    check_norm("lis-Lisu", "lis-Lisu");
    check_norm("ii-Yiii-CN", "ii-Yiii-CN");
}

static void malformed_tags_are_refused(void **state)
{
    char out[YL_LANG_MAX];
    (void)state;

    check_bad("x");
    check_bad("zh_CN");
    check_bad("toolongtag1");
    check_bad("12");
    check_bad("");
    check_bad(NULL);
    check_bad("a");
    check_bad("abcd");      /* 4-letter language is reserved */
    check_bad("abcdefghi"); /* 9 letters */
    check_bad("zh-");       /* empty subtag */
    check_bad("-zh");
    check_bad("zh--CN");
    check_bad(" zh");
    check_bad("zh ");
    check_bad("中文");
    check_bad("zh-CN-x");       /* private use without a subtag */
    check_bad("en-a");          /* extension without a subtag */
    check_bad("en-a-x-foo");    /* same, then private use */
    check_bad("en-a-b");        /* empty extension before the next */
    check_bad("en-Latn-Latn");  /* second script */
    check_bad("en-US-GB");      /* second region */
    check_bad("en-1234567890"); /* subtag over 8 characters */
    check_bad("i-klingon");     /* grandfathered, not accepted */
    check_bad("zh-CN-yue");     /* extlang after region */
    check_bad("abcde-yue");     /* extlang after a 5-letter language */
    /* Well-formed but longer than YL_LANG_MAX - 1. */
    check_bad("en-Latn-US-abcdefgh-abcdefgh-abcdefgh");
    /* The output buffer must hold the result. */
    assert_int_equal(yl_lang_normalize("zh-Hans", out, 7), YL_EINVAL);
    assert_int_equal(yl_lang_normalize("zh-Hans", out, 8), 0);
    assert_string_equal(out, "zh-Hans");
    assert_int_equal(yl_lang_normalize("zho", out, 3), 0); /* "zh" fits */
    assert_int_equal(yl_lang_normalize("zh", NULL, 0), YL_EINVAL);
}

/* Decodes UTF-8; 0 at the end, -1 when invalid. */
static long next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    long cp;
    int n;

    if (*p == 0)
        return 0;
    if (*p < 0x80) {
        cp = *p;
        n = 1;
    } else if ((*p & 0xe0) == 0xc0) {
        cp = *p & 0x1f;
        n = 2;
    } else if ((*p & 0xf0) == 0xe0) {
        cp = *p & 0x0f;
        n = 3;
    } else if ((*p & 0xf8) == 0xf0) {
        cp = *p & 0x07;
        n = 4;
    } else {
        return -1;
    }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    *s = p + n;
    return cp;
}

/* Every letter of name is in [lo, hi] or is punctuation/space. */
static void check_script(const char *tag, long lo, long hi)
{
    const char *name = yl_lang_native_name(tag);
    const unsigned char *p = (const unsigned char *)name;
    long cp;
    int letters = 0;

    assert_non_null(name);
    while ((cp = next_cp(&p)) > 0) {
        if (cp == ' ' || cp == '-')
            continue;
        if (cp < lo || cp > hi)
            fail_msg("%s name \"%s\": U+%04lX outside U+%04lX..U+%04lX", tag,
                     name, cp, lo, hi);
        letters++;
    }
    assert_int_equal(cp, 0);
    assert_true(letters >= 2);
}

static void native_names_for_province_languages(void **state)
{
    static const char *const tags[] = {"zh",  "bo",  "lis", "duu", "wbm",
                                       "prk", "ii",  "tdd", "khb", "kac",
                                       "hni", "bca", "za",  "hmn", "en"};
    (void)state;

    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
        const char *n = yl_lang_native_name(tags[i]);

        if (n == NULL || n[0] == '\0')
            fail_msg("no native name for %s", tags[i]);
        if (yl_lang_zh_name(tags[i]) == NULL)
            fail_msg("no Chinese name for %s", tags[i]);
        assert_true(yl_lang_is_known(tags[i]));
        assert_string_equal(yl_lang_display_name(tags[i]), n);
    }
    assert_string_equal(yl_lang_native_name("zh"), "中文");
    assert_string_equal(yl_lang_native_name("bo"), "བོད་སྐད");
    assert_string_equal(yl_lang_native_name("lis"), "ꓡꓲ-ꓢꓴ");
    assert_string_equal(yl_lang_native_name("ii"), "ꆈꌠꉙ");
    assert_string_equal(yl_lang_native_name("kac"), "Jinghpaw");
    assert_string_equal(yl_lang_native_name("hni"), "Haqniqdoq");
    assert_string_equal(yl_lang_native_name("za"), "Vahcuengh");
    assert_string_equal(yl_lang_native_name("hmn"), "Hmoob");
    /* Names are in the language's own script (Unicode blocks). */
    check_script("bo", 0x0f00, 0x0fff);  /* Tibetan */
    check_script("lis", 0xa4d0, 0xa4ff); /* Lisu (Fraser) */
    check_script("ii", 0xa000, 0xa48f);  /* Yi syllables */
    check_script("tdd", 0x1950, 0x197f); /* Tai Le */
    check_script("khb", 0x1980, 0x19df); /* New Tai Lue */
    check_script("zh", 0x4e00, 0x9fff);  /* CJK */
    assert_string_equal(yl_lang_zh_name("bo"), "藏语");
    assert_string_equal(yl_lang_zh_name("lis"), "傈僳语");
    assert_string_equal(yl_lang_zh_name("ii"), "彝语");
}

static void lookup_falls_back_to_primary_subtag(void **state)
{
    (void)state;
    assert_string_equal(yl_lang_native_name("bo-CN"), "བོད་སྐད");
    assert_string_equal(yl_lang_native_name("zh-Hans-CN"), "中文");
    assert_string_equal(yl_lang_native_name("lis-Lisu"), "ꓡꓲ-ꓢꓴ");
    assert_string_equal(yl_lang_native_name("BO"), "བོད་སྐད");
    /* A prefix is not a primary subtag. */
    assert_null(yl_lang_native_name("b"));
    assert_null(yl_lang_native_name("bod"));
    assert_null(yl_lang_native_name("zhx"));
}

static void unknown_tags_are_named_by_tag(void **state)
{
    char tag[YL_LANG_MAX];
    (void)state;

    assert_int_equal(yl_lang_normalize("fra", tag, sizeof(tag)), 0);
    assert_null(yl_lang_native_name(tag));
    assert_null(yl_lang_zh_name(tag));
    assert_false(yl_lang_is_known(tag));
    assert_string_equal(yl_lang_display_name(tag), "fr");
    assert_string_equal(yl_lang_display_name("qaa-x-village"), "qaa-x-village");
    /* und: known, no own name, shown as its tag. */
    assert_true(yl_lang_is_known("und"));
    assert_null(yl_lang_native_name("und"));
    assert_string_equal(yl_lang_display_name("und"), "und");
    assert_null(yl_lang_native_name(NULL));
    assert_null(yl_lang_native_name(""));
}

/* Random strings: normalising never overflows and is idempotent. */
static void normalize_is_idempotent(void **state)
{
    static const char alphabet[] = "abcxXYZ019-_ ";
    uint32_t x = 12345;
    (void)state;

    for (int iter = 0; iter < 200000; iter++) {
        char in[48], out[YL_LANG_MAX], again[YL_LANG_MAX];
        size_t n;

        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n = x % 40;
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            in[i] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        in[n] = '\0';
        if (yl_lang_normalize(in, out, sizeof(out)) != 0)
            continue;
        assert_true(strlen(out) < YL_LANG_MAX);
        if (yl_lang_normalize(out, again, sizeof(again)) != 0 ||
            strcmp(out, again) != 0)
            fail_msg("\"%s\" -> \"%s\" -> \"%s\"", in, out, again);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iso639_codes_shorten),
        cmocka_unit_test(codes_without_short_form_stay),
        cmocka_unit_test(case_follows_bcp47),
        cmocka_unit_test(malformed_tags_are_refused),
        cmocka_unit_test(native_names_for_province_languages),
        cmocka_unit_test(lookup_falls_back_to_primary_subtag),
        cmocka_unit_test(unknown_tags_are_named_by_tag),
        cmocka_unit_test(normalize_is_idempotent),
    };
    return cmocka_run_group_tests_name("yl_lang", tests, NULL, NULL);
}
