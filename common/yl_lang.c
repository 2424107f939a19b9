/* yl_lang.c - BCP-47 well-formedness, ISO 639-2 -> 639-1 shortening and the
 * built-in table of the province's languages with their own names.
 * Pure functions over static tables: any thread. */
#include "common/yl_lang.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/yl_err.h"

/* ISO 639-2 codes (terminology and bibliographic) that have an ISO 639-1
 * code, sorted by the 3-letter code for bsearch(). Generated once from
 * Debian's iso-codes 4.15 (/usr/share/iso-codes/json/iso_639-2.json,
 * entries with alpha_2, plus their "bibliographic" codes). BCP-47 (RFC 5646
 * section 2.2.1) says to use the shortest ISO 639 code, so these become
 * the 2-letter form. */
struct iso_pair {
    char a3[4];
    char a2[3];
};

static const struct iso_pair iso639[] = {
    {"aar", "aa"}, {"abk", "ab"}, {"afr", "af"}, {"aka", "ak"}, {"alb", "sq"},
    {"amh", "am"}, {"ara", "ar"}, {"arg", "an"}, {"arm", "hy"}, {"asm", "as"},
    {"ava", "av"}, {"ave", "ae"}, {"aym", "ay"}, {"aze", "az"}, {"bak", "ba"},
    {"bam", "bm"}, {"baq", "eu"}, {"bel", "be"}, {"ben", "bn"}, {"bih", "bh"},
    {"bis", "bi"}, {"bod", "bo"}, {"bos", "bs"}, {"bre", "br"}, {"bul", "bg"},
    {"bur", "my"}, {"cat", "ca"}, {"ces", "cs"}, {"cha", "ch"}, {"che", "ce"},
    {"chi", "zh"}, {"chu", "cu"}, {"chv", "cv"}, {"cor", "kw"}, {"cos", "co"},
    {"cre", "cr"}, {"cym", "cy"}, {"cze", "cs"}, {"dan", "da"}, {"deu", "de"},
    {"div", "dv"}, {"dut", "nl"}, {"dzo", "dz"}, {"ell", "el"}, {"eng", "en"},
    {"epo", "eo"}, {"est", "et"}, {"eus", "eu"}, {"ewe", "ee"}, {"fao", "fo"},
    {"fas", "fa"}, {"fij", "fj"}, {"fin", "fi"}, {"fra", "fr"}, {"fre", "fr"},
    {"fry", "fy"}, {"ful", "ff"}, {"geo", "ka"}, {"ger", "de"}, {"gla", "gd"},
    {"gle", "ga"}, {"glg", "gl"}, {"glv", "gv"}, {"gre", "el"}, {"grn", "gn"},
    {"guj", "gu"}, {"hat", "ht"}, {"hau", "ha"}, {"heb", "he"}, {"her", "hz"},
    {"hin", "hi"}, {"hmo", "ho"}, {"hrv", "hr"}, {"hun", "hu"}, {"hye", "hy"},
    {"ibo", "ig"}, {"ice", "is"}, {"ido", "io"}, {"iii", "ii"}, {"iku", "iu"},
    {"ile", "ie"}, {"ina", "ia"}, {"ind", "id"}, {"ipk", "ik"}, {"isl", "is"},
    {"ita", "it"}, {"jav", "jv"}, {"jpn", "ja"}, {"kal", "kl"}, {"kan", "kn"},
    {"kas", "ks"}, {"kat", "ka"}, {"kau", "kr"}, {"kaz", "kk"}, {"khm", "km"},
    {"kik", "ki"}, {"kin", "rw"}, {"kir", "ky"}, {"kom", "kv"}, {"kon", "kg"},
    {"kor", "ko"}, {"kua", "kj"}, {"kur", "ku"}, {"lao", "lo"}, {"lat", "la"},
    {"lav", "lv"}, {"lim", "li"}, {"lin", "ln"}, {"lit", "lt"}, {"ltz", "lb"},
    {"lub", "lu"}, {"lug", "lg"}, {"mac", "mk"}, {"mah", "mh"}, {"mal", "ml"},
    {"mao", "mi"}, {"mar", "mr"}, {"may", "ms"}, {"mkd", "mk"}, {"mlg", "mg"},
    {"mlt", "mt"}, {"mon", "mn"}, {"mri", "mi"}, {"msa", "ms"}, {"mya", "my"},
    {"nau", "na"}, {"nav", "nv"}, {"nbl", "nr"}, {"nde", "nd"}, {"ndo", "ng"},
    {"nep", "ne"}, {"nld", "nl"}, {"nno", "nn"}, {"nob", "nb"}, {"nor", "no"},
    {"nya", "ny"}, {"oci", "oc"}, {"oji", "oj"}, {"ori", "or"}, {"orm", "om"},
    {"oss", "os"}, {"pan", "pa"}, {"per", "fa"}, {"pli", "pi"}, {"pol", "pl"},
    {"por", "pt"}, {"pus", "ps"}, {"que", "qu"}, {"roh", "rm"}, {"ron", "ro"},
    {"rum", "ro"}, {"run", "rn"}, {"rus", "ru"}, {"sag", "sg"}, {"san", "sa"},
    {"sin", "si"}, {"slk", "sk"}, {"slo", "sk"}, {"slv", "sl"}, {"sme", "se"},
    {"smo", "sm"}, {"sna", "sn"}, {"snd", "sd"}, {"som", "so"}, {"sot", "st"},
    {"spa", "es"}, {"sqi", "sq"}, {"srd", "sc"}, {"srp", "sr"}, {"ssw", "ss"},
    {"sun", "su"}, {"swa", "sw"}, {"swe", "sv"}, {"tah", "ty"}, {"tam", "ta"},
    {"tat", "tt"}, {"tel", "te"}, {"tgk", "tg"}, {"tgl", "tl"}, {"tha", "th"},
    {"tib", "bo"}, {"tir", "ti"}, {"ton", "to"}, {"tsn", "tn"}, {"tso", "ts"},
    {"tuk", "tk"}, {"tur", "tr"}, {"twi", "tw"}, {"uig", "ug"}, {"ukr", "uk"},
    {"urd", "ur"}, {"uzb", "uz"}, {"ven", "ve"}, {"vie", "vi"}, {"vol", "vo"},
    {"wel", "cy"}, {"wln", "wa"}, {"wol", "wo"}, {"xho", "xh"}, {"yid", "yi"},
    {"yor", "yo"}, {"zha", "za"}, {"zho", "zh"}, {"zul", "zu"},
};

