/* Struct sizes for foreign callers (emulator/cosim/firmware_tb.py mirrors these structs with ctypes and
 * checks its layout against them before the first call). */
#include "demon_host.h"
#include "demon_programs.h"

uint32_t demon_programs_sizeof(uint32_t which)
{
    switch (which) {
    case DEMON_SIZEOF_LINEAR_SOLVE_ARGS: return (uint32_t)sizeof(demon_linear_solve_args_t);
    case DEMON_SIZEOF_LINEAR_SOLVE_RESULT: return (uint32_t)sizeof(demon_linear_solve_result_t);
    case DEMON_SIZEOF_ANNEAL_ARGS: return (uint32_t)sizeof(demon_anneal_args_t);
    case DEMON_SIZEOF_ANNEAL_RESULT: return (uint32_t)sizeof(demon_anneal_result_t);
    case DEMON_SIZEOF_DEV: return (uint32_t)sizeof(demon_dev_t);
    case DEMON_SIZEOF_HOST: return (uint32_t)sizeof(struct demon_host);
    case DEMON_SIZEOF_DIFFUSION_ARGS: return (uint32_t)sizeof(demon_diffusion_args_t);
    case DEMON_SIZEOF_DIFFUSION_RESULT: return (uint32_t)sizeof(demon_diffusion_result_t);
    default: return 0u;
    }
}
