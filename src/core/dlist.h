/* Intrusive doubly linked lists (control requests, admin and proxy connections, idle
 * backend connections): nodes with `prev`/`next` to their own type, a head pointer. */
#ifndef BATON_CORE_DLIST_H
#define BATON_CORE_DLIST_H

/* Puts node at the front of the list whose first node is `head`. */
#define DLIST_PUSH(head, node)                                                                     \
    do {                                                                                           \
        (node)->prev = NULL;                                                                       \
        (node)->next = (head);                                                                     \
        if ((node)->next)                                                                          \
            (node)->next->prev = (node);                                                           \
        (head) = (node);                                                                           \
    } while (0)

/* Takes node out of the list whose first node is `head`; node's own pointers are left
 * as they were. */
#define DLIST_UNLINK(head, node)                                                                   \
    do {                                                                                           \
        if ((node)->prev)                                                                          \
            (node)->prev->next = (node)->next;                                                     \
        else                                                                                       \
            (head) = (node)->next;                                                                 \
        if ((node)->next)                                                                          \
            (node)->next->prev = (node)->prev;                                                     \
    } while (0)

#endif
