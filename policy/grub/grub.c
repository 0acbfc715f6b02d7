/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/grub/grub.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Lexer: the subset of GRUB script tvam-grub-config writes ----------
 *
 * Rules of grub-core/script/yylex.l and parser.y that matter here: blanks
 * separate words, a newline or ';' ends a command, '#' at the start of a
 * word starts a comment, '...' is literal, "..." is literal except that \
 * escapes $ " \ and newline, \ outside quotes escapes the next character
 * (\newline joins lines), and a stand-alone { ... } is a block whose source
 * text (between the braces) becomes the argument "{" text "}".
 */

struct command {
        char **words;
        size_t n_words;
        char *block; /* source text between { and }, or NULL */
        unsigned line;
};

struct commands {
        struct command *v;
        size_t n;
};

struct lexer {
        const char *text;
        size_t size, pos;
        unsigned line;
        char *err;
        size_t err_size;
};

static int failf(char *err, size_t err_size, int r, const char *fmt, ...) _printf_(4, 5);
static int failf(char *err, size_t err_size, int r, const char *fmt, ...)
{
        va_list ap;

        if (err && err_size > 0) {
                va_start(ap, fmt);
                vsnprintf(err, err_size, fmt, ap);
                va_end(ap);
        }
        return r;
}

#define lex_fail(lx, r, fmt, ...) failf((lx)->err, (lx)->err_size, r, "line %u: " fmt, (lx)->line, ##__VA_ARGS__)

static void command_done(struct command *c)
{
        for (size_t i = 0; i < c->n_words; i++)
                free(c->words[i]);
        free(c->words);
        free(c->block);
}

static void commands_done(struct commands *cs)
{
        for (size_t i = 0; i < cs->n; i++)
                command_done(&cs->v[i]);
        free(cs->v);
        *cs = (struct commands){};
}

/* A growing string. */
struct buf {
        char *s;
        size_t n, cap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
        if (b->n + n + 1 > b->cap) {
                size_t cap = (b->n + n + 1) * 2;
                char *p = realloc(b->s, cap);
                if (!p)
                        return -ENOMEM;
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->n, s, n);
        b->n += n;
        b->s[b->n] = '\0';
        return 0;
}

static int buf_putc(struct buf *b, char c)
{
        return buf_put(b, &c, 1);
}

static bool is_blank(char c)
{
        return c == ' ' || c == '\t';
}

static int peek(const struct lexer *lx)
{
        return lx->pos < lx->size ? (unsigned char)lx->text[lx->pos] : -1;
}

/* One word at lx->pos (blanks already skipped).  *ret_quoted: any part was
 * quoted or escaped (so "{" in quotes is no block). */
static int lex_word(struct lexer *lx, struct buf *w, bool *ret_quoted)
{
        bool quoted = false;
        int c, r;

        while ((c = peek(lx)) >= 0 && !is_blank((char)c) && c != '\n' && c != ';') {
                lx->pos++;
                if (c == '\'') {
                        quoted = true;
                        while ((c = peek(lx)) >= 0 && c != '\'') {
                                if (c == '\n')
                                        lx->line++;
                                if ((r = buf_putc(w, (char)c)) < 0)
                                        return r;
                                lx->pos++;
                        }
                        if (c < 0)
                                return lex_fail(lx, -EBADMSG, "unterminated single quote");
                        lx->pos++;
                } else if (c == '"') {
                        quoted = true;
                        while ((c = peek(lx)) >= 0 && c != '"') {
                                lx->pos++;
                                if (c == '$')
                                        return lex_fail(lx, -EOPNOTSUPP, "variable expansion ('$') is not modelled");
                                if (c == '\\' && (peek(lx) == '$' || peek(lx) == '"' || peek(lx) == '\\')) {
                                        c = peek(lx);
                                        lx->pos++;
                                } else if (c == '\\' && peek(lx) == '\n') {
                                        lx->pos++;
                                        lx->line++;
                                        continue;
                                }
                                if (c == '\n')
                                        lx->line++;
                                if ((r = buf_putc(w, (char)c)) < 0)
                                        return r;
                        }
                        if (c < 0)
                                return lex_fail(lx, -EBADMSG, "unterminated double quote");
                        lx->pos++;
                } else if (c == '\\') {
                        quoted = true;
                        c = peek(lx);
                        if (c < 0)
                                return lex_fail(lx, -EBADMSG, "backslash at the end of the file");
                        lx->pos++;
                        if (c == '\n') { /* line continuation */
                                lx->line++;
                                continue;
                        }
                        if ((r = buf_putc(w, (char)c)) < 0)
                                return r;
                } else if (c == '$')
                        return lex_fail(lx, -EOPNOTSUPP, "variable expansion ('$') is not modelled");
                else if (c == '|' || c == '&' || c == '<' || c == '>' || c == '\r')
                        return lex_fail(lx, -EOPNOTSUPP, "'%c' is not modelled", c == '\r' ? 'r' : c);
                else if ((r = buf_putc(w, (char)c)) < 0)
                        return r;
        }
        *ret_quoted = quoted;
        return 0;
}

