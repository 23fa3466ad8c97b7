/*
 * demon_platform.h: what the demon driver needs from the platform, and nothing more.
 *
 * The driver (src/demon.c) reaches the demon's registers only through demon_plat_read32 and
 * demon_plat_write32: one 32-bit AXI4-Lite access at a byte offset from the demon's base. Exactly
 * one platform file is linked with the driver:
 *
 *   platform/baremetal.c  volatile MMIO: `plat` is the demon's base address; accesses cannot
 *                         fail (a bus error traps on real hardware), delay is a counted loop,
 *                         the clock a cycle counter the board names (DEMON_BAREMETAL_NOW_CYCLES)
 *   platform/host.c       function pointers (struct demon_host, include/demon_host.h): the host
 *                         unit tests' register-file model, and the firmware-in-the-loop bridge
 *                         whose every call is an AXI4-Lite transaction in the RTL simulation
 *
 * The driver reads the clock (demon_plat_now_cycles) only to measure a wait (demon_wait_idle,
 * demon_now) and idles (demon_plat_delay_cycles) only when asked to (demon_idle); the protocol
 * programs reach both through those driver calls. C99.
 */
#ifndef DEMON_PLATFORM_H
#define DEMON_PLATFORM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Read the 32-bit register at byte `offset` into *value. Returns 0, or nonzero on a bus error
 * (SLVERR, or a transport failure); *value is then unspecified. */
int demon_plat_read32(void *plat, uint32_t offset, uint32_t *value);

/* Write `value` to the 32-bit register at byte `offset` (all four byte lanes). Returns 0, or
 * nonzero on a bus error. */
int demon_plat_write32(void *plat, uint32_t offset, uint32_t value);

/* Let about `cycles` demon clock cycles pass without touching the bus (polling back-off). */
void demon_plat_delay_cycles(void *plat, uint32_t cycles);

/* An interrupt service routine: called with the context given to demon_plat_irq_attach. */
typedef void (*demon_isr_fn)(void *ctx);

/* Route the demon's irq line to `isr` (NULL: detach). Bare metal: the board's vector table calls
 * demon_baremetal_irq() (platform/baremetal.c), which calls isr. Host: the ISR runs before the
 * next register access, delay or wait that finds the line high (never inside itself). */
void demon_plat_irq_attach(void *plat, demon_isr_fn isr, void *ctx);

/* Sleep until the demon's irq line is high (the ISR then runs) or about timeout_cycles have
 * passed (WFI). Returns 1 if the line was high, 0 on timeout. */
int demon_plat_wait_irq(void *plat, uint32_t timeout_cycles);

/* A free-running clock in demon clock cycles, modulo 2^32 (the difference of two readings, in
 * unsigned arithmetic, is the time between them, up to 2^32 - 1 cycles). */
uint32_t demon_plat_now_cycles(void *plat);

#ifdef __cplusplus
}
#endif

#endif /* DEMON_PLATFORM_H */
