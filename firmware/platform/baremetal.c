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
 * This file builds on the host too (same flags as the rest: -std=c99 -Wall -Wextra -Werror);
 * it is compiled there, never run.
 */
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

uint32_t demon_plat_now_cycles(void *plat)
{
#ifdef DEMON_BAREMETAL_NOW_CYCLES
    return (uint32_t)(DEMON_BAREMETAL_NOW_CYCLES(plat));
#else
    (void)plat;
    return virtual_now;
#endif
}
