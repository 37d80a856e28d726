package config

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// Limits checked by Validate.
const (
	MinMemoryBudget = 1 << 20
	MaxMemoryBudget = 1 << 40
	// Connection buffers are allocated at start: 65536 is 512 MiB.
	MaxConnectionsLimit = 65536
	MaxNumWantLimit     = 512 // logic.MaxPeersPerReply
)

// Validate checks every value and names where a bad one was set.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", c.where(key), key, fmt.Sprintf(format, args...))
	}
	// A limit between two keys is reported at the one the operator set:
	// "max_numwant = 10" makes the default numwant (50) too big, and the
	// message must point at the line that did it.
	operator := func(key string) bool { return !strings.HasPrefix(c.where(key), "default.toml") }
	either := func(key, other string) string {
		if !operator(key) && operator(other) {
			return other
		}
		return key
	}
	if c.MemoryBudget < MinMemoryBudget || c.MemoryBudget > MaxMemoryBudget {
		return bad("memory_budget", "%d bytes is outside 1M..1T", c.MemoryBudget)
	}
	if c.MaxTorrents < 0 {
		return bad("max_torrents", "must not be negative")
	}
	if err := swarm.CheckTorrents(int64(c.MemoryBudget), c.MaxTorrents); err != nil {
		key := "max_torrents"
		if c.MaxTorrents == 0 {
			key = "memory_budget"
		}
		return bad(key, "%v", err)
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"listen.tcp", c.Listen.TCP}, {"listen.udp", c.Listen.UDP}} {
		for _, a := range l.list {
			if _, err := ParseListen(a); err != nil {
				return bad(l.key, "%v", err)
			}
		}
	}
	a := &c.Announce
	switch {
	case a.Interval < 60 || a.Interval > 86400:
		return bad("announce.interval", "%d seconds is outside 60..86400", a.Interval)
	case a.PeerTimeout > 3*86400:
		return bad("announce.peer_timeout", "%d seconds is more than 3 days", a.PeerTimeout)
	case a.PeerTimeout <= a.Interval:
		return bad(either("announce.peer_timeout", "announce.interval"), "announce.peer_timeout (%d s) must exceed announce.interval (%d s)", a.PeerTimeout, a.Interval)
	case a.MaxNumWant < 1 || a.MaxNumWant > MaxNumWantLimit:
		return bad("announce.max_numwant", "%d is outside 1..%d", a.MaxNumWant, MaxNumWantLimit)
	case a.NumWant < 0:
		return bad("announce.numwant", "%d is negative", a.NumWant)
	case a.NumWant > a.MaxNumWant:
		return bad(either("announce.numwant", "announce.max_numwant"), "announce.numwant (%d) is more than announce.max_numwant (%d)", a.NumWant, a.MaxNumWant)
	}
	mode, err := access.ParseMode(c.Access.Mode)
	if err != nil {
		return bad("access.mode", "%v", err)
	}
	if mode != access.Open && c.Access.List == "" {
		// The list was never set: name where the mode was.
		return bad("access.mode", "%s needs access.list, a file of info_hashes", mode)
	}
	for _, f := range []struct{ key, path string }{{"access.fifo_add", c.Access.FIFOAdd}, {"access.fifo_delete", c.Access.FIFODelete}} {
		if f.path != "" && mode == access.Open {
			return bad(f.key, "needs access mode whitelist or blacklist")
		}
	}
	if c.Access.FIFOAdd != "" && c.Access.FIFOAdd == c.Access.FIFODelete {
		return bad("access.fifo_delete", "is the same pipe as access.fifo_add")
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"access.admin", c.Access.Admin}, {"access.proxies", c.Access.Proxies}, {"livesync.nodes", c.Livesync.Nodes}} {
		if _, err := logic.ParseNetworks(l.list); err != nil {
			return bad(l.key, "%v", err)
		}
	}
	h := &c.HTTP
	switch {
	case h.StatsPath == "" || strings.ContainsAny(h.StatsPath, "/?# \t%"):
		return bad("http.stats_path", "%q must be a plain path segment", h.StatsPath)
	case h.Redirect != "" && !strings.Contains(h.Redirect, "://"):
		return bad("http.redirect", "%q is not an absolute URL", h.Redirect)
	case strings.ContainsAny(h.Redirect, "\r\n"):
		return bad("http.redirect", "must be one line")
	case h.MaxConnections < 1 || h.MaxConnections > MaxConnectionsLimit:
		return bad("http.max_connections", "%d is outside 1..%d (8 KiB each, allocated at start)", h.MaxConnections, MaxConnectionsLimit)
	case h.MaxPerAddress < 0 || h.MaxPerAddress > MaxConnectionsLimit:
		return bad("http.max_connections_per_address", "%d is outside 0..%d", h.MaxPerAddress, MaxConnectionsLimit)
	case h.IdleTimeout < 1 || h.IdleTimeout > 3600:
		return bad("http.idle_timeout", "%d seconds is outside 1..3600", h.IdleTimeout)
	}
	if c.UDP.Workers < 0 || c.UDP.Workers > 256 {
		return bad("udp.workers", "%d is outside 0..256", c.UDP.Workers)
	}
	if c.Livesync.Listen != "" {
		ap, err := netip.ParseAddrPort(c.Livesync.Listen)
		if err != nil || !ap.Addr().Unmap().Is4() {
			return bad("livesync.listen", "%q is not an IPv4 ip:port (live sync is IPv4 multicast)", c.Livesync.Listen)
		}
	}
	if strings.ContainsAny(c.System.User, ":/ \t") {
		return bad("system.user", "%q is not a user name", c.System.User)
	}
	return nil
}

// ParseListen reads a listen address: "ip:port" or "[v6]:port".
func ParseListen(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%q is not ip:port or [ipv6]:port", s)
	}
	return ap, nil
}
