/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/tboot/mle.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "tvam/shared/macro.h"

/* ELF32 (System V ABI, i386 supplement): the fields lcp2_mlehash checks. */
#define ELF32_EHDR_SIZE 52u
#define ELF32_PHDR_SIZE 32u
#define ELF_PT_LOAD 1u
#define ELF_ET_EXEC 2u
#define ELF_EM_386 3u

/* mle_hdr_t (MLE Developer's Guide §2.1, tboot include/mle.h): uuid[16],
 * length, version, entry_point, first_valid_page, mle_start_off,
 * mle_end_off, capabilities, cmdline_start_off, cmdline_end_off (u32 LE). */
#define MLE_HDR_SIZE 52u
#define MLE_HDR_MLE_START 32u
#define MLE_HDR_MLE_END 36u
#define MLE_HDR_CMDLINE_START 44u
#define MLE_HDR_CMDLINE_END 48u

/* The MLE header UUID as it lies in memory (uuid_t: u32, u16, u16, u16, u8[6],
 * little-endian). */
static const uint8_t mle_uuid[16] = {
        0x5a,
        0xac,
        0x82,
        0x90,
        0x6f,
        0x47,
        0xa7,
        0x74,
        0x0f,
        0x5c,
        0x55,
        0xa2,
        0xcb,
        0x51,
        0xb6,
        0x42,
};

static uint32_t u32le(const uint8_t *p)
{
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t u16le(const uint8_t *p)
{
        return (uint16_t)(p[0] | p[1] << 8);
}

/* The checks of lcp2_mlehash's is_elf_image(), plus bounds on the program
 * header table (the tool trusts them; we read untrusted files). */
static int elf_check(
        const uint8_t *image, size_t size, uint32_t *ret_phoff, uint16_t *ret_phnum, uint16_t *ret_phentsize)
{
        uint32_t phoff;
        uint16_t phnum, phentsize;

        if (size < ELF32_EHDR_SIZE || memcmp(image,
                                              "\x7f"
                                              "ELF",
                                              4) != 0)
                return -EBADMSG;
        if (image[4] != 1 /* ELFCLASS32 */ || image[5] != 1 /* ELFDATA2LSB */)
                return -EBADMSG;
        if (u16le(image + 16) != ELF_ET_EXEC || u16le(image + 18) != ELF_EM_386 || u32le(image + 20) != 1)
                return -EBADMSG;
        phoff = u32le(image + 28);
        phentsize = u16le(image + 42);
        phnum = u16le(image + 44);
        if (phentsize < ELF32_PHDR_SIZE || phoff > size || (size - phoff) / phentsize < phnum)
                return -EBADMSG;
        *ret_phoff = phoff;
        *ret_phnum = phnum;
        *ret_phentsize = phentsize;
        return 0;
}

/* Step 2: PT_LOAD segments back to back, zero-filled to p_memsz.  (The
 * tool sizes its buffer by the highest p_paddr + p_memsz but fills only
 * this much; bytes beyond are never part of a valid MLE range.) */
static int elf_expand(const uint8_t *image, size_t size, uint8_t **ret, size_t *ret_size)
{
        uint32_t phoff;
        uint16_t phnum, phentsize;
        uint64_t total = 0;
        _cleanup_free_ uint8_t *buf = NULL;
        size_t off = 0;
        int r;

        r = elf_check(image, size, &phoff, &phnum, &phentsize);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < phnum; i++) {
                const uint8_t *ph = image + phoff + (size_t)i * phentsize;
                uint32_t offset = u32le(ph + 4), filesz = u32le(ph + 16), memsz = u32le(ph + 20);

                if (u32le(ph) != ELF_PT_LOAD)
                        continue;
                if (filesz > memsz || offset > size || size - offset < filesz)
                        return -EBADMSG;
                total += memsz;
        }
        if (total == 0 || total > MLE_IMAGE_MAX)
                return -EBADMSG;

        buf = calloc(1, (size_t)total);
        if (!buf)
                return -ENOMEM;
        for (unsigned i = 0; i < phnum; i++) {
                const uint8_t *ph = image + phoff + (size_t)i * phentsize;

                if (u32le(ph) != ELF_PT_LOAD)
                        continue;
                memcpy(buf + off, image + u32le(ph + 4), u32le(ph + 16));
                off += u32le(ph + 20);
        }
        *ret = TAKE_PTR(buf);
        *ret_size = (size_t)total;
        return 0;
}

