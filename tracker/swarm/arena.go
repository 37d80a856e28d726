package swarm

import (
	"sync"
	"unsafe"
)

// The peer arena: one pointer-free []uint32 allocated at start, carved into
// power-of-two blocks by a binary buddy allocator. Peer lists live in these
// blocks, so the garbage collector never scans them and a full arena is a
// clear refusal rather than growth. A free block keeps its free-list links
// in its first two words and its order in the third; a bit per unit says
// which units head a free block, which is all the buddy merge needs (a bit
// rather than a byte: the meta bytes were 6 % of the resident arena).

const (
	unitWords   = 4    // smallest block: 16 bytes
	maxOrderCap = 20   // largest block: 2^20 units = 16 MiB
	freeBit     = 0x80 // in metaOf's answer: a free block's head
	// maxUnits keeps word offsets (unit*unitWords) within uint32: a 16 GiB
	// arena, far beyond any router.
	maxUnits = 1<<32/unitWords - 1
)

type arena struct {
	mu    sync.Mutex
	words []uint32
	// pageOrder is the order of a block that spans one page. A free block
	// of a higher order keeps only its first page, which holds its free-list
	// links, in memory: the rest goes back to the kernel (dropPages).
	pageOrder uint8
	heads     []uint64 // bit u: unit u heads a free block
	free      [maxOrderCap + 1]uint32
	maxOrder  uint8
	units     uint32
	used      uint32 // units handed out
}

// arenaUnitsFor returns how many units fit in budget bytes, counting the
// head bit each unit needs (a 64-bit word per 64 units).
func arenaUnitsFor(budget int64) uint32 {
	n := budget * 64 / (unitWords*4*64 + 8)
	if n > maxUnits {
		n = maxUnits
	}
	if n < 0 {
		n = 0
	}
	return uint32(n)
}

func newArena(units uint32) *arena {
	a := &arena{
		words: make([]uint32, int(units)*unitWords),
		heads: make([]uint64, (units+63)/64),
		units: units,
	}
	for a.maxOrder < maxOrderCap && uint32(1)<<(a.maxOrder+1) <= units {
		a.maxOrder++
	}
	for 1<<a.pageOrder*unitWords*4 < pageBytes {
		a.pageOrder++
	}
	// Aligned blocks only line up with pages if the arena starts on one.
	if len(a.words) > 0 && uintptr(unsafe.Pointer(&a.words[0]))%uintptr(pageBytes) != 0 {
		a.pageOrder = maxOrderCap + 1
	}
	// Carve the arena into the largest aligned blocks that fit, biggest
	// first, so that each block's offset is a multiple of its size.
	var off uint32
	for k := int(a.maxOrder); k >= 0; k-- {
		for units-off >= 1<<k {
			a.push(uint8(k), off)
			off += 1 << k
		}
	}
	return a
}

// Regions: a peer list needs a run of any number of units, not a power of
// two, or a quarter of the arena would be slack on average. allocRegion
// takes the smallest block that holds the run and gives back its tail at
// once; a region can later shrink by giving back its tail. Because a region
// starts at the start of a block at least its size, every tail splits into
// aligned power-of-two pieces, which the buddy allocator takes back as
// ordinary blocks.

// allocRegion returns the unit offset of n free units (n >= 1).
func (a *arena) allocRegion(n uint32) (uint32, bool) {
	var k uint8
	for uint32(1)<<k < n {
		k++
	}
	u, ok := a.alloc(k)
	if ok {
		a.releaseRange(u, n, 1<<k)
	}
	return u, ok
}

// releaseRange gives back units [from, to) of the region starting at base.
func (a *arena) releaseRange(base, from, to uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.releaseRangeLocked(base, from, to)
}

func (a *arena) releaseRangeLocked(base, from, to uint32) {
	for p := from; p < to; {
		s := p & -p // largest block size p is aligned to
		if p == 0 {
			s = 1 << 31
		}
		for s > to-p || s > 1<<a.maxOrder {
			s >>= 1
		}
		var k uint8
		for uint32(1)<<k < s {
			k++
		}
		a.freeBlock(base+p, k)
		p += s
	}
}

