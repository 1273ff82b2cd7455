/* Option tables (core/opt.h), the reader's side: `--help` text, man pages and bash
 * completion, all written from the verb's table so they never disagree with the parser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/opt.h"

#define HELP_COL 26 /* where the help text of an option starts */

/* The argument's placeholder of o: its `arg`, else one named after its kind. */
static const char *opt_arg(const struct opt *o)
{
    if (o->kind == OPT_FLAG)
        return NULL;
    if (o->arg)
        return o->arg;
    return o->kind == OPT_DURATION ? "DURATION" : o->kind == OPT_SIZE ? "SIZE" : "VALUE";
}

/* "--name ARG", as shown in --help and the man page; an enum without a placeholder
 * shows its words ("--mode handoff|proxy"). */
static void opt_label(const struct opt *o, char *buf, size_t cap)
{
    const char *arg = opt_arg(o);
    size_t n = (size_t)snprintf(buf, cap, "--%s%s%s", o->name, arg ? " " : "",
                                o->kind == OPT_ENUM && !o->arg ? ""
                                : arg                          ? arg
                                                               : "");
    for (int i = 0; o->kind == OPT_ENUM && !o->arg && o->names[i] && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "|" : "", o->names[i]);
}

/* The last word of a sub-command's name: "expand" of "migrate expand". */
static const char *short_name(const struct opt_verb *v)
{
    const char *sp = strrchr(v->name, ' ');
    return sp ? sp + 1 : v->name;
}

/* Writes `text` with every "\n" followed by `indent` spaces. */
static void put_indented(const char *text, int indent, FILE *out)
{
    for (const char *p = text; *p; p++) {
        fputc(*p, out);
        if (*p == '\n' && p[1])
            fprintf(out, "%*s", indent, "");
    }
}

/* "  LABEL   help (NOTE)", the help starting at column `col` (on the next line after a
 * long label), the note ("default 30s") on a line of its own when it would pass column
 * 79. */
static void help_line(const char *label, const char *help, const char *note, int col, FILE *out)
{
    int n = fprintf(out, "  %s", label);
    if (n >= col)
        fprintf(out, "\n%*s", col, "");
    else
        fprintf(out, "%*s", col - n, "");
    help = help ? help : "";
    put_indented(help, col, out);
    const char *last = strrchr(help, '\n');
    int used = col + (int)strlen(last ? last + 1 : help);
    if (note && used + (int)strlen(note) + 3 > 79)
        fprintf(out, "\n%*s(%s)", col, "", note);
    else if (note)
        fprintf(out, " (%s)", note);
    fputc('\n', out);
}

static int is_seconds(const struct opt *o)
{
    return o->kind == OPT_DURATION && o->unit && strcmp(o->unit, "s") == 0;
}

/* Writes text with its spaces turned into line breaks where a line would pass 79
 * columns. */
static void put_wrapped(const char *text, FILE *out)
{
    int col = 0;
    while (*text) {
        size_t word = strcspn(text, " ");
        if (col && col + 1 + (int)word > 79) {
            fputc('\n', out);
            col = 0;
        } else if (col) {
            fputc(' ', out);
            col++;
        }
        fwrite(text, 1, word, out);
        col += (int)word;
        text += word;
        text += *text == ' ';
    }
    fputc('\n', out);
}

/* The note on units: how durations are written, and which options read a bare number
 * as seconds (the others: milliseconds), as they did before units existed; sizes. */
static void units_note(const struct opt_verb *v, FILE *out)
{
    int durations = 0, secs = 0, sizes = 0;
    for (const struct opt *o = v->opts; o && o->name; o++)
        if (!(o->flags & OPT_HIDDEN)) {
            durations += o->kind == OPT_DURATION;
            secs += is_seconds(o);
            sizes += o->kind == OPT_SIZE;
        }
    char text[1024] = "";
    size_t n = 0;
    if (durations)
        n += (size_t)snprintf(text, sizeof(text), "durations take a unit: 250ms, 2s, 1.5m, 1h%s",
                              secs ? "; a bare number is seconds for"
                                   : " (a bare number is "
                                     "milliseconds).");
    for (const struct opt *o = v->opts; secs && o->name && n < sizeof(text); o++)
        if (is_seconds(o) && !(o->flags & OPT_HIDDEN))
            n += (size_t)snprintf(text + n, sizeof(text) - n, " --%s%s", o->name,
                                  --secs == 1 ? " and"
                                  : secs      ? ","
                                              : "");
    if (n && text[n - 1] != '.' && n < sizeof(text))
        n += (size_t)snprintf(text + n, sizeof(text) - n, " (as before units existed)%s",
                              durations > 1 ? ", milliseconds for the others." : ".");
    if (text[0] || sizes)
        fputc('\n', out);
    if (text[0])
        put_wrapped(text, out);
    if (sizes)
        put_wrapped("sizes are bytes, or take k, M or G (16k, 4M).", out);
}

