/* fuzz_config.c - the INI config file (catalog/cat_config.c through
 * libinih, with the server's own keys from streamer/str_config.c), then
 * the listen address check `yunling serve` makes.
 *
 * The content goes into a memfd read through /proc/self/fd, since
 * cat_config_load() takes a path. Invariants: a load that fails says
 * why; one that succeeds leaves every string NUL-terminated inside its
 * array and the numbers inside their documented ranges. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/yl_err.h"
#include "streamer/str_server.h"
#include "tests/fuzz/fuzz_util.h"

static int mfd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[512];
    str_config cfg;
    int rc;

    if (mfd < 0) {
        mfd = memfd_create("yl-fuzz-config", MFD_CLOEXEC);
        FZ_CHECK(mfd >= 0);
    }
    FZ_CHECK(ftruncate(mfd, 0) == 0);
    FZ_CHECK(pwrite(mfd, data, size, 0) == (ssize_t)size);
    snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);

    str_config_defaults(&cfg);
    err[0] = '\0';
    rc = cat_config_load(&cfg.cat, path, str_config_extra, &cfg, err,
                         sizeof(err));
    if (rc < 0) {
        FZ_CHECK(rc == YL_EINVAL);
        FZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        return 0;
    }
    FZ_CHECK(memchr(cfg.cat.listen, '\0', sizeof(cfg.cat.listen)) != NULL);
    FZ_CHECK(memchr(cfg.cat.data_dir, '\0', sizeof(cfg.cat.data_dir)));
    FZ_CHECK(memchr(cfg.cat.db_path, '\0', sizeof(cfg.cat.db_path)));
    FZ_CHECK(memchr(cfg.cat.web_dir, '\0', sizeof(cfg.cat.web_dir)));
    FZ_CHECK(cfg.cat.max_body_bytes > 0 && cfg.cat.max_upload_bytes > 0);
    FZ_CHECK(cfg.cat.max_batch_events > 0 && cfg.cat.writer_batch > 0);
    FZ_CHECK(cfg.max_header >= 1024 && cfg.max_header <= 16000);
    FZ_CHECK(cfg.keepalive_s >= 1 && cfg.header_timeout_s >= 1);
    if (str_config_listen(&cfg, err, sizeof(err)) == 0)
        FZ_CHECK(cfg.listen_addr[0] != '\0' && cfg.port >= 0 &&
                 cfg.port <= 65535);
    else
        FZ_CHECK(err[0] != '\0');
    return 0;
}
