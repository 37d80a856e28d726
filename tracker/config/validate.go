package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// Limits checked by Validate.
const (
	MinMemoryBudget = 1 << 20
	MaxMemoryBudget = 1 << 40
	MaxNumWantLimit = 512 // logic.MaxPeersPerReply
	// Connection buffers are allocated at start: 65536 is 512 MiB.
	MaxConnectionsLimit = 65536
)

// Validate checks every value, names where a bad one was set, and sets
// c.Typed.
func (c *Config) Validate() error {
	var t Typed
	for _, check := range []func(*Typed) error{c.checkSizes, c.checkListen, c.checkAnnounce, c.checkAccess, c.checkHTTP, c.checkRest} {
		if err := check(&t); err != nil {
			return err
		}
	}
	c.Typed = t
	return nil
}

// bad is the error for key: where it was set, the key, the problem.
func (c *Config) bad(key, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %s", c.where(key), key, fmt.Sprintf(format, args...))
}

func (c *Config) checkSizes(*Typed) error {
	if c.MemoryBudget < MinMemoryBudget || c.MemoryBudget > MaxMemoryBudget {
		return c.bad("memory_budget", "%d bytes is outside 1M..1T", c.MemoryBudget)
	}
	if c.MaxTorrents < 0 {
		return c.bad("max_torrents", "must not be negative")
	}
	if err := swarm.CheckTorrents(int64(c.MemoryBudget), c.MaxTorrents); err != nil {
		key := "max_torrents"
		if c.MaxTorrents == 0 {
			key = "memory_budget"
		}
		return c.bad(key, "%v", err)
	}
	return nil
}

// either picks, of two keys whose values conflict, the one the operator
// set: "max_numwant = 10" makes the default numwant (50) too big, and the
// message must point at the line that did it.
func (c *Config) either(key, other string) string {
	operator := func(k string) bool { return !strings.HasPrefix(c.where(k), "default.toml") }
	if !operator(key) && operator(other) {
		return other
	}
	return key
}

func (c *Config) checkListen(t *Typed) error {
	for _, l := range []struct {
		key  string
		list []string
		dst  *[]netip.AddrPort
	}{{"listen.tcp", c.Listen.TCP, &t.TCP}, {"listen.udp", c.Listen.UDP, &t.UDP}} {
		*l.dst = []netip.AddrPort{}
		for _, a := range l.list {
			ap, err := ParseListen(a)
			if err != nil {
				return c.bad(l.key, "%v", err)
			}
			*l.dst = append(*l.dst, ap)
		}
	}
	return nil
}

func (c *Config) checkAnnounce(t *Typed) error {
	a := &c.Announce
	switch {
	case a.Interval < 60 || a.Interval > 86400:
		return c.bad("announce.interval", "%d seconds is outside 60..86400", a.Interval)
	case a.PeerTimeout > 3*86400:
		return c.bad("announce.peer_timeout", "%d seconds is more than 3 days", a.PeerTimeout)
	case a.PeerTimeout <= a.Interval:
		return c.bad(c.either("announce.peer_timeout", "announce.interval"), "announce.peer_timeout (%d s) must exceed announce.interval (%d s)", a.PeerTimeout, a.Interval)
	case a.MaxNumWant < 1 || a.MaxNumWant > MaxNumWantLimit:
		return c.bad("announce.max_numwant", "%d is outside 1..%d", a.MaxNumWant, MaxNumWantLimit)
	case a.NumWant < 0:
		return c.bad("announce.numwant", "%d is negative", a.NumWant)
	case a.NumWant > a.MaxNumWant:
		return c.bad(c.either("announce.numwant", "announce.max_numwant"), "announce.numwant (%d) is more than announce.max_numwant (%d)", a.NumWant, a.MaxNumWant)
	}
	t.Interval = time.Duration(a.Interval) * time.Second
	t.PeerTimeout = time.Duration(a.PeerTimeout) * time.Second
	return nil
}

