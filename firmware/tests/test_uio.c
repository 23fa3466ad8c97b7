/*
 * The Linux userspace platform (platform/linux_uio.c) against a mapped file: the file plays the
 * register window (a memory: it reads back what was written), so the driver's reads of the
 * read-only registers see what the test wrote there, and its writes land at the offsets of the
 * register map. Built and run by `make uio` (strict flags, ASan + UBSan).
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "demon.h"
#include "demon_uio.h"

static int failures;
static int checks;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        checks++;                                                                       \
        if (!(cond)) {                                                                  \
            failures++;                                                                 \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);   \
        }                                                                               \
    } while (0)

static void put(int fd, uint32_t offset, uint32_t value)
{
    if (pwrite(fd, &value, sizeof value, (off_t)offset) != (ssize_t)sizeof value) {
        perror("pwrite");
        exit(2);
    }
}

static uint32_t get(int fd, uint32_t offset)
{
    uint32_t v = 0u;
    if (pread(fd, &v, sizeof v, (off_t)offset) != (ssize_t)sizeof v) {
        perror("pread");
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    char path[] = "/tmp/demon_uio_XXXXXX";
    struct demon_uio u;
    demon_dev_t dev;
    demon_info_t info;
    int32_t a[16];
    int32_t b[4];
    uint32_t t0;
    uint32_t t1;
    uint32_t i;
    int fd = mkstemp(path);
    (void)argc;
    (void)argv;
    if (fd < 0 || ftruncate(fd, 0x10000) != 0) {
        perror("temp file");
        return 2;
    }
    /* a 4-channel linear instance: X, F 10 bits, A and b Q(3, 9), depth 32 */
    put(fd, DEMON_ID_OFFSET, DEMON_ID_RESET);
    put(fd, DEMON_VERSION_OFFSET, DEMON_VERSION_RESET);
    put(fd, DEMON_SHAPE_OFFSET, DEMON_SHAPE_N_SET(4u) | DEMON_SHAPE_MULTIPLIERS_SET(4u));
    put(fd, DEMON_WIDTHS_OFFSET, DEMON_WIDTHS_X_BITS_SET(10u) | DEMON_WIDTHS_F_BITS_SET(10u)
                                 | DEMON_WIDTHS_COEF_W_SET(12u) | DEMON_WIDTHS_BIAS_W_SET(12u));
    put(fd, DEMON_FORMAT_OFFSET, DEMON_FORMAT_COEF_FRAC_SET(9u) | DEMON_FORMAT_BIAS_FRAC_SET(9u));
    put(fd, DEMON_TIMING_OFFSET, DEMON_TIMING_LATENCY_SET(5u) | DEMON_TIMING_II_SET(5u));
    put(fd, DEMON_CAP_STATUS_OFFSET, DEMON_CAP_STATUS_DEPTH_SET(32u));

    CHECK(demon_uio_open(&u, path, 0x10000u, 0u, 1000000u, 0) == 0);
    memset(&dev, 0, sizeof dev);
    CHECK(demon_init(&dev, &u) == DEMON_OK);
    CHECK(demon_info(&dev, &info) == DEMON_OK);
    CHECK(info.n == 4u && info.coef_w == 12u && info.cap_depth == 32u && info.latency == 5u);
    /* demon_reset's write: stopped, counters and capture cleared */
    CHECK(get(fd, DEMON_CTRL_OFFSET) == (DEMON_CTRL_CLEAR_MASK | DEMON_CTRL_CAP_CLEAR_MASK));
    put(fd, DEMON_CTRL_OFFSET, 0u);
    for (i = 0; i < 16u; i++) a[i] = (int32_t)i * 100 - 2048;
    for (i = 0; i < 4u; i++) b[i] = 2047 - (int32_t)i;
    CHECK(demon_load_matrix(&dev, a, 4u, 4u) == DEMON_OK);
    CHECK(demon_load_vector(&dev, b, 4u) == DEMON_OK);
    for (i = 0; i < 16u; i++) CHECK(get(fd, DEMON_COEF_A_ENTRY(i)) == (uint32_t)a[i]);
    for (i = 0; i < 4u; i++) CHECK(get(fd, DEMON_COEF_B_ENTRY(i)) == (uint32_t)b[i]);
    /* started: CTRL reads ENABLE, loads are refused */
    CHECK(demon_start(&dev, 0u) == DEMON_OK);
    CHECK(get(fd, DEMON_CTRL_OFFSET) == DEMON_CTRL_ENABLE_MASK);
    CHECK(demon_load_vector(&dev, b, 4u) == DEMON_E_RUNNING);
    CHECK(demon_stop(&dev) == DEMON_OK);
    /* the clock: an idle wait of 2000 cycles at 1 MHz is at least 2 ms on CLOCK_MONOTONIC */
    CHECK(demon_now(&dev, &t0) == DEMON_OK);
    CHECK(demon_idle(&dev, 2000u) == DEMON_OK);
    CHECK(demon_now(&dev, &t1) == DEMON_OK);
    CHECK(t1 - t0 >= 2000u);
    /* no interrupt on a plain file: the sleep times out */
    CHECK(demon_wait_irq(&dev, 100u) == DEMON_E_TIMEOUT);
    demon_uio_close(&u);
    /* a window smaller than the map: an access beyond it is a bus error, not a fault */
    CHECK(demon_uio_open(&u, path, 0x2000u, 0u, 1000000u, 0) == 0);
    memset(&dev, 0, sizeof dev);
    put(fd, DEMON_CTRL_OFFSET, 0u);
    CHECK(demon_init(&dev, &u) == DEMON_OK);
    CHECK(demon_load_vector(&dev, b, 4u) == DEMON_E_BUS);     /* COEF_B is at 0x6000 */
    demon_uio_close(&u);
    demon_uio_close(&u);                                       /* idempotent */
    CHECK(demon_uio_open(&u, "/nonexistent/uio", 0x1000u, 0u, 1000000u, 0) < 0);
    (void)close(fd);
    (void)unlink(path);
    printf("%d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
