/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tvam/app/group.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "tvam/shared/digest.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"

#define FAIL(err, ...)                                                                                      \
        ({                                                                                                  \
                if (errbuf && errlen)                                                                       \
                        snprintf(errbuf, errlen, __VA_ARGS__);                                              \
                (err);                                                                                      \
        })

static int find_network(const struct group *g, const char *name)
{
        for (size_t i = 0; i < g->n_networks; i++)
                if (strcmp(g->networks[i], name) == 0)
                        return (int)i;
        return -1;
}

static int parse_object(json_object *o, struct group *g, char *errbuf, size_t errlen)
{
        json_object *v, *nets = NULL, *apps;
        const char *s;

        if (!json_object_object_get_ex(o, "name", &v) || !json_object_is_type(v, json_type_string) ||
                !manifest_name_valid(s = json_object_get_string(v)))
                return FAIL(-EINVAL, "the group needs a valid \"name\" (lower-case letters, digits, '_', '.', '-')");
        snprintf(g->name, sizeof(g->name), "%s", s);

        if (json_object_object_get_ex(o, "networks", &nets)) {
                if (!json_object_is_type(nets, json_type_array) ||
                        json_object_array_length(nets) > GROUP_NETWORKS_MAX)
                        return FAIL(-EINVAL, "\"networks\" must be a list of at most %u names", GROUP_NETWORKS_MAX);
                for (size_t i = 0; i < json_object_array_length(nets); i++) {
                        v = json_object_array_get_idx(nets, i);
                        if (!json_object_is_type(v, json_type_string) ||
                                !manifest_name_valid(s = json_object_get_string(v)))
                                return FAIL(-EINVAL, "network %zu has an invalid name", i + 1);
                        if (find_network(g, s) >= 0)
                                return FAIL(-EINVAL, "network '%s' is listed twice", s);
                        snprintf(g->networks[g->n_networks++], sizeof(g->networks[0]), "%s", s);
                }
        }

        if (!json_object_object_get_ex(o, "applications", &apps) || !json_object_is_type(apps, json_type_array) ||
                json_object_array_length(apps) == 0 || json_object_array_length(apps) > GROUP_APPS_MAX)
                return FAIL(-EINVAL, "\"applications\" must list 1 to %u applications", GROUP_APPS_MAX);
        for (size_t i = 0; i < json_object_array_length(apps); i++) {
                json_object *a = json_object_array_get_idx(apps, i);
                struct group_app *ga = &g->apps[g->n_apps];

                if (!json_object_is_type(a, json_type_object) || !json_object_object_get_ex(a, "name", &v) ||
                        !json_object_is_type(v, json_type_string) ||
                        !manifest_name_valid(s = json_object_get_string(v)))
                        return FAIL(-EINVAL, "application %zu needs a valid \"name\"", i + 1);
                for (size_t j = 0; j < g->n_apps; j++)
                        if (strcmp(g->apps[j].name, s) == 0)
                                return FAIL(-EINVAL, "application '%s' is listed twice", s);
                snprintf(ga->name, sizeof(ga->name), "%s", s);
                ga->network = -1;
                if (json_object_object_get_ex(a, "network", &v) && !json_object_is_type(v, json_type_null)) {
                        if (!json_object_is_type(v, json_type_string))
                                return FAIL(-EINVAL, "the network of '%s' must be a name", ga->name);
                        ga->network = find_network(g, json_object_get_string(v));
                        if (ga->network < 0)
                                return FAIL(-EINVAL, "application '%s' uses network '%s', which \"networks\" does "
                                                     "not declare", ga->name, json_object_get_string(v));
                }
                g->n_apps++;
        }
        return 0;
}

int group_parse(const char *json, size_t size, struct group *ret, char *errbuf, size_t errlen)
{
        struct json_tokener *tok;
        struct group g = {};
        json_object *o;
        int r;

        if (!json || !ret)
                return -EINVAL;
        if (size > GROUP_JSON_MAX)
                return FAIL(-E2BIG, "the group file is larger than %u bytes", GROUP_JSON_MAX);
        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        o = json_tokener_parse_ex(tok, json, (int)size);
        if (!o || json_tokener_get_error(tok) != json_tokener_success ||
                (size_t)json_tokener_get_parse_end(tok) != size) {
                /* trailing whitespace is fine */
                size_t end = o ? json_tokener_get_parse_end(tok) : 0;
                while (o && end < size && strchr(" \t\r\n", json[end]))
                        end++;
                if (!o || end != size) {
                        json_object_put(o);
                        json_tokener_free(tok);
                        return FAIL(-EBADMSG, "the group file is not valid JSON");
                }
        }
        json_tokener_free(tok);
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return FAIL(-EBADMSG, "the group file must be a JSON object");
        }
        r = parse_object(o, &g, errbuf, errlen);
        json_object_put(o);
        if (r < 0)
                return r;
        *ret = g;
        return 0;
}

