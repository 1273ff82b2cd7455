/* A custom-step plugin for `baton lazy --plugin`: lower-cases the "email" field and
 * refuses documents whose email is not a string. Built by t_lazy_plugin.sh. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <baton/lazy.h>

static int lower_email(json_t *doc, const char *id, void *arg, char *msg, size_t size)
{
    json_t *v = json_object_get(doc, "email");
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        snprintf(msg, size, "'email' is not a string");
        return -1;
    }
    char buf[320];
    snprintf(buf, sizeof(buf), "%s", json_string_value(v));
    for (char *p = buf; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return json_object_set_new(doc, "email", json_string(buf));
}

const struct lazy_custom baton_lazy_customs[] = {
    {"lower_email", lower_email, NULL},
    {NULL, NULL, NULL},
};