func (c *Config) checkAccess(t *Typed) error {
	mode, err := access.ParseMode(c.Access.Mode)
	if err != nil {
		return c.bad("access.mode", "%v", err)
	}
	t.AccessMode = mode
	if mode != access.Open && c.Access.List == "" {
		// The list was never set: name where the mode was.
		return c.bad("access.mode", "%s needs access.list, a file of info_hashes", mode)
	}
	for _, f := range []struct{ key, path string }{{"access.fifo_add", c.Access.FIFOAdd}, {"access.fifo_delete", c.Access.FIFODelete}} {
		if f.path != "" && mode == access.Open {
			return c.bad(f.key, "needs access mode whitelist or blacklist")
		}
	}
	if c.Access.FIFOAdd != "" && c.Access.FIFOAdd == c.Access.FIFODelete {
		return c.bad("access.fifo_delete", "is the same pipe as access.fifo_add")
	}
	for _, l := range []struct {
		key  string
		list []string
		dst  *logic.Networks
	}{{"access.admin", c.Access.Admin, &t.Admin}, {"access.proxies", c.Access.Proxies, &t.Proxies}, {"livesync.nodes", c.Livesync.Nodes, &t.SyncNodes}} {
		if *l.dst, err = logic.ParseNetworks(l.list); err != nil {
			return c.bad(l.key, "%v", err)
		}
	}
	return nil
}

func (c *Config) checkHTTP(t *Typed) error {
	h := &c.HTTP
	switch {
	case h.StatsPath == "" || strings.ContainsAny(h.StatsPath, "/?# \t%"):
		return c.bad("http.stats_path", "%q must be a plain path segment", h.StatsPath)
	case h.Redirect != "" && !strings.Contains(h.Redirect, "://"):
		return c.bad("http.redirect", "%q is not an absolute URL", h.Redirect)
	case strings.ContainsAny(h.Redirect, "\r\n"):
		return c.bad("http.redirect", "must be one line")
	case h.MaxConnections < 1 || h.MaxConnections > MaxConnectionsLimit:
		return c.bad("http.max_connections", "%d is outside 1..%d (8 KiB each, allocated at start)", h.MaxConnections, MaxConnectionsLimit)
	case h.MaxPerAddress < 0 || h.MaxPerAddress > MaxConnectionsLimit:
		return c.bad("http.max_connections_per_address", "%d is outside 0..%d", h.MaxPerAddress, MaxConnectionsLimit)
	case h.IdleTimeout < 1 || h.IdleTimeout > 3600:
		return c.bad("http.idle_timeout", "%d seconds is outside 1..3600", h.IdleTimeout)
	}
	t.IdleTimeout = time.Duration(h.IdleTimeout) * time.Second
	return nil
}

func (c *Config) checkRest(t *Typed) error {
	if s := c.State.SaveInterval; s != 0 && (s < 5 || s > 86400) {
		return c.bad("state.save_interval", "%d seconds is outside 5..86400 (0: only on SIGTERM)", s)
	}
	if c.UDP.Workers < 0 || c.UDP.Workers > 256 {
		return c.bad("udp.workers", "%d is outside 0..256", c.UDP.Workers)
	}
	if c.Livesync.Listen != "" {
		ap, err := netip.ParseAddrPort(c.Livesync.Listen)
		if err != nil || !ap.Addr().Unmap().Is4() {
			return c.bad("livesync.listen", "%q is not an IPv4 ip:port (live sync is IPv4 multicast)", c.Livesync.Listen)
		}
		t.SyncListen = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	if strings.ContainsAny(c.System.User, ":/ \t") {
		return c.bad("system.user", "%q is not a user name", c.System.User)
	}
	return nil
}

// ParseListen reads a listen address: "ip:port" or "[v6]:port". A
// v4-mapped address is taken as the IPv4 address.
func ParseListen(s string) (netip.AddrPort, error) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return ap, fmt.Errorf("%q is not ip:port or [ipv6]:port", s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}
