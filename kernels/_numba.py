# mypy: ignore-errors
# (numba kernels: their types come from numba's inference, not from annotations)
"""Numba kernels behind :mod:`kernels` (see the package docstring for semantics).

Every kernel works in place on a ``(H, W, 3) uint8`` C-contiguous frame and takes
the *validated* boxes as an ``(N, 4) int32`` array ``(x, y, w, h)`` with
``w > 0`` and ``h > 0`` (the Python wrapper in ``kernels/__init__.py`` checks
this).  Boxes are clipped to the frame here; a box entirely outside the frame
is a no-op.  Boxes are applied in index order, so where boxes overlap the
later box wins.

One ``*_serial`` driver per style runs all boxes of a frame in one call, in
index order; drivers release the GIL (``nogil=True``), so pipeline threads
can redact different frames concurrently.  Scratch memory is allocated once
per call (sized for the largest box), never per box.  (``prange`` drivers over
components of overlapping boxes were measured and not adopted: see the
package docstring and benchmarks/bench_kernels.py.)

Performance notes (numba 0.68 / LLVM): inner loops index *row views* with the
``range`` induction variable.  Indexing a flat array with ``base + j`` where
``base`` comes from memory blocks vectorisation (numba's negative-index
wraparound check cannot be proven away) and was 7x slower.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ---------------------------------------------------------------- constants
# Blur: three unnormalised box passes per axis, then one rounding per axis:
# out = floor((S + D // 2) / D) with D = (2r + 1) ** 3, done as a multiply-shift.
# The multiply-shift is exact for 0 <= n < 256 * D when 256 * D**2 < 2**SHIFT,
# and the int32 accumulators hold 255 * D + 255 * (2r + 1)**2 < 2**31; both hold
# for 2r + 1 <= 203, hence MAX_RADIUS = 101.
_SHIFT = 54
MAX_RADIUS = 101
VSTRIP = 192  # columns (int32) per vertical-pass strip: 2 x 28 rows x 192 x 4 B fits L1

# Fill texture: two integer triangle waves (x, y) of these amplitudes (grey levels).
TEX_AMP_X = 3
TEX_AMP_Y = 2
TEX_AMP = TEX_AMP_X + TEX_AMP_Y
FILL_FALLBACK = 128  # colour when no usable ring pixel exists
_HASH_INIT = 0x2545F491
P1_MIN, P1_SPAN = 24, 40  # x period of the fill texture in [24, 63]
P2_MIN, P2_SPAN = 16, 32  # y period in [16, 47]


def _tri_table(amp: int, pmax: int) -> np.ndarray:
    """TRI[p, u] = integer triangle wave in [-amp, amp], period p, phase u < p."""
    tab = np.zeros((pmax + 1, pmax + 1), np.int8)
    for p in range(1, pmax + 1):
        u = np.arange(p)
        tab[p, :p] = (np.abs(2 * u - p) * 2 * amp + p // 2) // p - amp
    return tab


# Global arrays are frozen into the compiled code as constants (cache-safe).
TRI_X = _tri_table(TEX_AMP_X, P1_MIN + P1_SPAN - 1)
TRI_Y = _tri_table(TEX_AMP_Y, P2_MIN + P2_SPAN - 1)
RING_SAMPLES = 32  # ring pixels sampled per box for the background median


# ---------------------------------------------------------------- helpers
@njit(cache=True)
def _mix(h, v):
    """31-bit integer hash step (no int64 overflow: h, v < 2**31)."""
    h = h ^ (v & 0x7FFFFFFF)
    h = (h * 1103515245 + 12345) & 0x7FFFFFFF
    h = h ^ (h >> 13)
    return h


@njit(cache=True)
def texture_params(seed, x, y, w, h):
    """Deterministic texture parameters from (seed, unclipped box): periods/phases."""
    s = _mix(_HASH_INIT, seed & 0x7FFFFFFF)
    s = _mix(s, (seed >> 31) & 0x7FFFFFFF)
    s = _mix(s, x)
    s = _mix(s, y)
    s = _mix(s, w)
    s = _mix(s, h)
    s = _mix(s, 0x5BD1E995)
    p1 = P1_MIN + s % P1_SPAN
    s = _mix(s, 1)
    ph1 = s % p1
    s = _mix(s, 2)
    p2 = P2_MIN + s % P2_SPAN
    s = _mix(s, 3)
    ph2 = s % p2
    return p1, ph1, p2, ph2


@njit(cache=True)
def blur_radius(h, radius):
    """Blur radius for a box of (unclipped) height h: max(2, h // 2), or `radius` if > 0;
    capped at MAX_RADIUS."""
    r = radius if radius > 0 else max(2, h // 2)
    return min(r, MAX_RADIUS)


@njit(cache=True)
def pixel_block(h, block):
    """Pixelation block for a box of (unclipped) height h: max(4, h // 2), or `block` if > 0."""
    return block if block > 0 else max(4, h // 2)


@njit(cache=True)
def _clip_boxes(boxes, hgt, wid):
    """(N, 4) int64 clipped (x0, y0, x1, y1); empty boxes get x1 == x0 or y1 == y0."""
    n = boxes.shape[0]
    cb = np.empty((n, 4), np.int64)
    for i in range(n):
        x = np.int64(boxes[i, 0])
        y = np.int64(boxes[i, 1])
        x0 = min(max(x, 0), wid)
        y0 = min(max(y, 0), hgt)
        x1 = min(x + np.int64(boxes[i, 2]), wid)
        y1 = min(y + np.int64(boxes[i, 3]), hgt)
        cb[i, 0] = x0
        cb[i, 1] = y0
        cb[i, 2] = max(x1, x0)
        cb[i, 3] = max(y1, y0)
    return cb


@njit(cache=True)
def _copy(dst, src, n):
    """dst[:n] = src[:n] as a plain loop (numba's slice assignment is not a memcpy)."""
    for j in range(n):
        dst[j] = src[j]


@njit(cache=True)
def _empty(cb, i):
    return cb[i, 0] >= cb[i, 2] or cb[i, 1] >= cb[i, 3]


# ---------------------------------------------------------------- fill
@njit(cache=True)
def ring_point(t, x, y, w, h):
    """Pixel t of the canonical ring sequence of box (x, y, w, h): top row
    (x-1..x+w, y-1), bottom row (x-1..x+w, y+h), left column (x-1, y..y+h-1),
    right column (x+w, y..y+h-1); length 2 * (w + 2) + 2 * h."""
    if t < w + 2:
        return x - 1 + t, y - 1
    t -= w + 2
    if t < w + 2:
        return x - 1 + t, y + h
    t -= w + 2
    if t < h:
        return x - 1, y + t
    return x + w, y + t - h


@njit(cache=True)
def _ring_colour(frame, boxes, i, live, me, hits, cand, vals, coarse, fine, col):
    """Lower median per channel of RING_SAMPLES evenly spaced pixels of the 1-px
    ring just outside box i; samples outside the frame or inside any (clipped)
    box of the set are dropped.  FILL_FALLBACK grey when none is left.

    live: (4, L) clipped x0, y0, x1, y1 of the non-empty boxes; me: box i's
    column in live.  coarse/fine: zeroed (3, 16) / (3, 256) histograms, left
    zeroed on return."""
    hgt = frame.shape[0]
    wid = frame.shape[1]
    x = np.int64(boxes[i, 0])
    y = np.int64(boxes[i, 1])
    w = np.int64(boxes[i, 2])
    h = np.int64(boxes[i, 3])
    # Other boxes that meet the ring's bbox (only they can contain ring pixels):
    # a branch-free, vectorisable test over contiguous arrays, then a compaction.
    lx0 = live[0]
    ly0 = live[1]
    lx1 = live[2]
    ly1 = live[3]
    nl = lx0.shape[0]
    rx0 = x - 1
    ry0 = y - 1
    rx1 = x + w
    ry1 = y + h
    nhit = 0
    for j in range(nl):
        hv = (lx0[j] <= rx1) & (lx1[j] > rx0) & (ly0[j] <= ry1) & (ly1[j] > ry0)
        hits[j] = hv
        nhit += hv
    k = 0
    if nhit > 1:  # box i itself always meets its ring's bbox
        hits[me] = 0
        for j in range(nl):
            cand[k] = j
            k += hits[j]
    length = 2 * (w + 2) + 2 * h
    ns = min(length, RING_SAMPLES)
    count = 0
    # t_m = ((2m + 1) * length) // (2 * ns), stepped without a division per sample
    den = 2 * ns
    t = length // den
    rem = length - t * den
    qstep = (2 * length) // den
    rstep = 2 * length - qstep * den
    for _m in range(ns):
        px, py = ring_point(t, x, y, w, h)
        t += qstep
        rem += rstep
        if rem >= den:
            rem -= den
            t += 1
        if px < 0 or px >= wid or py < 0 or py >= hgt:
            continue
        inside = False
        for q in range(k):
            j = cand[q]
            if lx0[j] <= px < lx1[j] and ly0[j] <= py < ly1[j]:
                inside = True
                break
        if inside:
            continue
        vals[0, count] = frame[py, px, 0]
        vals[1, count] = frame[py, px, 1]
        vals[2, count] = frame[py, px, 2]
        count += 1
    if count == 0:
        col[0] = FILL_FALLBACK
        col[1] = FILL_FALLBACK
        col[2] = FILL_FALLBACK
        return
    target = (count + 1) // 2
    for c in range(3):
        vc = vals[c, :count]
        # Fast path: a value held by more than half of the samples IS the median.
        # Probing the first, middle and last sample catches flat backgrounds and
        # rings straddling two flat panels (the common cases) without a histogram.
        found = False
        for probe in range(3):
            cv = vc[(probe * (count - 1)) // 2]
            same = 0
            for m in range(count):
                same += vc[m] == cv
            if 2 * same > count:
                col[c] = cv
                found = True
                break
        if found:
            continue
        cc = coarse[c]
        ff = fine[c]
        for m in range(count):
            v = vc[m]
            cc[v >> 4] += 1
            ff[v] += 1
        cum = 0
        b = 0
        while cum + cc[b] < target:
            cum += cc[b]
            b += 1
        v = b * 16
        while True:
            cum += ff[v]
            if cum >= target:
                break
            v += 1
        col[c] = v
        for m in range(count):
            v = vc[m]
            cc[v >> 4] = 0
            ff[v] = 0


@njit(cache=True)
def _fill_box(frame, boxes, cb, i, col, seed, base3):
    """Fill box i with texture(col).  Scratch: base3 (>= 3w,) uint8.

    Pixel value = clip(col, TEX_AMP, 255 - TEX_AMP) + tx[x] + ty[y] with the two
    triangle waves tx, ty (|tx| <= TEX_AMP_X, |ty| <= TEX_AMP_Y), so no per-pixel
    clipping is needed and every row is one vectorised byte add."""
    x0 = cb[i, 0]
    y0 = cb[i, 1]
    x1 = cb[i, 2]
    y1 = cb[i, 3]
    x = np.int64(boxes[i, 0])
    y = np.int64(boxes[i, 1])
    p1, ph1, p2, ph2 = texture_params(seed, x, y, np.int64(boxes[i, 2]), np.int64(boxes[i, 3]))
    bw = x1 - x0
    n3 = bw * 3
    lx = TRI_X[p1]
    ly = TRI_Y[p2]
    c0 = min(max(col[0], TEX_AMP), 255 - TEX_AMP)
    c1 = min(max(col[1], TEX_AMP), 255 - TEX_AMP)
    c2 = min(max(col[2], TEX_AMP), 255 - TEX_AMP)
    # One period of the x wave, then periodic copies.
    u = (x0 - x + ph1) % p1
    for xi in range(min(bw, p1)):
        g = lx[u]
        base3[xi * 3] = c0 + g
        base3[xi * 3 + 1] = c1 + g
        base3[xi * 3 + 2] = c2 + g
        u += 1
        if u == p1:
            u = 0
    per = 3 * p1
    j0 = per
    while j0 < n3:
        m = min(per, n3 - j0)
        _copy(base3[j0 : j0 + m], base3, m)
        j0 += m
    flat = frame.reshape(-1)
    wid = frame.shape[1]
    b3 = base3[:n3]
    v = (y0 - y + ph2) % p2
    for yy in range(y0, y1):
        kd = ly[v]
        base = (yy * wid + x0) * 3
        dst = flat[base : base + n3]
        for j in range(n3):
            dst[j] = b3[j] + kd
        v += 1
        if v == p2:
            v = 0


@njit(cache=True)
def _live_boxes(cb):
    """(4, L) int64 rows x0, y0, x1, y1 of the non-empty clipped boxes, and for
    each box its column in it (-1 if empty)."""
    n = cb.shape[0]
    live_of = np.full(n, -1, np.int64)
    nl = 0
    for i in range(n):
        if not _empty(cb, i):
            live_of[i] = nl
            nl += 1
    live = np.empty((4, nl), np.int64)
    for i in range(n):
        q = live_of[i]
        if q >= 0:
            for c in range(4):
                live[c, q] = cb[i, c]
    return live, live_of


@njit(cache=True)
def _fill_scratch(cb, nthreads):
    maxw = 1
    for i in range(cb.shape[0]):
        maxw = max(maxw, cb[i, 2] - cb[i, 0])
    base3 = np.empty((nthreads, maxw * 3), np.uint8)
    vals = np.empty((nthreads, 3, RING_SAMPLES), np.uint8)
    coarse = np.zeros((nthreads, 3, 16), np.int32)
    fine = np.zeros((nthreads, 3, 256), np.int32)
    cand = np.empty((nthreads, cb.shape[0]), np.int64)
    return base3, vals, coarse, fine, cand


@njit(cache=True)
def _covered_later(cb):
    """Per box: True when every pixel of its clipped rect lies in some LATER box.

    Walks the boxes last to first over a byte mask of the pixels painted so far
    (bounding rect of the boxes only); a box whose rows are all painted is covered,
    otherwise its rows are painted from the first one that is not."""
    n = cb.shape[0]
    cov = np.zeros(n, np.bool_)
    mx0 = np.int64(1) << 62
    my0 = mx0
    mx1 = np.int64(0)
    my1 = np.int64(0)
    nl = 0
    for i in range(n):
        if not _empty(cb, i):
            mx0 = min(mx0, cb[i, 0])
            my0 = min(my0, cb[i, 1])
            mx1 = max(mx1, cb[i, 2])
            my1 = max(my1, cb[i, 3])
            nl += 1
    if nl < 2:
        return cov
    mask = np.zeros((my1 - my0, mx1 - mx0), np.uint8)
    for i in range(n - 1, -1, -1):
        if _empty(cb, i):
            continue
        xa = cb[i, 0] - mx0
        xb = cb[i, 2] - mx0
        ya = cb[i, 1] - my0
        yb = cb[i, 3] - my0
        yy = ya
        while yy < yb:
            row = mask[yy, xa:xb]
            s = np.uint8(1)
            for j in range(xb - xa):
                s &= row[j]
            if s == 0:
                break
            yy += 1
        if yy == yb:
            cov[i] = True
            continue
        while yy < yb:
            row = mask[yy, xa:xb]
            for j in range(xb - xa):
                row[j] = 1
            yy += 1
    return cov


@njit(cache=True)
def _fill_all(frame, boxes, seed, prune):
    n = boxes.shape[0]
    if n == 0:
        return
    cb = _clip_boxes(boxes, frame.shape[0], frame.shape[1])
    base3, vals, coarse, fine, cand = _fill_scratch(cb, 1)
    live, live_of = _live_boxes(cb)
    hits = np.empty(live.shape[1], np.int64)
    cols = np.zeros((n, 3), np.int64)
    cand0 = cand[0]
    vals0 = vals[0]
    coarse0 = coarse[0]
    fine0 = fine[0]
    # A box whose every pixel a later box overwrites leaves no trace: its colour
    # (used by its own fill only) and its fill are skipped.  It still counts for
    # the ring exclusion of the other boxes (``live``).
    skip = _covered_later(cb) if prune else np.zeros(n, np.bool_)
    # Phase 1: all colours from the ORIGINAL frame, before anything is written.
    for i in range(n):
        if live_of[i] >= 0 and not skip[i]:
            _ring_colour(frame, boxes, i, live, live_of[i], hits, cand0, vals0, coarse0, fine0, cols[i])
    # Phase 2: fill in index order.
    for i in range(n):
        if not _empty(cb, i) and not skip[i]:
            _fill_box(frame, boxes, cb, i, cols[i], seed, base3[0])


@njit(cache=True, nogil=True)
def fill_serial(frame, boxes, seed):
    """Irreversible fill: ring-median colour + deterministic low-contrast texture."""
    _fill_all(frame, boxes, seed, True)


@njit(cache=True, nogil=True)
def fill_serial_unpruned(frame, boxes, seed):
    """fill_serial filling every box, covered or not (the same bytes; for benchmarks)."""
    _fill_all(frame, boxes, seed, False)


# ---------------------------------------------------------------- blur
@njit(cache=True)
def _hsum(p, q, bw, r):
    """q[(xi + r) * 3 + c] = sum_{k=-r..r} p[(xi + k + r) * 3 + c] for xi < bw.

    p and q are padded rows: pixel xi lives at padded index xi + r, and the r
    pixels either side of the row replicate the edge pixel (= clamping)."""
    d3 = (2 * r + 1) * 3
    add = p[d3:]
    out = q[r * 3 + 3 :]
    a0 = np.int64(0)
    a1 = np.int64(0)
    a2 = np.int64(0)
    for k in range(2 * r + 1):
        a0 += p[k * 3]
        a1 += p[k * 3 + 1]
        a2 += p[k * 3 + 2]
    q[r * 3] = a0
    q[r * 3 + 1] = a1
    q[r * 3 + 2] = a2
    for xi in range(bw - 1):
        o = xi * 3
        a0 += add[o] - p[o]
        a1 += add[o + 1] - p[o + 1]
        a2 += add[o + 2] - p[o + 2]
        out[o] = a0
        out[o + 1] = a1
        out[o + 2] = a2


@njit(cache=True)
def _pad(p, bw, r):
    """Replicate the first/last pixel of padded row p into its r-pixel margins."""
    f0 = p[r * 3]
    f1 = p[r * 3 + 1]
    f2 = p[r * 3 + 2]
    e = (r + bw - 1) * 3
    l0 = p[e]
    l1 = p[e + 1]
    l2 = p[e + 2]
    tail = p[e + 3 :]
    for k in range(r):
        p[k * 3] = f0
        p[k * 3 + 1] = f1
        p[k * 3 + 2] = f2
        tail[k * 3] = l0
        tail[k * 3 + 1] = l1
        tail[k * 3 + 2] = l2


@njit(cache=True)
def _vsum(src, dst, bh, j0, j1, r, acc):
    """dst[y, j0:j1] = sum_{k=-r..r} src[clamp(y + k), j0:j1] (clamped to rows 0..bh-1)."""
    last = bh - 1
    kfull = min(r, last)
    s0 = src[0, j0:j1]
    sl = src[last, j0:j1]
    n = j1 - j0
    a = acc[:n]
    w0 = r + 1
    wl = r - kfull
    for j in range(n):
        a[j] = s0[j] * w0 + sl[j] * wl
    for k in range(1, kfull + 1):
        sk = src[k, j0:j1]
        for j in range(n):
            a[j] += sk[j]
    for yy in range(bh):
        sa = src[min(yy + r + 1, last), j0:j1]
        ss = src[max(yy - r, 0), j0:j1]
        dd = dst[yy, j0:j1]
        for j in range(n):
            v = a[j]
            dd[j] = v
            a[j] = v + (sa[j] - ss[j])


@njit(cache=True)
def _blur_box(frame, x0, y0, x1, y1, r, pa, pb, bufa, bufb, acc):
    bw = x1 - x0
    bh = y1 - y0
    n3 = bw * 3
    d = 2 * r + 1
    dd = d * d * d
    half = dd // 2
    mul = ((np.int64(1) << _SHIFT) + dd - 1) // dd
    flat = frame.reshape(-1)
    wid = frame.shape[1]
    pin = pa[r * 3 :]
    # Horizontal: three running-sum passes per row (in L1), one rounding.
    for yy in range(bh):
        base = ((y0 + yy) * wid + x0) * 3
        src = flat[base : base + n3]
        for j in range(n3):
            pin[j] = src[j]
        _pad(pa, bw, r)
        _hsum(pa, pb, bw, r)
        _pad(pb, bw, r)
        _hsum(pb, pa, bw, r)
        _pad(pa, bw, r)
        _hsum(pa, pb, bw, r)
        row = bufa[yy]
        sums = pb[r * 3 :]
        for j in range(n3):
            row[j] = ((sums[j] + half) * mul) >> _SHIFT
    # Vertical: three running-sum passes, one rounding, in column strips that
    # stay in L1 (the whole box buffer does not: 2.4x slower measured).
    for j0 in range(0, n3, VSTRIP):
        j1 = min(j0 + VSTRIP, n3)
        _vsum(bufa, bufb, bh, j0, j1, r, acc)
        _vsum(bufb, bufa, bh, j0, j1, r, acc)
        _vsum(bufa, bufb, bh, j0, j1, r, acc)
        for yy in range(bh):
            base = ((y0 + yy) * wid + x0) * 3
            dst = flat[base + j0 : base + j1]
            row = bufb[yy, j0:j1]
            for j in range(j1 - j0):
                dst[j] = ((np.int64(row[j]) + half) * mul) >> _SHIFT


@njit(cache=True)
def _blur_scratch(cb, boxes, radius, nthreads):
    maxw = 1
    maxh = 1
    for i in range(cb.shape[0]):
        maxw = max(maxw, cb[i, 2] - cb[i, 0])
        maxh = max(maxh, cb[i, 3] - cb[i, 1])
    plen = (maxw + 2 * MAX_RADIUS + 2) * 3
    pa = np.empty((nthreads, plen), np.int32)
    pb = np.empty((nthreads, plen), np.int32)
    bufa = np.empty((nthreads, maxh, maxw * 3), np.int32)
    bufb = np.empty((nthreads, maxh, maxw * 3), np.int32)
    acc = np.empty((nthreads, maxw * 3), np.int32)
    return pa, pb, bufa, bufb, acc


@njit(cache=True)
def _blur_one(frame, boxes, cb, i, radius, pa, pb, bufa, bufb, acc):
    r = blur_radius(np.int64(boxes[i, 3]), radius)
    _blur_box(frame, cb[i, 0], cb[i, 1], cb[i, 2], cb[i, 3], r, pa, pb, bufa, bufb, acc)


@njit(cache=True, nogil=True)
def blur_serial(frame, boxes, radius):
    """3 x 3 separable clamped box blur (~Gaussian) inside each box, index order."""
    n = boxes.shape[0]
    if n == 0:
        return
    cb = _clip_boxes(boxes, frame.shape[0], frame.shape[1])
    pa, pb, bufa, bufb, acc = _blur_scratch(cb, boxes, radius, 1)
    for i in range(n):
        if not _empty(cb, i):
            _blur_one(frame, boxes, cb, i, radius, pa[0], pb[0], bufa[0], bufb[0], acc[0])


# ---------------------------------------------------------------- pixelate
@njit(cache=True)
def _pixelate_box(frame, boxes, cb, i, block, colsum, tmpl):
    x = np.int64(boxes[i, 0])
    y = np.int64(boxes[i, 1])
    x0 = cb[i, 0]
    y0 = cb[i, 1]
    x1 = cb[i, 2]
    y1 = cb[i, 3]
    b = pixel_block(np.int64(boxes[i, 3]), block)
    n3 = (x1 - x0) * 3
    flat = frame.reshape(-1)
    wid = frame.shape[1]
    cs = colsum[:n3]
    tp = tmpl[:n3]
    by = y + ((y0 - y) // b) * b  # grid anchored at the unclipped box origin
    while by < y1:
        ra = max(by, y0)
        rb = min(by + b, y1)
        for j in range(n3):
            cs[j] = 0
        for yy in range(ra, rb):
            base = (yy * wid + x0) * 3
            src = flat[base : base + n3]
            for j in range(n3):
                cs[j] += src[j]
        nrows = rb - ra
        bx = x + ((x0 - x) // b) * b
        while bx < x1:
            ja = (max(bx, x0) - x0) * 3
            jb = (min(bx + b, x1) - x0) * 3
            cnt = (jb - ja) // 3 * nrows
            s0 = 0
            s1 = 0
            s2 = 0
            for j in range(ja, jb, 3):
                s0 += cs[j]
                s1 += cs[j + 1]
                s2 += cs[j + 2]
            hf = cnt // 2
            m0 = (s0 + hf) // cnt
            m1 = (s1 + hf) // cnt
            m2 = (s2 + hf) // cnt
            for j in range(ja, jb, 3):
                tp[j] = m0
                tp[j + 1] = m1
                tp[j + 2] = m2
            bx += b
        for yy in range(ra, rb):
            base = (yy * wid + x0) * 3
            _copy(flat[base : base + n3], tp, n3)
        by += b


@njit(cache=True)
def _pix_scratch(cb, nthreads):
    maxw = 1
    for i in range(cb.shape[0]):
        maxw = max(maxw, cb[i, 2] - cb[i, 0])
    return np.empty((nthreads, maxw * 3), np.int32), np.empty((nthreads, maxw * 3), np.uint8)


@njit(cache=True, nogil=True)
def pixelate_serial(frame, boxes, block):
    """Block means (grid anchored at the unclipped box origin), index order."""
    n = boxes.shape[0]
    if n == 0:
        return
    cb = _clip_boxes(boxes, frame.shape[0], frame.shape[1])
    colsum, tmpl = _pix_scratch(cb, 1)
    for i in range(n):
        if not _empty(cb, i):
            _pixelate_box(frame, boxes, cb, i, block, colsum[0], tmpl[0])


# ---------------------------------------------------------------- mask_outside
@njit(cache=True)
def _mask_bands(cb, hgt, wid):
    """Per row band (rows between consecutive rect y-edges) the list of column
    intervals to mask.  Returns (band_of_row, istart, iv) with band b's
    intervals iv[istart[b]:istart[b + 1]] as (x_start, x_end)."""
    n = cb.shape[0]
    ys = np.empty(2 * n + 2, np.int64)
    m = 0
    ys[m] = 0
    m += 1
    ys[m] = hgt
    m += 1
    for i in range(n):
        if not _empty(cb, i):
            ys[m] = cb[i, 1]
            ys[m + 1] = cb[i, 3]
            m += 2
    edges = np.unique(ys[:m])  # sorted, contains 0 and hgt
    nb = edges.shape[0] - 1
    band_of_row = np.empty(hgt, np.int64)
    istart = np.zeros(nb + 1, np.int64)
    iv = np.empty((nb * (n + 1), 2), np.int64)
    xs = np.empty(n, np.int64)
    xe = np.empty(n, np.int64)
    cnt = 0
    for b in range(nb):
        ya = edges[b]
        band_of_row[ya : edges[b + 1]] = b
        k = 0
        for i in range(n):
            if not _empty(cb, i) and cb[i, 1] <= ya < cb[i, 3]:
                p = k  # insertion sort by x0
                while p > 0 and xs[p - 1] > cb[i, 0]:
                    xs[p] = xs[p - 1]
                    xe[p] = xe[p - 1]
                    p -= 1
                xs[p] = cb[i, 0]
                xe[p] = cb[i, 2]
                k += 1
        cur = 0
        for q in range(k):
            if xs[q] > cur:
                iv[cnt, 0] = cur
                iv[cnt, 1] = xs[q]
                cnt += 1
            cur = max(cur, xe[q])
        if cur < wid:
            iv[cnt, 0] = cur
            iv[cnt, 1] = wid
            cnt += 1
        istart[b + 1] = cnt
    return band_of_row, istart, iv


@njit(cache=True)
def _mask_row(flat, yy, wid, band_of_row, istart, iv, v):
    b = band_of_row[yy]
    row = yy * wid * 3
    for q in range(istart[b], istart[b + 1]):
        seg = flat[row + iv[q, 0] * 3 : row + iv[q, 1] * 3]
        for j in range(seg.shape[0]):
            seg[j] = v


@njit(cache=True, nogil=True)
def mask_outside_serial(frame, rects, value):
    """Set every pixel not inside any rect to `value`."""
    hgt = frame.shape[0]
    wid = frame.shape[1]
    cb = _clip_boxes(rects, hgt, wid)
    band_of_row, istart, iv = _mask_bands(cb, hgt, wid)
    flat = frame.reshape(-1)
    v = np.uint8(value)
    for yy in range(hgt):
        _mask_row(flat, yy, wid, band_of_row, istart, iv, v)




@njit(cache=True, nogil=True)
def luma_ranges_serial(plane, boxes):
    """Per box: max - min of ``plane`` (H, W) inside the clipped box; -1 for an empty one."""
    cb = _clip_boxes(boxes, plane.shape[0], plane.shape[1])
    n = boxes.shape[0]
    out = np.empty(n, np.int32)
    for i in range(n):
        x0, y0, x1, y1 = cb[i, 0], cb[i, 1], cb[i, 2], cb[i, 3]
        if x1 <= x0 or y1 <= y0:
            out[i] = -1
            continue
        lo = 255
        hi = 0
        for yy in range(y0, y1):
            row = plane[yy]
            for xx in range(x0, x1):
                v = row[xx]
                if v < lo:
                    lo = v
                if v > hi:
                    hi = v
        out[i] = np.int32(hi) - np.int32(lo)
    return out


# ---------------------------------------------------------------- yuv420p frames
# BT.601 limited range in 8-bit fixed point (as libswscale's default): the pipeline's
# decoded frames are redacted without converting whole frames to RGB and back.
@njit(cache=True)
def _clip8(v):
    return 0 if v < 0 else (255 if v > 255 else v)


@njit(cache=True)
def _nonempty_rects(boxes, hgt, wid, margin):
    """(K, 4) clipped (x0, y0, x1, y1) of the boxes not empty once clipped; with a
    ``margin``, grown by it and widened to whole 2x2 chroma blocks."""
    cb = _clip_boxes(boxes, hgt, wid)
    out = np.empty_like(cb)
    k = 0
    for i in range(cb.shape[0]):
        if _empty(cb, i):
            continue
        if margin > 0:
            out[k, 0] = max(0, cb[i, 0] - margin) & ~1
            out[k, 1] = max(0, cb[i, 1] - margin) & ~1
            out[k, 2] = min(wid, (cb[i, 2] + margin + 1) & ~1)
            out[k, 3] = min(hgt, (cb[i, 3] + margin + 1) & ~1)
        else:
            out[k] = cb[i]
        k += 1
    return out[:k]


# The per-box conversions (kernels.redact_yuv420 ran these until it converted the union
# of the boxes once, below); kept as the reference for tests and benchmarks.
@njit(cache=True, nogil=True)
def yuv420_to_rgb_around(y, u, v, rgb, boxes, margin):
    """Convert to ``rgb`` (H, W, 3) the pixels of each box padded by ``margin`` and
    widened to whole 2x2 chroma blocks (chroma repeated over its block)."""
    rects = _nonempty_rects(boxes, rgb.shape[0], rgb.shape[1], margin)
    for i in range(rects.shape[0]):
        x0, y0, x1, y1 = rects[i, 0], rects[i, 1], rects[i, 2], rects[i, 3]
        for yy in range(y0, y1):
            yrow = y[yy]
            urow = u[yy >> 1]
            vrow = v[yy >> 1]
            out = rgb[yy]
            for xx in range(x0, x1):
                c = 298 * (np.int32(yrow[xx]) - 16) + 128
                d = np.int32(urow[xx >> 1]) - 128
                e = np.int32(vrow[xx >> 1]) - 128
                out[xx, 0] = _clip8((c + 409 * e) >> 8)
                out[xx, 1] = _clip8((c - 100 * d - 208 * e) >> 8)
                out[xx, 2] = _clip8((c + 516 * d) >> 8)


@njit(cache=True, nogil=True)
def rgb_to_yuv420_in(rgb, y, u, v, boxes):
    """Write back from ``rgb`` the luma of every pixel inside a box, and the chroma of
    every 2x2 block a box touches (from the block's mean colour)."""
    rects = _nonempty_rects(boxes, rgb.shape[0], rgb.shape[1], 0)
    for i in range(rects.shape[0]):
        x0, y0, x1, y1 = rects[i, 0], rects[i, 1], rects[i, 2], rects[i, 3]
        for yy in range(y0, y1):
            src = rgb[yy]
            dst = y[yy]
            for xx in range(x0, x1):
                r = np.int32(src[xx, 0])
                g = np.int32(src[xx, 1])
                b = np.int32(src[xx, 2])
                dst[xx] = ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16
        for by in range(y0 >> 1, (y1 + 1) >> 1):
            for bx in range(x0 >> 1, (x1 + 1) >> 1):
                r = np.int32(0)
                g = np.int32(0)
                b = np.int32(0)
                for dy in range(2):
                    row = rgb[2 * by + dy]
                    for dx in range(2):
                        r += row[2 * bx + dx, 0]
                        g += row[2 * bx + dx, 1]
                        b += row[2 * bx + dx, 2]
                u[by, bx] = ((-38 * r - 74 * g + 112 * b + 512) >> 10) + 128
                v[by, bx] = ((112 * r - 94 * g - 18 * b + 512) >> 10) + 128


# Union-of-boxes variant (what kernels.redact_yuv420 runs).  The two per-box kernels
# above convert every pixel once per box around it; with many overlapping boxes (a
# text line and its words, the same line in several plan entries) that is the same
# pixels many times.  Both conversions are pure per-pixel / per-2x2-block functions
# of their input, so converting (and writing back) the UNION of the boxes' blocks
# once gives the very same bytes.  The union is a flag byte per 2x2 chroma block:
_BLK_RGB = 1  # inside some box grown by the margin and widened to whole blocks
_BLK_UV = 2  # touched by some box: chroma written back
# bits 4..7: luma of pixel (dy, dx) of the block inside some box (bit 4 + 2 * dy + dx)


@njit(cache=True)
def _or_run(row, a, b, m):
    for j in range(a, b):
        row[j] |= m


@njit(cache=True)
def _pix_bits(lo, hi, k):
    """Bit 0: pixel 2k inside [lo, hi); bit 1: pixel 2k + 1 inside it."""
    p = 2 * k
    return (1 if lo <= p < hi else 0) | (2 if lo <= p + 1 < hi else 0)


@njit(cache=True)
def _luma_nibble(rm, cm):
    """Luma bits (bits 4..7) of a block from its row (dy) and column (dx) bit pairs."""
    return ((cm if rm & 1 else 0) | ((cm << 2) if rm & 2 else 0)) << 4


@njit(cache=True, nogil=True)
def yuv420_block_flags(boxes, hgt, wid, margin):
    """Flag bytes of the (hgt // 2, wid // 2) chroma blocks for the clipped boxes (see
    _BLK_*) and, per block row, the [start, end) columns holding flagged blocks
    (start >= end: none).  ``margin`` as in yuv420_to_rgb_around."""
    cb = _clip_boxes(boxes, hgt, wid)
    bh = hgt // 2
    bw = wid // 2
    flags = np.zeros((bh, bw), np.uint8)
    ext = np.empty((bh, 2), np.int64)
    for by in range(bh):
        ext[by, 0] = bw
        ext[by, 1] = 0
    for i in range(cb.shape[0]):
        if _empty(cb, i):
            continue
        x0, y0, x1, y1 = cb[i, 0], cb[i, 1], cb[i, 2], cb[i, 3]
        # grown block rect (exactly yuv420_to_rgb_around's rect, in blocks)
        gx0 = (max(0, x0 - margin) & ~1) >> 1
        gy0 = (max(0, y0 - margin) & ~1) >> 1
        gx1 = min(wid, (x1 + margin + 1) & ~1) >> 1
        gy1 = min(hgt, (y1 + margin + 1) & ~1) >> 1
        for by in range(gy0, gy1):
            _or_run(flags[by], gx0, gx1, _BLK_RGB)
            ext[by, 0] = min(ext[by, 0], gx0)
            ext[by, 1] = max(ext[by, 1], gx1)
        # touched blocks (exactly rgb_to_yuv420_in's chroma loop) and their luma bits
        tx0 = x0 >> 1
        tx1 = (x1 + 1) >> 1
        cm0 = _pix_bits(x0, x1, tx0)
        cm1 = _pix_bits(x0, x1, tx1 - 1)
        for by in range(y0 >> 1, (y1 + 1) >> 1):
            rm = _pix_bits(y0, y1, by)
            row = flags[by]
            row[tx0] |= _BLK_UV | _luma_nibble(rm, cm0)
            if tx1 - 1 > tx0:
                _or_run(row, tx0 + 1, tx1 - 1, _BLK_UV | _luma_nibble(rm, 3))
                row[tx1 - 1] |= _BLK_UV | _luma_nibble(rm, cm1)
    return flags, ext


@njit(cache=True)
def _yuv_to_rgb_run(yrow, urow, vrow, out, ba, bb):
    """Pixels 2 * ba .. 2 * bb - 1 of one row; the chroma terms once per block (the
    same integers as yuv420_to_rgb_around: (c + t) >> 8 with c = 298 (Y - 16) + 128)."""
    for bx in range(ba, bb):
        d = np.int32(urow[bx]) - 128
        e = np.int32(vrow[bx]) - 128
        tr = 409 * e
        tg = -100 * d - 208 * e
        tb = 516 * d
        for xx in range(2 * bx, 2 * bx + 2):
            c = 298 * (np.int32(yrow[xx]) - 16) + 128
            out[xx, 0] = _clip8((c + tr) >> 8)
            out[xx, 1] = _clip8((c + tg) >> 8)
            out[xx, 2] = _clip8((c + tb) >> 8)


@njit(cache=True, nogil=True)
def yuv420_to_rgb_blocks(y, u, v, rgb, flags, ext):
    """Convert to ``rgb`` every pixel of the blocks flagged _BLK_RGB, once: the same
    values yuv420_to_rgb_around writes there.  Other pixels of ``rgb`` are untouched."""
    for by in range(flags.shape[0]):
        fr = flags[by]
        bx = ext[by, 0]
        end = ext[by, 1]
        while bx < end:
            if not fr[bx] & _BLK_RGB:
                bx += 1
                continue
            a = bx
            while bx < end and fr[bx] & _BLK_RGB:
                bx += 1
            for yy in range(2 * by, 2 * by + 2):
                _yuv_to_rgb_run(y[yy], u[by], v[by], rgb[yy], a, bx)


@njit(cache=True)
def _luma_of(px):
    r = np.int32(px[0])
    g = np.int32(px[1])
    b = np.int32(px[2])
    return ((66 * r + 129 * g + 25 * b + 128) >> 8) + 16


@njit(cache=True, nogil=True)
def rgb_to_yuv420_blocks(rgb, y, u, v, flags, ext):
    """Write back from ``rgb`` the luma of the pixels whose bit is set and the chroma
    of the blocks flagged _BLK_UV, once: the same values rgb_to_yuv420_in writes."""
    for by in range(flags.shape[0]):
        fr = flags[by]
        r0 = rgb[2 * by]
        r1 = rgb[2 * by + 1]
        y0 = y[2 * by]
        y1 = y[2 * by + 1]
        ur = u[by]
        vr = v[by]
        for bx in range(ext[by, 0], ext[by, 1]):
            f = fr[bx]
            if not f & _BLK_UV:
                continue
            xa = 2 * bx
            if f & 0x10:
                y0[xa] = _luma_of(r0[xa])
            if f & 0x20:
                y0[xa + 1] = _luma_of(r0[xa + 1])
            if f & 0x40:
                y1[xa] = _luma_of(r1[xa])
            if f & 0x80:
                y1[xa + 1] = _luma_of(r1[xa + 1])
            r = np.int32(r0[xa, 0]) + np.int32(r0[xa + 1, 0]) + np.int32(r1[xa, 0]) + np.int32(r1[xa + 1, 0])
            g = np.int32(r0[xa, 1]) + np.int32(r0[xa + 1, 1]) + np.int32(r1[xa, 1]) + np.int32(r1[xa + 1, 1])
            b = np.int32(r0[xa, 2]) + np.int32(r0[xa + 1, 2]) + np.int32(r1[xa, 2]) + np.int32(r1[xa + 1, 2])
            ur[bx] = ((-38 * r - 74 * g + 112 * b + 512) >> 10) + 128
            vr[bx] = ((112 * r - 94 * g - 18 * b + 512) >> 10) + 128