static bool is_keyword(const char *w)
{
        static const char *const keywords[] = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done",
                "while", "until", "function", "case", "esac", "select", "[[", "]]", "!"};

        for (size_t i = 0; i < ELEMENTSOF(keywords); i++)
                if (strcmp(w, keywords[i]) == 0)
                        return true;
        return false;
}

static int lex_commands(struct lexer *lx, bool in_block, struct commands *ret);

static int command_add_word(struct command *c, char *w)
{
        char **v = realloc(c->words, (c->n_words + 1) * sizeof(*v));
        if (!v)
                return -ENOMEM;
        c->words = v;
        c->words[c->n_words++] = w;
        return 0;
}

/* The block after "{": its commands are checked here (and run later, when
 * the entry is booted); its source text is kept verbatim. */
static int lex_block(struct lexer *lx, struct command *c)
{
        struct commands inner = {};
        size_t start = lx->pos;
        unsigned line = lx->line;
        int r;

        if (c->block)
                return lex_fail(lx, -EOPNOTSUPP, "a second block in one command is not modelled");
        r = lex_commands(lx, true, &inner);
        commands_done(&inner);
        if (r < 0)
                return r;
        if (peek(lx) != '}')
                return failf(lx->err, lx->err_size, -EBADMSG, "line %u: block without its closing '}'", line);
        c->block = strndup(lx->text + start, lx->pos - start);
        if (!c->block)
                return -ENOMEM;
        lx->pos++; /* the '}' */
        return 0;
}

/* Commands until the end (or, in a block, until a '}' word at the start of
 * a command, left unread). */
static int lex_commands(struct lexer *lx, bool in_block, struct commands *ret)
{
        struct command c = {};
        int ch, r = 0;

        for (;;) {
                struct buf w = {};
                bool quoted = false;

                while ((ch = peek(lx)) >= 0 && is_blank((char)ch))
                        lx->pos++;
                if (ch == '#' ) { /* a comment: to the end of the line */
                        while ((ch = peek(lx)) >= 0 && ch != '\n')
                                lx->pos++;
                }
                if (ch < 0 || ch == '\n' || ch == ';') {
                        if (c.n_words > 0) {
                                struct command *v = realloc(ret->v, (ret->n + 1) * sizeof(*v));
                                if (!v) {
                                        r = -ENOMEM;
                                        break;
                                }
                                ret->v = v;
                                ret->v[ret->n++] = c;
                                c = (struct command){};
                        } else if (c.block) {
                                r = lex_fail(lx, -EBADMSG, "a block without a command");
                                break;
                        }
                        if (ch < 0) {
                                if (in_block)
                                        r = lex_fail(lx, -EBADMSG, "block without its closing '}'");
                                break;
                        }
                        if (ch == '\n')
                                lx->line++;
                        lx->pos++;
                        continue;
                }
                if (c.block) {
                        r = lex_fail(lx, -EOPNOTSUPP, "words after a block are not modelled");
                        break;
                }
                if (c.n_words == 0 && in_block && ch == '}') {
                        size_t save = lx->pos;
                        lx->pos++;
                        ch = peek(lx);
                        if (ch < 0 || is_blank((char)ch) || ch == '\n' || ch == ';') {
                                lx->pos = save; /* the caller consumes it */
                                break;
                        }
                        lx->pos = save;
                }
                if (c.n_words == 0)
                        c.line = lx->line;
                r = lex_word(lx, &w, &quoted);
                if (r < 0) {
                        free(w.s);
                        break;
                }
                if (!w.s && (r = buf_put(&w, "", 0)) < 0)
                        break;
                if (!quoted && strcmp(w.s, "{") == 0) {
                        free(w.s);
                        if (c.n_words == 0) {
                                r = lex_fail(lx, -EOPNOTSUPP, "a block without a command is not modelled");
                                break;
                        }
                        if (in_block) {
                                r = lex_fail(lx, -EOPNOTSUPP, "nested blocks (submenu) are not modelled");
                                break;
                        }
                        r = lex_block(lx, &c);
                        if (r < 0)
                                break;
                        continue;
                }
                if (!quoted && (strcmp(w.s, "}") == 0 || (c.n_words == 0 && is_keyword(w.s)))) {
                        r = lex_fail(lx, -EOPNOTSUPP, "'%s' is not modelled", w.s);
                        free(w.s);
                        break;
                }
                r = command_add_word(&c, w.s);
                if (r < 0) {
                        free(w.s);
                        break;
                }
        }
        command_done(&c);
        return r;
}

