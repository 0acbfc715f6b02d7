/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Application groups (acTvSM §3.2 AGCLV; tvam/app/group.h): one method
 * "group" with an action: add, remove, list, start, stop.
 *
 * start: Application Mode only (the first application's start checks it;
 * nothing is created before), measure the group's configuration digest into
 * PCR 13, create its isolated networks, start the applications in order.
 * If one fails, those already started are stopped again (reverse order) and
 * the networks removed: a group runs completely or not at all.
 *
 * autostart: a group marked for it starts when tvamd leaves Update Mode.
 * The mark is "autostart": true in the group file, or the action
 * "autostart" later; it is kept as STATE_DIR/groups/NAME.autostart (an empty
 * file: not *.json, so no group listing sees it) and is not part of the
 * measured configuration, which says what runs, not when.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tvam/app/group.h"
#include "tvam/daemon/daemon.h"
#include "tvam/daemon/mode.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/log.h"
#include "tvam/shared/macro.h"
#include "tvam/virt/virt.h"

#define GROUP_STOP_TIMEOUT_DEFAULT 60

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                snprintf(message, message_size, __VA_ARGS__);                                               \
                (err);                                                                                      \
        })

static const char *str_param(json_object *params, const char *key)
{
        json_object *v;
        if (!json_object_object_get_ex(params, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static int load(struct daemon *d, const char *name, struct group *g, char *message, size_t message_size)
{
        int r;

        if (!name || !manifest_name_valid(name))
                return FAIL(-EINVAL, "invalid group name");
        r = group_load(d->state_dir, name, g);
        if (r == -ENOENT)
                return FAIL(r, "no group named '%s'", name);
        if (r < 0)
                return FAIL(r, "cannot read group '%s': %s", name, strerror(-r));
        return 0;
}

static int autostart_path(struct daemon *d, const char *name, char **ret)
{
        return asprintf(ret, "%s/groups/%s.autostart", d->state_dir, name) < 0 ? -ENOMEM : 0;
}

static bool autostart_get(struct daemon *d, const char *name)
{
        _cleanup_free_ char *path = NULL;
        return autostart_path(d, name, &path) == 0 && access(path, F_OK) == 0;
}

static int autostart_set(struct daemon *d, const char *name, bool on)
{
        _cleanup_free_ char *path = NULL;

        if (autostart_path(d, name, &path) < 0)
                return -ENOMEM;
        if (on)
                return atomic_file_write(path, "", 0, 0600);
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* "autostart": true in a group file (group_parse ignores the member). */
static bool definition_autostart(const char *definition)
{
        json_object *o = json_tokener_parse(definition), *v;
        bool on = o && json_object_object_get_ex(o, "autostart", &v) && json_object_is_type(v, json_type_boolean) &&
                json_object_get_boolean(v);
        json_object_put(o);
        return on;
}

static void stop_networks(struct daemon *d, struct virt_conn *virt, const struct group *g)
{
        char net[VIRT_NAME_MAX + 1], bridge[16];

        (void)d;
        for (size_t i = 0; i < g->n_networks; i++)
                if (group_network_names(g, i, net, sizeof(net), bridge, sizeof(bridge)) == 0 &&
                        virt_network_is_active(virt, net) > 0)
                        (void)virt_network_stop(virt, net);
}

static int group_add(struct daemon *d, json_object *params, json_object **ret_result, char *message,
        size_t message_size)
{
        const char *definition = str_param(params, "definition");
        char errbuf[256] = "";
        struct group g, existing;
        uint8_t digest[GROUP_CONFIG_DIGEST_SIZE];
        _cleanup_free_ char *hex = NULL;
        int r;

        if (!definition)
                return FAIL(-EINVAL, "no group definition was sent");
        r = group_parse(definition, strlen(definition), &g, errbuf, sizeof(errbuf));
        if (r < 0)
                return FAIL(r, "invalid group file: %s", errbuf);
        for (size_t i = 0; i < g.n_apps; i++) {
                struct manifest m;
                if (manifest_load(d->state_dir, g.apps[i].name, &m) < 0)
                        return FAIL(-ENOENT, "group '%s' lists '%s', which is not an imported application", g.name,
                                g.apps[i].name);
        }
        if (group_load(d->state_dir, g.name, &existing) == 0)
                return FAIL(-EEXIST, "a group named '%s' exists already (remove it first)", g.name);
        r = group_save(d->state_dir, &g);
        if (r < 0)
                return FAIL(r, "cannot store group '%s': %s", g.name, strerror(-r));
        r = autostart_set(d, g.name, definition_autostart(definition));
        if (r < 0)
                return FAIL(r, "cannot mark group '%s' for autostart: %s", g.name, strerror(-r));
        if (group_config_digest(&g, digest) < 0 || hex_encode(digest, sizeof(digest), &hex) < 0)
                return FAIL(-ENOMEM, "out of memory");
        *ret_result = json_object_new_object();
        json_object_object_add(*ret_result, "name", json_object_new_string(g.name));
        json_object_object_add(*ret_result, "config", json_object_new_string(hex));
        json_object_object_add(*ret_result, "autostart", json_object_new_boolean(autostart_get(d, g.name)));
        log_info("group '%s' added (%zu applications)", g.name, g.n_apps);
        return 0;
}

static int group_state(struct virt_conn *virt, const struct group *g, size_t *ret_running)
{
        size_t running = 0;

        for (size_t i = 0; i < g->n_apps; i++) {
                enum virt_state vs = VIRT_STATE_NOT_FOUND;
                if (virt)
                        (void)virt_state(virt, g->apps[i].name, &vs);
                if (vs == VIRT_STATE_RUNNING)
                        running++;
        }
        *ret_running = running;
        return 0;
}

static json_object *group_json(struct daemon *d, struct virt_conn *virt, const struct group *g)
{
        json_object *o = json_object_new_object(), *apps = json_object_new_array(), *nets = json_object_new_array();
        uint8_t digest[GROUP_CONFIG_DIGEST_SIZE];
        char net[VIRT_NAME_MAX + 1], bridge[16];
        _cleanup_free_ char *hex = NULL;
        size_t running;

        (void)group_state(virt, g, &running);
        json_object_object_add(o, "name", json_object_new_string(g->name));
        json_object_object_add(o, "autostart", json_object_new_boolean(autostart_get(d, g->name)));
        json_object_object_add(o, "state",
                json_object_new_string(running == 0 ? "stopped" : running == g->n_apps ? "running" : "partial"));
        for (size_t i = 0; i < g->n_apps; i++) {
                json_object *a = json_object_new_object();
                enum virt_state vs = VIRT_STATE_NOT_FOUND;
                if (virt)
                        (void)virt_state(virt, g->apps[i].name, &vs);
                json_object_object_add(a, "name", json_object_new_string(g->apps[i].name));
                json_object_object_add(a, "order", json_object_new_int((int)i + 1));
                json_object_object_add(a, "state",
                        json_object_new_string(vs == VIRT_STATE_RUNNING ? "running" : "stopped"));
                if (g->apps[i].network >= 0)
                        json_object_object_add(
                                a, "network", json_object_new_string(g->networks[g->apps[i].network]));
                json_object_array_add(apps, a);
        }
        json_object_object_add(o, "applications", apps);
        for (size_t i = 0; i < g->n_networks; i++) {
                json_object *n = json_object_new_object();
                json_object_object_add(n, "name", json_object_new_string(g->networks[i]));
                if (group_network_names(g, i, net, sizeof(net), bridge, sizeof(bridge)) == 0) {
                        json_object_object_add(n, "libvirt_network", json_object_new_string(net));
                        json_object_object_add(n, "bridge", json_object_new_string(bridge));
                        json_object_object_add(n, "active",
                                json_object_new_boolean(virt && virt_network_is_active(virt, net) > 0));
                }
                json_object_array_add(nets, n);
        }
        json_object_object_add(o, "networks", nets);
        if (group_config_digest(g, digest) == 0 && hex_encode(digest, sizeof(digest), &hex) == 0)
                json_object_object_add(o, "config", json_object_new_string(hex));
        return o;
}

static int group_list(struct daemon *d, json_object **ret_result, char *message, size_t message_size)
{
        struct virt_conn *virt = NULL;
        char **names = NULL;
        json_object *arr;
        size_t n = 0;
        int r;

        r = group_list_names(d->state_dir, &names, &n);
        if (r < 0)
                return FAIL(r, "cannot list the groups: %s", strerror(-r));
        (void)daemon_virt(d, &virt);
        arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                struct group g;
                if (group_load(d->state_dir, names[i], &g) == 0)
                        json_object_array_add(arr, group_json(d, virt, &g));
        }
        manifest_names_free(names, n);
        *ret_result = json_object_new_object();
        json_object_object_add(*ret_result, "groups", arr);
        return 0;
}

static int group_remove(struct daemon *d, const char *name, char *message, size_t message_size)
{
        struct virt_conn *virt = NULL;
        struct group g;
        size_t running = 0;
        int r;

        r = load(d, name, &g, message, message_size);
        if (r < 0)
                return r;
        (void)daemon_virt(d, &virt);
        (void)group_state(virt, &g, &running);
        if (running > 0)
                return FAIL(-EBUSY, "group '%s' is running: stop it first", name);
        r = autostart_set(d, name, false);
        if (r < 0)
                return FAIL(r, "cannot unmark group '%s' for autostart: %s", name, strerror(-r));
        r = group_delete(d->state_dir, name);
        if (r < 0)
                return FAIL(r, "cannot remove group '%s': %s", name, strerror(-r));
        log_info("group '%s' removed (its applications stay)", name);
        return 0;
}

static int group_stop_apps(struct daemon *d, const struct group *g, size_t n_started, unsigned timeout_s, bool force,
        char *message, size_t message_size)
{
        int first = 0;

        for (size_t i = n_started; i-- > 0;) {
                char msg[512];
                int r = daemon_stop_app(d, g->apps[i].name, timeout_s, force, msg, sizeof(msg));
                if (r < 0 && r != -ENOENT && first == 0) {
                        first = r;
                        snprintf(message, message_size, "%s", msg);
                }
        }
        return first;
}

static int group_start(struct daemon *d, json_object *params, json_object **ret_result, char *message,
        size_t message_size)
{
        const char *verify = str_param(params, "verify");
        enum app_verify_mode vmode = verify && strcmp(verify, "eager") == 0 ? APP_VERIFY_EAGER : APP_VERIFY_LAZY;
        uint8_t digest[GROUP_CONFIG_DIGEST_SIZE];
        _cleanup_free_ char *hex = NULL, *fields = NULL;
        char net[VIRT_NAME_MAX + 1], bridge[16];
        struct tpm_context *tpm;
        struct virt_conn *virt;
        enum tvam_mode mode;
        struct group g;
        size_t started = 0, running = 0;
        int r;

        r = load(d, str_param(params, "name"), &g, message, message_size);
        if (r < 0)
                return r;
        r = daemon_tpm(d, &tpm);
        if (r < 0)
                return FAIL(r, "cannot reach the TPM (%s): %s", d->tcti, strerror(-r));
        r = mode_get(tpm, &mode);
        if (r < 0)
                return FAIL(r, "cannot read PCR %d: %s", MODE_PCR, strerror(-r));
        if (mode != MODE_APPLICATION)
                return FAIL(-EPERM, "refusing to start group '%s' in %s mode: applications start only in "
                                    "Application Mode", g.name, mode_to_string(mode));
        r = daemon_virt(d, &virt);
        if (r < 0)
                return FAIL(r, "cannot connect to libvirt (%s): %s", d->libvirt_uri, strerror(-r));
        (void)group_state(virt, &g, &running);
        if (running > 0)
                return FAIL(-EBUSY, "%zu application(s) of group '%s' are running already", running, g.name);

        /* The group's configuration is measured before any of it runs: a
         * TVAM application event named "group:NAME" whose identity is
         * "group-config:sha256:<digest>" (docs/app.md "Groups"). */
        if (group_config_digest(&g, digest) < 0 || hex_encode(digest, sizeof(digest), &hex) < 0 ||
                asprintf(&fields, "\"group\":\"%s\",\"config\":\"sha256:%s\"", g.name, hex) < 0)
                return FAIL(-ENOMEM, "out of memory");
        struct eventlog_tvam_event e = { .kind = EVENTLOG_TVAM_APPLICATION };
        snprintf(e.name, sizeof(e.name), "group:%s", g.name);
        snprintf(e.identity, sizeof(e.identity), "group-config:sha256:%s", hex);
        r = daemon_measure(d, tpm, 13, &e, "group-start", fields);
        if (r < 0)
                return FAIL(r, "cannot measure group '%s' into PCR 13: %s", g.name, strerror(-r));

        for (size_t i = 0; i < g.n_networks; i++) {
                r = group_network_names(&g, i, net, sizeof(net), bridge, sizeof(bridge));
                if (r >= 0)
                        r = virt_network_start(virt, net, bridge);
                if (r < 0) {
                        snprintf(message, message_size, "cannot create network '%s' of group '%s': %s",
                                g.networks[i], g.name, virt_last_error()[0] ? virt_last_error() : strerror(-r));
                        goto fail;
                }
        }
        for (; started < g.n_apps; started++) {
                const struct group_app *a = &g.apps[started];
                char netname[VIRT_NAME_MAX + 1] = "", msg[512];
                if (a->network >= 0)
                        (void)group_network_names(&g, (size_t)a->network, netname, sizeof(netname), bridge,
                                sizeof(bridge));
                r = daemon_start_app(d, a->name, vmode, a->network >= 0 ? netname : NULL, NULL, msg, sizeof(msg));
                if (r < 0) {
                        snprintf(message, message_size, "group '%s' not started: application %zu of %zu failed: %s",
                                g.name, started + 1, g.n_apps, msg);
                        goto fail;
                }
        }
        *ret_result = group_json(d, virt, &g);
        log_info("group '%s' started (%zu applications)", g.name, g.n_apps);
        return 0;

fail:
        {
                char ignored[512];
                (void)group_stop_apps(d, &g, started, 0, true, ignored, sizeof(ignored));
        }
        stop_networks(d, virt, &g);
        return r;
}

static int group_stop(struct daemon *d, json_object *params, char *message, size_t message_size)
{
        json_object *v;
        int64_t timeout = GROUP_STOP_TIMEOUT_DEFAULT;
        bool force = json_object_object_get_ex(params, "force", &v) && json_object_get_boolean(v);
        struct virt_conn *virt;
        struct group g;
        int r;

        if (json_object_object_get_ex(params, "timeout", &v))
                timeout = json_object_get_int64(v);
        if (timeout < 0 || timeout > 3600)
                return FAIL(-EINVAL, "timeout must be 0..3600 seconds");
        r = load(d, str_param(params, "name"), &g, message, message_size);
        if (r < 0)
                return r;
        r = daemon_virt(d, &virt);
        if (r < 0)
                return FAIL(r, "cannot connect to libvirt (%s): %s", d->libvirt_uri, strerror(-r));
        r = group_stop_apps(d, &g, g.n_apps, (unsigned)timeout, force, message, message_size);
        stop_networks(d, virt, &g);
        if (r < 0)
                return r;
        log_info("group '%s' stopped", g.name);
        return 0;
}

static int group_autostart(struct daemon *d, json_object *params, json_object **ret_result, char *message,
        size_t message_size)
{
        json_object *v;
        struct group g;
        bool on;
        int r;

        r = load(d, str_param(params, "name"), &g, message, message_size);
        if (r < 0)
                return r;
        if (!json_object_object_get_ex(params, "enable", &v) || !json_object_is_type(v, json_type_boolean))
                return FAIL(-EINVAL, "group autostart: \"enable\" must be true or false");
        on = json_object_get_boolean(v);
        r = autostart_set(d, g.name, on);
        if (r < 0)
                return FAIL(r, "cannot change the autostart of group '%s': %s", g.name, strerror(-r));
        *ret_result = json_object_new_object();
        json_object_object_add(*ret_result, "name", json_object_new_string(g.name));
        json_object_object_add(*ret_result, "autostart", json_object_new_boolean(on));
        log_info("group '%s' %s for autostart", g.name, on ? "marked" : "unmarked");
        return 0;
}

json_object *daemon_group_autostart(struct daemon *d)
{
        json_object *arr = json_object_new_array();
        char **names = NULL;
        size_t n = 0;
        int r;

        r = group_list_names(d->state_dir, &names, &n);
        if (r < 0) {
                log_error_errno(r, "Failed to list the groups to autostart");
                return arr;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *params, *result = NULL, *o;
                char message[512] = "";

                if (!autostart_get(d, names[i]))
                        continue;
                params = json_object_new_object();
                json_object_object_add(params, "name", json_object_new_string(names[i]));
                log_info("autostart of group '%s'", names[i]);
                r = group_start(d, params, &result, message, sizeof(message));
                json_object_put(params);
                json_object_put(result);
                if (r < 0)
                        log_error("Autostart of group '%s' failed: %s", names[i], message);
                o = json_object_new_object();
                json_object_object_add(o, "group", json_object_new_string(names[i]));
                json_object_object_add(o, "started", json_object_new_boolean(r >= 0));
                if (r < 0)
                        json_object_object_add(o, "error", json_object_new_string(message));
                json_object_array_add(arr, o);
        }
        manifest_names_free(names, n);
        return arr;
}

int method_group(struct daemon *d, json_object *params, const int *fds, size_t n_fds, json_object **ret_result,
        char *message, size_t message_size)
{
        const char *action = str_param(params, "action");

        (void)fds, (void)n_fds;
        if (!action)
                return FAIL(-EINVAL, "group: no action (add, remove, list, start, stop)");
        if (strcmp(action, "add") == 0)
                return group_add(d, params, ret_result, message, message_size);
        if (strcmp(action, "remove") == 0)
                return group_remove(d, str_param(params, "name"), message, message_size);
        if (strcmp(action, "list") == 0)
                return group_list(d, ret_result, message, message_size);
        if (strcmp(action, "start") == 0)
                return group_start(d, params, ret_result, message, message_size);
        if (strcmp(action, "stop") == 0)
                return group_stop(d, params, message, message_size);
        if (strcmp(action, "autostart") == 0)
                return group_autostart(d, params, ret_result, message, message_size);
        return FAIL(-EINVAL, "group: unknown action '%s' (add, remove, list, start, stop, autostart)", action);
}
