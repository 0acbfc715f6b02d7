/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Expectation of the launch PCRs (profile `txt`): the inputs of a launch
 * (tboot's MLE hash, the VLP, SINIT's PCR 17, the modules) with their
 * digests, the replay steps of txt_predict() and the resulting PCRs 17–19.
 * Stored as JSON (the file `tvam-policy predict --output` writes and
 * `tvamctl policy show/diagnose` read), so that a later diagnosis can say
 * which *input* changed, not only which PCR.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/tboot/txt.h"

#define EXPECT_TXT_PCRS ((1u << 17) | (1u << 18) | (1u << 19))

struct expect_module {
        char *name, *path, *cmdline;
        uint8_t image_digest[DIGEST_MAX_SIZE];
};

struct expect {
        enum digest_alg alg;
        char *tboot_path, *tboot_cmdline; /* cmdline NULL: the image's own area */
        uint8_t mle_digest[DIGEST_MAX_SIZE];
        char *vlp_path;
        uint8_t *vlp; /* only when gathered from files; JSON keeps the digest */
        size_t vlp_size;
        uint8_t vlp_digest[DIGEST_MAX_SIZE];
        char *sinit_path; /* NULL: PCR 17 value supplied as recorded */
        uint8_t sinit_pcr17[DIGEST_MAX_SIZE];
        struct expect_module modules[TXT_MODULES_MAX];
        size_t n_modules;

        /* results */
        struct txt_prediction pred;
        uint8_t vlp_type;
        size_t n_unverified;
};

void expect_done(struct expect *e);

/* Fill an expectation's inputs from files: tboot (+ its command line),
 * VLP, SINIT data file or recorded PCR 17 (exactly one), modules (path,
 * cmdline).  Strings are copied. */
int expect_gather_txt(struct expect *e, enum digest_alg alg, const char *tboot, const char *tboot_cmdline,
        const char *vlp, const char *sinit_data, const uint8_t *sinit_pcr17, const char *const *module_names,
        const char *const *module_paths, const char *const *module_cmdlines, size_t n_modules);

/* Run txt_predict() over the gathered inputs. */
int expect_predict(struct expect *e);

int expect_to_json_string(const struct expect *e, char **ret);
/* Strict: every field present and well-formed, else -EBADMSG. */
int expect_from_json_string(const char *text, struct expect *ret);

/* "PCR 17: <hex>" lines. */
void expect_print_pcrs(const struct expect *e, FILE *f);
/* Per PCR: the expected value and the steps (inputs) that make it. */
void expect_print_provenance(const struct expect *e, FILE *f);

struct expect_diagnosis {
        uint32_t pcr_differ; /* PCRs 17–19 where the TPM differs */
        unsigned first_pcr;  /* lowest of them (0 if none) */
        int step;            /* first differing replay step, -1 unknown */
        enum txt_component component;
        int module;
        bool explained; /* the current inputs predict the TPM's values */
        char message[1024];
};

/* Compare E with the TPM's PCRS; NOW (optional) is a prediction from the
 * current inputs, used to name the step/input that changed. */
int expect_diagnose(const struct expect *e, const struct pcr_bank *tpm, const struct expect *now,
        struct expect_diagnosis *ret);
int expect_diagnosis_to_json_string(const struct expect_diagnosis *d, char **ret);
