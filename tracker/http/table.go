package http

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Connection states, as the table sees them when it looks for a victim.
const (
	stFree    int32 = iota // in the free list
	stBusy                 // being accepted or answering a request: never evicted
	stIdle                 // served, waiting for another request with nothing buffered
	stWaiting              // waiting for a request head to complete (fresh or partial)
	stWriting              // blocked writing a reply to a client that does not read
)

// DefaultMaxConnections sizes the table when Config.MaxConnections is 0.
const DefaultMaxConnections = 1024

// DefaultMaxPerAddress is the per-source-address connection cap when
// Config.MaxPerAddress is 0.
const DefaultMaxPerAddress = 64

// evictGrace protects a connection from eviction for its first moments: a
// client whose connection was accepted just before its request arrived
// would otherwise lose it to the next connection when the table turns over
// fast. An accept that finds only younger victims waits until the oldest
// comes of age (evictRetry), which also bounds the turnover a flood of
// connections can force to MaxConnections per evictGrace.
const evictGrace = 50 * time.Millisecond

// evictWait bounds how long an accept waits for an evicted connection's
// goroutine to give its slot back (it normally takes microseconds), or for a
// busy connection to finish when none could be evicted.
const evictWait = time.Second

// connTable is the fixed set of connection slots, allocated once by
// NewServer: every connection's 8 KiB read buffer comes from one slab, so
// whatever clients do, connection buffers cost at most
// MaxConnections*MaxRequestBytes, counted in /stats?mode=store.
//
// A full table does not make new clients wait behind held connections: an
// accept evicts the slot that has waited longest (from MaxConnections-32
// slots in use on, so that it need not wait for that slot to come back), keep-alive idle ones
// first, then ones whose request has not arrived whole, then ones blocked
// writing to a client that does not read. Connections answering a request
// are never evicted. A source address (other than a trusted proxy) holding
// MaxPerAddress connections evicts its own oldest one, or is refused.
type connTable struct {
	all     []conn
	slab    []byte        // all the read buffers, pointer-free
	used    *atomic.Int64 // stats.Counters.ConnsOpen
	evictAt int           // slots in use from which an accept evicts (n - reserveFor(n))
	srv     *Server       // its configuration in force: the cap and the proxies, which SIGHUP may change
	epoch   time.Time     // since values are nanoseconds from here

	mu     sync.Mutex // guards count and victim selection
	count  map[netip.Addr]int32
	closed chan struct{}

	// The free slots are a stack: the slot freed last is taken first, so
	// that the read buffers in use, and so resident, are about as many as
	// the connections open at once. Taken in turn (a queue), every slot's
	// buffer became resident under a stream of short connections: 24 MB
	// of RSS with otbench's 4096 slots, the whole 8 MiB of the router
	// default's 1024.
	freeMu sync.Mutex
	free   []*conn
	nfree  atomic.Int32
	freed  chan struct{} // capacity 1: a slot was freed, for waitFree
}

func newConnTable(s *Server, n int) *connTable {
	t := &connTable{
		srv:     s,
		all:     make([]conn, n),
		free:    make([]*conn, 0, n),
		freed:   make(chan struct{}, 1),
		slab:    make([]byte, n*MaxRequestBytes),
		evictAt: n - reserveFor(n),
		epoch:   time.Now(),
		count:   make(map[netip.Addr]int32, n),
		closed:  s.done,
		used:    &s.c.ConnsOpen,
	}
	s.c.ConnSlots.Add(int64(n))
	s.c.ConnBufferBytes.Add(int64(len(t.slab)))
	for i := range t.all {
		j := len(t.all) - 1 - i // slot 0 on top of the stack
		cn := &t.all[j]
		cn.buf = t.slab[j*MaxRequestBytes : (j+1)*MaxRequestBytes : (j+1)*MaxRequestBytes]
		cn.table = t
		cn.slot = int32(j)
		t.free = append(t.free, cn)
	}
	t.nfree.Store(int32(n))
	return t
}

// pop takes the free slot freed last, or returns nil.
func (t *connTable) pop() *conn {
	t.freeMu.Lock()
	defer t.freeMu.Unlock()
	n := len(t.free)
	if n == 0 {
		return nil
	}
	cn := t.free[n-1]
	t.free = t.free[:n-1]
	t.nfree.Store(int32(n - 1))
	return cn
}

// push gives a slot back and wakes a waitFree.
func (t *connTable) push(cn *conn) {
	t.freeMu.Lock()
	t.free = append(t.free, cn)
	t.nfree.Store(int32(len(t.free)))
	t.freeMu.Unlock()
	select {
	case t.freed <- struct{}{}:
	default:
	}
}

// reserveFor is how many of n slots are kept free while the table is
// busy: an accept beyond n-reserve evicts a victim but does not wait for
// its goroutine to give the slot back (a context switch or two), so that
// accepts under a flood are pipelined instead of each waiting in turn.
func reserveFor(n int) int { return min(32, n/8) }

// inUse is the number of slots taken.
func (t *connTable) inUse() int { return len(t.all) - int(t.nfree.Load()) }

// now is the table's clock for since values.
func (t *connTable) now() int64 { return int64(time.Since(t.epoch)) }

