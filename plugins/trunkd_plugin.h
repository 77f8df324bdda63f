/*
 * trunkd routing plugins: the stable C ABI, version 1.
 *
 * A plugin is a shared library exporting one symbol:
 *
 *     const trunkd_plugin_v1 *trunkd_plugin_entry(void);
 *
 * returning a pointer to a static vtable that stays valid until the library is unloaded.
 * trunkd asks each plugin of its chain, in order, where an offered call goes; the first
 * decision other than TRUNKD_NO_OPINION wins, otherwise the static routes of the config do.
 *
 * Isolation: trunkd runs every plugin in a helper process of its own
 * (`trunkd plugin-host`), so a crash, a hang or garbage costs only that plugin's opinion
 * on the calls in flight (they fall through), never a call or the daemon. A plugin that
 * fails repeatedly is restarted with back-off and reported by `trunkd ctl` and in the logs.
 *
 * Threading: all functions of one plugin instance are called from one thread, one call
 * at a time. A plugin may keep state in its instance without locking.
 *
 * Strings: always UTF-8 with an explicit length and NOT NUL-terminated, except the
 * `name`/`version` of the vtable (static, NUL-terminated). Everything trunkd passes in
 * (trunkd_str, trunkd_var, trunkd_call, trunkd_event) is borrowed: valid only during the
 * function call, never freed by the plugin, never written to. Everything a plugin passes
 * out goes into buffers trunkd owns (trunkd_buf): the plugin copies at most
 * TRUNKD_BUF_CAP bytes into `buf` and sets `len`; a `len` above the capacity, or bytes
 * that are not UTF-8, make the whole decision invalid (the call falls through).
 *
 * Compatibility: `abi_version` must equal TRUNKD_PLUGIN_ABI_VERSION; trunkd refuses other
 * versions with a clear message. Structs passed in start with `struct_size` so later
 * versions can append fields (each appended group starting at an 8-byte boundary, so
 * that it never hides in today's tail padding); a plugin reads a field only if it lies
 * entirely within `struct_size`. trunkd_decision has no size: a change to it is a new
 * ABI version.
 *
 * init() must return a non-NULL instance even for a stateless plugin (any static
 * address will do). An `error` message that is not UTF-8 is shown as "(unreadable)".
 * `utc_offset_min` is the local offset at `unix_time_ms` (it follows daylight saving).
 * An empty DIAL `number` means "the called number, unchanged".
 */
#ifndef TRUNKD_PLUGIN_H
#define TRUNKD_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TRUNKD_PLUGIN_ABI_VERSION 1u
#define TRUNKD_PLUGIN_ENTRY "trunkd_plugin_entry"

/* Capacity of every output buffer, and the most arguments a decision may carry. */
#define TRUNKD_BUF_CAP 256u
#define TRUNKD_MAX_ARGS 8u

/* A borrowed UTF-8 string (not NUL-terminated). `ptr` may be NULL only when `len` is 0. */
typedef struct trunkd_str {
    const char *ptr;
    size_t len;
} trunkd_str;

/* A name/value pair: plugin settings, call variables. */
typedef struct trunkd_var {
    trunkd_str name;
    trunkd_str value;
} trunkd_var;

/* An output buffer owned by trunkd: copy at most TRUNKD_BUF_CAP bytes, set `len`. */
typedef struct trunkd_buf {
    uint32_t len;
    char buf[TRUNKD_BUF_CAP];
} trunkd_buf;

enum trunkd_direction {
    TRUNKD_INBOUND = 0,  /* offered to us by a span, line or modem */
    TRUNKD_OUTBOUND = 1, /* placed by us */
};

enum trunkd_presentation {
    TRUNKD_PRES_ALLOWED = 0,
    TRUNKD_PRES_RESTRICTED = 1,  /* the caller asked not to be shown: do not display it */
    TRUNKD_PRES_UNAVAILABLE = 2, /* no number (interworking) */
};

