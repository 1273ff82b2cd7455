/* A custom-step plugin for `baton lazy --plugin`: lower-cases the "email" field and
 * refuses documents whose email is not a string (lower_email.h). Built by
 * t_lazy_plugin.sh. */
#include <baton/lazy.h>

#include "lower_email.h"

const struct lazy_custom baton_lazy_customs[] = {
    {"lower_email", lower_email, NULL},
    {NULL, NULL, NULL},
};