// acquire takes a slot for a connection from peer, evicting another
// connection when the table is full or peer is at its cap. It returns nil
// when the connection must be refused: peer is at its cap and its oldest
// waiting connection is younger than evictGrace (or it has none), nothing
// could be freed within evictWait, or the server closes.
// The slot comes back marked busy.
//
// self is the inline acceptor calling, if any: a victim parked in it is
// closed here, since the acceptor cannot close it while it waits here.
func (t *connTable) acquire(peer netip.Addr, self *inlineAcceptor) (cn *conn, evicted bool) {
	cfg := t.srv.conf()
	capped := cfg.MaxPerAddress > 0 && !cfg.Proxies.Contains(peer)
	var reap *conn
	if capped {
		t.mu.Lock()
		if t.count[peer] >= int32(cfg.MaxPerAddress) {
			// An address over its cap pays with its own oldest waiting
			// connection, or, when that one is answering a request or
			// in its grace, with the new one: the accept loop never
			// waits on behalf of one address.
			v := t.victim(peer, true)
			if v == nil || t.age(v) < evictGrace {
				t.mu.Unlock()
				return nil, false
			}
			if v.evict(self) {
				reap = v
			}
			evicted = true
		}
		t.mu.Unlock()
		if reap != nil {
			self.reap(reap)
		}
	}
	if !evicted && t.inUse() >= t.evictAt {
		evicted = t.evictOldest(self)
	}
	if cn = t.pop(); cn == nil {
		if cn = t.waitFree(&evicted, self); cn == nil {
			return nil, evicted
		}
	}
	cn.state.Store(stBusy)
	cn.evicted.Store(false)
	cn.addr = peer
	t.used.Add(1)
	if capped {
		t.mu.Lock()
		t.count[peer]++
		cn.counted = true
		t.mu.Unlock()
	}
	return cn, evicted
}

// evictRetry is how often a full table looks again for a victim while it
// waits: one in its grace comes of age, one answering a request goes back
// to waiting.
const evictRetry = 10 * time.Millisecond

// waitFree waits for a slot of a full table, for evictWait at most, evicting
// the best victim once there is one old enough (unless *evicted says one
// was evicted for this connection already).
func (t *connTable) waitFree(evicted *bool, self *inlineAcceptor) *conn {
	timer := time.NewTimer(evictWait)
	defer timer.Stop()
	retry := time.NewTicker(evictRetry)
	defer retry.Stop()
	for {
		if !*evicted {
			*evicted = t.evictOldest(self)
		}
		if cn := t.pop(); cn != nil {
			return cn
		}
		select {
		case <-t.freed:
		case <-retry.C:
		case <-timer.C:
			return nil
		case <-t.closed:
			return nil
		}
	}
}

// evictOldest evicts the best victim of the whole table, if it is at least
// evictGrace old, and reports whether it did.
func (t *connTable) evictOldest(self *inlineAcceptor) bool {
	t.mu.Lock()
	v := t.victim(netip.Addr{}, false)
	if v == nil || t.age(v) < evictGrace {
		t.mu.Unlock()
		return false
	}
	reap := v.evict(self)
	t.mu.Unlock()
	if reap {
		self.reap(v)
	}
	return true
}

// age is how long cn has been in its current wait.
func (t *connTable) age(cn *conn) time.Duration { return time.Duration(t.now() - cn.since.Load()) }

// release returns cn's slot. The lock orders clearing nc against evict.
func (t *connTable) release(cn *conn) {
	t.mu.Lock()
	if cn.counted {
		if t.count[cn.addr]--; t.count[cn.addr] <= 0 {
			delete(t.count, cn.addr)
		}
		cn.counted = false
	}
	cn.srv, cn.nc, cn.replied = nil, nil, time.Time{}
	cn.state.Store(stFree)
	t.mu.Unlock()
	t.used.Add(-1)
	t.push(cn)
}

// victim picks the connection to evict: among those of addr when own is
// set, else among all. Keep-alive idle connections go first, then waiting
// ones, then blocked writers; the longest waiting of the first class that
// has any. Called with t.mu held.
func (t *connTable) victim(addr netip.Addr, own bool) *conn {
	var best [stWriting + 1]*conn
	for i := range t.all {
		cn := &t.all[i]
		st := cn.state.Load()
		if st < stIdle || cn.evicted.Load() || own && cn.addr != addr {
			continue
		}
		if b := best[st]; b == nil || cn.since.Load() < b.since.Load() {
			best[st] = cn
		}
	}
	for _, st := range []int32{stIdle, stWaiting, stWriting} {
		if best[st] != nil {
			return best[st]
		}
	}
	return nil
}

// evict makes cn's goroutine give up its slot: its blocked read or write
// returns at once. cn checks evicted after arming each deadline, so a
// deadline it arms after this one cannot undo the eviction. A connection
// parked in an inline acceptor is shut down instead, so that the
// acceptor's loop closes it; when that acceptor is self, the caller,
// whose loop is not running, evict returns true: the caller is to close cn
// (reap) once it has let go of t.mu. Called with t.mu held.
func (cn *conn) evict(self *inlineAcceptor) (reap bool) {
	cn.evicted.Store(true)
	if a := cn.parkedIn.Load(); a != nil {
		if a == self {
			return true
		}
		cn.wakeParked()
		return false
	}
	if nc := cn.nc; nc != nil {
		past := time.Unix(1, 0)
		nc.SetReadDeadline(past)
		nc.SetWriteDeadline(past)
	}
	return false
}

// wait marks cn as blocked in state st (stIdle, stWaiting or stWriting)
// from now on, and reports false when it was evicted meanwhile and must
// close. Call it after arming the deadline of the read or write.
func (cn *conn) wait(st int32, since bool) bool {
	if since {
		cn.since.Store(cn.table.now())
	}
	cn.state.Store(st)
	return !cn.evicted.Load()
}

// TableStats is the connection table's use, for /stats?mode=store.
type TableStats struct {
	Slots, Used, BufferBytes int64
}

// TableStats reports the size and use of the connection table.
func (s *Server) TableStats() TableStats {
	return TableStats{Slots: int64(len(s.table.all)), Used: int64(s.table.inUse()), BufferBytes: int64(len(s.table.slab))}
}