/* What follows a verb's name in its usage line: "[OPTIONS] " and the synopsis (which
 * may say "[OPTIONS]" itself). */
static void synopsis(const struct opt_verb *v, char *buf, size_t cap)
{
    const char *syn = v->synopsis ? v->synopsis : "";
    int options = v->opts && !strstr(syn, "[OPTIONS]");
    snprintf(buf, cap, "%s%s%s", options ? "[OPTIONS]" : "", options && *syn ? " " : "", syn);
}

static void usage_line(const struct opt_verb *v, FILE *out)
{
    char syn[512];
    synopsis(v, syn, sizeof(syn));
    fprintf(out, "usage: baton%s%s%s%s\n", v->name[0] ? " " : "", v->name, *syn ? " " : "", syn);
}

/* What --help shows after an option's text in parentheses: "default 30s", "required",
 * "command line only" (not a key of v's config section). */
static const char *default_text(const struct opt_verb *v, const struct opt *o)
{
    static char buf[160];
    int cli_only = v->section && (o->flags & OPT_CLI_ONLY);
    if (o->flags & OPT_REQUIRED)
        snprintf(buf, sizeof(buf), "required%s", cli_only ? "; command line only" : "");
    else if (o->def && o->kind != OPT_FLAG)
        snprintf(buf, sizeof(buf), "default %s%s", o->def, cli_only ? "; command line only" : "");
    else if (cli_only)
        snprintf(buf, sizeof(buf), "command line only");
    else
        return NULL;
    return buf;
}

/* "expand [--to ID]": a sub-command and its synopsis, as its parent lists it; the
 * verbs of `baton` itself by name only. */
static void sub_label(const struct opt_verb *parent, const struct opt_verb *sub, char *buf,
                      size_t cap)
{
    int syn = parent->name[0] && sub->synopsis;
    snprintf(buf, cap, "%s%s%s", short_name(sub), syn ? " " : "", syn ? sub->synopsis : "");
}

void opt_help(const struct opt_verb *v, FILE *out)
{
    usage_line(v, out);
    if (v->about)
        fprintf(out, "\n%s", v->about);
    else if (v->summary) /* a sub-command says in its parent's words what it does */
        fprintf(out, "\n%s\n", v->summary);
    char label[128];
    int col = 0;
    for (int s = 0; v->subs && v->subs[s]; s++) {
        sub_label(v, v->subs[s], label, sizeof(label));
        col = (int)strlen(label) + 4 > col ? (int)strlen(label) + 4 : col;
    }
    if (v->subs)
        fprintf(out, "\ncommands:\n");
    for (int s = 0; v->subs && v->subs[s]; s++) {
        sub_label(v, v->subs[s], label, sizeof(label));
        help_line(label, v->subs[s]->summary, NULL, col < HELP_COL ? col : HELP_COL, out);
    }
    if (v->opts && v->section)
        fprintf(out, "\noptions (each also a key of section [%s] in --config FILE):\n", v->section);
    else if (v->opts)
        fprintf(out, "\noptions:\n");
    for (const struct opt *o = v->opts; o && o->name; o++) {
        if (o->flags & OPT_HIDDEN)
            continue;
        opt_label(o, label, sizeof(label));
        help_line(label, o->help, default_text(v, o), HELP_COL, out);
    }
    if (v->opts && v->section)
        help_line("--config FILE", "INI file; the command line wins", NULL, HELP_COL, out);
    if (v->opts)
        help_line("--help", "this text", NULL, HELP_COL, out);
    units_note(v, out);
    if (v->footer)
        fprintf(out, "\n%s", v->footer);
}

