#!/usr/bin/python3
"""apt's own answer to package requests, through libapt-pkg (python3-apt): one cache, read once.

For each request it prints the set `apt-get install -s` gives with an empty dpkg status:

    apt-answer.py [--lists DIR] [--sources FILE] [--arch ARCH] [-o KEY=VALUE]... [-j N] [FILE|-]
    apt-answer.py --mmdebstrap-essential SUITE [--lists DIR] [--sources FILE] [--arch ARCH]

A request is one line of FILE (default stdin): package names separated by blanks, plus
the token --install-recommends for APT::Install-Recommends=1 (default 0, as pkgimg).
Blank lines and lines starting with # are skipped; a # after the names starts a comment.
For each request the output is

    = REQUEST                  (the names and flags, as read, one blank between)
    NAME=VERSION               (sorted by name; what apt-get would install)
    ! MESSAGE                  (instead of the set: apt-get would fail, e.g. unresolvable)

Quick use:  echo libtool | tests/tools/apt-answer.py
            echo 'systemd --install-recommends' | tests/tools/apt-answer.py
            tests/tools/apt-answer.py --mmdebstrap-essential bookworm

The cache (and, per APT::Install-Recommends setting, its depcache) is built once; each
request is answered in a forked child that marks its copy-on-write copy of the pristine
depcache (-j N children at a time, output in request order), ~0.15 s CPU a request.

What it does is what apt-get 2.6's `install` does (apt-private/private-install.cc,
DoCacheManipulationFromCommandLine): each command-line package, in command-line order,
is protected in the problem resolver and marked with MarkInstall(pkg, autoinst=false);
then each, again in order, with MarkInstall(pkg, autoinst=true); then the problem
resolver runs (Resolve(true); skipped when nothing is broken, where it changes nothing);
then DoAutomaticRemove drops new installs that are already garbage.  A name without versions that exactly one package's candidate provides
is that package (apt-get's "Note, selecting X instead of Y").

--mmdebstrap-essential SUITE prints the set of `mmdebstrap --variant=essential SUITE`:
mmdebstrap runs `apt-get install '?narrow(?or(?archive(^SUITE$),?codename(^SUITE$)),
?architecture(ARCH),?essential)'` with its own apt configuration (none of the host's
apt.conf.d; pkgCacheGen::ForceEssential "," so apt is not essential;
Apt::Install-Recommends false), which this reproduces: apt 2.6 matches the pattern per
package (one version of it matches), so every Essential package with a version in SUITE
is installed as above, at its candidate version.

The lists are the host's (Dir::State::lists) unless --lists; the sources the host's
unless --sources (a sources.list the lists were fetched for).  Nothing is written
outside a private temporary directory; the host's apt state is never read for
installed packages (Dir::State::status is an empty file).
"""
import argparse
import os
import shutil
import sys
import tempfile


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("requests", nargs="?", default="-", help="request file (default stdin)")
    ap.add_argument("--lists", help="apt lists directory (default the host's)")
    ap.add_argument("--sources", help="a sources.list file (default the host's sources)")
    ap.add_argument("--arch", help="native architecture (default apt's)")
    ap.add_argument("--mmdebstrap-essential", metavar="SUITE",
                    help="print mmdebstrap --variant=essential's package set instead")
    ap.add_argument("-o", dest="options", action="append", default=[],
                    metavar="KEY=VALUE", help="an apt option, as apt-get -o")
    ap.add_argument("-j", "--jobs", type=int, default=1,
                    help="requests answered at once (child processes)")
    return ap.parse_args()


def read_requests(path):
    f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    out = []
    for line in f:
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        rec = "--install-recommends" in line
        names = [w for w in line if w != "--install-recommends"]
        for w in names:
            if w.startswith("-"):
                sys.exit("apt-answer: unknown flag %r in request %r" % (w, " ".join(line)))
        out.append((names, rec))
    return out


