/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tools/expectation.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "policy/tboot/mle.h"
#include "tvam/shared/fileio.h"
#include "tvam/shared/hex.h"
#include "tvam/shared/macro.h"

#define VLP_FILE_MAX (64u * 1024u)
#define SINIT_DATA_MAX (1024u * 1024u)

void expect_done(struct expect *e)
{
        if (!e)
                return;
        free(e->tboot_path);
        free(e->tboot_cmdline);
        free(e->vlp_path);
        free(e->vlp);
        free(e->sinit_path);
        for (size_t i = 0; i < e->n_modules; i++) {
                free(e->modules[i].name);
                free(e->modules[i].path);
                free(e->modules[i].cmdline);
        }
        txt_prediction_done(&e->pred);
        memset(e, 0, sizeof(*e));
}

static int dup_or_null(const char *s, char **ret)
{
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

static int digest_path(enum digest_alg alg, const char *path, uint8_t *ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        return digest_fd(alg, fd, ret, NULL);
}

int expect_gather_txt(struct expect *e, enum digest_alg alg, const char *tboot, const char *tboot_cmdline,
        const char *vlp, const char *sinit_data, const uint8_t *sinit_pcr17, const char *const *module_names,
        const char *const *module_paths, const char *const *module_cmdlines, size_t n_modules)
{
        int r;

        assert(e && tboot && vlp);
        if (!sinit_data == !sinit_pcr17 || n_modules == 0 || n_modules > TXT_MODULES_MAX ||
                digest_size(alg) == 0)
                return -EINVAL;
        *e = (struct expect){.alg = alg};
        if (dup_or_null(tboot, &e->tboot_path) < 0 || dup_or_null(tboot_cmdline, &e->tboot_cmdline) < 0 ||
                dup_or_null(vlp, &e->vlp_path) < 0 || dup_or_null(sinit_data, &e->sinit_path) < 0)
                return -ENOMEM;
        r = mle_hash_file(alg, tboot, tboot_cmdline, e->mle_digest);
        if (r < 0)
                return r;
        r = read_full_file(vlp, VLP_FILE_MAX, &e->vlp, &e->vlp_size);
        if (r < 0)
                return r;
        r = digest_buffer(alg, e->vlp, e->vlp_size, e->vlp_digest);
        if (r < 0)
                return r;
        if (sinit_data) {
                _cleanup_free_ uint8_t *data = NULL;
                size_t size;
                r = read_full_file(sinit_data, SINIT_DATA_MAX, &data, &size);
                if (r < 0)
                        return r;
                r = txt_sinit_pcr17_from_data(alg, data, size, e->sinit_pcr17);
                if (r < 0)
                        return r;
        } else
                memcpy(e->sinit_pcr17, sinit_pcr17, digest_size(alg));

        for (size_t i = 0; i < n_modules; i++) {
                struct expect_module *m = &e->modules[i];
                e->n_modules++;
                if (dup_or_null(module_names[i], &m->name) < 0 ||
                        dup_or_null(module_paths[i], &m->path) < 0 ||
                        dup_or_null(module_cmdlines[i] ? module_cmdlines[i] : "", &m->cmdline) < 0)
                        return -ENOMEM;
                r = digest_path(alg, m->path, m->image_digest);
                if (r < 0)
                        return r;
        }
        return 0;
}

int expect_predict(struct expect *e)
{
        struct txt_module mods[TXT_MODULES_MAX] = {};
        struct txt_launch l = {
                .alg = e->alg,
                .vlp = e->vlp,
                .vlp_size = e->vlp_size,
                .modules = mods,
                .n_modules = e->n_modules,
        };
        size_t n = digest_size(e->alg);
        int r;

        assert(e);
        if (!e->vlp)
                return -EINVAL;
        memcpy(l.sinit_pcr17, e->sinit_pcr17, n);
        memcpy(l.mle_digest, e->mle_digest, n);
        for (size_t i = 0; i < e->n_modules; i++) {
                mods[i].name = e->modules[i].name;
                mods[i].cmdline = e->modules[i].cmdline;
                memcpy(mods[i].image_digest, e->modules[i].image_digest, n);
        }
        txt_prediction_done(&e->pred);
        r = txt_predict(&l, &e->pred);
        if (r < 0)
                return r;
        e->vlp_type = e->pred.vlp_type;
        e->n_unverified = e->pred.n_unverified;
        return 0;
}

/* ---- JSON ---------------------------------------------------------------- */

static json_object *hex_json(const uint8_t *d, size_t n)
{
        _cleanup_free_ char *hex = NULL;

        if (hex_encode(d, n, &hex) < 0)
                return NULL;
        return json_object_new_string(hex);
}

static int add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        json_object_object_add(o, key, v);
        return 0;
}

