/* A deliberately slow trunkd plugin: route sleeps 1 s, then returns a valid decision (DIAL on
 * group "pri-1", the called number). For deadline tests: with plugin_timeout_ms below 1000
 * trunkd must give up and let the call fall through; with a longer budget the DIAL wins. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "trunkd_plugin.h"

static int instance;

static void *slow_init(const trunkd_var *settings, size_t settings_len, trunkd_buf *error)
{
    (void)settings, (void)settings_len, (void)error;
    return &instance;
}

static int32_t slow_route(void *inst, const trunkd_call *call, trunkd_decision *out)
{
    struct timespec left = { 1, 0 };
    (void)inst, (void)call;
    while (nanosleep(&left, &left) != 0) /* resume after signals */
        ;
    out->action = TRUNKD_DIAL;
    memcpy(out->target.buf, "pri-1", 5);
    out->target.len = 5;
    out->number.len = 0; /* the called number */
    return 0;
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = TRUNKD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = "slow",
    .version = "0.1.0",
    .init = slow_init,
    .route = slow_route,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
