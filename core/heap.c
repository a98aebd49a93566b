/* See heap.h. */
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/heap.h"

#define HUGE_PAGE ((uintptr_t)2 << 20)
#define CHUNK ((size_t)30 << 20)	/* under the mmap threshold set below */
#define MAX_CHUNKS 16

void heap_prepare(size_t bytes)
{
	void *chunk[MAX_CHUNKS];
	size_t n = bytes / CHUNK;
	char *start, *end;
	uintptr_t from;

	if (n > MAX_CHUNKS)
		n = MAX_CHUNKS;
	/* big arrays on the heap (glibc's largest threshold is 32 MB), and
	 * the heap kept once grown */
	if (!n || !mallopt(M_MMAP_THRESHOLD, 32 << 20) || !mallopt(M_TRIM_THRESHOLD, 1 << 30))
		return;
	start = sbrk(0);
	for (size_t i = 0; i < n; i++)
		chunk[i] = malloc(CHUNK);
	for (size_t i = n; i-- > 0;)
		free(chunk[i]);	/* merged back into the heap's top, untouched */
	end = sbrk(0);
	from = ((uintptr_t)start + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	if (start != (char *)-1 && (uintptr_t)end > from + HUGE_PAGE)
		madvise((void *)from, (uintptr_t)end - from, MADV_HUGEPAGE);
}