static int add_str(json_object *o, const char *key, const char *s)
{
        return add(o, key, s ? json_object_new_string(s) : json_object_new_null());
}

/* A step's label for humans: "module 0 (kernel)", "MLE", … */
static void step_label(const struct expect *e, const struct txt_step *s, char *buf, size_t size)
{
        switch (s->component) {
        case TXT_COMPONENT_SINIT:
                snprintf(buf, size, "SINIT (%s)", e->sinit_path ? e->sinit_path : "recorded PCR 17");
                break;
        case TXT_COMPONENT_MLE:
                snprintf(buf, size, "MLE (tboot %s)", e->tboot_path ? e->tboot_path : "?");
                break;
        case TXT_COMPONENT_POLICY:
                snprintf(buf, size, "VLP (%s)", e->vlp_path ? e->vlp_path : "?");
                break;
        case TXT_COMPONENT_MODULE:
                if (s->module >= 0 && (size_t)s->module < e->n_modules)
                        snprintf(buf, size, "module %d (%s %s)", s->module, e->modules[s->module].name,
                                e->modules[s->module].path);
                else
                        snprintf(buf, size, "module %d", s->module);
                break;
        }
}

int expect_to_json_string(const struct expect *e, char **ret)
{
        json_object *root = json_object_new_object(), *in = NULL, *mods = NULL, *steps = NULL, *pcrs = NULL;
        size_t n = digest_size(e->alg);
        int r;

        if (!root)
                return -ENOMEM;
        r = add(root, "inputs", in = json_object_new_object());
        r = r ?: add(root, "steps", steps = json_object_new_array());
        r = r ?: add(root, "pcrs", pcrs = json_object_new_object());
        r = r ?: add(in, "modules", mods = json_object_new_array());
        if (r < 0)
                goto out;

        r = add_str(root, "profile", "txt");
        r = r ?: add_str(root, "alg", digest_alg_to_string(e->alg));
        r = r ?: add_str(in, "tboot", e->tboot_path);
        r = r ?: add_str(in, "tboot_cmdline", e->tboot_cmdline);
        r = r ?: add(in, "mle_digest", hex_json(e->mle_digest, n));
        r = r ?: add_str(in, "vlp", e->vlp_path);
        r = r ?: add(in, "vlp_digest", hex_json(e->vlp_digest, n));
        r = r ?: add_str(in, "sinit_data", e->sinit_path);
        r = r ?: add(in, "sinit_pcr17", hex_json(e->sinit_pcr17, n));
        for (size_t i = 0; r == 0 && i < e->n_modules; i++) {
                json_object *m = json_object_new_object();
                if (!m || json_object_array_add(mods, m) < 0) {
                        json_object_put(m);
                        r = -ENOMEM;
                        break;
                }
                r = add_str(m, "name", e->modules[i].name);
                r = r ?: add_str(m, "path", e->modules[i].path);
                r = r ?: add_str(m, "cmdline", e->modules[i].cmdline);
                r = r ?: add(m, "image_digest", hex_json(e->modules[i].image_digest, n));
        }
        for (size_t i = 0; r == 0 && i < e->pred.n_steps; i++) {
                const struct txt_step *s = &e->pred.steps[i];
                json_object *j = json_object_new_object();
                char label[512];
                if (!j || json_object_array_add(steps, j) < 0) {
                        json_object_put(j);
                        r = -ENOMEM;
                        break;
                }
                step_label(e, s, label, sizeof(label));
                r = add(j, "pcr", json_object_new_int((int)s->pcr));
                r = r ?: add_str(j, "component", txt_component_to_string(s->component));
                r = r ?: add(j, "module", json_object_new_int(s->module));
                r = r ?: add(j, "verified", json_object_new_boolean(s->verified));
                r = r ?: add_str(j, "input", label);
                r = r ?: add(j, "digest", hex_json(s->digest, n));
        }
        for (unsigned p = 17; r == 0 && p <= 19; p++) {
                char key[4];
                snprintf(key, sizeof(key), "%u", p);
                r = add(pcrs, key, hex_json(e->pred.bank.values[p], n));
        }
        if (r == 0) {
                *ret = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
                if (!*ret)
                        r = -ENOMEM;
        }
out:
        json_object_put(root);
        return r;
}

