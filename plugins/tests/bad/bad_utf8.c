/* A deliberately bad trunkd plugin: route returns a DIAL whose target is the bytes 0xff 0xfe
 * (a valid len, but not UTF-8). trunkd must treat the decision as invalid (the call falls
 * through). */
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
    out->action = TRUNKD_DIAL;
    out->target.buf[0] = (char)0xff;
    out->target.buf[1] = (char)0xfe;
    out->target.len = 2;
    return 0;
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = TRUNKD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = "bad_utf8",
    .version = "0.1.0",
    .init = bad_init,
    .route = bad_route,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
