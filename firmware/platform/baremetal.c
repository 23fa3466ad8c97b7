/*
 * Bare-metal platform: the demon's AXI4-Lite slave is memory-mapped; `plat` is its base address
 * (e.g. (void *)0x40000000 on the soft core's bus). Every access is one volatile 32-bit load or
 * store, so the compiler neither merges, reorders nor drops them. A bus error (SLVERR) raises the
 * core's bus fault instead of returning, so both accessors report success.
 *
 * demon_plat_delay_cycles is a counted loop: at least `cycles` iterations of a volatile
 * decrement, so it waits at least as many core cycles (more on cores that take several cycles
 * per iteration; calibrate against a timer where exact waits matter).
 *
 * demon_plat_now_cycles reads the board's free-running cycle counter, named at build time by
 * DEMON_BAREMETAL_NOW_CYCLES(plat), an expression of type uint32_t in demon clock cycles, e.g.
 * -D'DEMON_BAREMETAL_NOW_CYCLES(p)=(*(volatile uint32_t *)0xE0001004u)' (Cortex-M DWT->CYCCNT,
 * once enabled, when the core and the demon share a clock) or the low word of RISC-V mcycle.
 * Without it the clock is virtual: the cycles spent in demon_plat_delay_cycles plus one per bus
 * access (a lower bound of the time elapsed, so timeouts expire no earlier than asked).
 *
 * Interrupts: demon_plat_irq_attach keeps the ISR; the board's vector table (the demon's irq line
 * wired to an interrupt input) calls demon_baremetal_irq(), which runs it. demon_plat_wait_irq
 * sleeps with DEMON_BAREMETAL_WFI() (e.g. -D'DEMON_BAREMETAL_WFI()=__asm__ volatile("wfi")';
 * default: spin) until that handler has run or the clock says the timeout has passed.
 *
 * This file builds on the host too (same flags as the rest: -std=c99 -Wall -Wextra -Werror);
 * it is compiled there, never run.
 */
#include <stddef.h>
#include <stdint.h>

#include "demon_platform.h"

#ifndef DEMON_BAREMETAL_NOW_CYCLES
static uint32_t virtual_now;   /* the virtual clock (see above) */
#define DEMON_BAREMETAL_TICK(cycles) (virtual_now += (uint32_t)(cycles))
#else
#define DEMON_BAREMETAL_TICK(cycles) ((void)0)
#endif

static volatile uint32_t *demon_reg(void *plat, uint32_t offset)
{
    return (volatile uint32_t *)((uintptr_t)plat + (uintptr_t)offset);
}

int demon_plat_read32(void *plat, uint32_t offset, uint32_t *value)
{
    *value = *demon_reg(plat, offset);
    DEMON_BAREMETAL_TICK(1u);
    return 0;
}

int demon_plat_write32(void *plat, uint32_t offset, uint32_t value)
{
    *demon_reg(plat, offset) = value;
    DEMON_BAREMETAL_TICK(1u);
    return 0;
}

void demon_plat_delay_cycles(void *plat, uint32_t cycles)
{
    volatile uint32_t left = cycles;
    (void)plat;
    DEMON_BAREMETAL_TICK(cycles);
    while (left != 0u) {
        left = left - 1u;
    }
}

#ifndef DEMON_BAREMETAL_WFI
#define DEMON_BAREMETAL_WFI() ((void)0)
#endif

static demon_isr_fn bm_isr;
static void *bm_isr_ctx;
static volatile uint32_t bm_irq_count;   /* interrupts taken */

void demon_baremetal_irq(void);

/* The demon's interrupt handler: call it from the vector table. */
void demon_baremetal_irq(void)
{
    bm_irq_count = bm_irq_count + 1u;
    if (bm_isr != NULL) {
        bm_isr(bm_isr_ctx);
    }
}

void demon_plat_irq_attach(void *plat, demon_isr_fn isr, void *ctx)
{
    (void)plat;
    bm_isr = isr;
    bm_isr_ctx = ctx;
}

int demon_plat_wait_irq(void *plat, uint32_t timeout_cycles)
{
    uint32_t seen = bm_irq_count;
    uint32_t t0 = demon_plat_now_cycles(plat);
    while (bm_irq_count == seen) {
        if (demon_plat_now_cycles(plat) - t0 > timeout_cycles) {
            return 0;
        }
        DEMON_BAREMETAL_WFI();
#ifndef DEMON_BAREMETAL_NOW_CYCLES
        DEMON_BAREMETAL_TICK(1u);    /* the virtual clock advances while we sleep */
#endif
    }
    return 1;
}

uint32_t demon_plat_now_cycles(void *plat)
{
#ifdef DEMON_BAREMETAL_NOW_CYCLES
    return (uint32_t)(DEMON_BAREMETAL_NOW_CYCLES(plat));
#else
    (void)plat;
    return virtual_now;
#endif
}