/* ---- strict JSON reader ---------------------------------------------------- */

static int get(json_object *o, const char *key, json_type type, json_object **ret)
{
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
                return -EBADMSG;
        *ret = v;
        return 0;
}

/* A string or null. */
static int get_str(json_object *o, const char *key, bool nullable, char **ret)
{
        json_object *v;

        *ret = NULL;
        if (!json_object_object_get_ex(o, key, &v))
                return -EBADMSG;
        if (!v)
                return nullable ? 0 : -EBADMSG;
        if (!json_object_is_type(v, json_type_string))
                return -EBADMSG;
        *ret = strdup(json_object_get_string(v));
        return *ret ? 0 : -ENOMEM;
}

static int get_hex(json_object *o, const char *key, uint8_t *buf, size_t n)
{
        json_object *v;

        if (get(o, key, json_type_string, &v) < 0)
                return -EBADMSG;
        return hex_decode_exact(json_object_get_string(v), buf, n) < 0 ? -EBADMSG : 0;
}

static int component_from_string(const char *s, enum txt_component *ret)
{
        for (int c = TXT_COMPONENT_SINIT; c <= TXT_COMPONENT_MODULE; c++)
                if (strcmp(s, txt_component_to_string((enum txt_component)c)) == 0) {
                        *ret = (enum txt_component)c;
                        return 0;
                }
        return -EBADMSG;
}

static int parse_steps(json_object *steps, struct expect *e)
{
        size_t n = digest_size(e->alg), count = json_object_array_length(steps);

        if (count == 0 || count > 4 + TXT_MODULES_MAX)
                return -EBADMSG;
        e->pred.steps = calloc(count, sizeof(*e->pred.steps));
        if (!e->pred.steps)
                return -ENOMEM;
        for (size_t i = 0; i < count; i++) {
                json_object *j = json_object_array_get_idx(steps, i), *v;
                struct txt_step *s = &e->pred.steps[i];
                int64_t pcr, mod;

                if (!json_object_is_type(j, json_type_object))
                        return -EBADMSG;
                if (get(j, "pcr", json_type_int, &v) < 0)
                        return -EBADMSG;
                pcr = json_object_get_int64(v);
                if (get(j, "module", json_type_int, &v) < 0)
                        return -EBADMSG;
                mod = json_object_get_int64(v);
                if (pcr < 0 || pcr >= PCR_COUNT || mod < -1 || mod >= (int64_t)TXT_MODULES_MAX)
                        return -EBADMSG;
                s->pcr = (unsigned)pcr;
                s->module = (int)mod;
                if (get(j, "component", json_type_string, &v) < 0 ||
                        component_from_string(json_object_get_string(v), &s->component) < 0)
                        return -EBADMSG;
                if (get(j, "verified", json_type_boolean, &v) < 0)
                        return -EBADMSG;
                s->verified = json_object_get_boolean(v);
                if (get_hex(j, "digest", s->digest, n) < 0)
                        return -EBADMSG;
                e->pred.n_steps++;
        }
        return 0;
}

