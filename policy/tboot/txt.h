/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * PCR 17/18/19 prediction for the `txt` launch profile: tboot 1.10.5 with
 * its default pcr_map=legacy and extpol=sha256 (tboot/common/cmdline.c),
 * replaying the measurement sequence of an Intel TXT launch:
 *
 *   SINIT   PCR 17 after SINIT (all SINIT's own extends: SINIT hash, LCP,
 *           …): recorded from the platform, or H(0 || H(DATA)) for the
 *           swtpm stand-in `swtpm_ioctl -h DATA`;
 *   MLE     SINIT extends PCR 18 with the MLE (tboot) hash (mle.h);
 *   then tboot at locality 2, in the order of its vl_entries list
 *   (tboot/common/policy.c verify_g_policy(), verify_all_modules();
 *   tboot/common/tboot.c extend_pcrs()):
 *   POLICY  PCR 17 <- H(policy_control (u32 LE) || H(VLP)), the VLP hash
 *           replaced by zeros when TB_POLCTL_EXTEND_PCR17 is clear;
 *   MODULE  module 0 into PCR 18 (always, policy entry or not); then every
 *           module i into the PCR of its VLP entry (find_policy_entry():
 *           first entry with mod_num i or "any"), unless that is "none".
 *           A module measures as H(H(cmdline) || H(image)), cmdline being
 *           what follows the file name (policy.c skip_filename()).
 *
 * NV entries of the VLP are measured only with tboot's measure_nv=true
 * (default false) and are not modelled: txt_predict() refuses them
 * (-EOPNOTSUPP) rather than guess.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/digest.h"

#define TXT_MODULES_MAX 32u /* tboot's MAX_VL_HASHES */

enum txt_component {
        TXT_COMPONENT_SINIT,
        TXT_COMPONENT_MLE,
        TXT_COMPONENT_POLICY,
        TXT_COMPONENT_MODULE,
};

struct txt_module {
        const char *name;    /* for reports: "kernel", "initrd", a path */
        const char *cmdline; /* arguments after the file name; NULL = "" */
        uint8_t image_digest[DIGEST_MAX_SIZE];
};

struct txt_launch {
        enum digest_alg alg; /* the PCR bank (tboot's extpol) */
        uint8_t sinit_pcr17[DIGEST_MAX_SIZE];
        uint8_t mle_digest[DIGEST_MAX_SIZE];
        const uint8_t *vlp; /* encoded tb_policy_t as written to NV */
        size_t vlp_size;
        const struct txt_module *modules; /* module 0 = kernel */
        size_t n_modules;
};

/* One step of the replay.  The SINIT step *sets* PCR 17; all others extend. */
struct txt_step {
        unsigned pcr;
        enum txt_component component;
        int module;    /* module number, -1 for other components */
        bool verified; /* MODULE: the VLP allows this hash (or "any") */
        uint8_t digest[DIGEST_MAX_SIZE];
};

struct txt_prediction {
        struct pcr_bank bank; /* 17–22 after the launch; all others zero */
        struct txt_step *steps;
        size_t n_steps;
        uint8_t vlp_type;    /* tboot acts on a verification failure by it */
        size_t n_unverified; /* modules the VLP does not allow */
};

void txt_prediction_done(struct txt_prediction *p);

/* PCR 17 after `swtpm_ioctl -h DATA`: H(0…0 || H(DATA)). */
int txt_sinit_pcr17_from_data(enum digest_alg alg, const void *data, size_t size, uint8_t *ret);

/* tboot's skip_filename(): leading spaces, the file name, then spaces are
 * removed ("  /foo/bar   baz" -> "baz").  Returns a pointer into LINE. */
const char *txt_skip_filename(const char *line);

/* Replay the launch.  -EBADMSG: the VLP does not decode; -EOPNOTSUPP: the
 * VLP has NV entries; -EINVAL: bad parameters.  A module the VLP does not
 * allow is still measured (tboot measures before it verifies); the caller
 * decides from vlp_type / n_unverified whether such a launch halts. */
int txt_predict(const struct txt_launch *launch, struct txt_prediction *ret);

const char *txt_component_to_string(enum txt_component c);