// extend grows the region of n units at u to m units in place, when the
// units after it are free blocks: usually the tail that allocRegion gave
// back, unless another list has taken it since. A region never grows past
// the alignment of its start, so that its tail still splits into aligned
// blocks, nor past the largest block, which allocRegion never exceeds
// either (a region at 0 or at a high power of two would otherwise grow into
// an order the free lists do not have). It saves the copy and keeps a
// growing list where it was.
func (a *arena) extend(u, n, m uint32) bool {
	if u != 0 && m > u&-u || m > 1<<a.maxOrder {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p := n
	for p < m { // check first: claim nothing unless all of it is free
		if u+p >= a.units || !a.isHead(u+p) {
			return false
		}
		p += 1 << a.orderOf(u+p)
	}
	for p = n; p < m; {
		k := a.orderOf(u + p)
		a.unlink(k, u+p)
		a.used += 1 << k
		p += 1 << k
	}
	a.releaseRangeLocked(u, m, p) // what the last block held beyond m
	return true
}

func (a *arena) push(k uint8, u uint32) {
	base := u * unitWords
	head := a.free[k]
	a.words[base] = head
	a.words[base+1] = 0
	if head != 0 {
		a.words[(head-1)*unitWords+1] = u + 1
	}
	a.free[k] = u + 1
	a.words[base+2] = uint32(k)
	a.heads[u/64] |= 1 << (u % 64)
}

// isHead reports whether unit u heads a free block.
func (a *arena) isHead(u uint32) bool { return a.heads[u/64]&(1<<(u%64)) != 0 }

// orderOf is the order of the free block headed by u.
func (a *arena) orderOf(u uint32) uint8 { return uint8(a.words[u*unitWords+2]) }

// isFree reports whether u heads a free block of order k.
func (a *arena) isFree(u uint32, k uint8) bool { return a.isHead(u) && a.orderOf(u) == k }

// metaOf is freeBit|order for the head of a free block, else 0 (tests).
func (a *arena) metaOf(u uint32) uint8 {
	if !a.isHead(u) {
		return 0
	}
	return freeBit | a.orderOf(u)
}

func (a *arena) unlink(k uint8, u uint32) {
	base := u * unitWords
	next, prev := a.words[base], a.words[base+1]
	if prev != 0 {
		a.words[(prev-1)*unitWords] = next
	} else {
		a.free[k] = next
	}
	if next != 0 {
		a.words[(next-1)*unitWords+1] = prev
	}
	a.heads[u/64] &^= 1 << (u % 64)
}

// alloc returns the unit offset of a free block of order k.
func (a *arena) alloc(k uint8) (uint32, bool) {
	if k > a.maxOrder {
		return 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	j := k
	for j <= a.maxOrder && a.free[j] == 0 {
		j++
	}
	if j > a.maxOrder {
		return 0, false
	}
	u := a.free[j] - 1
	a.unlink(j, u)
	for j > k { // split, keeping the lower half
		j--
		a.push(j, u+1<<j)
	}
	a.used += 1 << k
	return u, true
}

// release returns a block of order k, merging it with free buddies.
func (a *arena) release(u uint32, k uint8) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.freeBlock(u, k)
}

// freeBlock is release with the lock held. A free block larger than a page
// keeps only its first page in memory: the block's own pages after the
// first are dropped, and when two free blocks of a page or more merge, the
// upper one's first page, which held its links, is dropped too.
func (a *arena) freeBlock(u uint32, k uint8) {
	a.used -= 1 << k
	if k > a.pageOrder {
		a.drop(u+1<<a.pageOrder, u+1<<k)
	}
	for k < a.maxOrder {
		b := u ^ 1<<k
		if b >= a.units || !a.isFree(b, k) {
			break
		}
		a.unlink(k, b)
		if k >= a.pageOrder {
			upper := u | b
			a.drop(upper, upper+1<<a.pageOrder)
		}
		u &= b
		k++
	}
	a.push(k, u)
}

// drop gives the pages of units [from, to) back to the kernel.
func (a *arena) drop(from, to uint32) {
	dropPages(a.words[from*unitWords : to*unitWords])
}

func (a *arena) usedUnits() uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used
}