int mle_hash(enum digest_alg alg, const uint8_t *image, size_t size, const char *cmdline, uint8_t *ret)
{
        _cleanup_free_ uint8_t *exp = NULL;
        size_t exp_size, pos;
        uint32_t start, end, cstart, cend;
        const uint8_t *hdr = NULL;
        int r;

        assert(image && ret);
        if (digest_size(alg) == 0)
                return -EINVAL;
        r = elf_expand(image, size, &exp, &exp_size);
        if (r < 0)
                return r;

        /* Step 3: the first UUID match on a 16-byte boundary. */
        for (pos = 0; exp_size >= MLE_HDR_SIZE && pos <= exp_size - MLE_HDR_SIZE; pos += 16)
                if (memcmp(exp + pos, mle_uuid, sizeof(mle_uuid)) == 0) {
                        hdr = exp + pos;
                        break;
                }
        if (!hdr)
                return -EBADMSG;
        start = u32le(hdr + MLE_HDR_MLE_START);
        end = u32le(hdr + MLE_HDR_MLE_END);
        cstart = u32le(hdr + MLE_HDR_CMDLINE_START);
        cend = u32le(hdr + MLE_HDR_CMDLINE_END);
        if (start >= end || end > exp_size)
                return -EBADMSG;

        /* Step 4, only when the image has a command-line area (as the tool). */
        if (cmdline && cend > cstart) {
                size_t n = strlen(cmdline);
                if (cend > exp_size)
                        return -EBADMSG;
                if (n > cend - cstart - 1u)
                        return -E2BIG; /* the tool would truncate; tboot's launch would differ */
                memset(exp + cstart, 0, cend - cstart);
                memcpy(exp + cstart, cmdline, n);
        }
        return digest_buffer(alg, exp + start, end - start, ret);
}

/* gzread() passes an uncompressed file through unchanged, as the tool's
 * read_mle_file() relies on. */
static int read_gz(const char *path, uint8_t **ret, size_t *ret_size)
{
        _cleanup_free_ uint8_t *buf = NULL;
        size_t size = 0, cap = 0;
        gzFile gz;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        gz = gzdopen(fd, "rb");
        if (!gz) {
                close(fd);
                return -ENOMEM;
        }
        for (;;) {
                int n;
                if (cap - size < 65536) {
                        uint8_t *grown;
                        if (cap >= MLE_IMAGE_MAX) {
                                gzclose(gz);
                                return -EFBIG;
                        }
                        cap = cap ? cap * 2 : 1u << 20;
                        grown = realloc(buf, cap);
                        if (!grown) {
                                gzclose(gz);
                                return -ENOMEM;
                        }
                        buf = grown;
                }
                n = gzread(gz, buf + size, 65536);
                if (n < 0) {
                        gzclose(gz);
                        return -EBADMSG; /* corrupt gzip stream */
                }
                if (n == 0)
                        break;
                size += (size_t)n;
        }
        gzclose(gz);
        *ret = TAKE_PTR(buf);
        *ret_size = size;
        return 0;
}

int mle_hash_file(enum digest_alg alg, const char *path, const char *cmdline, uint8_t *ret)
{
        _cleanup_free_ uint8_t *image = NULL;
        size_t size = 0;
        int r;

        assert(path && ret);
        r = read_gz(path, &image, &size);
        if (r < 0)
                return r;
        return mle_hash(alg, image, size, cmdline, ret);
}
