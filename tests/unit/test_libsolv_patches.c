/*
 * test_libsolv_patches.c - prove the pkgimg patches to libsolv 0.7.23
 * (deps/patches/libsolv/NN-*.patch) by construction.
 *
 *   b  02-sig-canonical-text: clearsigned (type 0x01) InRelease signatures
 *      verify with solvsig_create/solvsig_verify, also for subkeys
 *   c  03-deb-replaces-obsoletes: Replaces only becomes obsoletes together
 *      with a matching Conflicts/Breaks
 *   d  04-deb-essential: "Essential: yes" -> void attribute "deb:essential",
 *      surviving repo_write + repo_add_solv
 *   e  05-debdb-status: repo_add_debdb only loads "... installed" stanzas
 *   f  10-deb-priority-important: "Priority:" -> num "deb:priority" (apt's
 *      order), "Important: yes"/"Protected: yes" -> void "deb:important"
 *   g  11-solv-keep-dep-order: Depends keep their order through repo_write
 *      + repo_add_solv (apt visits them in that order)
 *
 * usage: test_libsolv_patches [INRELEASE... ]
 *   Without arguments every *_InRelease file in /var/lib/apt/lists is checked.
 *   PKGIMG_KEYRING overrides /usr/share/keyrings/debian-archive-keyring.gpg.
 *
 * Output: "ok - NAME" / "not ok - NAME" lines, then "N passed, N failed".
 * Exit status is non-zero if any check failed.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>
#include <solv/repo_deb.h>
#include <solv/repo_pubkey.h>
#include <solv/chksum.h>
#include <solv/solvable.h>

static int npassed, nfailed, nskipped;

static void
check(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
check(int cond, const char *fmt, ...)
{
  va_list ap;
  printf("%s - ", cond ? "ok" : "not ok");
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf("\n");
  if (cond)
    npassed++;
  else
    nfailed++;
  fflush(stdout);
}

static void
skip(const char *name, const char *why)
{
  printf("ok - %s # SKIP %s\n", name, why);
  nskipped++;
}

static Pool *
new_deb_pool(void)
{
  Pool *pool = pool_create();
  pool_setdisttype(pool, DISTTYPE_DEB);
  pool_setarch(pool, "amd64");
  return pool;
}

static Repo *
repo_from_packages(Pool *pool, const char *name, const char *text, int flags)
{
  Repo *repo = repo_create(pool, name);
  FILE *fp = fmemopen((void *)text, strlen(text), "r");
  if (!fp)
    {
      perror("fmemopen");
      exit(2);
    }
  repo_add_debpackages(repo, fp, flags);
  fclose(fp);
  return repo;
}

static Solvable *
find_solvable(Repo *repo, const char *name)
{
  Pool *pool = repo->pool;
  Id p, nameid = pool_str2id(pool, name, 0);
  Solvable *s;
  if (!nameid)
    return 0;
  FOR_REPO_SOLVABLES(repo, p, s)
    if (s->name == nameid)
      return s;
  return 0;
}

/* number of obsoletes of s, and whether one matches solvable t */
static int
count_obsoletes(Solvable *s)
{
  Id *pp;
  int n = 0;
  if (!s->obsoletes)
    return 0;
  for (pp = s->repo->idarraydata + s->obsoletes; *pp; pp++)
    n++;
  return n;
}

static int
obsoletes_match(Solvable *s, Solvable *t)
{
  Pool *pool = s->repo->pool;
  Id *pp;
  if (!s->obsoletes)
    return 0;
  for (pp = s->repo->idarraydata + s->obsoletes; *pp; pp++)
    if (pool_match_nevr(pool, t, *pp))
      return 1;
  return 0;
}

static const char *
obsoletes_str(Solvable *s)
{
  Pool *pool = s->repo->pool;
  static char buf[1024];
  Id *pp;
  buf[0] = 0;
  if (!s->obsoletes)
    return "(none)";
  for (pp = s->repo->idarraydata + s->obsoletes; *pp; pp++)
    {
      if (buf[0])
	strncat(buf, ", ", sizeof(buf) - strlen(buf) - 1);
      strncat(buf, pool_dep2str(pool, *pp), sizeof(buf) - strlen(buf) - 1);
    }
  return buf;
}