/* Writes s for roff: backslashes and '-' escaped, a line that would start a request
 * ('.' or '\'') guarded, an empty line as a paragraph break (`brk`). Returns whether
 * the output ends a line. */
static int roff_text(const char *s, const char *brk, int bol, FILE *out)
{
    for (; *s; s++) {
        if (bol && *s == '\n') {
            fprintf(out, "%s\n", brk);
            continue;
        }
        if (bol && (*s == '.' || *s == '\''))
            fputs("\\&", out);
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else
            fputc(*s, out);
        bol = *s == '\n';
    }
    return bol;
}

/* roff_text, then a newline unless the text ended one. */
static void roff(const char *s, const char *brk, FILE *out)
{
    if (!roff_text(s, brk, 1, out))
        fputc('\n', out);
}

void opt_man_name(const struct opt_verb *v, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "baton%s%s", v->name[0] ? "-" : "", v->name);
    for (size_t i = 0; i < n && i < cap; i++)
        if (buf[i] == ' ')
            buf[i] = '-';
}

static void man_head(const struct opt_verb *v, const char *source, const char *date, FILE *out)
{
    char page[128];
    opt_man_name(v, page, sizeof(page));
    fputs(".TH ", out);
    for (const char *p = page; *p; p++)
        fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, out);
    fprintf(out, " 1 \"%s\" \"%s\" \"baton manual\"\n.SH NAME\n", date, source);
    roff_text(page, "", 1, out);
    fputs(" \\- ", out);
    roff(v->summary ? v->summary : "", "", out);
    fputs(".SH SYNOPSIS\n.B baton", out);
    fputc(v->name[0] ? ' ' : '\n', out);
    roff(v->name, "", out);
    char syn[512];
    synopsis(v, syn, sizeof(syn));
    roff(syn, "", out);
    if (v->about) {
        fputs(".SH DESCRIPTION\n", out);
        roff(v->about, ".PP", out);
    }
}

static void man_item(const char *label, const char *text, const char *note, FILE *out)
{
    fputs(".TP\n.B ", out);
    roff(label, "", out);
    roff_text(text ? text : "", ".br", 1, out);
    if (note) {
        fputs(" (", out);
        roff_text(note, "", 0, out);
        fputs(")", out);
    }
    fputc('\n', out);
}

/* The options of v, --config and --help included, as a tagged list. */
static void man_options(const struct opt_verb *v, FILE *out)
{
    char label[128];
    if (!v->opts)
        return;
    fputs(".SH OPTIONS\n", out);
    if (v->section)
        fprintf(out,
                "Each option is also a key of section [%s] of the file given with "
                "\\-\\-config.\n",
                v->section);
    for (const struct opt *o = v->opts; o->name; o++) {
        if (o->flags & OPT_HIDDEN)
            continue;
        opt_label(o, label, sizeof(label));
        man_item(label, o->help, default_text(v, o), out);
    }
    if (v->section)
        man_item("--config FILE", "INI file; the command line wins", NULL, out);
    man_item("--help", "print the usage text and exit", NULL, out);
}

/* "See \fBbaton-run\fR(1)." : a reference to another page, between two texts. */
static void man_ref(const char *before, const char *page, const char *after, FILE *out)
{
    fputs(before, out);
    fputs("\\fB", out);
    roff_text(page, "", 0, out);
    fprintf(out, "\\fR(1)%s", after);
}

