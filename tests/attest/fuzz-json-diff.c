/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Differential libFuzzer target: the verifier's JSON parser (json-util.c,
 * a fast path for plain documents, json-c's tokenizer for the rest) must
 * agree with json-c on every input — accept exactly what json-c accepts
 * and build the same objects.  The fast path is compiled in (its static
 * functions are reached by including the source) so that it is compared
 * by itself, not only through the fallback.
 */
#include "tvam/verify/json-util.c"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct fast f = { .p = (const char *)data, .end = (const char *)data + size };
        json_object *fast_obj = NULL, *ref, *parsed = NULL;
        json_tokener *tok;
        bool fast_ok = false;
        int r;

        fast_ws(&f);
        if (f.p < f.end && *f.p == '{' && fast_value(&f, 0, &fast_obj) == 0) {
                fast_ws(&f);
                fast_ok = f.p == f.end;
        }
        tok = json_tokener_new();
        if (!tok)
                abort();
        ref = json_tokener_parse_ex(tok, (const char *)data, (int)size);
        json_tokener_free(tok);

        if (fast_ok) {
                if (!ref) {
                        fprintf(stderr, "the fast path accepted what json-c refuses\n");
                        abort();
                }
                if (!json_object_equal(fast_obj, ref) ||
                    strcmp(json_object_to_json_string_ext(fast_obj, JSON_C_TO_STRING_PLAIN),
                           json_object_to_json_string_ext(ref, JSON_C_TO_STRING_PLAIN)) != 0) {
                        fprintf(stderr, "the fast path and json-c built different objects\n");
                        abort();
                }
        }

        /* The public entry point: the same verdict and objects as json-c. */
        r = json_parse((const char *)data, size, &parsed);
        if ((r == 0) != (ref != NULL)) {
                fprintf(stderr, "json_parse returned %d, json-c %s\n", r, ref ? "accepted" : "refused");
                abort();
        }
        if (r == 0 && strcmp(json_object_to_json_string(parsed), json_object_to_json_string(ref)) != 0)
                abort();

        json_object_put(parsed);
        json_object_put(fast_obj);
        json_object_put(ref);
        return 0;
}