int group_format(const struct group *g, char **ret_json)
{
        json_object *o = json_object_new_object(), *nets = json_object_new_array(),
                    *apps = json_object_new_array();
        char *s;

        json_object_object_add(o, "name", json_object_new_string(g->name));
        for (size_t i = 0; i < g->n_networks; i++)
                json_object_array_add(nets, json_object_new_string(g->networks[i]));
        json_object_object_add(o, "networks", nets);
        for (size_t i = 0; i < g->n_apps; i++) {
                json_object *a = json_object_new_object();
                json_object_object_add(a, "name", json_object_new_string(g->apps[i].name));
                if (g->apps[i].network >= 0)
                        json_object_object_add(a, "network", json_object_new_string(g->networks[g->apps[i].network]));
                json_object_array_add(apps, a);
        }
        json_object_object_add(o, "applications", apps);
        s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
        json_object_put(o);
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}

int group_config_digest(const struct group *g, uint8_t ret[GROUP_CONFIG_DIGEST_SIZE])
{
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);
        int r;

        if (!f)
                return -ENOMEM;
        fprintf(f, "tvam-group-config-v1\ngroup=%s\n", g->name);
        for (size_t i = 0; i < g->n_networks; i++)
                fprintf(f, "network=%s\n", g->networks[i]);
        for (size_t i = 0; i < g->n_apps; i++)
                fprintf(f, "app=%s network=%s\n", g->apps[i].name,
                        g->apps[i].network >= 0 ? g->networks[g->apps[i].network] : "-");
        r = ferror(f) ? -ENOMEM : 0;
        if (fclose(f) != 0 || r < 0)
                return -ENOMEM;
        return digest_buffer(DIGEST_SHA256, text, size, ret);
}

int group_network_names(const struct group *g, size_t n, char *ret_network, size_t network_size, char *ret_bridge,
        size_t bridge_size)
{
        _cleanup_free_ char *id = NULL, *hex = NULL;
        uint8_t d[32];
        int r;

        if (n >= g->n_networks)
                return -EINVAL;
        if (asprintf(&id, "%s/%s", g->name, g->networks[n]) < 0)
                return -ENOMEM;
        r = digest_buffer(DIGEST_SHA256, id, strlen(id), d);
        if (r < 0)
                return r;
        r = hex_encode(d, 4, &hex);
        if (r < 0)
                return r;
        if ((size_t)snprintf(ret_network, network_size, "tvam-%s-%s", g->name, g->networks[n]) >= network_size ||
                (size_t)snprintf(ret_bridge, bridge_size, "tvam%s", hex) >= bridge_size)
                return -ENAMETOOLONG;
        return 0;
}

static int group_path(const char *state_dir, const char *name, char **ret)
{
        if (!state_dir || !manifest_name_valid(name))
                return -EINVAL;
        return asprintf(ret, "%s/groups/%s.json", state_dir, name) < 0 ? -ENOMEM : 0;
}

int group_save(const char *state_dir, const struct group *g)
{
        _cleanup_free_ char *path = NULL, *dir = NULL, *json = NULL;
        int r;

        if (asprintf(&dir, "%s/groups", state_dir) < 0)
                return -ENOMEM;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        r = group_path(state_dir, g->name, &path);
        if (r < 0)
                return r;
        r = group_format(g, &json);
        if (r < 0)
                return r;
        return atomic_file_write(path, json, strlen(json), 0600);
}

int group_load(const char *state_dir, const char *name, struct group *ret)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        size_t size;
        int r;

        r = group_path(state_dir, name, &path);
        if (r < 0)
                return r;
        r = read_full_file(path, GROUP_JSON_MAX, &data, &size);
        if (r < 0)
                return r;
        return group_parse((const char *)data, size, ret, NULL, 0);
}

int group_delete(const char *state_dir, const char *name)
{
        _cleanup_free_ char *path = NULL;
        int r = group_path(state_dir, name, &path);

        if (r < 0)
                return r;
        return unlink(path) < 0 ? -errno : 0;
}

static int compare_names(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

int group_list_names(const char *state_dir, char ***ret, size_t *ret_n)
{
        _cleanup_free_ char *dir = NULL;
        DIR *d;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0;

        if (asprintf(&dir, "%s/groups", state_dir) < 0)
                return -ENOMEM;
        d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                char *name, **grown;
                if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
                        continue;
                name = strndup(de->d_name, len - 5);
                if (!name || !manifest_name_valid(name)) {
                        free(name);
                        continue;
                }
                grown = realloc(names, (n + 1) * sizeof(*names));
                if (!grown) {
                        free(name);
                        closedir(d);
                        manifest_names_free(names, n);
                        return -ENOMEM;
                }
                names = grown;
                names[n++] = name;
        }
        closedir(d);
        if (n > 1)
                qsort(names, n, sizeof(*names), compare_names);
        *ret = names;
        *ret_n = n;
        return 0;
}