void opt_man(const struct opt_verb *v, const char *source, const char *date, FILE *out)
{
    char page[128];
    man_head(v, source, date, out);
    if (v->subs)
        fputs(".SH COMMANDS\n", out);
    for (int s = 0; v->subs && v->subs[s]; s++) {
        const struct opt_verb *sub = v->subs[s];
        char label[256];
        sub_label(v, sub, label, sizeof(label));
        opt_man_name(sub, page, sizeof(page));
        man_item(label, sub->summary, NULL, out);
        man_ref("See ", page, ".\n", out);
    }
    man_options(v, out);
    char *note = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&note, &len);
    if (mem) {
        units_note(v, mem);
        fclose(mem);
    }
    if (note && len > 1) {
        fputs(".SH UNITS\n", out);
        roff(note + 1, ".PP", out); /* after its leading blank line */
    }
    free(note);
    if (v->footer) {
        fputs(".SH NOTES\n.nf\n", out);
        roff(v->footer, "", out);
        fputs(".fi\n", out);
    }
    fputs(".SH SEE ALSO\n", out);
    if (!v->name[0]) {
        fputs("README.md and docs/ of baton's source.\n", out);
        return;
    }
    man_ref("", "baton", "", out);
    const char *sp = strrchr(v->name, ' ');
    if (sp) { /* the parent's page: "baton-migrate" for "migrate expand" */
        snprintf(page, sizeof(page), "baton-%.*s", (int)(sp - v->name), v->name);
        for (char *p = page; *p; p++)
            *p = *p == ' ' ? '-' : *p;
        man_ref(", ", page, "", out);
    }
    fputc('\n', out);
}

/* --- bash completion ------------------------------------------------------------ */

static const char completion_head[] =
    "# bash completion for baton: verbs, sub-commands, options and option values,\n"
    "# generated from the verbs' option tables.\n"
    "declare -gA _baton_subs _baton_opts _baton_args _baton_vals\n"
    "_baton()\n"
    "{\n"
    "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
    "    local key=baton w i skip=0\n"
    "    COMPREPLY=()\n"
    "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
    "        w=${COMP_WORDS[i]}\n"
    "        if ((skip)); then skip=0; continue; fi\n"
    "        [[ $w == -- ]] && return 0\n"
    "        if [[ $w == -* ]]; then\n"
    "            [[ \" ${_baton_args[$key]} \" == *\" $w \"* ]] && skip=1\n"
    "        elif [[ \" ${_baton_subs[$key]} \" == *\" $w \"* ]]; then\n"
    "            if [[ $key == baton ]]; then key=$w; else key=\"$key $w\"; fi\n"
    "        fi\n"
    "    done\n"
    "    if ((skip)); then\n"
    "        [[ -n ${_baton_vals[$key $prev]+set} ]] &&\n"
    "            COMPREPLY=($(compgen -W \"${_baton_vals[$key $prev]}\" -- \"$cur\"))\n"
    "        return 0\n"
    "    fi\n"
    "    if [[ $cur == -* ]]; then\n"
    "        COMPREPLY=($(compgen -W \"${_baton_opts[$key]}\" -- \"$cur\"))\n"
    "    elif [[ -n ${_baton_subs[$key]} ]]; then\n"
    "        COMPREPLY=($(compgen -W \"${_baton_subs[$key]}\" -- \"$cur\"))\n"
    "    fi\n"
    "}\n"
    "complete -o bashdefault -o default -F _baton baton\n";

void opt_completion_head(FILE *out)
{
    fputs(completion_head, out);
}

void opt_completion_verb(const struct opt_verb *v, FILE *out)
{
    const char *key = v->name[0] ? v->name : "baton";
    if (v->subs) {
        fprintf(out, "_baton_subs[%s]='", key);
        for (int s = 0; v->subs[s]; s++)
            fprintf(out, "%s%s", s ? " " : "", short_name(v->subs[s]));
        fputs("'\n", out);
    }
    if (v->opts) {
        fprintf(out, "_baton_opts[%s]='", key);
        for (const struct opt *o = v->opts; o->name; o++)
            if (!(o->flags & OPT_HIDDEN))
                fprintf(out, "--%s ", o->name);
        fprintf(out, "%s--help'\n_baton_args[%s]='", v->section ? "--config " : "", key);
        for (const struct opt *o = v->opts; o->name; o++)
            if (o->kind != OPT_FLAG)
                fprintf(out, "--%s ", o->name);
        fprintf(out, "%s'\n", v->section ? "--config" : "");
    }
    for (const struct opt *o = v->opts; o && o->name; o++) {
        if (o->kind != OPT_ENUM)
            continue;
        fprintf(out, "_baton_vals[%s --%s]='", key, o->name);
        for (int i = 0; o->names[i]; i++)
            fprintf(out, "%s%s", i ? " " : "", o->names[i]);
        fputs("'\n", out);
    }
    for (int s = 0; v->subs && v->subs[s]; s++)
        opt_completion_verb(v->subs[s], out);
}

