/*
 * Linux userspace platform: the demon's AXI4-Lite window mapped into the process (UIO, /dev/mem,
 * or, for tests, any file), so the same driver runs on an FPGA SoC board (Zynq, Agilex, PolarFire
 * SoC) from Linux. `plat` is a struct demon_uio (include/demon_uio.h) opened by demon_uio_open.
 *
 *   accesses   one volatile 32-bit load or store in the mapping; an offset outside it is a bus
 *              error (nonzero), never a fault
 *   delay      nanosleep of `cycles` demon clock cycles at clk_hz
 *   clock      CLOCK_MONOTONIC in demon clock cycles at clk_hz (modulo 2^32)
 *   interrupts UIO's: demon_plat_wait_irq re-enables the interrupt (write 1 to the fd), then
 *              poll()s the fd for up to the timeout and read()s the event count; the ISR attached
 *              with demon_plat_irq_attach runs in that call (userspace has no asynchronous
 *              interrupt). A mapping without an interrupt (irq_fd < 0) sleeps the timeout.
 *
 * POSIX.1-2008 (C99 with _POSIX_C_SOURCE); built and tested on the host by `make uio`.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "demon_platform.h"
#include "demon_uio.h"

int demon_uio_open(struct demon_uio *u, const char *path, uint32_t size, uint64_t offset, uint32_t clk_hz, int irq)
{
    void *p;
    if (u == NULL || path == NULL || size < 4u || clk_hz == 0u) {
        return -EINVAL;
    }
    u->base = NULL;
    u->size = 0u;
    u->clk_hz = clk_hz;
    u->irq_fd = -1;
    u->isr = NULL;
    u->isr_ctx = NULL;
    u->fd = open(path, O_RDWR | O_SYNC);
    if (u->fd < 0) {
        return -errno;
    }
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, u->fd, (off_t)offset);
    if (p == MAP_FAILED) {
        int e = errno;
        (void)close(u->fd);
        u->fd = -1;
        return -e;
    }
    u->base = (volatile uint32_t *)p;
    u->size = size;
    if (irq) {
        u->irq_fd = u->fd;     /* UIO: the interrupt is the same device file */
    }
    return 0;
}

void demon_uio_close(struct demon_uio *u)
{
    if (u == NULL) {
        return;
    }
    if (u->base != NULL) {
        (void)munmap((void *)(uintptr_t)u->base, u->size);
        u->base = NULL;
    }
    if (u->fd >= 0) {
        (void)close(u->fd);
        u->fd = -1;
    }
    u->irq_fd = -1;
}

static volatile uint32_t *reg(const struct demon_uio *u, uint32_t offset)
{
    if (u == NULL || u->base == NULL || (offset & 3u) != 0u || offset > u->size - 4u) {
        return NULL;
    }
    return u->base + offset / 4u;
}

int demon_plat_read32(void *plat, uint32_t offset, uint32_t *value)
{
    volatile uint32_t *r = reg((const struct demon_uio *)plat, offset);
    if (r == NULL || value == NULL) {
        return 1;
    }
    *value = *r;
    return 0;
}

int demon_plat_write32(void *plat, uint32_t offset, uint32_t value)
{
    volatile uint32_t *r = reg((const struct demon_uio *)plat, offset);
    if (r == NULL) {
        return 1;
    }
    *r = value;
    return 0;
}

void demon_plat_delay_cycles(void *plat, uint32_t cycles)
{
    const struct demon_uio *u = (const struct demon_uio *)plat;
    struct timespec ts;
    uint64_t ns;
    if (u == NULL || cycles == 0u) {
        return;
    }
    ns = (uint64_t)cycles * 1000000000u / u->clk_hz;
    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

uint32_t demon_plat_now_cycles(void *plat)
{
    const struct demon_uio *u = (const struct demon_uio *)plat;
    struct timespec ts;
    uint64_t ns;
    if (u == NULL || clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0u;
    }
    ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    /* cycles = ns * clk_hz / 1e9, modulo 2^32, without overflowing 64 bits */
    return (uint32_t)((ns / 1000000000u) * u->clk_hz + (ns % 1000000000u) * u->clk_hz / 1000000000u);
}

void demon_plat_irq_attach(void *plat, demon_isr_fn isr, void *ctx)
{
    struct demon_uio *u = (struct demon_uio *)plat;
    if (u != NULL) {
        u->isr = isr;
        u->isr_ctx = ctx;
    }
}

int demon_plat_wait_irq(void *plat, uint32_t timeout_cycles)
{
    struct demon_uio *u = (struct demon_uio *)plat;
    struct pollfd pfd;
    uint32_t one = 1u;
    uint32_t count;
    uint64_t ms;
    int r;
    if (u == NULL) {
        return 0;
    }
    if (u->irq_fd < 0) {
        demon_plat_delay_cycles(plat, timeout_cycles);
        return 0;
    }
    if (write(u->irq_fd, &one, sizeof one) != (ssize_t)sizeof one) {   /* UIO: re-enable */
        return 0;
    }
    ms = (uint64_t)timeout_cycles * 1000u / u->clk_hz + 1u;
    pfd.fd = u->irq_fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    r = poll(&pfd, 1, ms > 0x7FFFFFFFu ? 0x7FFFFFFF : (int)ms);
    if (r <= 0 || read(u->irq_fd, &count, sizeof count) != (ssize_t)sizeof count) {
        return 0;
    }
    if (u->isr != NULL) {
        u->isr(u->isr_ctx);
    }
    return 1;
}
