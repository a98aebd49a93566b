/* core/heap: after heap_prepare the heap is grown at once and advised for
 * huge pages ("hg" in its VmFlags), so that a pool built in it takes few
 * page faults; big allocations come from it; malloc works as before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/heap.h"
#include "tests/unit/check.h"

/* The VmFlags of the [heap] mappings in /proc/self/smaps, joined (an
 * madvise on part of the heap splits it in two), and their total size. */
static void heap_flags(char *out, size_t n, unsigned long *size_kb)
{
	FILE *fp = fopen("/proc/self/smaps", "re");
	char line[512];
	size_t len = 0;
	int in_heap = 0;

	out[0] = 0;
	*size_kb = 0;
	while (fp && fgets(line, sizeof line, fp)) {
		char *dash = strchr(line, '-'), *sp = strchr(line, ' ');

		if (dash && sp && dash < sp)
			in_heap = strstr(line, "[heap]") != NULL;
		else if (in_heap && !strncmp(line, "Size:", 5))
			*size_kb += strtoul(line + 5, NULL, 10);
		else if (in_heap && !strncmp(line, "VmFlags:", 8) && len + 1 < n)
			len += (size_t)snprintf(out + len, n - len, "%s|", strtok(line + 8, "\n"));
	}
	if (fp)
		fclose(fp);
}

static int thp_available(void)
{
	FILE *fp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
	char buf[128] = "";

	if (!fp)
		return 0;
	if (!fgets(buf, sizeof buf, fp))
		buf[0] = 0;
	fclose(fp);
	return !strstr(buf, "[never]");
}

int main(void)
{
	char flags[2048];
	unsigned long kb;
	char *start = sbrk(0), *p, *big;

#ifdef __SANITIZE_ADDRESS__
	/* the sanitizer's malloc: heap_prepare changes nothing to look at */
	heap_prepare((size_t)96 << 20);
	big = malloc(100);
	check(big != NULL, "malloc works after heap_prepare (sanitizer build)", "%p", (void *)big);
	free(big);
	printf("skip - the heap is grown and advised: a sanitizer build has its own malloc\n");
	(void)heap_flags;
	(void)thp_available;
	(void)p;
	(void)kb;
	(void)flags;
	(void)start;
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
#endif
	heap_prepare((size_t)96 << 20);
	p = sbrk(0);
	check(p - start >= (90 << 20), "the heap is grown at once by about the size asked",
	      "grown by %ld MB", (long)((p - start) >> 20));
	heap_flags(flags, sizeof flags, &kb);
	if (thp_available())
		check(strstr(flags, " hg") != NULL, "the heap is advised for huge pages (VmFlags hg)",
		      "[heap] %lu kB, VmFlags:%s", kb, flags);
	else
		printf("skip - the heap is advised for huge pages: the kernel has no transparent huge pages\n");
	/* a 4 MB array (glibc would mmap it by default) comes from the heap */
	big = malloc((size_t)4 << 20);
	check(big && big >= start && big < (char *)sbrk(0), "a 4 MB allocation comes from the heap",
	      "%p not in [%p, %p)", (void *)big, (void *)start, sbrk(0));
	memset(big, 1, (size_t)4 << 20);
	big = realloc(big, (size_t)24 << 20);
	check(big && big[(4 << 20) - 1] == 1, "realloc keeps the contents", "%p", (void *)big);
	free(big);
	heap_prepare(0);	/* nothing asked: nothing done */
	check(sbrk(0) == p, "heap_prepare(0) changes nothing", "%p != %p", sbrk(0), (void *)p);
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