/* --- documentation for the build ------------------------------------------------ */

/* A verb whose page this executable writes (not a stand-in for another's). */
static int documented_here(const struct opt_verb *v)
{
    return v->opts || v->subs;
}

/* The date of the pages: SOURCE_DATE_EPOCH (reproducible builds), else today. */
static void page_date(char *buf, size_t cap)
{
    const char *env = getenv("SOURCE_DATE_EPOCH");
    time_t t = env && *env ? (time_t)strtoll(env, NULL, 10) : time(NULL);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d", &tm))
        snprintf(buf, cap, "1970-01-01");
}

/* Writes the pages of v and its sub-commands into dir. */
static int write_pages(const struct opt_verb *v, const char *source, const char *date,
                       const char *dir)
{
    if (!documented_here(v))
        return 0;
    char page[128], path[4096];
    opt_man_name(v, page, sizeof(page));
    snprintf(path, sizeof(path), "%s/%s.1", dir, page);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "baton: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    opt_man(v, source, date, f);
    if (fclose(f) != 0) {
        fprintf(stderr, "baton: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    for (int s = 0; v->subs && v->subs[s]; s++)
        if (write_pages(v->subs[s], source, date, dir) < 0)
            return -1;
    return 0;
}

/* The verb named by words (sub-command short names, from root down), or NULL. */
static const struct opt_verb *find_page(const struct opt_verb *root, int n, char **words)
{
    const struct opt_verb *v = root;
    for (int i = 0; v && i < n; i++) {
        const struct opt_verb *next = NULL;
        for (int s = 0; v->subs && v->subs[s]; s++)
            if (strcmp(short_name(v->subs[s]), words[i]) == 0)
                next = v->subs[s];
        v = next;
    }
    return v && documented_here(v) ? v : NULL;
}

int opt_doc_main(const struct opt_verb *root, const char *source, int argc, char **argv)
{
    char date[32];
    struct err e;
    if (argc < 2 || (strcmp(argv[1], "--man") && strcmp(argv[1], "--man-dir") &&
                     strcmp(argv[1], "--completion")))
        return -1;
    if (opt_check(root, &e) < 0) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    page_date(date, sizeof(date));
    if (strcmp(argv[1], "--completion") == 0) {
        if (!root->name[0])
            opt_completion_head(stdout);
        opt_completion_verb(root, stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (strcmp(argv[1], "--man-dir") == 0) {
        if (argc != 3) {
            fprintf(stderr, "baton: --man-dir takes one DIR\n");
            return 1;
        }
        return write_pages(root, source, date, argv[2]) < 0 ? 1 : 0;
    }
    const struct opt_verb *v = find_page(root, argc - 2, argv + 2);
    if (!v) {
        fprintf(stderr, "baton: no manual page of '%s' in this executable\n",
                argc > 2 ? argv[argc - 1] : root->name);
        return 1;
    }
    opt_man(v, source, date, stdout);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* The parsers for a verb's main function print what opt_parse only returns: the help
 * text of --help on stdout, a usage error on stderr. */
int opt_parse_cli(const struct opt_verb *v, int argc, char **argv, void *opts, struct opt_result *r)
{
    struct err e;
    int rc = opt_parse(v, argc, argv, opts, r, &e);
    if (rc == OPT_HELP)
        opt_help(v, stdout);
    if (rc == OPT_ERROR)
        fprintf(stderr, "baton %s: %s\n", v->name, e.msg);
    return rc;
}

int opt_parse_sub_cli(const struct opt_verb *parent, int argc, char **argv,
                      const struct opt_verb **sub, void *opts, struct opt_result *r)
{
    struct err e;
    int rc = opt_parse_sub(parent, argc, argv, sub, opts, r, &e);
    if (rc == OPT_HELP)
        opt_help(*sub ? *sub : parent, stdout);
    if (rc == OPT_ERROR)
        fprintf(stderr, "baton %s: %s\n", *sub ? (*sub)->name : parent->name, e.msg);
    return rc;
}