/* ---------------------------------------------------------------- (c) */

static void
test_replaces_obsoletes(void)
{
  static const char pkgs[] =
    "Package: a\nVersion: 1\nArchitecture: all\nReplaces: x\nBreaks: y\n\n"
    "Package: b\nVersion: 1\nArchitecture: all\nReplaces: y\nBreaks: y\n\n"
    "Package: c\nVersion: 1\nArchitecture: all\nReplaces: z (<< 2)\nBreaks: z (<< 1.5)\n\n"
    "Package: d\nVersion: 1\nArchitecture: all\nReplaces: w\nConflicts: q, w (<< 3)\n\n"
    "Package: e\nVersion: 1\nArchitecture: all\nReplaces: v (<< 3)\nConflicts: v\n\n"
    "Package: f\nVersion: 1\nArchitecture: all\nReplaces: u\n\n";
  static const char others[] =
    "Package: x\nVersion: 1\nArchitecture: all\n\n"
    "Package: y\nVersion: 1\nArchitecture: all\n\n"
    "Package: z\nVersion: 1.2\nArchitecture: all\n\n"
    "Package: w\nVersion: 2\nArchitecture: all\n\n"
    "Package: v\nVersion: 2\nArchitecture: all\n\n"
    "Package: u\nVersion: 1\nArchitecture: all\n\n";
  static const char others2[] =
    "Package: z\nVersion: 1.7\nArchitecture: all\n\n"
    "Package: w\nVersion: 4\nArchitecture: all\n\n"
    "Package: v\nVersion: 4\nArchitecture: all\n\n";
  Pool *pool = new_deb_pool();
  Repo *repo = repo_from_packages(pool, "test", pkgs, 0);
  Repo *orepo = repo_from_packages(pool, "others", others, 0);
  Repo *orepo2 = repo_from_packages(pool, "others2", others2, 0);
  Solvable *a = find_solvable(repo, "a"), *b = find_solvable(repo, "b");
  Solvable *c = find_solvable(repo, "c"), *d = find_solvable(repo, "d");
  Solvable *e = find_solvable(repo, "e"), *f = find_solvable(repo, "f");
  Solvable *x = find_solvable(orepo, "x"), *y = find_solvable(orepo, "y");
  Solvable *z12 = find_solvable(orepo, "z"), *z17 = find_solvable(orepo2, "z");
  Solvable *w2 = find_solvable(orepo, "w"), *w4 = find_solvable(orepo2, "w");
  Solvable *v2 = find_solvable(orepo, "v"), *v4 = find_solvable(orepo2, "v");
  Solvable *u = find_solvable(orepo, "u");

  if (!a || !b || !c || !d || !e || !f || !x || !y || !z12 || !z17 || !w2 || !w4 || !v2 || !v4 || !u)
    {
      check(0, "deb-replaces: test packages parsed");
      pool_free(pool);
      return;
    }
  check(count_obsoletes(a) == 0 && !obsoletes_match(a, y) && !obsoletes_match(a, x),
	"deb-replaces: 'Replaces: x' + 'Breaks: y' obsoletes nothing (got %s)", obsoletes_str(a));
  check(count_obsoletes(b) == 1 && obsoletes_match(b, y),
	"deb-replaces: 'Replaces: y' + 'Breaks: y' obsoletes y (got %s)", obsoletes_str(b));
  check(count_obsoletes(c) == 1 && obsoletes_match(c, z12) && !obsoletes_match(c, z17),
	"deb-replaces: 'Replaces: z (<< 2)' + 'Breaks: z (<< 1.5)' obsoletes z 1.2 but not z 1.7 (got %s)", obsoletes_str(c));
  check(count_obsoletes(d) == 1 && obsoletes_match(d, w2) && !obsoletes_match(d, w4),
	"deb-replaces: 'Replaces: w' + 'Conflicts: w (<< 3)' obsoletes w (<< 3) only (got %s)", obsoletes_str(d));
  check(count_obsoletes(e) == 1 && obsoletes_match(e, v2) && !obsoletes_match(e, v4),
	"deb-replaces: 'Replaces: v (<< 3)' + 'Conflicts: v' obsoletes v (<< 3) only (got %s)", obsoletes_str(e));
  check(count_obsoletes(f) == 0 && !obsoletes_match(f, u),
	"deb-replaces: 'Replaces: u' without conflicts obsoletes nothing (got %s)", obsoletes_str(f));
  pool_free(pool);
}

