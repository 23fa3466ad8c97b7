/*
 * demon_host.h: the host platform (platform/host.c). The platform context `plat` handed to the
 * driver is a struct demon_host: register accesses go to its function pointers, so the same
 * driver runs against the unit tests' register-file model (tests/regmodel.c) and against the RTL
 * in simulation (emulator/cosim/firmware_tb.py fills the pointers with ctypes callbacks whose every call
 * becomes an AXI4-Lite transaction). C99.
 */
#ifndef DEMON_HOST_H
#define DEMON_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return 0 on success, nonzero on a bus error (as demon_plat_read32 / demon_plat_write32). */
typedef int (*demon_host_read32_fn)(void *user, uint32_t offset, uint32_t *value);
typedef int (*demon_host_write32_fn)(void *user, uint32_t offset, uint32_t value);
typedef void (*demon_host_delay_fn)(void *user, uint32_t cycles);
typedef uint32_t (*demon_host_now_fn)(void *user);
typedef int (*demon_host_irq_fn)(void *user);                        /* the irq line: 1 high */
typedef int (*demon_host_wait_irq_fn)(void *user, uint32_t timeout); /* 1: line high, 0: timeout */
typedef void (*demon_host_isr_fn)(void *ctx);

struct demon_host {
    demon_host_read32_fn read32;    /* required */
    demon_host_write32_fn write32;  /* required */
    demon_host_delay_fn delay;      /* optional: NULL makes demon_plat_delay_cycles a no-op */
    void *user;                     /* passed back to the functions */
    demon_host_now_fn now;          /* optional: the clock in demon cycles (demon_plat_now_cycles);
                                       NULL: the virtual clock below */
    uint32_t virtual_now;           /* kept by platform/host.c when `now` is NULL: cycles asked of
                                       demon_plat_delay_cycles plus one per access (start at 0) */
    demon_host_irq_fn irq_line;     /* optional: the demon's irq line (NULL: never high) */
    demon_host_wait_irq_fn wait_irq; /* optional: sleep until the line is high or timeout cycles
                                       (NULL: delay the timeout, then look at the line) */
    /* kept by platform/host.c (start NULL / 0): the attached ISR, and whether it is running */
    demon_host_isr_fn isr;
    void *isr_ctx;
    uint32_t in_isr;
};

#ifdef __cplusplus
}
#endif

#endif /* DEMON_HOST_H */