class Oracle:
    def __init__(self, apt_pkg):
        self.apt_pkg = apt_pkg
        self.caches = {}
        self.dcs = {}
        self.garbage_dropped = 0

    def open(self, rec):
        """The cache whose depcache policy reads APT::Install-Recommends=rec.

        libapt's pkgDepCache::Policy reads APT::Install-Recommends when it is made,
        and python3-apt makes one policy per cache, so there is one cache (and one
        depcache) per setting."""
        self.apt_pkg.config.set("APT::Install-Recommends", "1" if rec else "0")
        if rec not in self.caches:
            self.caches[rec] = self.apt_pkg.Cache(None)
        self.cache = self.caches[rec]
        return self.cache

    def depcache(self, rec):
        """The depcache for REC in its pristine state (nothing marked, nothing
        protected).  It is made once, in the parent, and never marked there: each
        request is answered in a child process (fork) that marks its copy-on-write
        copy.  (python3-apt hands out the cache's one pkgDepCache; resetting it with
        depcache.init() costs 0.3-0.5 s a request, and undoing the marks with MarkKeep
        is not enough: the problem resolver's Protect leaves a flag only init clears.)"""
        self.open(rec)
        dc = self.dcs.get(rec)
        if dc is None:
            dc = self.apt_pkg.DepCache(self.cache)
            self.dcs[rec] = dc
        return dc

    def select(self, dc, name):
        """The package apt-get installs for a command-line NAME, or an error string."""
        cache = self.cache
        try:
            pkg = cache[name]
        except KeyError:
            return None, "Unable to locate package %s" % name
        if dc.get_candidate_ver(pkg) is not None:
            return pkg, None
        # CacheSetHelperAPTGet::tryVirtualPackage(CANDIDATE): providers whose candidate
        # provides NAME; one package among them is selected
        provs = []
        for _pname, _pver, ver in pkg.provides_list:
            cand = dc.get_candidate_ver(ver.parent_pkg)
            if cand is not None and cand.id == ver.id and ver.parent_pkg.id not in [p.id for p in provs]:
                provs.append(ver.parent_pkg)
        if len(provs) == 1:
            return provs[0], None
        if provs:
            return None, "Package %s is a virtual package provided by: %s" % (
                name, " ".join(sorted(p.name for p in provs)))
        return None, "Package '%s' has no installation candidate" % name

    def answer(self, names, rec):
        """(sorted NAME=VERSION list, None) or (None, error).  NAMES are names or
        apt_pkg.Package objects."""
        apt_pkg = self.apt_pkg
        dc = self.depcache(rec)
        fix = apt_pkg.ProblemResolver(dc)
        pkgs, seen = [], set()
        for n in names:
            if isinstance(n, str):
                pkg, err = self.select(dc, n)
                if err:
                    return None, err
            else:
                pkg = n
            if pkg.id in seen:      # the VersionVector is de-duplicated
                continue
            seen.add(pkg.id)
            pkgs.append(pkg)
        # One action group around the marks: MarkAndSweep (the garbage marks) runs once,
        # when it ends, instead of after every mark; nothing reads those marks before
        # DoAutomaticRemove, and MarkInstall reads them only for installed packages
        with apt_pkg.ActionGroup(dc):
            # TryToInstall, in command-line order
            for pkg in pkgs:
                fix.clear(pkg)
                fix.protect(pkg)
                dc.mark_install(pkg, False)
            # doAutoInstall, in the same order
            for pkg in pkgs:
                dc.mark_install(pkg, True)
        # the scored problem resolver, always called by `install`; with nothing broken
        # it changes nothing (pkgProblemResolver::ResolveInternal only acts on broken
        # packages and, with no current versions, never re-instates one), so it is
        # skipped then: scoring every package takes 0.15 s
        if dc.broken_count:
            try:
                fix.resolve(True)
            except SystemError as e:
                if dc.broken_count:
                    return None, "unresolvable: %s" % str(e).strip()
        if dc.broken_count:
            broken = sorted(p.name for p in self.cache.packages if dc.is_inst_broken(p))
            return None, "unmet dependencies: %s" % " ".join(broken[:20])
        marked = self.marked_set(dc, pkgs)
        self.auto_remove(dc, rec, marked)
        out = []
        for pkg in marked:
            if dc.marked_install(pkg):
                ver = dc.get_candidate_ver(pkg)
                name = pkg.name
                if pkg.architecture not in (self.arch, "all"):
                    name = "%s:%s" % (pkg.name, pkg.architecture)
                out.append("%s=%s" % (name, ver.ver_str))
        return sorted(out), None

    def marked_set(self, dc, pkgs):
        """The packages marked for install: everything apt marks is reached from the
        requested packages through the dependencies of marked packages (a scan of all
        packages when the count disagrees)."""
        seen = {p.id for p in pkgs}
        todo = [p for p in pkgs if dc.marked_install(p)]
        found = list(todo)
        while todo:
            ver = dc.get_candidate_ver(todo.pop())
            if ver is None:
                continue
            for groups in ver.depends_list.values():
                for group in groups:
                    for dep in group:
                        tps = [dep.target_pkg] + [v.parent_pkg for v in dep.all_targets()]
                        for tp in tps:
                            if tp.id in seen:
                                continue
                            seen.add(tp.id)
                            if dc.marked_install(tp):
                                found.append(tp)
                                todo.append(tp)
        if len(found) != dc.inst_count:
            found = [p for p in self.cache.packages if dc.marked_install(p)]
        return found

    def auto_remove(self, dc, rec, marked):
        """DoAutomaticRemove without APT::Get::AutomaticRemove: a new install that is
        already garbage (MarkAndSweep ran when the last mark's action group ended) is
        not installed; one that a package being installed depends on (an important
        dependency) is installed again."""
        too_much = [p for p in marked if dc.is_garbage(p) and p.current_ver is None]
        if not too_much:
            return
        self.garbage_dropped += len(too_much)
        too_much.sort(key=lambda p: (p.name, p.architecture))
        for p in too_much:
            dc.mark_delete(p, False)
        important = {"Depends", "PreDepends"}
        if rec:
            important.add("Recommends")
        changed = True
        while changed:
            changed = False
            for pkg in list(too_much):
                too = [pkg]
                cand = dc.get_candidate_ver(pkg)
                if cand is not None:
                    too += [v.parent_pkg for _n, _v, v in cand.provides_list]
                    too = [p for p in too if p.name == pkg.name] + \
                        [p for p in too if p.name != pkg.name]
                hit = False
                for p in too:
                    for r in p.rev_depends_list:
                        if r.dep_type_untranslated not in important:
                            continue
                        rp = r.parent_pkg
                        rc = dc.get_candidate_ver(rp)
                        if rc is None or rc.id != r.parent_ver.id or not dc.marked_install(rp):
                            continue
                        dc.mark_install(pkg, False, False)
                        too_much.remove(pkg)
                        hit = changed = True
                        break
                    if hit:
                        break
                if changed:
                    break