static int parse_script(const char *text, size_t size, unsigned first_line, char *err, size_t err_size,
        struct commands *ret)
{
        struct lexer lx = {.text = text, .size = size, .line = first_line, .err = err, .err_size = err_size};
        int r;

        *ret = (struct commands){};
        if (memchr(text, '\0', size))
                return failf(err, err_size, -EBADMSG, "the configuration contains a NUL byte");
        r = lex_commands(&lx, false, ret);
        if (r < 0)
                commands_done(ret);
        return r;
}

/* ---- Execution: what GRUB measures ------------------------------------ */

struct entry {
        const struct command *cmd; /* the menuentry command */
        const char *id;            /* --id, or NULL */
        size_t first_title, n_titles;
};

struct run {
        const struct grub_boot *in;
        struct grub_prediction *p;
        char *err;
        size_t err_size;
        char *default_entry;
        struct entry *entries;
        size_t n_entries;
};

static int add_event(struct run *x, unsigned pcr, const char *prefix, const char *data, const uint8_t *digest)
{
        struct grub_event *v = realloc(x->p->events, (x->p->n_events + 1) * sizeof(*v));
        struct grub_event *e;
        int r;

        if (!v)
                return -ENOMEM;
        x->p->events = v;
        e = &v[x->p->n_events];
        *e = (struct grub_event){.pcr = pcr};
        if (asprintf(&e->data, "%s%s", prefix, data) < 0)
                return -ENOMEM;
        memcpy(e->digest, digest, digest_size(x->in->alg));
        x->p->n_events++;
        r = pcr_extend(&x->p->bank, pcr, digest, digest_size(x->in->alg));
        return r;
}

/* grub_tpm_verify_string(): the digest covers the string, the event data
 * has the prefix. */
static int measure_string(struct run *x, const char *prefix, const char *s)
{
        uint8_t d[DIGEST_MAX_SIZE];
        int r = digest_buffer(x->in->alg, s, strlen(s), d);
        if (r < 0)
                return r;
        return add_event(x, GRUB_PCR_STRINGS, prefix, s, d);
}

/* grub_tpm_verify_write(): the whole file, named as it was opened. */
static int measure_file(struct run *x, const char *path, unsigned line)
{
        for (size_t i = 0; i < x->in->n_files; i++)
                if (strcmp(x->in->files[i].path, path) == 0)
                        return add_event(x, GRUB_PCR_FILES, "", path, x->in->files[i].digest);
        return failf(x->err, x->err_size, -ENOENT, "line %u: GRUB loads '%s', which is not among the given files",
                line, path);
}

/* The argv GRUB's script engine builds, joined by one space
 * (grub_script_execute_cmdline()); a block is "{" text "}". */
static int join_command(const struct command *c, char **ret)
{
        struct buf b = {};
        int r = 0;

        for (size_t i = 0; i < c->n_words && r == 0; i++) {
                if (i > 0)
                        r = buf_putc(&b, ' ');
                if (r == 0)
                        r = buf_put(&b, c->words[i], strlen(c->words[i]));
        }
        if (r == 0 && c->block) {
                r = buf_put(&b, " {", 2);
                if (r == 0)
                        r = buf_put(&b, c->block, strlen(c->block));
                if (r == 0)
                        r = buf_putc(&b, '}');
        }
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}

/* grub_create_loader_cmdline() (grub-core/lib/cmdline.c): arguments joined
 * by one space; \ ' " get a backslash; an argument with a space is put in
 * double quotes. */
static int loader_cmdline(const struct command *c, char **ret)
{
        struct buf b = {};
        int r = 0;

        for (size_t i = 1; i < c->n_words && r == 0; i++) {
                const char *a = c->words[i];
                bool space = strchr(a, ' ') != NULL;
                if (i > 1)
                        r = buf_putc(&b, ' ');
                if (r == 0 && space)
                        r = buf_putc(&b, '"');
                for (; *a && r == 0; a++) {
                        if (*a == '\\' || *a == '\'' || *a == '"')
                                r = buf_putc(&b, '\\');
                        if (r == 0)
                                r = buf_putc(&b, *a);
                }
                if (r == 0 && space)
                        r = buf_putc(&b, '"');
        }
        if (r < 0) {
                free(b.s);
                return r;
        }
        *ret = b.s;
        return 0;
}

