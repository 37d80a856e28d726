package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
)

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if c.MemoryBudget != 64<<20 || c.Announce.Interval != 1800 || c.Announce.MaxNumWant != 200 ||
		len(c.Listen.TCP) != 2 || c.Access.Mode != "open" || !c.HTTP.FullScrape {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFileOverlaysDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ot.toml")
	os.WriteFile(path, []byte("memory_budget = \"16M\"\n[listen]\ntcp = [\"127.0.0.1:0\"]\n[announce]\nnumwant = 30\n"), 0o644)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.MemoryBudget != 16<<20 || c.Announce.NumWant != 30 || c.Announce.Interval != 1800 {
		t.Fatalf("overlay: budget %d numwant %d interval %d", c.MemoryBudget, c.Announce.NumWant, c.Announce.Interval)
	}
	if len(c.Listen.TCP) != 1 || c.Listen.TCP[0] != "127.0.0.1:0" || len(c.Listen.UDP) != 2 {
		t.Fatalf("lists: tcp %v udp %v", c.Listen.TCP, c.Listen.UDP)
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	cases := map[string]string{
		"memory_budget = \"lots\"\n":                                "ot.toml:1:",
		"\n[announce]\ninterval = 5\n":                              "ot.toml:3: announce.interval: 5 seconds",
		"[http]\nidle_timeout = 30\nbogus = 1\n":                    "ot.toml:3: unknown key \"http.bogus\"",
		"[listen]\n\nudp = [\"1.2.3.4\"]\n":                         "ot.toml:3: listen.udp:",
		"[access]\nmode = \"whitelist\"\n":                          "ot.toml:2: access.mode: whitelist needs access.list",
		"memory_budget = \"4M\"\nmax_torrents = 1000000\n":          "ot.toml:2: max_torrents: 1000000 torrents need",
		"[http]\nmax_connections = 100000\n":                        "ot.toml:2: http.max_connections",
		"[http]\nmax_connections_per_address = -1\n":                "ot.toml:2: http.max_connections_per_address",
		"[access]\nmode = \"grey\"\n":                               "ot.toml:2: access.mode",
		"[access]\nadmin = [\"10.0.0.0/33\"]\n":                     "ot.toml:2: access.admin",
		"[announce]\ninterval = \"often\"\n":                        "ot.toml:2:",
		"[livesync]\nlisten = \"[::1]:9696\"\n":                     "ot.toml:2: livesync.listen",
		"[http]\nredirect = \"example.org\"\n":                      "ot.toml:2: http.redirect",
		"[announce]\nnumwant = 300\n":                               "ot.toml:2: announce.numwant",
		"memory_budget = 100\n":                                     "ot.toml:1: memory_budget",
		"[access]\nmode = \"whitelist\"\nlist = \"/etc/wl\"\nx=1\n": "ot.toml:4: unknown key",
		"[access]\nfifo_add = \"/run/add\"\n":                       "ot.toml:2: access.fifo_add: needs access mode whitelist or blacklist",
		"[access]\nmode = \"blacklist\"\nlist = \"/etc/bl\"\nfifo_add = \"/run/p\"\nfifo_delete = \"/run/p\"\n": "ot.toml:5: access.fifo_delete: is the same pipe",
	}
	for src, want := range cases {
		_, err := Parse(src, "ot.toml", nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", src, err, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1024": 1024, "16M": 16 << 20, "512k": 512 << 10, "1G": 1 << 30} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "M", "-1M", "12Q", "9999999999G"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

// Validate hands the daemon parsed values: what it checked is what runs.
func TestTypedValues(t *testing.T) {
	c, err := Parse("[listen]\ntcp = [\"[::ffff:127.0.0.1]:80\"]\nudp = []\n[announce]\ninterval = 900\npeer_timeout = 1000\n"+
		"[access]\nmode = \"blacklist\"\nlist = \"/etc/bl\"\nadmin = [\"10.0.0.0/8\"]\n[http]\nidle_timeout = 7\n"+
		"[livesync]\nlisten = \"[::ffff:10.0.0.1]:9696\"\nnodes = [\"10.0.0.0/24\"]\n", "ot.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	ty := c.Typed
	if len(ty.TCP) != 1 || ty.TCP[0] != netip.MustParseAddrPort("127.0.0.1:80") || len(ty.UDP) != 0 {
		t.Errorf("listen: tcp %v udp %v", ty.TCP, ty.UDP)
	}
	if ty.Interval != 900*time.Second || ty.PeerTimeout != 1000*time.Second || ty.IdleTimeout != 7*time.Second {
		t.Errorf("durations: %v %v %v", ty.Interval, ty.PeerTimeout, ty.IdleTimeout)
	}
	if ty.AccessMode != access.Blacklist || !ty.Admin.Contains(netip.MustParseAddr("10.9.9.9")) || ty.Admin.Contains(netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("access: %v, admin %v", ty.AccessMode, ty.Admin)
	}
	if ty.SyncListen != netip.MustParseAddrPort("10.0.0.1:9696") || !ty.SyncNodes.Contains(netip.MustParseAddr("10.0.0.5")) || ty.SyncNodes.Contains(netip.MustParseAddr("10.0.1.5")) {
		t.Errorf("live sync: %v %v", ty.SyncListen, ty.SyncNodes)
	}
	d, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if d.Typed.SyncListen.IsValid() || len(d.Typed.TCP) != 2 || d.Typed.Interval != 1800*time.Second {
		t.Errorf("defaults: %+v", d.Typed)
	}
}