static int parse_root(json_object *root, struct expect *e)
{
        json_object *in, *mods, *steps, *pcrs, *v;
        size_t n;
        int r;

        if (get(root, "profile", json_type_string, &v) < 0 || strcmp(json_object_get_string(v), "txt") != 0)
                return -EBADMSG;
        if (get(root, "alg", json_type_string, &v) < 0 ||
                digest_alg_from_string(json_object_get_string(v), &e->alg) < 0)
                return -EBADMSG;
        n = digest_size(e->alg);
        if (get(root, "inputs", json_type_object, &in) < 0 ||
                get(in, "modules", json_type_array, &mods) < 0 ||
                get(root, "steps", json_type_array, &steps) < 0 ||
                get(root, "pcrs", json_type_object, &pcrs) < 0)
                return -EBADMSG;
        if ((r = get_str(in, "tboot", false, &e->tboot_path)) < 0 ||
                (r = get_str(in, "tboot_cmdline", true, &e->tboot_cmdline)) < 0 ||
                (r = get_str(in, "vlp", false, &e->vlp_path)) < 0 ||
                (r = get_str(in, "sinit_data", true, &e->sinit_path)) < 0)
                return r;
        if (get_hex(in, "mle_digest", e->mle_digest, n) < 0 ||
                get_hex(in, "vlp_digest", e->vlp_digest, n) < 0 ||
                get_hex(in, "sinit_pcr17", e->sinit_pcr17, n) < 0)
                return -EBADMSG;
        if (json_object_array_length(mods) == 0 || json_object_array_length(mods) > TXT_MODULES_MAX)
                return -EBADMSG;
        for (size_t i = 0; i < json_object_array_length(mods); i++) {
                json_object *m = json_object_array_get_idx(mods, i);
                struct expect_module *em = &e->modules[i];
                if (!json_object_is_type(m, json_type_object))
                        return -EBADMSG;
                e->n_modules++;
                if ((r = get_str(m, "name", false, &em->name)) < 0 ||
                        (r = get_str(m, "path", false, &em->path)) < 0 ||
                        (r = get_str(m, "cmdline", false, &em->cmdline)) < 0)
                        return r;
                if (get_hex(m, "image_digest", em->image_digest, n) < 0)
                        return -EBADMSG;
        }
        r = parse_steps(steps, e);
        if (r < 0)
                return r;
        r = pcr_bank_init(&e->pred.bank, e->alg);
        if (r < 0)
                return r;
        for (unsigned p = 17; p <= 19; p++) {
                char key[4];
                snprintf(key, sizeof(key), "%u", p);
                if (get_hex(pcrs, key, e->pred.bank.values[p], n) < 0)
                        return -EBADMSG;
        }
        return 0;
}

int expect_from_json_string(const char *text, struct expect *ret)
{
        struct expect e = {};
        json_object *root;
        int r;

        assert(text && ret);
        root = json_tokener_parse(text);
        if (!root || !json_object_is_type(root, json_type_object)) {
                json_object_put(root);
                return -EBADMSG;
        }
        r = parse_root(root, &e);
        json_object_put(root);
        if (r < 0) {
                expect_done(&e);
                return r;
        }
        *ret = e;
        return 0;
}

/* ---- reports -------------------------------------------------------------- */

static void print_hex(FILE *f, const uint8_t *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%02x", d[i]);
}

void expect_print_pcrs(const struct expect *e, FILE *f)
{
        for (unsigned p = 17; p <= 19; p++) {
                fprintf(f, "PCR %u: ", p);
                print_hex(f, e->pred.bank.values[p], digest_size(e->alg));
                fputc('\n', f);
        }
}