/* menuentry's options (grub-core/commands/menuentry.c options[]); the other
 * words are its titles. */
static int parse_entry(struct run *x, const struct command *c, struct entry *e)
{
        *e = (struct entry){.cmd = c};
        for (size_t i = 1; i < c->n_words; i++) {
                const char *w = c->words[i];
                if (strncmp(w, "--", 2) != 0) {
                        if (e->n_titles == 0)
                                e->first_title = i;
                        else if (e->first_title + e->n_titles != i)
                                return failf(x->err, x->err_size, -EOPNOTSUPP,
                                        "line %u: menuentry titles split by options are not modelled", c->line);
                        e->n_titles++;
                        continue;
                }
                if (strcmp(w, "--unrestricted") == 0)
                        continue;
                if (strcmp(w, "--id") == 0 || strcmp(w, "--class") == 0 || strcmp(w, "--users") == 0 ||
                        strcmp(w, "--hotkey") == 0) {
                        if (i + 1 >= c->n_words)
                                return failf(x->err, x->err_size, -EBADMSG, "line %u: %s needs a value", c->line, w);
                        if (strcmp(w, "--id") == 0)
                                e->id = c->words[i + 1];
                        i++;
                        continue;
                }
                if (strncmp(w, "--id=", 5) == 0) {
                        e->id = w + 5;
                        continue;
                }
                return failf(x->err, x->err_size, -EOPNOTSUPP, "line %u: menuentry option '%s' is not modelled",
                        c->line, w);
        }
        if (e->n_titles == 0)
                return failf(x->err, x->err_size, -EBADMSG, "line %u: menuentry without a title", c->line);
        if (!c->block)
                return failf(x->err, x->err_size, -EBADMSG, "line %u: menuentry without a block", c->line);
        return 0;
}

static int run_command(struct run *x, const struct command *c, bool top)
{
        _cleanup_free_ char *s = NULL;
        const char *name = c->words[0];
        int r;

        r = join_command(c, &s);
        if (r < 0)
                return r;
        /* Measured before it runs (grub_script_execute_cmdline()). */
        r = measure_string(x, "grub_cmd: ", s);
        if (r < 0)
                return r;
        if (c->block && strcmp(name, "menuentry") != 0)
                return failf(x->err, x->err_size, -EOPNOTSUPP, "line %u: a block for '%s' is not modelled", c->line,
                        name);

        if (strcmp(name, "menuentry") == 0) {
                struct entry *v;
                if (!top)
                        return failf(x->err, x->err_size, -EOPNOTSUPP,
                                "line %u: a menuentry inside an entry is not modelled", c->line);
                v = realloc(x->entries, (x->n_entries + 1) * sizeof(*v));
                if (!v)
                        return -ENOMEM;
                x->entries = v;
                return parse_entry(x, c, &x->entries[x->n_entries++]);
        }
        if (strcmp(name, "set") == 0) {
                for (size_t i = 1; i < c->n_words; i++)
                        if (strncmp(c->words[i], "default=", 8) == 0) {
                                free(x->default_entry);
                                x->default_entry = strdup(c->words[i] + 8);
                                if (!x->default_entry)
                                        return -ENOMEM;
                        }
                return 0;
        }
        if (strcmp(name, "insmod") == 0 || strcmp(name, "echo") == 0 || strcmp(name, "serial") == 0 ||
                strcmp(name, "terminal_input") == 0 || strcmp(name, "terminal_output") == 0)
                return 0;
        if (strcmp(name, "linux") == 0 || strcmp(name, "linuxefi") == 0) {
                _cleanup_free_ char *cmdline = NULL;
                if (c->n_words < 2)
                        return failf(x->err, x->err_size, -EBADMSG, "line %u: %s without a kernel", c->line, name);
                /* The verifier measures the kernel when the loader opens it,
                 * then the loader measures the command line it builds. */
                r = measure_file(x, c->words[1], c->line);
                if (r < 0)
                        return r;
                r = loader_cmdline(c, &cmdline);
                if (r < 0)
                        return r;
                if (strlen("BOOT_IMAGE=") + strlen(cmdline) > GRUB_KERNEL_CMDLINE_MAX)
                        return failf(x->err, x->err_size, -E2BIG,
                                "line %u: the kernel command line is longer than the kernel takes (%u bytes)",
                                c->line, GRUB_KERNEL_CMDLINE_MAX);
                return measure_string(x, "kernel_cmdline: ", cmdline);
        }
        if (strcmp(name, "initrd") == 0 || strcmp(name, "initrdefi") == 0) {
                if (c->n_words < 2)
                        return failf(x->err, x->err_size, -EBADMSG, "line %u: %s without a file", c->line, name);
                for (size_t i = 1; i < c->n_words; i++) /* opened in order (grub_initrd_init()) */
                        if ((r = measure_file(x, c->words[i], c->line)) < 0)
                                return r;
                return 0;
        }
        return failf(x->err, x->err_size, -EOPNOTSUPP, "line %u: command '%s' is not modelled", c->line, name);
}

