/* A deliberately bad trunkd plugin: abi_version 99. trunkd must refuse to load it with a
 * clear message (and never call init). Otherwise a working plugin: it rejects every call. */
#include <stddef.h>

#include "trunkd_plugin.h"

static int instance;

static void *bad_init(const trunkd_var *settings, size_t settings_len, trunkd_buf *error)
{
    (void)settings, (void)settings_len, (void)error;
    return &instance;
}

static int32_t bad_route(void *inst, const trunkd_call *call, trunkd_decision *out)
{
    (void)inst, (void)call;
    out->action = TRUNKD_REJECT;
    out->cause = 21;
    return 0;
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = 99,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = "wrong_abi",
    .version = "0.1.0",
    .init = bad_init,
    .route = bad_route,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