def main():
    args = parse_args()
    tmp = tempfile.mkdtemp(prefix="apt-answer.")
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp):
    status = os.path.join(tmp, "status")
    open(status, "w").close()
    if args.mmdebstrap_essential:
        # mmdebstrap's apt configuration (its APT_CONFIG file): Dir is its root, so the
        # host's apt.conf.d and preferences are not read
        root = os.path.join(tmp, "root")
        os.makedirs(os.path.join(root, "etc/apt/apt.conf.d"))
        os.makedirs(os.path.join(root, "etc/apt/preferences.d"))
        os.makedirs(os.path.join(root, "var/lib/dpkg"))
        open(os.path.join(root, "var/lib/dpkg/status"), "w").close()
        with open(os.path.join(root, "etc/apt/apt.conf.d/00mmdebstrap"), "w") as f:
            f.write('Apt::Install-Recommends false;\nAcquire::Languages "none";\n')
        conf = os.path.join(tmp, "apt.conf")
        with open(conf, "w") as f:
            if args.arch:
                f.write('Apt::Architecture "%s";\nApt::Architectures "%s";\n' % (args.arch, args.arch))
            f.write('Dir "%s";\npkgCacheGen::ForceEssential ",";\n' % root)
        os.environ["APT_CONFIG"] = conf
    import apt_pkg
    apt_pkg.init_config()
    cfg = apt_pkg.config
    if args.arch:
        cfg.set("APT::Architecture", args.arch)
        if not args.mmdebstrap_essential:
            cfg.clear("APT::Architectures")
            cfg.set("APT::Architectures::", args.arch)
    elif args.mmdebstrap_essential:
        arch = os.popen("dpkg --print-architecture").read().strip()
        cfg.set("APT::Architecture", arch)
        cfg.clear("APT::Architectures")
        cfg.set("APT::Architectures::", arch)
    cfg.set("Dir::State::status", status)
    cfg.set("Dir::Cache", os.path.join(tmp, "cache"))
    # a binary cache in the private dir: the second cache (for the other
    # APT::Install-Recommends) then opens in a moment
    cfg.set("Dir::Cache::pkgcache", os.path.join(tmp, "pkgcache.bin"))
    cfg.set("Dir::Cache::srcpkgcache", os.path.join(tmp, "srcpkgcache.bin"))
    cfg.set("Debug::NoLocking", "1")
    lists = args.lists or ("/var/lib/apt/lists" if args.mmdebstrap_essential else None)
    if lists:
        cfg.set("Dir::State::Lists", os.path.abspath(lists))
    sources = args.sources
    if args.mmdebstrap_essential and not sources:
        sources = "/etc/apt/sources.list"
        parts = "/etc/apt/sources.list.d"
        cfg.set("Dir::Etc::sourceparts", parts)
    if sources:
        cfg.set("Dir::Etc::sourcelist", os.path.abspath(sources))
        if not args.mmdebstrap_essential:
            cfg.set("Dir::Etc::sourceparts", os.path.join(tmp, "none"))
        elif args.sources:
            cfg.set("Dir::Etc::sourceparts", os.path.join(tmp, "none"))
    for o in args.options:
        k, _, v = o.partition("=")
        cfg.set(k, v)
    apt_pkg.init_system()
    oracle = Oracle(apt_pkg)
    cache = oracle.open(False)
    oracle.arch = cfg.find("APT::Architecture")
    out = sys.stdout

    if args.mmdebstrap_essential:
        # apt 2.6 matches a pattern against packages (a version pattern such as
        # ?narrow matches a package when one of its versions matches), in the cache's
        # package order, and installs each match's candidate version
        suite = args.mmdebstrap_essential
        pkgs = []
        for pkg in cache.packages:
            if not pkg.essential or pkg.architecture != oracle.arch:
                continue
            if any(pf.archive == suite or pf.codename == suite
                   for ver in pkg.version_list for pf, _ in ver.file_list):
                pkgs.append(pkg)
        res, err = oracle.answer(pkgs, False)
        out.write("= mmdebstrap --variant=essential %s\n" % suite)
        out.write("! %s\n" % err if err else "".join(l + "\n" for l in res))
        return 0

    run_forked(oracle, read_requests(args.requests), max(1, args.jobs), out)
    return 0


