/*
 * c_router: a minimal trunkd routing plugin in plain C99 (libc only).
 *
 * Settings:
 *   prefix  calls whose called number starts with it ...
 *   group   ... are dialled out on this group, with the number minus the prefix.
 * Callers the CRM classifies "blacklist" are rejected (Q.850 cause 21, call rejected).
 * Everything else: no opinion.
 *
 *   make            ->  libc_router.so
 */
#include <stdlib.h>
#include <string.h>

#include "trunkd_plugin.h"

#define CAUSE_CALL_REJECTED 21u

struct router {
    size_t prefix_len;
    char prefix[TRUNKD_BUF_CAP];
    size_t group_len;
    char group[TRUNKD_BUF_CAP];
};

/* Whether the call trunkd passed includes `field` (an older trunkd may send fewer). */
#define HAS_FIELD(call, field) \
    ((call)->struct_size >= offsetof(trunkd_call, field) + sizeof((call)->field))

static int str_eq(trunkd_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || (s.ptr != NULL && memcmp(s.ptr, lit, n) == 0));
}

static int str_starts_with(trunkd_str s, const char *prefix, size_t n)
{
    return s.len >= n && (n == 0 || (s.ptr != NULL && memcmp(s.ptr, prefix, n) == 0));
}

static void set_error(trunkd_buf *error, const char *msg)
{
    size_t n = strlen(msg);
    if (error == NULL)
        return;
    if (n > TRUNKD_BUF_CAP)
        n = TRUNKD_BUF_CAP;
    memcpy(error->buf, msg, n);
    error->len = (uint32_t)n;
}

/* Copies a setting into `dst` (capacity TRUNKD_BUF_CAP); 0 if missing, empty or too long. */
static int get_setting(const trunkd_var *settings, size_t n, const char *name, char *dst, size_t *len)
{
    size_t i;
    if (settings == NULL)
        return 0;
    for (i = 0; i < n; i++) {
        if (!str_eq(settings[i].name, name))
            continue;
        if (settings[i].value.ptr == NULL || settings[i].value.len == 0 || settings[i].value.len > TRUNKD_BUF_CAP)
            return 0;
        memcpy(dst, settings[i].value.ptr, settings[i].value.len);
        *len = settings[i].value.len;
        return 1;
    }
    return 0;
}

static void *router_init(const trunkd_var *settings, size_t settings_len, trunkd_buf *error)
{
    struct router *r = calloc(1, sizeof *r);
    if (r == NULL) {
        set_error(error, "out of memory");
        return NULL;
    }
    if (!get_setting(settings, settings_len, "prefix", r->prefix, &r->prefix_len)) {
        set_error(error, "setting `prefix` is missing, empty or longer than 256 bytes");
        free(r);
        return NULL;
    }
    if (!get_setting(settings, settings_len, "group", r->group, &r->group_len)) {
        set_error(error, "setting `group` is missing, empty or longer than 256 bytes");
        free(r);
        return NULL;
    }
    return r;
}

static int32_t router_route(void *instance, const trunkd_call *call, trunkd_decision *out)
{
    const struct router *r = instance;
    size_t rest;

    if (r == NULL || call == NULL || out == NULL)
        return 1;
    out->action = TRUNKD_NO_OPINION;

    if (HAS_FIELD(call, classification) && str_eq(call->classification, "blacklist")) {
        out->action = TRUNKD_REJECT;
        out->cause = CAUSE_CALL_REJECTED;
        return 0;
    }
    if (!HAS_FIELD(call, called) || !str_starts_with(call->called, r->prefix, r->prefix_len))
        return 0;
    rest = call->called.len - r->prefix_len;
    if (rest == 0) /* nothing left to dial (an empty number would mean "the called number") */
        return 0;
    if (rest > TRUNKD_BUF_CAP)
        return 2; /* does not fit: an error, never a truncated number */

    out->action = TRUNKD_DIAL;
    memcpy(out->target.buf, r->group, r->group_len);
    out->target.len = (uint32_t)r->group_len;
    memcpy(out->number.buf, call->called.ptr + r->prefix_len, rest);
    out->number.len = (uint32_t)rest;
    return 0;
}

static void router_shutdown(void *instance)
{
    free(instance);
}

static const trunkd_plugin_v1 vtable = {
    .abi_version = TRUNKD_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(trunkd_plugin_v1),
    .name = "c_router",
    .version = "1.0.0",
    .init = router_init,
    .route = router_route,
    .event = NULL, /* no interest in events */
    .shutdown = router_shutdown,
};

const trunkd_plugin_v1 *trunkd_plugin_entry(void)
{
    return &vtable;
}
