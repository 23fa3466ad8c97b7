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
 * This file builds on the host too (same flags as the rest: -std=c99 -Wall -Wextra -Werror);
 * it is compiled there, never run.
 */
#include <stdint.h>

#include "demon_platform.h"

static volatile uint32_t *demon_reg(void *plat, uint32_t offset)
{
    return (volatile uint32_t *)((uintptr_t)plat + (uintptr_t)offset);
}

int demon_plat_read32(void *plat, uint32_t offset, uint32_t *value)
{
    *value = *demon_reg(plat, offset);
    return 0;
}

int demon_plat_write32(void *plat, uint32_t offset, uint32_t value)
{
    *demon_reg(plat, offset) = value;
    return 0;
}

void demon_plat_delay_cycles(void *plat, uint32_t cycles)
{
    volatile uint32_t left = cycles;
    (void)plat;
    while (left != 0u) {
        left = left - 1u;
    }
}