/* The province's languages (DESIGN.md) and a few neighbours. native: the
 * language's name written by its speakers in their own script; zh: the
 * Simplified Chinese name used by Chinese authorities. Sources per row. */
struct lang_entry {
    const char *tag;
    const char *native;
    const char *zh;
};

static const struct lang_entry lang_table[] = {
    /* Standard Chinese: 中文 is the usual self-name on Chinese UIs. */
    {"zh", "中文", "中文"},
    /* Mandarin (ISO 639-3 cmn, a valid BCP-47 tag of its own). */
    {"cmn", "普通话", "普通话"},
    /* Tibetan: bod skad, Tibetan script (Wikipedia "Standard Tibetan"). */
    {"bo", "བོད་སྐད", "藏语"},
    /* Lisu: "Lisu" in the Fraser alphabet (Unicode Lisu block A4D0-A4FF,
     * letters LA, I, SA, U; Wikipedia "Lisu language"). */
    {"lis", "ꓡꓲ-ꓢꓴ", "傈僳语"},
    /* Dulong/Derung: "Tvrung kvt" in the Dulong Latin orthography
     * (Wikipedia "Derung language" infobox; kvt = language). */
    {"duu", "Tvrung kvt", "独龙语"},
    /* Wa (Vo): "Vax" in Wa orthography, as in "Lāi Vax" (Wa Reader),
     * Omniglot "Wa" and SOAS Wa Dictionary Project. */
    {"wbm", "Vax", "佤语"},
    /* Parauk, the standard variety of Wa in China (Ethnologue prk). */
    {"prk", "Parauk", "佤语（巴饶克）"},
    /* Nuosu Yi: "Nuosuhxop" in the Yi syllabary (Unicode Yi block;
     * Wikipedia "Nuosu language"). */
    {"ii", "ꆈꌠꉙ", "彝语"},
    /* Tai Nüa (Dehong Dai): "Tai Dehong" in the Tai Le script (Unicode
     * 1950-197F; Wikipedia "Tai Nüa language" infobox). */
    {"tdd", "ᥖᥭᥰ ᥖᥬᥲ ᥑᥨᥒᥰ", "德宏傣语"},
    /* Tai Lü (Xishuangbanna Dai): "kam tai lue" in New Tai Lue (Unicode
     * 1980-19DF, visual order; Wikipedia "Tai Lü language" infobox). */
    {"khb", "ᦅᧄᦺᦑᦟᦹᧉ", "西双版纳傣语"},
    /* Jingpo: "Jinghpaw" in the Jinghpaw Latin orthography (Wikipedia
     * "Jingpho language"). */
    {"kac", "Jinghpaw", "景颇语"},
    /* Hani: "Haqniqdoq" in the Hani Latin orthography of 1957 (Wikipedia
     * "Hani language" infobox). */
    {"hni", "Haqniqdoq", "哈尼语"},
    /* Central Bai: "Baip ngvp zix" in the 1982/1993 Bai Latin script
     * (Wikipedia "Bai language": Baip‧ngvp‧zix; Omniglot "Bai"). */
    {"bca", "Baipngvpzix", "白语"},
    /* Zhuang: "Vahcuengh" in Standard Zhuang (Wikipedia "Zhuang
     * languages"). */
    {"za", "Vahcuengh", "壮语"},
    /* Hmong/Miao: "Hmoob" in the Romanized Popular Alphabet (Wikipedia
     * "Hmong language"). */
    {"hmn", "Hmoob", "苗语"},
    {"en", "English", "英语"},
    /* Undetermined (ISO 639-2 "und"): no language, so no own name; the
     * display name falls back to the tag. */
    {"und", NULL, "未定语种"},
};

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}