/* ---------------------------------------------------------------- (d) */

static void
test_essential(const char *tmpdir)
{
  static const char pkgs[] =
    "Package: ess\nVersion: 1\nArchitecture: amd64\nEssential: yes\n\n"
    "Package: notess\nVersion: 1\nArchitecture: amd64\nEssential: no\n\n"
    "Package: plain\nVersion: 1\nArchitecture: amd64\n\n";
  Pool *pool = new_deb_pool();
  Repo *repo = repo_from_packages(pool, "test", pkgs, 0);
  Id key = pool_str2id(pool, "deb:essential", 1);
  Solvable *s;
  char path[4096];
  FILE *fp;
  int ok;

  s = find_solvable(repo, "ess");
  check(s && solvable_lookup_void(s, key), "deb-essential: 'Essential: yes' sets deb:essential after repo_add_debpackages");
  s = find_solvable(repo, "notess");
  check(s && !solvable_lookup_void(s, key), "deb-essential: 'Essential: no' does not set deb:essential");
  s = find_solvable(repo, "plain");
  check(s && !solvable_lookup_void(s, key), "deb-essential: no Essential field does not set deb:essential");

  snprintf(path, sizeof(path), "%s/essential.solv", tmpdir);
  fp = fopen(path, "w");
  ok = fp && repo_write(repo, fp) == 0;
  if (fp && fclose(fp) != 0)
    ok = 0;
  check(ok, "deb-essential: repo_write succeeds");
  pool_free(pool);

  pool = new_deb_pool();
  repo = repo_create(pool, "reloaded");
  fp = fopen(path, "r");
  ok = fp && repo_add_solv(repo, fp, 0) == 0;
  if (fp)
    fclose(fp);
  check(ok, "deb-essential: repo_add_solv succeeds");
  key = pool_str2id(pool, "deb:essential", 0);
  s = find_solvable(repo, "ess");
  check(key && s && solvable_lookup_void(s, key), "deb-essential: deb:essential survives repo_write + repo_add_solv");
  s = find_solvable(repo, "notess");
  check(s && (!key || !solvable_lookup_void(s, key)), "deb-essential: non-essential stays non-essential after reload");
  pool_free(pool);
}

/* ---------------------------------------------------------------- (f, g) */

static Repo *
write_and_reload(Repo *repo, const char *tmpdir, const char *file, Pool **poolp)
{
  char path[4096];
  FILE *fp;
  int ok;

  snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
  fp = fopen(path, "w");
  ok = fp && repo_write(repo, fp) == 0;
  if (fp && fclose(fp) != 0)
    ok = 0;
  pool_free(*poolp);
  *poolp = new_deb_pool();
  repo = repo_create(*poolp, "reloaded");
  fp = ok ? fopen(path, "r") : 0;
  ok = fp && repo_add_solv(repo, fp, 0) == 0;
  if (fp)
    fclose(fp);
  return ok ? repo : 0;
}

