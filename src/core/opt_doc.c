/* Option tables (core/opt.h), the reader's side: `--help` text and man pages, both
 * written from the verb's table so they never disagree with the parser. */
#include <stdio.h>
#include <string.h>

#include "core/opt.h"

#define HELP_COL 26 /* where the help text of an option starts */

/* "--name ARG", as shown in --help and the man page. */
static void opt_label(const struct opt *o, char *buf, size_t cap)
{
    const char *arg = o->arg;
    if (!arg && o->kind == OPT_DURATION)
        arg = "DURATION";
    if (!arg && o->kind == OPT_SIZE)
        arg = "SIZE";
    if (!arg && o->kind != OPT_FLAG)
        arg = "VALUE";
    snprintf(buf, cap, "--%s%s%s", o->name, arg ? " " : "", arg ? arg : "");
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

static void help_line(const char *label, const char *help, const char *def, FILE *out)
{
    int n = fprintf(out, "  %s", label);
    if (n >= HELP_COL)
        fprintf(out, "\n%*s", HELP_COL, "");
    else
        fprintf(out, "%*s", HELP_COL - n, "");
    put_indented(help ? help : "", HELP_COL, out);
    if (def)
        fprintf(out, " (default %s)", def);
    fputc('\n', out);
}

/* The options whose bare numbers are seconds, for the note on durations. */
static void durations_note(const struct opt_verb *v, FILE *out)
{
    int any = 0, secs = 0;
    for (const struct opt *o = v->opts; o && o->name; o++)
        if (o->kind == OPT_DURATION && !(o->flags & OPT_HIDDEN)) {
            any = 1;
            secs += o->unit && strcmp(o->unit, "s") == 0;
        }
    if (!any)
        return;
    fprintf(out, "\ndurations take a unit: 250ms, 2s, 1.5m, 1h");
    if (!secs) {
        fprintf(out, " (a bare number is milliseconds)\n");
        return;
    }
    fprintf(out, "; a bare number is seconds for");
    for (const struct opt *o = v->opts; o->name; o++)
        if (o->kind == OPT_DURATION && o->unit && strcmp(o->unit, "s") == 0)
            fprintf(out, " --%s", o->name);
    fprintf(out, ",\nmilliseconds for the others\n");
}

void opt_help(const struct opt_verb *v, FILE *out)
{
    fprintf(out, "usage: baton %s %s\n", v->name, v->synopsis ? v->synopsis : "[OPTIONS]");
    if (v->about)
        fprintf(out, "\n%s", v->about);
    if (v->section)
        fprintf(out, "\noptions (each also a key of section [%s] in --config FILE):\n", v->section);
    else
        fprintf(out, "\noptions:\n");
    char label[128];
    for (const struct opt *o = v->opts; o && o->name; o++) {
        if (o->flags & OPT_HIDDEN)
            continue;
        opt_label(o, label, sizeof(label));
        help_line(label, o->help, o->kind == OPT_FLAG ? NULL : o->def, out);
    }
    if (v->section)
        help_line("--config FILE", "INI file; the command line wins", NULL, out);
    help_line("--help", "this text", NULL, out);
    durations_note(v, out);
    if (v->footer)
        fprintf(out, "\n%s", v->footer);
}

/* Writes s for roff: backslashes doubled, '-' escaped, a leading '.' or '\'' guarded. */
static void roff(const char *s, FILE *out)
{
    int bol = 1;
    for (; *s; s++) {
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
}

static void man_upper(const char *s, FILE *out)
{
    for (; *s; s++)
        fputc(*s == ' ' ? '-' : (*s >= 'a' && *s <= 'z' ? *s - 32 : *s), out);
}

void opt_man(const struct opt_verb *v, const char *date, FILE *out)
{
    fputs(".TH BATON-", out);
    man_upper(v->name, out);
    fprintf(out, " 1 \"%s\" \"baton\" \"baton manual\"\n.SH NAME\nbaton\\-", date);
    for (const char *p = v->name; *p; p++)
        fputc(*p == ' ' ? '-' : *p, out);
    fputs(" \\- ", out);
    const char *about = v->about ? v->about : "";
    const char *nl = strchr(about, '\n');
    char first[256];
    snprintf(first, sizeof(first), "%.*s", nl ? (int)(nl - about) : (int)strlen(about), about);
    roff(first, out);
    fputs("\n.SH SYNOPSIS\n\\fBbaton ", out);
    roff(v->name, out);
    fputs("\\fR ", out);
    roff(v->synopsis ? v->synopsis : "[OPTIONS]", out);
    fputs("\n.SH DESCRIPTION\n", out);
    roff(about, out);
    fputs("\n.SH OPTIONS\n", out);
    char label[128];
    for (const struct opt *o = v->opts; o && o->name; o++) {
        if (o->flags & OPT_HIDDEN)
            continue;
        opt_label(o, label, sizeof(label));
        fputs(".TP\n.B ", out);
        roff(label, out);
        fputc('\n', out);
        roff(o->help ? o->help : "", out);
        if (o->def && o->kind != OPT_FLAG) {
            fputs(" (default ", out);
            roff(o->def, out);
            fputc(')', out);
        }
        fputc('\n', out);
    }
    if (v->footer) {
        fputs(".SH NOTES\n.nf\n", out);
        roff(v->footer, out);
        fputs("\n.fi\n", out);
    }
}
