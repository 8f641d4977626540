"""Closest raters of many targets of one movie at once, a target a lane: u's ratings laid out
as a byte a target (a row a movie), each rater v of m adds its ratings to every lane in one
vector pass a rating, and the lanes' sums (c, 2s) go to each target's running n best.

The work is Σ_{v∈R(m)} |I_v| vector passes of LANES bytes a block of targets, against the
walk's Σ_t Σ_{i∈I_u} |R(i) ∩ R(m)| scattered additions and the listing of R(m) before it;
on the 100 M Netflix-shaped set a pass of 256 lanes costs about what four scattered
additions do, and a target's lanes are busy for 8.5 % of the passes (a lane idles where u did
not rate the movie), so the passes cost less than the walk (1,450 targets/s against 306 on
the probe targets of 2 % of the movies, `benchmarks/netflix_scale.py closest`) and need no
listing."""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils
from numba.core.errors import RequireLiteralValue
from numba.extending import intrinsic

from recsys.features.closest.nearest import beats, doubled_fraction, fraction, offer, write

LANES = 256  # targets scored together: a block's rows take n_items x LANES bytes per thread
LANE_GROUP = 64  # a block's lanes are a multiple of this (its vector passes' length)
# What the lanes cost, in ns on a 2-core machine with AVX-512 (`closest_lanes` timed a movie
# at a time on the 100 M Netflix-shaped set): a rating's pass costs PASS_NS plus PASS_NS_64 for each
# 64 lanes (6.8 ns for 64, 15 for 256), and a rater's comparison COMPARE_NS a lane. Measured
# with the byte sums in memory; in registers (`_passes`) a rater's movie costs 10 % (64 lanes)
# to 32 % (256) less, timed alone on 120 movies. Kept, so the plan chooses as it was measured
# to choose end to end: the lanes only got cheaper.
PASS_NS = 4.0
PASS_NS_64 = 2.75
COMPARE_NS = 3.0


