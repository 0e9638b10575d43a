#!/usr/bin/env bash
# Benchmark: a batch of three with --static — good, PDF bomb, good — against the same batch with a
# second good copy in the bomb's place. The bomb is issue 10's essay: a page stream filtered
# [/ASCII85Decode /FlateDecode] decoding to 4 GiB (about 1 MB here: ASCII85 writes the all-zero
# groups of the deflate data as `z`), written in Python, not by assay's own test generators, so
# the measurement does not lean on them.
#
# Prints, per batch: exit code, wall time, and peak RSS three ways:
#   - total: GNU time's maximum resident set size of assay, which Linux takes over assay and every
#     child it waited for (the parser children included) — the number the target is about;
#   - parent: assay's own VmHWM, sampled from /proc every 2 ms while it runs;
#   - child: the largest VmHWM of any parser child, sampled the same way.
# Usage: benches/pdf_bomb.sh [GiB inflated, default 4]   (target: total peak RSS <= 512 MiB)
set -euo pipefail
cd "$(dirname "$0")/.."
gib=${1:-4}
cargo build --release -q --bin assay
exec python3 - "$gib" <<'PY'
import base64, os, shutil, subprocess, sys, tempfile, time, zipfile, zlib

gib = int(sys.argv[1])
work = tempfile.mkdtemp(prefix="assay-pdf-bomb-")

def zlib_run(prefix, byte, n):
    """zlib data of prefix + n copies of byte: sync-flushed blocks of one MiB of byte look back
    only at copies of byte, so they repeat as they are (the checksum covers what was compressed)."""
    c = zlib.compressobj(9)
    mib = bytes([byte]) * (1 << 20)
    out = [c.compress(prefix), c.flush(zlib.Z_SYNC_FLUSH), c.compress(mib), c.flush(zlib.Z_SYNC_FLUSH)]
    unit = c.compress(mib) + c.flush(zlib.Z_SYNC_FLUSH)
    out += [unit] * (n // (1 << 20) - 1)
    out.append(c.flush(zlib.Z_FINISH))
    return b"".join(out)

def pdf_with_stream(filters, data):
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents 5 0 R >>",
        b"<< /Length %d /Filter %s >>\nstream\n" % (len(data), filters) + data + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)

deflated = zlib_run(b"BT /F1 10 Tf 56 700 Td (hello) Tj ET\n", ord(" "), gib << 30)
bomb_pdf = pdf_with_stream(b"[/ASCII85Decode /FlateDecode]", base64.a85encode(deflated) + b"~>")

good = "examples/good.zip"
paths = {name: os.path.join(work, name + ".zip") for name in ("alice", "bomb", "carol", "bob")}
for name in ("alice", "carol", "bob"):
    shutil.copy(good, paths[name])
with zipfile.ZipFile(good) as src, zipfile.ZipFile(paths["bomb"], "w", zipfile.ZIP_DEFLATED) as dst:
    for item in src.infolist():
        if item.filename != "good/ANSWERS.md":
            dst.writestr(item, src.read(item))
    dst.writestr("good/essay.pdf", bomb_pdf)

def hwm_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0

def children(pid):
    kids = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids

def run(batch):
    rss_file = os.path.join(work, "time.txt")
    cmd = ["/usr/bin/time", "-v", "-o", rss_file, "target/release/assay", "evaluate", "--static",
           "--format", "json", *batch]
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    parent = child = 0
    assay_pid, seen = None, set()
    while p.poll() is None:
        if assay_pid is None:
            kids = children(p.pid)  # /usr/bin/time's child is assay
            assay_pid = kids[0] if kids else None
        if assay_pid is not None:
            parent = max(parent, hwm_kib(assay_pid))
            for kid in children(assay_pid):
                seen.add(kid)
                child = max(child, hwm_kib(kid))
        time.sleep(0.002)
    out = p.stdout.read()
    wall = time.perf_counter() - start
    total = 0
    with open(rss_file) as f:
        for line in f:
            if "Maximum resident set size" in line:
                total = int(line.split()[-1])
            if "Exit status" in line:
                code = int(line.split()[-1])
    return code, wall, total, parent, child, len(seen), out

print(f"bomb: essay.pdf {len(bomb_pdf) / 1e3:.0f} KB, decoding to {gib} GiB "
      f"([/ASCII85Decode /FlateDecode]); bomb.zip {os.path.getsize(paths['bomb']) / 1e3:.0f} KB")
print(f"{'batch (--static)':<28} {'exit':>4} {'wall':>8} {'total peak RSS':>15} {'parent':>10} {'child':>10} {'children':>8}")
for label, batch in [("good, bomb, good", ["alice", "bomb", "carol"]),
                     ("good, good, good", ["alice", "bob", "carol"])]:
    code, wall, total, parent, child, n, out = run([paths[b] for b in batch])
    mib = lambda kib: f"{kib / 1024:.1f} MiB"
    print(f"{label:<28} {code:>4} {wall * 1000:>6.0f} ms {mib(total):>15} {mib(parent):>10} {mib(child):>10} {n:>8}")
print("target: total peak RSS <= 512 MiB, exit 1 with the bomb (its essays fail), 0 without")
shutil.rmtree(work)
PY