void expect_print_provenance(const struct expect *e, FILE *f)
{
        size_t n = digest_size(e->alg);

        fprintf(f, "profile txt (tboot, pcr_map=legacy), %s bank\n", digest_alg_to_string(e->alg));
        for (unsigned p = 17; p <= 19; p++) {
                fprintf(f, "PCR %u = ", p);
                print_hex(f, e->pred.bank.values[p], n);
                fputc('\n', f);
                for (size_t i = 0; i < e->pred.n_steps; i++) {
                        const struct txt_step *s = &e->pred.steps[i];
                        char label[512];
                        if (s->pcr != p)
                                continue;
                        step_label(e, s, label, sizeof(label));
                        fprintf(f, "  %s %s: ", s->component == TXT_COMPONENT_SINIT ? "set   " : "extend",
                                label);
                        print_hex(f, s->digest, n);
                        if (s->component == TXT_COMPONENT_MODULE && s->module >= 0 &&
                                (size_t)s->module < e->n_modules)
                                fprintf(f, "\n      = H(H(\"%s\") || H(image %s))",
                                        e->modules[s->module].cmdline, e->modules[s->module].path);
                        if (!s->verified)
                                fprintf(f, "  [not allowed by the VLP]");
                        fputc('\n', f);
                }
        }
        for (unsigned p = 20; p <= 22; p++)
                fprintf(f, "PCR %u = 0 (reset by the dynamic launch, not extended)\n", p);
}

/* What changed in the input behind step S, between E (expected) and NOW. */
static void describe_change(
        const struct expect *e, const struct expect *now, const struct txt_step *s, char *buf, size_t size)
{
        size_t n = digest_size(e->alg);

        switch (s->component) {
        case TXT_COMPONENT_SINIT:
                snprintf(buf, size, "the SINIT measurement (PCR 17 after SINIT) changed");
                return;
        case TXT_COMPONENT_MLE:
                if ((e->tboot_cmdline == NULL) != (now->tboot_cmdline == NULL) ||
                        (e->tboot_cmdline && strcmp(e->tboot_cmdline, now->tboot_cmdline) != 0))
                        snprintf(buf, size, "the tboot command line changed ('%s' -> '%s')",
                                e->tboot_cmdline ? e->tboot_cmdline : "",
                                now->tboot_cmdline ? now->tboot_cmdline : "");
                else
                        snprintf(buf, size, "the tboot image changed (%s)", now->tboot_path);
                return;
        case TXT_COMPONENT_POLICY:
                snprintf(buf, size, "the VLP changed (%s)", now->vlp_path);
                return;
        case TXT_COMPONENT_MODULE:
                break;
        }
        if (s->module < 0 || (size_t)s->module >= e->n_modules || (size_t)s->module >= now->n_modules) {
                snprintf(buf, size, "the number of modules changed (%zu -> %zu)", e->n_modules,
                        now->n_modules);
                return;
        }
        const struct expect_module *a = &e->modules[s->module], *b = &now->modules[s->module];
        if (memcmp(a->image_digest, b->image_digest, n) != 0)
                snprintf(buf, size, "the %s image of module %d changed (%s, was %s)", b->name, s->module,
                        b->path, a->path);
        else
                snprintf(buf, size, "the %s command line of module %d changed ('%s' -> '%s')", b->name,
                        s->module, a->cmdline, b->cmdline);
}

int expect_diagnose(const struct expect *e, const struct pcr_bank *tpm, const struct expect *now,
        struct expect_diagnosis *ret)
{
        struct expect_diagnosis d = {.step = -1, .module = -1};
        size_t n = digest_size(e->alg), len;
        uint32_t diff;
        char label[512];
        int r;

        assert(e && tpm && ret);
        r = pcr_bank_diff(&e->pred.bank, tpm, EXPECT_TXT_PCRS, &diff);
        if (r < 0)
                return r;
        d.pcr_differ = diff;
        if (diff == 0) {
                snprintf(d.message, sizeof(d.message), "PCRs 17, 18, 19 equal the expectation");
                *ret = d;
                return 0;
        }
        d.first_pcr = (unsigned)__builtin_ctz(diff);
        len = (size_t)snprintf(
                d.message, sizeof(d.message), "PCR %u differs from the expectation", d.first_pcr);