static void
test_priority_and_order(const char *tmpdir)
{
  static const char pkgs[] =
    "Package: req\nVersion: 1\nArchitecture: amd64\nPriority: required\nImportant: yes\n"
    "Depends: zz, aa | bb, mm (>= 1)\nPre-Depends: yy, cc\n\n"
    "Package: opt\nVersion: 1\nArchitecture: amd64\nPriority: optional\nProtected: yes\n\n"
    "Package: odd\nVersion: 1\nArchitecture: amd64\nPriority: weird\n\n"
    "Package: none\nVersion: 1\nArchitecture: amd64\n\n";
  static const char *const order[] = { "zz", "aa | bb", "mm >= 1", 0, "yy", "cc" };
  Pool *pool = new_deb_pool();
  Repo *repo = repo_from_packages(pool, "test", pkgs, 0);
  Id prio, imp, *dp;
  Solvable *s;
  int i, same;

  repo = write_and_reload(repo, tmpdir, "prio.solv", &pool);
  check(repo != 0, "deb-priority: repo_write + repo_add_solv succeed");
  if (!repo)
    return;
  prio = pool_str2id(pool, "deb:priority", 0);
  imp = pool_str2id(pool, "deb:important", 0);
  s = find_solvable(repo, "req");
  check(s && prio && solvable_lookup_num(s, prio, 0) == 1, "deb-priority: required is 1");
  check(s && imp && solvable_lookup_void(s, imp), "deb-priority: 'Important: yes' sets deb:important");
  s = find_solvable(repo, "opt");
  check(s && prio && solvable_lookup_num(s, prio, 0) == 4, "deb-priority: optional is 4");
  check(s && imp && solvable_lookup_void(s, imp), "deb-priority: 'Protected: yes' sets deb:important");
  s = find_solvable(repo, "odd");
  check(s && prio && solvable_lookup_num(s, prio, 0) == 5, "deb-priority: an unknown priority is 5");
  s = find_solvable(repo, "none");
  check(s && solvable_lookup_num(s, prio, 0) == 0 && !solvable_lookup_void(s, imp),
        "deb-priority: no field, no attribute");
  s = find_solvable(repo, "req");
  same = s && s->requires;
  dp = same ? s->repo->idarraydata + s->requires : 0;
  for (i = 0; same && i < 6; i++, dp++)
    same = order[i] ? *dp && *dp != SOLVABLE_PREREQMARKER && !strcmp(pool_dep2str(pool, *dp), order[i])
                    : *dp == SOLVABLE_PREREQMARKER;
  check(same && !*dp, "solv-keep-dep-order: Depends, marker, Pre-Depends in the Packages order after reload");
  pool_free(pool);
}

/* ---------------------------------------------------------------- (e) */

