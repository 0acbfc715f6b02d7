/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/*
 * Prediction of PCRs 8 and 9 as GRUB 2.06's tpm module leaves them (Debian
 * 12 grub-efi-amd64), from the boot partition's inputs alone: grub.cfg, the
 * files the booted entry loads, the command lines.  No TPM and no earlier
 * boot are needed, so the prediction exists before the first boot.
 *
 * What GRUB measures (GRUB manual, "Measured Boot"; grub-core/commands/tpm.c
 * grub_tpm_verify_string() and grub_tpm_verify_write()), each as an EV_IPL
 * event (TCG PC Client PFP §10.4.1) whose data is the description with its
 * NUL:
 *
 *   PCR 8  every command the normal-mode script engine runs, after word
 *          splitting and quote removal, arguments joined by one space
 *          (grub-core/script/execute.c grub_script_execute_cmdline()), a
 *          block argument as "{" + its source text + "}": data "grub_cmd: "
 *          + string, digest H(string);
 *          the kernel command line the loader builds
 *          (grub-core/lib/cmdline.c grub_create_loader_cmdline(): the
 *          kernel's path and the arguments, an argument with a space in
 *          double quotes, \ ' " escaped): data "kernel_cmdline: " + string,
 *          digest H(string);
 *   PCR 9  every file GRUB opens through the verifier framework (grub.cfg,
 *          the kernel, each initrd): data = the file name as GRUB opened it,
 *          digest H(file content).
 *
 * Not measured: the configuration embedded in the GRUB image (core.img's
 * config runs in the rescue parser, grub-core/kern/rescue_parser.c, which
 * calls no verifier: checked on a real OVMF + GRUB log, docs/policy.md).
 *
 * Entering a menu entry runs "setparams" + the entry's titles first
 * (grub-core/commands/menuentry.c setparams_prefix()), then the entry's
 * commands.
 *
 * Only the subset of GRUB script that boot/tvam-grub-config generates is
 * modelled: simple commands, single and double quotes without expansion,
 * backslash escapes, comments, "menuentry" blocks, and the commands set,
 * insmod, echo, serial, terminal_input, terminal_output, menuentry, linux,
 * linuxefi, initrd, initrdefi.  Anything else (variable expansion, if/for,
 * other commands, which may read files) is refused (-EOPNOTSUPP with a
 * message) rather than predicted wrongly.  insmod is assumed to name a
 * module built into the GRUB image (tvam-mkesp builds every module in), so
 * it reads no file.
 */

#include <stddef.h>
#include <stdint.h>

#include "policy/pcr/pcr.h"
#include "tvam/shared/digest.h"
#include "tvam/shared/macro.h"

#define GRUB_PCR_STRINGS 8u /* commands and kernel command lines */
#define GRUB_PCR_FILES 9u   /* files read */

/* The file name under which tvam-mkesp's embedded configuration loads the
 * configuration ("configfile /EFI/tvam/grub.cfg": no device name, so the
 * name logged does not depend on the machine's disk enumeration). */
#define GRUB_CONFIG_PATH_DEFAULT "/EFI/tvam/grub.cfg"

/* x86 boot protocol: the kernel's command line holds at most 2047 bytes
 * (Debian 12's kernel: cmdline_size 2047); GRUB cuts what does not fit
 * (grub_create_loader_cmdline() stops at the first argument that does not
 * fit), which is refused here instead of predicted. */
#define GRUB_KERNEL_CMDLINE_MAX 2047u

/* A file on the boot partition: its name as the configuration names it
 * ("/vmlinuz") and the digest of its content in the predicted bank. */
struct grub_file {
        const char *path;
        uint8_t digest[DIGEST_MAX_SIZE];
};

struct grub_boot {
        enum digest_alg alg;
        const char *config; /* grub.cfg's bytes */
        size_t config_size;
        const char *config_path; /* as GRUB names it; NULL: GRUB_CONFIG_PATH_DEFAULT */
        const char *entry;       /* id, title or index; NULL: the configuration's "default" */
        const struct grub_file *files;
        size_t n_files;
};

/* One predicted event, in the order GRUB measures. */
struct grub_event {
        unsigned pcr;
        char *data; /* the event data without its trailing NUL */
        uint8_t digest[DIGEST_MAX_SIZE];
};

struct grub_prediction {
        enum digest_alg alg;
        struct grub_event *events;
        size_t n_events;
        struct pcr_bank bank; /* PCRs 8 and 9 after the events; the rest zero */
        char *entry_id;       /* the entry booted (its --id, else its title) */
};

/*
 * Predict the events and PCRs 8 and 9 of booting IN's entry.  On failure
 * ERR (if given) receives a one-line reason, e.g. "line 12: variable
 * expansion ('$') is not modelled".
 *
 * Returns 0; -EOPNOTSUPP for script GRUB runs differently than modelled,
 * -EBADMSG for a malformed configuration (unterminated quote or block),
 * -ENOENT when the entry does not exist or a loaded file is not among
 * IN->files, -E2BIG for a kernel command line GRUB would cut, -EINVAL,
 * -ENOMEM.
 */
int grub_predict(const struct grub_boot *in, struct grub_prediction *ret, char *err, size_t err_size);

void grub_prediction_done(struct grub_prediction *p);
