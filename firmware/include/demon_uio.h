/*
 * demon_uio.h: the Linux userspace platform (platform/linux_uio.c): the demon's register window
 * mmap()ed from a UIO device (/dev/uioN, map 0), /dev/mem at the window's physical address, or
 * any file (the host tests). `plat` for demon_init is a struct demon_uio *. C99 + POSIX.
 */
#ifndef DEMON_UIO_H
#define DEMON_UIO_H

#include <stdint.h>

#include "demon_platform.h"

#ifdef __cplusplus
extern "C" {
#endif

struct demon_uio {
    volatile uint32_t *base;   /* the mapping */
    uint32_t size;             /* its length in bytes (0x10000 for the whole map) */
    uint32_t clk_hz;           /* the demon's clock: delays and the clock are in its cycles */
    int fd;                    /* the device or file */
    int irq_fd;                /* the UIO interrupt (the same fd), or -1 */
    demon_isr_fn isr;          /* attached by demon_irq_attach */
    void *isr_ctx;
};

/* Open `path`, map `size` bytes at `offset` (a UIO device: offset = N * page size for map N;
 * /dev/mem: the physical address), clock clk_hz; irq != 0 uses the fd as UIO's interrupt.
 * Returns 0 or a negative errno (-EINVAL for a bad argument). */
int demon_uio_open(struct demon_uio *u, const char *path, uint32_t size, uint64_t offset, uint32_t clk_hz, int irq);

/* Unmap and close (idempotent). */
void demon_uio_close(struct demon_uio *u);

#ifdef __cplusplus
}
#endif

#endif /* DEMON_UIO_H */
