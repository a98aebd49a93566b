/* The malloc heap made ready for an allocation-heavy phase: loading a
 * libsolv pool (a Debian index: tens of MB in thousands of small and
 * growing arrays) takes some 9000 page faults, which on a virtual machine
 * cost as much CPU as the load itself.  Backed by 2 MB transparent huge
 * pages, they are some 750: a lock's CPU time halves. */
#ifndef PKGIMG_CORE_HEAP_H
#define PKGIMG_CORE_HEAP_H

#include <stddef.h>

/* Grows the heap by about `bytes` at once (untouched: virtual memory only)
 * and advises huge pages on it (MADV_HUGEPAGE).  Process-wide and for good:
 * allocations up to 32 MB come from the heap rather than from mmap, and
 * memory freed stays with the process until it exits (a command's life).
 * Best effort: where the kernel has no transparent huge pages, or malloc is
 * not glibc's (a sanitizer's), only the heap's growth changes. */
void heap_prepare(size_t bytes);

#endif