/* An offered call. */
typedef struct trunkd_call {
    uint32_t struct_size;        /* sizeof(trunkd_call) as trunkd built it */
    uint32_t direction;          /* enum trunkd_direction */
    uint64_t call_id;            /* unique within one daemon run */
    trunkd_str group;            /* the span or line group ("pri-1", "pstn") */
    trunkd_str device;           /* group/channel ("pri-1/5") */
    uint32_t channel;            /* the channel number within the group */
    uint32_t caller_presentation;/* enum trunkd_presentation */
    trunkd_str caller;           /* calling number, digits (may be empty) */
    trunkd_str caller_name;      /* display name (may be empty) */
    trunkd_str called;           /* called number, digits */
    trunkd_str redirecting;      /* the number the call was diverted from (may be empty) */
    trunkd_str classification;   /* the CRM's class of the caller when known: "", "normal",
                                    "vip", "svip", "blacklist" */
    const trunkd_var *vars;      /* call variables */
    size_t vars_len;
    int64_t unix_time_ms;        /* wall-clock time of the offer (UTC) */
    int32_t utc_offset_min;      /* the daemon's local time zone offset, for time-of-day rules */
} trunkd_call;

enum trunkd_action {
    TRUNKD_NO_OPINION = 0, /* ask the next plugin, then the static routes */
    TRUNKD_SCRIPT = 1,     /* run the Lua script `target` (relative to ivr.scripts_dir) with `args` */
    TRUNKD_DIAL = 2,       /* dial out on group `target` to `number` (empty: the called number) and bridge */
    TRUNKD_QUEUE = 3,      /* ring the agents of queue `target` (a line group of agent phones) */
    TRUNKD_REJECT = 4,     /* clear the call with Q.850 cause `cause` */
};

/* A decision, filled in by route(). trunkd zeroes it before each call. */
typedef struct trunkd_decision {
    uint32_t action;  /* enum trunkd_action */
    uint32_t cause;   /* TRUNKD_REJECT: Q.850 cause 1..127 */
    trunkd_buf target;
    trunkd_buf number;
    uint32_t argc;    /* at most TRUNKD_MAX_ARGS */
    trunkd_buf args[TRUNKD_MAX_ARGS];
} trunkd_decision;

/* A call lifecycle event (for plugins that keep statistics or sticky routes). */
typedef struct trunkd_event {
    uint32_t struct_size;
    uint32_t cause;      /* TRUNKD_EV_ENDED: Q.850 cause */
    uint64_t call_id;
    trunkd_str kind;     /* "answered", "ended" */
    uint64_t talk_ms;    /* TRUNKD_EV_ENDED: answered time, 0 if never answered */
} trunkd_event;

typedef struct trunkd_plugin_v1 {
    uint32_t abi_version;  /* TRUNKD_PLUGIN_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(trunkd_plugin_v1) */
    const char *name;      /* static, NUL-terminated: "lcr" */
    const char *version;   /* static, NUL-terminated: "1.2.0" */

    /* Creates an instance from the plugin's settings (the `[plugin.settings]` table of the
     * config, every value rendered as a string). Returns NULL on failure after writing a
     * message into `error`. */
    void *(*init)(const trunkd_var *settings, size_t settings_len, trunkd_buf *error);

    /* Decides where `call` goes. Returns 0 with `out` filled, or nonzero on an error (the
     * call falls through to the next plugin). Must return promptly: trunkd waits for the
     * chain at most `plugin_timeout_ms` (default 200 ms) per call. */
    int32_t (*route)(void *instance, const trunkd_call *call, trunkd_decision *out);

    /* Optional (may be NULL): call lifecycle events, fire and forget. */
    void (*event)(void *instance, const trunkd_event *event);

    /* Optional (may be NULL): frees the instance (on reload or shutdown). */
    void (*shutdown)(void *instance);
} trunkd_plugin_v1;

/* Marks the entry point exported even under -fvisibility=hidden. */
#if defined(__GNUC__)
#define TRUNKD_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define TRUNKD_PLUGIN_EXPORT
#endif

/* The one exported symbol. */
TRUNKD_PLUGIN_EXPORT const trunkd_plugin_v1 *trunkd_plugin_entry(void);

#ifdef __cplusplus
}
#endif

#endif /* TRUNKD_PLUGIN_H */