def run_forked(oracle, requests, jobs, out):
    """Answers each request in a child process, JOBS at a time; prints in order."""
    pending = []

    def collect():
        header, pid, r = pending.pop(0)
        with os.fdopen(r, "rb") as f:
            data = f.read().decode("utf-8", "replace")
        _, st = os.waitpid(pid, 0)
        if st != 0 or not data.endswith("\n"):
            data = "! apt-answer: the child for this request failed (wait status %d)%s\n" % (
                st, (": " + data.strip().splitlines()[-1]) if data.strip() else "")
        out.write(header + data)
        out.flush()

    for names, rec in requests:
        oracle.depcache(rec)        # made here, so every child starts from it
        header = "= %s\n" % " ".join(names + (["--install-recommends"] if rec else []))
        out.flush()
        sys.stderr.flush()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            code = 0
            try:
                res, err = oracle.answer(names, rec)
                text = "! %s\n" % err if err else "".join(l + "\n" for l in res)
                if oracle.garbage_dropped:
                    sys.stderr.write("apt-answer: %s: %d new installs were already garbage "
                                     "and are not installed, as apt-get does\n"
                                     % (" ".join(names), oracle.garbage_dropped))
            except BaseException as e:  # noqa: B902 - reported by the parent
                text, code = "%s: %s" % (type(e).__name__, e), 1
            data = text.encode()
            while data:
                data = data[os.write(w, data):]
            os._exit(code)
        os.close(w)
        pending.append((header, pid, r))
        while len(pending) >= jobs:
            collect()
    while pending:
        collect()


if __name__ == "__main__":
    sys.exit(main())