static int
mkdirs(const char *path)
{
  char buf[4096], *p;
  snprintf(buf, sizeof(buf), "%s", path);
  for (p = buf + 1; *p; p++)
    if (*p == '/')
      {
	*p = 0;
	if (mkdir(buf, 0755) && errno != EEXIST)
	  return -1;
	*p = '/';
      }
  return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

static void
test_debdb_status(const char *tmpdir)
{
  static const char status[] =
    "Package: inst\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n\n"
    "Package: conffiles\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n\n"
    "Package: unpacked\nStatus: install ok unpacked\nVersion: 1\nArchitecture: amd64\n\n"
    "Package: halfconf\nStatus: install ok half-configured\nVersion: 1\nArchitecture: amd64\n\n"
    "Package: notinst\nStatus: purge ok not-installed\nArchitecture: amd64\n\n"
    "Package: held\nStatus: hold ok installed\nVersion: 2\nArchitecture: amd64\n\n"
    "Package: removing\nStatus: deinstall ok installed\nVersion: 3\nArchitecture: amd64\n";
  char dir[4096], path[4096 + 16];
  FILE *fp;
  Pool *pool;
  Repo *repo;
  int r;

  snprintf(dir, sizeof(dir), "%s/root/var/lib/dpkg", tmpdir);
  snprintf(path, sizeof(path), "%s/status", dir);
  if (mkdirs(dir) || !(fp = fopen(path, "w")))
    {
      check(0, "debdb-status: create fake status file (%s)", strerror(errno));
      return;
    }
  fputs(status, fp);
  fclose(fp);

  pool = new_deb_pool();
  snprintf(dir, sizeof(dir), "%s/root", tmpdir);
  pool_set_rootdir(pool, dir);
  repo = repo_create(pool, "@System");
  r = repo_add_debdb(repo, REPO_USE_ROOTDIR);
  check(r == 0, "debdb-status: repo_add_debdb reads the status file");
  check(repo->nsolvables == 3, "debdb-status: 3 of 7 stanzas loaded (got %d)", repo->nsolvables);
  check(find_solvable(repo, "inst") != 0, "debdb-status: 'install ok installed' is loaded");
  check(find_solvable(repo, "held") != 0, "debdb-status: 'hold ok installed' is loaded");
  check(find_solvable(repo, "removing") != 0, "debdb-status: 'deinstall ok installed' is loaded");
  check(find_solvable(repo, "conffiles") == 0, "debdb-status: 'deinstall ok config-files' loads zero solvables");
  check(find_solvable(repo, "unpacked") == 0, "debdb-status: 'install ok unpacked' is skipped");
  check(find_solvable(repo, "halfconf") == 0, "debdb-status: 'install ok half-configured' is skipped");
  check(find_solvable(repo, "notinst") == 0, "debdb-status: 'purge ok not-installed' is skipped");
  pool_free(pool);

  /* repo_add_debpackages itself still loads everything */
  pool = new_deb_pool();
  repo = repo_from_packages(pool, "plain", status, 0);
  check(repo->nsolvables == 7, "debdb-status: repo_add_debpackages without DEBS_ONLY_INSTALLED loads all 7 (got %d)", repo->nsolvables);
  pool_free(pool);
}

/* ---------------------------------------------------------------- (b) */

static char *
slurp(const char *path, size_t *lenp)
{
  FILE *fp = fopen(path, "rb");
  char *buf = 0;
  size_t len = 0, cap = 0, n;
  if (!fp)
    return 0;
  for (;;)
    {
      if (cap - len < 65536)
	{
	  cap = cap ? cap * 2 : 65536;
	  buf = realloc(buf, cap + 1);
	}
      n = fread(buf + len, 1, cap - len, fp);
      if (n == 0)
	break;
      len += n;
    }
  fclose(fp);
  buf[len] = 0;
  if (lenp)
    *lenp = len;
  return buf;
}

struct clearsigned {
  char *text;			/* RFC 4880 7.1 canonical text */
  size_t textl;
  unsigned char *sig;		/* binary signature packets */
  size_t sigl;
};

/* split a clearsigned message into canonical text and binary signature */
static int
parse_clearsigned(char *buf, struct clearsigned *cs)
{
  char *p = buf, *line, *nl, *b64 = 0;
  size_t b64l = 0, cap;
  int state = 0;	/* 0: BEGIN line, 1: armor headers, 2: text, 3: sig headers, 4: sig body */
  int ntextlines = 0;

  memset(cs, 0, sizeof(*cs));
  cap = strlen(buf) + 16;
  cs->text = malloc(cap * 2);	/* worst case: every LF becomes CRLF */
  b64 = malloc(cap);
  while (*p)
    {
      size_t l;
      line = p;
      nl = strchr(p, '\n');
      if (nl)
	{
	  *nl = 0;
	  p = nl + 1;
	}
      else
	p += strlen(p);
      l = strlen(line);
      if (l && line[l - 1] == '\r')
	line[--l] = 0;
      switch (state)
	{
	case 0:
	  if (!strcmp(line, "-----BEGIN PGP SIGNED MESSAGE-----"))
	    state = 1;
	  break;
	case 1:
	  if (!l)
	    state = 2;
	  break;
	case 2:
	  if (!strcmp(line, "-----BEGIN PGP SIGNATURE-----"))
	    {
	      state = 3;
	      break;
	    }
	  /* undo dash escaping, then strip trailing blanks */
	  if (line[0] == '-' && line[1] == ' ')
	    {
	      line += 2;
	      l -= 2;
	    }
	  while (l && (line[l - 1] == ' ' || line[l - 1] == '\t'))
	    line[--l] = 0;
	  if (ntextlines++)
	    {
	      memcpy(cs->text + cs->textl, "\r\n", 2);
	      cs->textl += 2;
	    }
	  memcpy(cs->text + cs->textl, line, l);
	  cs->textl += l;
	  break;
	case 3:
	  if (!l)
	    state = 4;
	  break;
	case 4:
	  if (!strcmp(line, "-----END PGP SIGNATURE-----"))
	    {
	      state = 5;
	      break;
	    }
	  if (line[0] == '=')
	    break;		/* CRC24 line */
	  for (; *line; line++)
	    if (*line != ' ' && *line != '\t')
	      b64[b64l++] = *line;
	  break;
	default:
	  break;
	}
    }
  if (state != 5 || !b64l || b64l % 4)
    {
      free(b64);
      return 0;
    }
  cs->sig = malloc(b64l / 4 * 3 + 1);
  {
    int n = EVP_DecodeBlock(cs->sig, (unsigned char *)b64, (int)b64l);
    if (n < 0)
      {
	free(b64);
	return 0;
      }
    /* EVP_DecodeBlock counts padding as zero bytes */
    if (b64[b64l - 1] == '=')
      n--;
    if (b64[b64l - 2] == '=')
      n--;
    cs->sigl = n;
  }
  free(b64);
  return 1;
}

/* length of the OpenPGP packet at p (header included), 0 on error */
static size_t
pgp_packet_len(const unsigned char *p, size_t l, int *tagp)
{
  size_t hl, bl;
  if (l < 2 || !(p[0] & 0x80))
    return 0;
  if (p[0] & 0x40)
    {
      *tagp = p[0] & 0x3f;
      if (p[1] < 192)
	hl = 2, bl = p[1];
      else if (p[1] < 224)
	{
	  if (l < 3)
	    return 0;
	  hl = 3, bl = ((p[1] - 192) << 8) + p[2] + 192;
	}
      else if (p[1] == 255)
	{
	  if (l < 6)
	    return 0;
	  hl = 6, bl = (size_t)p[2] << 24 | p[3] << 16 | p[4] << 8 | p[5];
	}
      else
	return 0;	/* partial body lengths: not used for signatures */
    }
  else
    {
      int lt = p[0] & 3;
      *tagp = (p[0] >> 2) & 0x0f;
      if (lt == 3)
	return 0;
      hl = 1 + (1 << lt);
      if (l < hl)
	return 0;
      if (lt == 0)
	bl = p[1];
      else if (lt == 1)
	bl = p[1] << 8 | p[2];
      else
	bl = (size_t)p[1] << 24 | p[2] << 16 | p[3] << 8 | p[4];
    }
  if (hl + bl > l)
    return 0;
  return hl + bl;
}

static Solvsig *
solvsig_from_mem(const unsigned char *pkt, size_t pktl)
{
  Solvsig *ss;
  FILE *fp = fmemopen((void *)pkt, pktl, "r");
  if (!fp)
    return 0;
  ss = solvsig_create(fp);
  fclose(fp);
  return ss;
}

static Id
verify_one(Solvsig *ss, Repo *keys, const char *text, size_t textl)
{
  Chksum *chk;
  Id p;
  if (!ss->htype)
    return 0;
  chk = solv_chksum_create(ss->htype);
  solv_chksum_add(chk, text, (int)textl);
  p = solvsig_verify(ss, keys, chk);
  solv_chksum_free(chk, 0);
  return p;
}

static void
test_inrelease(const char *path, const char *keyring)
{
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  struct clearsigned cs;
  char *buf;
  FILE *fp;
  Pool *pool;
  Repo *keys, *keys_nosub;
  size_t off, pl;
  int tag, nsigs = 0, nverified = 0, nknown = 0, nbad = 0, nsubkey = 0, nsubkey_nosub = 0;
  int ntampered = 0;
  char *tampered;

  if (!(buf = slurp(path, 0)))
    {
      check(0, "inrelease %s: read (%s)", base, strerror(errno));
      return;
    }
  if (!parse_clearsigned(buf, &cs))
    {
      check(0, "inrelease %s: parse clearsigned message", base);
      free(buf);
      return;
    }
  pool = pool_create();
  keys = repo_create(pool, "keys");
  keys_nosub = repo_create(pool, "keys-nosub");
  if (!(fp = fopen(keyring, "r")))
    {
      check(0, "inrelease %s: open keyring %s (%s)", base, keyring, strerror(errno));
      goto out;
    }
  repo_add_keyring(keys, fp, ADD_WITH_SUBKEYS);
  rewind(fp);
  repo_add_keyring(keys_nosub, fp, 0);
  fclose(fp);

  tampered = malloc(cs.textl + 1);
  memcpy(tampered, cs.text, cs.textl);
  if (cs.textl)
    tampered[cs.textl / 2] ^= 0x01;

  for (off = 0; off < cs.sigl; off += pl)
    {
      Solvsig *ss;
      Id p;
      pl = pgp_packet_len(cs.sig + off, cs.sigl - off, &tag);
      if (!pl)
	{
	  check(0, "inrelease %s: signature packet framing at offset %zu", base, off);
	  break;
	}
      if (tag != 2)
	continue;
      nsigs++;
      ss = solvsig_from_mem(cs.sig + off, pl);
      if (!ss)
	{
	  check(0, "inrelease %s: solvsig_create accepts signature %d (type 0x01 canonical text)", base, nsigs);
	  nbad++;
	  continue;
	}
      if (repo_find_pubkey(keys, ss->keyid))
	{
	  Solvable *ks;
	  nknown++;
	  p = verify_one(ss, keys, cs.text, cs.textl);
	  ks = p ? pool_id2solvable(pool, p) : 0;
	  if (p)
	    {
	      nverified++;
	      if (!strcmp(pool_id2str(pool, ks->name), "gpg-subkey"))
		{
		  nsubkey++;
		  if (verify_one(ss, keys_nosub, cs.text, cs.textl))
		    nsubkey_nosub++;
		}
	    }
	  else
	    nbad++;
	  printf("# %s: signature %d by %s (%s) %s\n", base, nsigs, ss->keyid,
		 ks ? pool_id2str(pool, ks->name) : "?", p ? "verified" : "FAILED");
	  if (verify_one(ss, keys, tampered, cs.textl))
	    ntampered++;
	}
      else
	printf("# %s: signature %d by %s: key not in keyring\n", base, nsigs, ss->keyid);
      solvsig_free(ss);
    }
  free(tampered);
  if (nsigs > 0 && nbad == 0 && nknown == 0)
    {
      /* e.g. a third-party repository: nothing to verify against */
      char name[4096];
      snprintf(name, sizeof(name), "inrelease %s", base);
      skip(name, "no signature by a key of the keyring");
      goto out;
    }
  check(nsigs > 0 && nbad == 0 && nverified == nknown && nverified > 0,
	"inrelease %s: %d of %d signatures verified against %s (%d by subkeys)",
	base, nverified, nsigs, keyring, nsubkey);
  check(nverified > 0 && ntampered == 0,
	"inrelease %s: a modified text fails verification", base);
  if (nsubkey)
    check(nsubkey_nosub == 0,
	  "inrelease %s: subkey signatures need ADD_WITH_SUBKEYS", base);
out:
  pool_free(pool);
  free(cs.text);
  free(cs.sig);
  free(buf);
}

static void
test_inreleases(int argc, char **argv)
{
  const char *keyring = getenv("PKGIMG_KEYRING");
  const char *listdir = "/var/lib/apt/lists";
  int i, n = 0;

  if (!keyring || !*keyring)
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
  if (access(keyring, R_OK))
    {
      skip("inrelease: verify host InRelease files", "no readable keyring");
      return;
    }
  if (argc > 1)
    {
      for (i = 1; i < argc; i++)
	test_inrelease(argv[i], keyring);
      return;
    }
  {
    struct dirent **names;
    int nent = scandir(listdir, &names, 0, alphasort);
    for (i = 0; i < nent; i++)
      {
	const char *dn = names[i]->d_name;
	size_t l = strlen(dn);
	if (l > 10 && !strcmp(dn + l - 10, "_InRelease"))
	  {
	    char path[4096];
	    snprintf(path, sizeof(path), "%s/%s", listdir, dn);
	    test_inrelease(path, keyring);
	    n++;
	  }
	free(names[i]);
      }
    if (nent >= 0)
      free(names);
  }
  if (!n)
    skip("inrelease: verify host InRelease files", "no *_InRelease in /var/lib/apt/lists (run apt-get update)");
}

int
main(int argc, char **argv)
{
  char tmpdir[] = "/tmp/test_libsolv_patches.XXXXXX";
  char cmd[256];

  if (!mkdtemp(tmpdir))
    {
      perror("mkdtemp");
      return 2;
    }
  test_replaces_obsoletes();
  test_essential(tmpdir);
  test_priority_and_order(tmpdir);
  test_debdb_status(tmpdir);
  test_inreleases(argc, argv);

  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "warning: could not remove %s\n", tmpdir);
  printf("%d passed, %d failed%s", npassed, nfailed, nskipped ? "" : "\n");
  if (nskipped)
    printf(", %d skipped\n", nskipped);
  return nfailed ? 1 : 0;
}
