// Package stats renders the /stats pages (Pages): opentracker's modes in the
// reference's layout, from the store and the tracker's counters
// (logic.Counters), and this tracker's own (store, heap, s24s, renew).
package stats

import (
	"encoding/hex"
	"fmt"
	"runtime/metrics"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/state"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// ErrUnknownMode answers a /stats mode or format this tracker does not have.
// It is the client's mistake: BadRequest says so to the HTTP front end.
var ErrUnknownMode error = badQuery("unknown stats mode")

type badQuery string

func (e badQuery) Error() string  { return string(e) }
func (badQuery) BadRequest() bool { return true }

// Pages renders the /stats pages of one tracker.
type Pages struct {
	Store    *swarm.Store
	Counters *logic.Counters
	Version  string       // reported by mode=version and mode=everything
	Daemon   *DaemonState // access list and live sync state for json and prom; nil: none
}

// started is when the process began counting; uptime is measured from it.
var started = time.Now()

// Render appends the body of /stats?mode=mode&format=format to dst. The
// opentracker modes keep the reference's MRTG layout (two values, uptime,
// a title), so existing graphs keep working; "heap" and "store" are ours.
func (p *Pages) Render(dst []byte, mode, format string) ([]byte, error) {
	store, c := p.Store, p.Counters
	secs := int64(time.Since(started) / time.Second)
	if out, ok := appendMRTG(dst, mode, store, c, secs); ok {
		return out, nil
	}
	switch mode {
	case "top10", "top100":
		n := 10
		if mode == "top100" {
			n = 100
		}
		return appendTop(dst, store, n), nil
	case "statedump":
		return state.AppendDump(dst, store, time.Now()), nil
	case "tpbs":
		return appendTPBS(dst, store, format)
	case "json":
		r := p.report()
		return AppendJSON(dst, &r), nil
	case "prom":
		r := p.report()
		return AppendProm(dst, &r), nil
	case "version":
		return fmt.Appendf(dst, "opentracker-go %s\n", p.Version), nil
	case "heap":
		return appendHeap(dst), nil
	case "store":
		st := store.Stats()
		dst = fmt.Appendf(dst, "budget_bytes %d\narena_bytes %d\narena_used_bytes %d\ntorrents %d\ntorrent_capacity %d\npeers4 %d\npeers6 %d\nseeders %d\nrefused_torrents %d\nrefused_peers %d\n",
			st.BudgetBytes, st.ArenaBytes, st.ArenaUsedBytes, st.Torrents, st.TorrentCapacity, st.Peers4, st.Peers6, st.Seeders, st.RefusedTorrents, st.RefusedPeers)
		// Outside the store's budget but as fixed: the HTTP connection
		// table's buffers, allocated at start.
		return fmt.Appendf(dst, "conn_slots %d\nconn_buffer_bytes %d\nconns_open %d\nconns_evicted %d\nconns_refused %d\n",
			c.ConnSlots.Load(), c.ConnBufferBytes.Load(), c.ConnsOpen.Load(), c.HTTPEvicted.Load(), c.TCPRejected.Load()), nil
	case "everything":
		return appendEverything(dst, store, c, secs, p.Version), nil
	case "s24s":
		return appendNetworks(dst, store), nil
	case "renew":
		return appendRenew(dst, store), nil
	}
	return dst, ErrUnknownMode
}

// appendMRTG appends the modes in the reference's MRTG layout (two values,
// uptime, a title) and the herr table, with ok false for any other mode.
func appendMRTG(dst []byte, mode string, store *swarm.Store, c *logic.Counters, secs int64) (out []byte, ok bool) {
	uptime := fmt.Sprintf("%d seconds (%d hours)", secs, secs/3600)
	rate := func(n uint64) string {
		if secs == 0 {
			return "0"
		}
		return strconv.FormatUint(n/uint64(secs), 10)
	}
	mrtg := func(a, b uint64, tail string) []byte {
		return fmt.Appendf(dst, "%d\n%d\n%s\n%s", a, b, uptime, tail)
	}
	udpAnnounces := c.UDPAnnounces.Load() + c.UDPConnects.Load()
	switch mode {
	case "", "peer":
		st := store.Stats()
		peers := uint64(st.Peers4 + st.Peers6)
		return fmt.Appendf(dst, "%d\n%d\nopentracker serving %d torrents\nopentracker", peers, st.Seeders, st.Torrents), true
	case "torr":
		st := store.Stats()
		return fmt.Appendf(dst, "%d\n0\nopentracker serving %d torrents\nopentracker", st.Torrents, st.Torrents), true
	case "conn":
		accepts := c.TCPAccepts.Load() + c.UDPPackets.Load()
		ok := c.HTTPAnnounces.Load() + udpAnnounces
		return mrtg(accepts, ok, "opentracker connections, "+rate(accepts)+" conns/s :: "+rate(ok)+" success/s."), true
	case "scrp":
		t, u := c.HTTPScrapes.Load(), c.UDPScrapes.Load()
		return mrtg(t, u, "opentracker scrape stats, "+rate(t+u)+" scrape/s (tcp and udp)"), true
	case "udp4":
		p := c.UDPPackets.Load()
		return mrtg(p, udpAnnounces, "opentracker udp4 stats, "+rate(p)+" conns/s :: "+rate(udpAnnounces)+" success/s."), true
	case "tcp4":
		a, n := c.TCPAccepts.Load(), c.HTTPAnnounces.Load()
		return mrtg(a, n, "opentracker tcp4 stats, "+rate(a)+" conns/s :: "+rate(n)+" success/s."), true
	case "fscr":
		n, b := c.FullScrapes.Load(), c.FullScrapeBytes.Load()
		return mrtg(n*1000, b, "opentracker full scrape stats, "+rate(n*1000)+" conns/s :: "+rate(b)+" bytes/s."), true
	case "completed":
		n := c.Completed.Load()
		return mrtg(n, 0, "opentracker, "+strconv.FormatUint(n*3600/max(uint64(secs), 1), 10)+" completed/h."), true
	case "syncs":
		// The reference's second value is always 0; ours is the records
		// this tracker could not send, so that a graph shows any loss.
		n, sent, dropped := c.SyncReceived.Load(), c.SyncSent.Load(), c.SyncDropped.Load()
		return mrtg(n, dropped, fmt.Sprintf("opentracker live sync, %s peers/s :: %d records sent, %d dropped.", rate(n), sent, dropped)), true
	case "herr":
		// The reference's seven lines (PAR: its parameter errors, COM: its
		// refusal of compact=0, SRV: its internal errors, none of which
		// happen here), then announces and scrapes answered with a failure
		// reason, which it does not have.
		return fmt.Appendf(dst, "302 RED %d\n400 ... %d\n400 PAR %d\n400 COM %d\n403 IP  %d\n404 INV %d\n500 SRV %d\nFAILURE %d\n",
			c.HTTPRedirects.Load(), c.HTTPBadRequests.Load(), 0, 0, c.NotAuthorized.Load(), c.HTTPNotFound.Load(), 0, c.HTTPFailures.Load()), true
	}
	return dst, false
}

func appendTPBS(dst []byte, store *swarm.Store, format string) ([]byte, error) {
	switch format {
	case "ben":
		dst = append(dst, "d5:filesd"...)
		store.Range(func(h logic.InfoHash, c logic.Counts) bool {
			dst = append(dst, "20:"...)
			dst = append(dst, h[:]...)
			dst = fmt.Appendf(dst, "d8:completei%de10:downloadedi%de10:incompletei%dee", c.Seeders, c.Completed, c.Leechers)
			return true
		})
		return append(dst, "ee"...), nil
	case "bin":
		store.Range(func(h logic.InfoHash, c logic.Counts) bool {
			dst = append(dst, h[:]...)
			dst = append(dst, byte(c.Seeders>>24), byte(c.Seeders>>16), byte(c.Seeders>>8), byte(c.Seeders),
				byte(c.Leechers>>24), byte(c.Leechers>>16), byte(c.Leechers>>8), byte(c.Leechers))
			return true
		})
		return dst, nil
	case "txt", "txtp":
		store.Range(func(h logic.InfoHash, c logic.Counts) bool {
			dst = h.AppendHex(dst)
			if format == "txt" {
				dst = fmt.Appendf(dst, ":%d:%d\n", c.Seeders, c.Leechers)
			} else {
				dst = fmt.Appendf(dst, ":%d:%d:%d\n", c.Seeders, c.Leechers, c.Completed)
			}
			return true
		})
		return dst, nil
	}
	// The reference hangs on a missing format; we say what is wrong.
	return dst, fmt.Errorf("%w: tpbs needs format=ben, bin, txt or txtp", ErrUnknownMode)
}

type ranked struct {
	h logic.InfoHash
	c logic.Counts
}

func appendTop(dst []byte, store *swarm.Store, n int) []byte {
	var all []ranked
	store.Range(func(h logic.InfoHash, c logic.Counts) bool {
		all = append(all, ranked{h, c})
		return true
	})
	for _, by := range []struct {
		name string
		key  func(logic.Counts) uint32
	}{
		{"peers", func(c logic.Counts) uint32 { return c.Seeders + c.Leechers }},
		{"seeds", func(c logic.Counts) uint32 { return c.Seeders }},
		{"leechers", func(c logic.Counts) uint32 { return c.Leechers }},
	} {
		sort.Slice(all, func(i, j int) bool { return by.key(all[i].c) > by.key(all[j].c) })
		dst = fmt.Appendf(dst, "Top %d torrents by %s:\n", n, by.name)
		for i := 0; i < n && i < len(all) && by.key(all[i].c) > 0; i++ {
			dst = fmt.Appendf(dst, "\t%d\t%s\n", by.key(all[i].c), strings.ToUpper(hex.EncodeToString(all[i].h[:])))
		}
	}
	return dst
}

// appendHeap reports the Go runtime's memory, to show that the heap stays
// flat under load (the store itself lives outside the collected heap).
func appendHeap(dst []byte) []byte {
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/gc/cycles/total:gc-cycles"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	metrics.Read(samples)
	names := []string{"heap_live_bytes", "heap_goal_bytes", "gc_cycles", "runtime_total_bytes", "goroutines"}
	for i, s := range samples {
		var v uint64
		if s.Value.Kind() == metrics.KindUint64 {
			v = s.Value.Uint64()
		}
		dst = fmt.Appendf(dst, "%s %d\n", names[i], v)
	}
	return dst
}

func appendEverything(dst []byte, store *swarm.Store, c *logic.Counters, secs int64, version string) []byte {
	st := store.Stats()
	dst = fmt.Appendf(dst, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<stats>\n  <version>opentracker-go %s</version>\n  <uptime>%d</uptime>\n", version, secs)
	dst = fmt.Appendf(dst, "  <torrents>\n    <count_mutex>%d</count_mutex>\n    <count_iterator>%d</count_iterator>\n  </torrents>\n", st.Torrents, st.Torrents)
	dst = fmt.Appendf(dst, "  <peers>\n    <count>%d</count>\n  </peers>\n  <seeds>\n    <count>%d</count>\n  </seeds>\n  <completed>\n    <count>%d</count>\n  </completed>\n",
		st.Peers4+st.Peers6, st.Seeders, st.Completed)
	dst = fmt.Appendf(dst, "  <connections>\n    <tcp>\n      <accept>%d</accept>\n      <announce>%d</announce>\n      <scrape>%d</scrape>\n    </tcp>\n",
		c.TCPAccepts.Load(), c.HTTPAnnounces.Load(), c.HTTPScrapes.Load())
	dst = fmt.Appendf(dst, "    <udp>\n      <overall>%d</overall>\n      <connect>%d</connect>\n      <announce>%d</announce>\n      <scrape>%d</scrape>\n      <missmatch>%d</missmatch>\n    </udp>\n  </connections>\n",
		c.UDPPackets.Load(), c.UDPConnects.Load(), c.UDPAnnounces.Load(), c.UDPScrapes.Load(), c.UDPMismatch.Load())
	dst = fmt.Appendf(dst, "  <livesync>\n    <count>%d</count>\n    <sent>%d</sent>\n    <dropped>%d</dropped>\n  </livesync>\n",
		c.SyncReceived.Load(), c.SyncSent.Load(), c.SyncDropped.Load())
	dst = append(dst, "  <debug>\n    <renew>\n"...)
	for m, n := range store.Renewals() {
		dst = fmt.Appendf(dst, "      <count interval=\"%02d\">%d</count>\n", m, n)
	}
	dst = append(dst, "    </renew>\n  </debug>\n"...)
	dst = fmt.Appendf(dst, "  <memory>\n    <budget>%d</budget>\n    <arena_used>%d</arena_used>\n    <refused_torrents>%d</refused_torrents>\n    <refused_peers>%d</refused_peers>\n  </memory>\n</stats>\n",
		st.BudgetBytes, st.ArenaUsedBytes, st.RefusedTorrents, st.RefusedPeers)
	return dst
}