static int all_of(const char *s, size_t n, int (*pred)(int))
{
    for (size_t i = 0; i < n; i++)
        if (!pred((unsigned char)s[i]))
            return 0;
    return 1;
}

static int cmp_iso(const void *key, const void *elem)
{
    return strcmp(key, ((const struct iso_pair *)elem)->a3);
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static char upper(char c)
{
    return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Where a subtag may appear, in RFC 5646 section 2.1 order. */
enum stage {
    ST_LANG,    /* after the primary language */
    ST_EXTLANG, /* after 1-3 extlang subtags */
    ST_SCRIPT,
    ST_REGION,
    ST_VARIANT,
    ST_EXTENSION, /* inside an extension: needs one 2-8 alnum subtag */
    ST_EXT_BODY,  /* extension has at least one subtag */
    ST_PRIVATE,   /* inside "x-": needs one 1-8 alnum subtag */
    ST_PRIV_BODY,
};

int yl_lang_normalize(const char *in, char *out, size_t outlen)
{
    char buf[YL_LANG_MAX];
    size_t len, pos, n;
    enum stage st;
    int n_extlang = 0;

    if (in == NULL)
        return YL_EBADLANG;
    len = strlen(in);
    if (len == 0 || len >= sizeof(buf))
        return YL_EBADLANG;
    for (size_t i = 0; i < len; i++) {
        buf[i] = lower(in[i]);
        if (!is_alnum((unsigned char)in[i]) && in[i] != '-')
            return YL_EBADLANG; /* '_', spaces, non-ASCII */
    }
    buf[len] = '\0';

    /* Primary language subtag. A tag made only of private use ("x-...")
     * is well-formed too. */
    n = strcspn(buf, "-");
    if (n == 1 && buf[0] == 'x') {
        st = ST_PRIVATE;
    } else {
        if (!all_of(buf, n, is_alpha) || n < 2 || n > 8 || n == 4)
            return YL_EBADLANG; /* 4 letters is reserved (RFC 5646) */
        st = ST_LANG;
    }
    pos = n;
    while (buf[pos] == '-') {
        char *sub = buf + pos + 1;

        n = strcspn(sub, "-");
        if (n == 0 || n > 8)
            return YL_EBADLANG; /* "--", trailing '-', or too long */
        if (st == ST_PRIVATE || st == ST_PRIV_BODY) {
            if (!all_of(sub, n, is_alnum))
                return YL_EBADLANG;
            st = ST_PRIV_BODY;
        } else if (st == ST_EXTENSION || st == ST_EXT_BODY) {
            if (n == 1 && sub[0] == 'x') {
                if (st == ST_EXTENSION)
                    return YL_EBADLANG; /* empty extension */
                st = ST_PRIVATE;
            } else if (n == 1) {
                if (st == ST_EXTENSION)
                    return YL_EBADLANG;
                st = ST_EXTENSION; /* next singleton */
            } else if (n >= 2 && all_of(sub, n, is_alnum)) {
                st = ST_EXT_BODY;
            } else {
                return YL_EBADLANG;
            }
        } else if (n == 1) {
            if (!is_alnum((unsigned char)sub[0]))
                return YL_EBADLANG;
            st = sub[0] == 'x' ? ST_PRIVATE : ST_EXTENSION;
        } else if (n == 3 && all_of(sub, n, is_alpha) &&
                   (st == ST_LANG || st == ST_EXTLANG) && n_extlang < 3 &&
                   strcspn(buf, "-") <= 3) {
            n_extlang++; /* extlang follows a 2-3 letter language only */
            st = ST_EXTLANG;
        } else if (n == 4 && all_of(sub, n, is_alpha) && st <= ST_EXTLANG) {
            sub[0] = upper(sub[0]); /* Script: title case */
            st = ST_SCRIPT;
        } else if (((n == 2 && all_of(sub, n, is_alpha)) ||
                    (n == 3 && all_of(sub, n, is_digit))) &&
                   st <= ST_SCRIPT) {
            for (size_t i = 0; i < n; i++)
                sub[i] = upper(sub[i]); /* REGION: upper case */
            st = ST_REGION;
        } else if (((n >= 5 && all_of(sub, n, is_alnum)) ||
                    (n == 4 && is_digit((unsigned char)sub[0]) &&
                     all_of(sub, n, is_alnum))) &&
                   st <= ST_VARIANT) {
            st = ST_VARIANT;
        } else {
            return YL_EBADLANG;
        }
        pos += 1 + n;
    }
    if (buf[pos] != '\0' || st == ST_EXTENSION || st == ST_PRIVATE)
        return YL_EBADLANG;

    /* Shortest ISO 639 code for the primary language. */
    n = strcspn(buf, "-");
    if (n == 3) {
        char key[4];
        const struct iso_pair *p;

        memcpy(key, buf, 3);
        key[3] = '\0';
        p = bsearch(key, iso639, sizeof(iso639) / sizeof(iso639[0]),
                    sizeof(iso639[0]), cmp_iso);
        if (p != NULL) {
            buf[0] = p->a2[0];
            buf[1] = p->a2[1];
            memmove(buf + 2, buf + 3, len - 3 + 1);
            len--;
        }
    }
    if (out == NULL || outlen <= len)
        return YL_EINVAL;
    memcpy(out, buf, len + 1);
    return 0;
}

static const struct lang_entry *find_entry(const char *tag)
{
    size_t n_table = sizeof(lang_table) / sizeof(lang_table[0]);
    size_t primary;

    if (tag == NULL || tag[0] == '\0')
        return NULL;
    for (size_t i = 0; i < n_table; i++)
        if (strcasecmp(tag, lang_table[i].tag) == 0)
            return &lang_table[i];
    primary = strcspn(tag, "-");
    for (size_t i = 0; i < n_table; i++)
        if (strlen(lang_table[i].tag) == primary &&
            strncasecmp(tag, lang_table[i].tag, primary) == 0)
            return &lang_table[i];
    return NULL;
}

const char *yl_lang_native_name(const char *tag)
{
    const struct lang_entry *e = find_entry(tag);

    return e != NULL ? e->native : NULL;
}

const char *yl_lang_zh_name(const char *tag)
{
    const struct lang_entry *e = find_entry(tag);

    return e != NULL ? e->zh : NULL;
}

const char *yl_lang_display_name(const char *tag)
{
    const char *name = yl_lang_native_name(tag);

    return name != NULL ? name : tag;
}

int yl_lang_is_known(const char *tag)
{
    return find_entry(tag) != NULL;
}