/* GRUB's default: an index, else an id, else a title
 * (grub-core/normal/menu.c get_and_remove_first_entry_number(), menuentry ids). */
static const struct entry *find_entry(const struct run *x, const char *want)
{
        char *end;
        unsigned long idx;

        errno = 0;
        idx = strtoul(want, &end, 10);
        if (*want >= '0' && *want <= '9' && *end == '\0' && errno == 0)
                return idx < x->n_entries ? &x->entries[idx] : NULL;
        for (size_t i = 0; i < x->n_entries; i++)
                if (x->entries[i].id && strcmp(x->entries[i].id, want) == 0)
                        return &x->entries[i];
        for (size_t i = 0; i < x->n_entries; i++)
                if (strcmp(x->entries[i].cmd->words[x->entries[i].first_title], want) == 0)
                        return &x->entries[i];
        return NULL;
}

/* Booting an entry: "setparams TITLES" (menuentry.c setparams_prefix()),
 * then its commands. */
static int run_entry(struct run *x, const struct entry *e)
{
        struct command setparams = {.line = e->cmd->line};
        struct commands body = {};
        char **titles = e->cmd->words + e->first_title;
        int r;

        setparams.words = calloc(e->n_titles + 1, sizeof(char *));
        if (!setparams.words)
                return -ENOMEM;
        setparams.words[0] = (char *)"setparams";
        memcpy(setparams.words + 1, titles, e->n_titles * sizeof(char *));
        setparams.n_words = e->n_titles + 1;
        {
                _cleanup_free_ char *s = NULL;
                r = join_command(&setparams, &s);
                free(setparams.words);
                if (r < 0)
                        return r;
                r = measure_string(x, "grub_cmd: ", s);
                if (r < 0)
                        return r;
        }
        r = parse_script(e->cmd->block, strlen(e->cmd->block), e->cmd->line, x->err, x->err_size, &body);
        if (r < 0)
                return r;
        for (size_t i = 0; i < body.n && r >= 0; i++)
                r = run_command(x, &body.v[i], false);
        commands_done(&body);
        return r;
}

void grub_prediction_done(struct grub_prediction *p)
{
        if (!p)
                return;
        for (size_t i = 0; i < p->n_events; i++)
                free(p->events[i].data);
        free(p->events);
        free(p->entry_id);
        *p = (struct grub_prediction){};
}

int grub_predict(const struct grub_boot *in, struct grub_prediction *ret, char *err, size_t err_size)
{
        struct grub_prediction p = {.alg = in ? in->alg : 0};
        struct run x = {.in = in, .p = &p, .err = err, .err_size = err_size};
        struct commands top = {};
        const struct entry *e;
        uint8_t d[DIGEST_MAX_SIZE];
        int r;

        assert(in && ret);
        if (err && err_size > 0)
                err[0] = '\0';
        if (digest_size(in->alg) == 0 || !in->config || (in->n_files > 0 && !in->files))
                return -EINVAL;
        r = pcr_bank_init(&p.bank, in->alg);
        if (r < 0)
                return r;

        r = parse_script(in->config, in->config_size, 1, err, err_size, &top);
        if (r < 0)
                return r;
        /* The configuration file itself first (configfile opens it). */
        r = digest_buffer(in->alg, in->config, in->config_size, d);
        if (r >= 0)
                r = add_event(&x, GRUB_PCR_FILES, "", in->config_path ? in->config_path : GRUB_CONFIG_PATH_DEFAULT, d);
        for (size_t i = 0; i < top.n && r >= 0; i++)
                r = run_command(&x, &top.v[i], true);
        if (r >= 0) {
                const char *want = in->entry ? in->entry : x.default_entry ? x.default_entry : "0";
                e = find_entry(&x, want);
                if (!e)
                        r = failf(err, err_size, -ENOENT, "no menu entry '%s' in the configuration", want);
                else {
                        p.entry_id = strdup(e->id ? e->id : e->cmd->words[e->first_title]);
                        r = p.entry_id ? run_entry(&x, e) : -ENOMEM;
                }
        }
        commands_done(&top);
        free(x.default_entry);
        free(x.entries);
        if (r < 0) {
                grub_prediction_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}
