package swarm

import (
	"math/rand/v2"
	"testing"
)

// freeUnits walks the free lists and checks each block's bookkeeping.
func freeUnits(t *testing.T, a *arena) uint32 {
	t.Helper()
	var total uint32
	for k := uint8(0); k <= a.maxOrder; k++ {
		for e := a.free[k]; e != 0; e = a.words[(e-1)*unitWords] {
			u := e - 1
			if a.metaOf(u) != freeBit|k || u%(1<<k) != 0 {
				t.Fatalf("free block %d of order %d: meta %x", u, k, a.metaOf(u))
			}
			total += 1 << k
		}
	}
	return total
}

func TestArenaAllocFreeRestoresEverything(t *testing.T) {
	a := newArena(1000) // not a power of two: carved into several top blocks
	if got := freeUnits(t, a); got != 1000 {
		t.Fatalf("fresh arena has %d free units", got)
	}
	type blk struct {
		u uint32
		k uint8
	}
	var held []blk
	rng := rand.New(rand.NewPCG(1, 2))
	for step := 0; step < 20000; step++ {
		if len(held) > 0 && rng.IntN(3) == 0 {
			i := rng.IntN(len(held))
			a.release(held[i].u, held[i].k)
			held[i] = held[len(held)-1]
			held = held[:len(held)-1]
			continue
		}
		k := uint8(rng.IntN(6))
		if u, ok := a.alloc(k); ok {
			for _, h := range held { // no overlap with a held block
				if u < h.u+1<<h.k && h.u < u+1<<k {
					t.Fatalf("block %d/%d overlaps %d/%d", u, k, h.u, h.k)
				}
			}
			held = append(held, blk{u, k})
		}
	}
	var used uint32
	for _, h := range held {
		used += 1 << h.k
	}
	if free := freeUnits(t, a); free+used != 1000 || a.usedUnits() != used {
		t.Fatalf("free %d + used %d != 1000 (counter %d)", free, used, a.usedUnits())
	}
	for _, h := range held {
		a.release(h.u, h.k)
	}
	if got := freeUnits(t, a); got != 1000 {
		t.Fatalf("after releasing all, %d free units", got)
	}
	if a.free[a.maxOrder] == 0 {
		t.Fatal("buddies did not merge back into a top block")
	}
}

func TestArenaRegionsGrowShrinkAndRestore(t *testing.T) {
	a := newArena(3000)
	type region struct{ u, n uint32 }
	var held []region
	rng := rand.New(rand.NewPCG(3, 4))
	owner := make([]int, 3000) // which held region covers a unit, -1 none
	extended := 0
	check := func() {
		for i := range owner {
			owner[i] = -1
		}
		var used uint32
		for i, r := range held {
			for x := r.u; x < r.u+r.n; x++ {
				if owner[x] != -1 {
					t.Fatalf("unit %d in regions %d and %d", x, owner[x], i)
				}
				owner[x] = i
			}
			used += r.n
		}
		if free := freeUnits(t, a); free+used != 3000 || a.usedUnits() != used {
			t.Fatalf("free %d + used %d != 3000 (counter %d)", free, used, a.usedUnits())
		}
	}
	for step := 0; step < 5000; step++ {
		switch op := rng.IntN(4); {
		case op == 0 && len(held) > 0: // release whole
			i := rng.IntN(len(held))
			a.releaseRange(held[i].u, 0, held[i].n)
			held[i] = held[len(held)-1]
			held = held[:len(held)-1]
		case op == 2 && len(held) > 0 && rng.IntN(2) == 0: // grow in place
			i := rng.IntN(len(held))
			m := held[i].n + uint32(rng.IntN(40)) + 1
			if a.extend(held[i].u, held[i].n, m) {
				held[i].n = m
				extended++
			}
		case op == 1 && len(held) > 0: // shrink in place
			i := rng.IntN(len(held))
			if keep := uint32(rng.IntN(int(held[i].n))) + 1; keep < held[i].n {
				a.releaseRange(held[i].u, keep, held[i].n)
				held[i].n = keep
			}
		default:
			n := uint32(rng.IntN(100)) + 1
			if u, ok := a.allocRegion(n); ok {
				held = append(held, region{u, n})
			}
		}
		if step%50 == 0 {
			check()
		}
	}
	check()
	if extended < 100 {
		t.Fatalf("only %d regions grew in place", extended)
	}
	for _, r := range held {
		a.releaseRange(r.u, 0, r.n)
	}
	if got := freeUnits(t, a); got != 3000 {
		t.Fatalf("after releasing all, %d free units", got)
	}
}

// TestArenaWordOffsetsFitUint32: push and unlink compute word offsets
// as uint32 (unit*unitWords); arenaUnitsFor used to allow 2^31 units, so with
// a budget above ~17 GiB the offsets of high units wrapped and their free-list
// links were written over the arena's first blocks.
func TestArenaWordOffsetsFitUint32(t *testing.T) {
	for _, budget := range []int64{1 << 34, 1 << 40, 1 << 62} {
		units := arenaUnitsFor(budget)
		if uint64(units)*unitWords > 1<<32 {
			t.Errorf("budget %d: %d units, word offsets up to %d overflow uint32", budget, units, uint64(units)*unitWords)
		}
	}
}

// TestExtendStopsAtLargestBlock: a region at a high power of two may not
// grow in place past the largest block (2^maxOrder units): released whole,
// it would be a block of an order the free lists do not have (before the
// fix: index out of range [21] in the sweep).
func TestExtendStopsAtLargestBlock(t *testing.T) {
	a := newArena(1 << 22)
	max := uint32(1) << a.maxOrder
	u1, ok1 := a.allocRegion(max)
	u2, ok2 := a.allocRegion(max)
	if !ok1 || !ok2 || u2&-u2 < 2*max {
		t.Skipf("layout %#x %#x does not exercise the case", u1, u2)
	}
	a.releaseRange(u1, 0, max)
	if a.extend(u2, max, 2*max) {
		t.Fatal("extend grew a region past the largest block")
	}
	a.releaseRange(u2, 0, max)
	if a.usedUnits() != 0 {
		t.Fatalf("%d units still used", a.usedUnits())
	}
	// releaseRange splits a span wider than the largest block too.
	u, ok := a.allocRegion(max)
	if !ok {
		t.Fatal("no region")
	}
	a.releaseRange(u, 0, max)
}