@numba.njit(cache=True)
def lanes_cost(entries, n_slots, size):
    """Estimated ns of `closest_lanes` for ``size`` targets of a movie whose n_slots raters
    rated ``entries`` movies in all."""
    total = 0.0
    for lo in range(0, size, LANES):
        groups = -(-min(LANES, size - lo) // LANE_GROUP)
        total += entries * (PASS_NS + PASS_NS_64 * groups)
    return total + COMPARE_NS * n_slots * size


@numba.njit(cache=True)
def _fill(m, users, u_ptr, u_items, u_doubled, rows, row_of):
    """Lays out the block's ratings: movie i rated by a target of the block gets a row
    (row_of[i], in order of first sight, so the rows read are few and close together), and
    rows[row_of[i], j] = twice u_j's rating of i, plus one (0 = not rated); m gets none.
    Returns how many rows were taken."""
    used = 0
    for j in range(len(users)):
        u = users[j]
        for p in range(u_ptr[u], u_ptr[u + 1]):
            i = u_items[p]
            if i == m:
                continue
            if row_of[i] < 0:
                row_of[i] = used
                used += 1
            rows[row_of[i], j] = np.uint8(u_doubled[p] + 1)
    return used


@numba.njit(cache=True)
def _clear(users, u_ptr, u_items, rows, row_of, used):
    """Undoes `_fill`: zeroed rows, row_of back to -1."""
    rows[:used] = 0
    for j in range(len(users)):
        u = users[j]
        for p in range(u_ptr[u], u_ptr[u + 1]):
            row_of[u_items[p]] = -1


@intrinsic
def _stack_bytes(typingctx, size):
    """A pointer to ``size`` zeroed bytes on the stack (size a compile-time constant). The
    compiler can keep such bytes in vector registers, where it cannot with an array's."""
    if not isinstance(size, numba.types.IntegerLiteral):
        raise RequireLiteralValue("size")
    kind = ir.ArrayType(ir.IntType(8), size.literal_value)

    def codegen(context, builder, signature, args):
        room = cgutils.alloca_once(builder, kind)
        builder.store(ir.Constant(kind, None), room)
        return builder.bitcast(room, ir.IntType(8).as_pointer())

    return numba.types.CPointer(numba.types.uint8)(size), codegen


@numba.njit(cache=True)
def _passes(rows, passes, values, lo, hi, sums, counts, width):
    """A rater's ratings lo..hi (values[e] on row passes[e]; at most 255 // spread of them, so
    no byte sum overflows) added to the first ``width`` lanes' sums (c, 2s). ``width`` is a
    compile-time constant, so the byte sums are a fixed block on the stack that the compiler
    keeps in vector registers across the ratings (1.3-1.6 times faster than sums in an array,
    which it must load and store at every rating)."""
    numba.literally(width)
    sums8 = numba.carray(_stack_bytes(width), (width,))
    counts8 = numba.carray(_stack_bytes(width), (width,))
    for e in range(lo, hi):
        row = rows[passes[e]]
        theirs = values[e]
        for j in range(width):
            x = row[j]
            # |x - theirs| from the difference wrapped to a signed byte: right up to 128 apart
            apart = np.uint8(abs(np.int64(np.int8(np.uint8(x - theirs)))))
            sums8[j] += apart if x != 0 else np.uint8(0)  # where u_j rated i
            counts8[j] += min(x, np.uint8(1))
    for j in range(width):
        sums[j] += sums8[j]
        counts[j] += counts8[j]


@numba.njit(cache=True)
def _screen(width, sums, counts, worst_d, near):
    """near[j]: whether lane j's sums (c, 2s) come within its n-th best distance, as floats.
    Returns whether any lane is near."""
    found = 0
    for j in range(width):
        num, den = doubled_fraction(counts[j], sums[j])
        near[j] = np.float64(num) / np.float64(den) <= worst_d[j]
        found += near[j]
    return found > 0


@numba.njit(cache=True)
def _offer_lane(j, v, rating, c, s2, worst_num, worst_den, worst_c, worst_d, kept, best_d,
                best_c, best_v, best_r):  # fmt: skip
    """Rater v with sums (c, 2s) offered to lane j's n best, compared exactly as fractions."""
    n = best_d.shape[1]
    c = np.int64(c)
    num, den = doubled_fraction(c, np.int64(s2))
    if not beats(num, den, c, worst_num[j], worst_den[j], worst_c[j]):
        return
    kept[j] = offer(num / den, c, v, rating, kept[j], best_d[j], best_c[j], best_v[j], best_r[j])
    if kept[j] == n:
        worst_c[j] = best_c[j, n - 1]
        worst_num[j], worst_den[j] = fraction(worst_c[j], best_d[j, n - 1])
        worst_d[j] = best_d[j, n - 1]


@numba.njit(cache=True)
def _block(m, users, targets, u_ptr, u_items, u_doubled, i_ptr, i_users, i_ratings, spread,
           rows, row_of, ratings, distances, raters):  # fmt: skip
    """The exact n nearest raters of m for a block of at most LANES targets of m (users[j] is
    target targets[j]'s user). ``rows`` (n_items x LANES bytes) come zeroed and ``row_of``
    (a row a movie) all -1, and are left so. ``spread`` is the largest difference of two
    doubled ratings: byte sums of at most 255 // spread ratings cannot overflow."""
    n = ratings.shape[1]
    size = len(users)
    width = -(-size // LANE_GROUP) * LANE_GROUP
    used = _fill(m, users, u_ptr, u_items, u_doubled, rows, row_of)
    sums, counts = np.zeros(width, np.int32), np.zeros(width, np.int32)
    per_flush = max(1, 255 // max(spread, 1))
    best_d = np.empty((size, n), np.float64)
    best_c = np.empty((size, n), np.int64)
    best_v = np.empty((size, n), np.int64)
    best_r = np.empty((size, n), np.float32)
    kept = np.zeros(size, np.int64)
    # Each lane's n-th best as worst_num / worst_den and its common count (see scan_packed),
    # and as a float (worst_d: the padding lanes' -1 lets nothing in) for a first screening.
    worst_num = np.ones(size, np.int64)
    worst_den = np.zeros(size, np.int64)
    worst_c = np.zeros(size, np.int64)
    worst_d = np.full(width, -1.0)
    worst_d[:size] = np.inf
    near = np.zeros(width, np.bool_)
    passes = np.empty(len(row_of), np.int32)  # a rater's rows to pass over (at most n_items)
    values = np.empty(len(row_of), np.uint8)
    for q in range(i_ptr[m], i_ptr[m + 1]):
        v = i_users[q]
        # v's ratings of movies some target of the block rated: rows and values, no branch.
        found = 0
        for p in range(u_ptr[v], u_ptr[v + 1]):
            r = row_of[u_items[p]]
            passes[found] = r
            values[found] = u_doubled[p] + 1
            found += r >= 0
        # In runs short enough for byte sums, at a width known when compiled (LANES is four
        # LANE_GROUPs), so that the byte sums can live in vector registers.
        for lo in range(0, found, per_flush):
            hi = min(found, lo + per_flush)
            if width == LANE_GROUP:
                _passes(rows, passes, values, lo, hi, sums, counts, 64)
            elif width == 2 * LANE_GROUP:
                _passes(rows, passes, values, lo, hi, sums, counts, 128)
            elif width == 3 * LANE_GROUP:
                _passes(rows, passes, values, lo, hi, sums, counts, 192)
            else:
                _passes(rows, passes, values, lo, hi, sums, counts, 256)
        # Screening in floats, every lane at once: d rounds as the kept distances do, so a
        # rater nearer than a lane's n-th best (or tied with it) always passes.
        if _screen(width, sums, counts, worst_d, near):
            for j in range(size):
                if near[j] and users[j] != v:
                    _offer_lane(j, v, i_ratings[q], counts[j], sums[j], worst_num, worst_den,
                                worst_c, worst_d, kept, best_d, best_c, best_v, best_r)  # fmt: skip
        sums[:] = 0
        counts[:] = 0
    _clear(users, u_ptr, u_items, rows, row_of, used)
    for j in range(size):
        write(targets[j], kept[j], best_d[j], best_v[j], best_r[j], ratings, distances, raters)


@numba.njit(cache=True)
def closest_lanes(m, targets, user, u_ptr, u_items, u_doubled, i_ptr, i_users, i_ratings,
                  spread, rows, row_of, ratings, distances, raters):  # fmt: skip
    """The exact closest raters of m for ``targets`` (all of movie m), LANES at a time."""
    activity = np.empty(len(targets), np.int64)
    for j in range(len(targets)):
        activity[j] = u_ptr[user[targets[j]] + 1] - u_ptr[user[targets[j]]]
    targets = targets[np.argsort(activity)]
    for lo in range(0, len(targets), LANES):
        block = targets[lo : lo + LANES]
        _block(m, user[block], block, u_ptr, u_items, u_doubled, i_ptr, i_users, i_ratings,
               spread, rows, row_of, ratings, distances, raters)  # fmt: skip