        if (!now) {
                /* Without the current inputs only the candidates can be named. */
                len += (size_t)snprintf(d.message + len, sizeof(d.message) - len, "; it is made of:");
                for (size_t i = 0; i < e->pred.n_steps && len < sizeof(d.message); i++)
                        if (e->pred.steps[i].pcr == d.first_pcr) {
                                step_label(e, &e->pred.steps[i], label, sizeof(label));
                                len += (size_t)snprintf(
                                        d.message + len, sizeof(d.message) - len, " %s;", label);
                        }
                *ret = d;
                return 0;
        }

        /* Replay both step lists in order; the first step into the differing
         * PCR whose digest changed names the component. */
        for (size_t i = 0; i < e->pred.n_steps; i++) {
                const struct txt_step *a = &e->pred.steps[i];
                const struct txt_step *b = i < now->pred.n_steps ? &now->pred.steps[i] : NULL;
                if (b && a->pcr == b->pcr && a->component == b->component && a->module == b->module &&
                        memcmp(a->digest, b->digest, n) == 0)
                        continue;
                d.step = (int)i;
                d.component = a->component;
                d.module = a->module;
                break;
        }
        if (d.step < 0 && now->pred.n_steps != e->pred.n_steps)
                d.step = (int)e->pred.n_steps;
        r = pcr_bank_diff(&now->pred.bank, tpm, EXPECT_TXT_PCRS, &diff);
        if (r < 0)
                return r;
        d.explained = diff == 0;

        if (d.step >= 0 && (size_t)d.step < e->pred.n_steps) {
                char what[512];
                const struct txt_step *s = &e->pred.steps[d.step];
                step_label(now, s, label, sizeof(label));
                describe_change(e, now, s, what, sizeof(what));
                len += (size_t)snprintf(d.message + len, sizeof(d.message) - len,
                        ": step %d, PCR %u, component %s: %s", d.step, s->pcr, label, what);
        } else if (d.step >= 0)
                len += (size_t)snprintf(d.message + len, sizeof(d.message) - len,
                        ": the launch now has %zu measurement steps instead of %zu", now->pred.n_steps,
                        e->pred.n_steps);
        else
                len += (size_t)snprintf(d.message + len, sizeof(d.message) - len,
                        ": the current inputs give the expected values, so the platform launched something "
                        "else");
        if (len < sizeof(d.message))
                snprintf(d.message + len, sizeof(d.message) - len, "%s",
                        d.explained ? " (the current inputs explain the TPM's values)"
                                    : " (the current inputs do not explain the TPM's values either)");
        *ret = d;
        return 0;
}

int expect_diagnosis_to_json_string(const struct expect_diagnosis *d, char **ret)
{
        json_object *root = json_object_new_object(), *pcrs = json_object_new_array();
        int r = 0;

        if (!root || !pcrs) {
                json_object_put(root);
                json_object_put(pcrs);
                return -ENOMEM;
        }
        json_object_object_add(root, "differing_pcrs", pcrs);
        for (unsigned p = 0; p < PCR_COUNT && r == 0; p++)
                if (d->pcr_differ & (1u << p))
                        r = json_object_array_add(pcrs, json_object_new_int((int)p)) < 0 ? -ENOMEM : 0;
        r = r ?: add(root, "match", json_object_new_boolean(d->pcr_differ == 0));
        if (d->pcr_differ) {
                r = r ?: add(root, "first_pcr", json_object_new_int((int)d->first_pcr));
                r = r ?: add(root, "step", json_object_new_int(d->step));
                if (d->step >= 0)
                        r = r ?: add_str(root, "component", txt_component_to_string(d->component));
                r = r ?: add(root, "module", json_object_new_int(d->module));
                r = r ?: add(root, "explained", json_object_new_boolean(d->explained));
        }
        r = r ?: add_str(root, "message", d->message);
        if (r == 0) {
                *ret = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY));
                if (!*ret)
                        r = -ENOMEM;
        }
        json_object_put(root);
        return r;
}
