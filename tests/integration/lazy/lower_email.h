/* A custom step of libbaton-lazy: lower-cases the "email" field and refuses documents
 * whose email is not a string. Built into plugin_email.c (the plugin t_lazy_plugin.sh
 * loads) and into the unit tests of custom steps (tests/unit/test_lazy.c). */
#ifndef BATON_TEST_LOWER_EMAIL_H
#define BATON_TEST_LOWER_EMAIL_H

#include <ctype.h>
#include <stdio.h>

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

#endif
