// Package config reads the daemon's TOML configuration: the embedded defaults
// (default.toml), then the operator's file over them, then command-line
// switches. Every problem is reported as "file:line: problem". Validate
// hands the daemon the parsed values (Typed): addresses, durations, the
// access mode and networks. default.toml is the only place defaults live.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

//go:embed default.toml
var defaultTOML string

// Config is the whole configuration; field tags name the TOML keys.
type Config struct {
	MemoryBudget Size `toml:"memory_budget"`
	MaxTorrents  int  `toml:"max_torrents"`
	Listen       struct {
		TCP []string `toml:"tcp"`
		UDP []string `toml:"udp"`
	} `toml:"listen"`
	Announce struct {
		Interval    int `toml:"interval"`
		PeerTimeout int `toml:"peer_timeout"`
		NumWant     int `toml:"numwant"`
		MaxNumWant  int `toml:"max_numwant"`
	} `toml:"announce"`
	Access struct {
		Mode        string   `toml:"mode"`
		List        string   `toml:"list"`
		FIFOAdd     string   `toml:"fifo_add"`
		FIFODelete  string   `toml:"fifo_delete"`
		Admin       []string `toml:"admin"`
		Proxies     []string `toml:"proxies"`
		IPFromQuery bool     `toml:"ip_from_query"`
	} `toml:"access"`
	HTTP struct {
		Redirect       string `toml:"redirect"`
		StatsPath      string `toml:"stats_path"`
		MaxConnections int    `toml:"max_connections"`
		MaxPerAddress  int    `toml:"max_connections_per_address"`
		IdleTimeout    int    `toml:"idle_timeout"`
		FullScrape     bool   `toml:"full_scrape"`
	} `toml:"http"`
	UDP struct {
		Workers int `toml:"workers"`
	} `toml:"udp"`
	State struct {
		File         string `toml:"file"`
		SaveInterval int    `toml:"save_interval"`
	} `toml:"state"`
	System struct {
		Chroot string `toml:"chroot"`
		User   string `toml:"user"`
	} `toml:"system"`
	Livesync struct {
		Listen string   `toml:"listen"`
		Nodes  []string `toml:"nodes"`
	} `toml:"livesync"`

	// Typed holds the values above that are not plain numbers, strings or
	// flags, parsed: Validate sets it, so that what the daemon reads has
	// been checked.
	Typed Typed `toml:"-"`

	// origin tells where each key was last set, for error messages.
	origin map[string]string
}

// Typed are the configuration's parsed values.
type Typed struct {
	TCP, UDP    []netip.AddrPort // listen.tcp, listen.udp
	Interval    time.Duration    // announce.interval
	PeerTimeout time.Duration    // announce.peer_timeout
	IdleTimeout time.Duration    // http.idle_timeout
	AccessMode  access.Mode      // access.mode
	Admin       logic.Networks   // access.admin
	Proxies     logic.Networks   // access.proxies
	SyncListen  netip.AddrPort   // livesync.listen; not valid without live sync
	SyncNodes   logic.Networks   // livesync.nodes
}

// Load returns the defaults overlaid with the file at path ("" for none).
func Load(path string) (*Config, error) {
	c, err := parse(defaultTOML, "default.toml", nil)
	if err != nil {
		return nil, fmt.Errorf("built-in defaults: %v", err)
	}
	if path == "" {
		return c, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(string(src), path, c)
}

// Parse overlays src (named name in messages) on a copy of base, or on the
// defaults when base is nil.
func Parse(src, name string, base *Config) (*Config, error) {
	if base == nil {
		var err error
		if base, err = parse(defaultTOML, "default.toml", nil); err != nil {
			return nil, err
		}
	}
	return parse(src, name, base)
}

func parse(src, name string, base *Config) (*Config, error) {
	c := &Config{}
	if base != nil {
		*c = *base
		c.Listen.TCP, c.Listen.UDP = nil, nil // lists given in a file replace the defaults
		c.origin = map[string]string{}
		for k, v := range base.origin {
			c.origin[k] = v
		}
	} else {
		c.origin = map[string]string{}
	}
	md, err := toml.Decode(src, c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			if pe.LastKey != "" {
				return nil, fmt.Errorf("%s:%d: %s: %s", name, pe.Position.Line, pe.LastKey, pe.Message)
			}
			return nil, fmt.Errorf("%s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		if line, rest, ok := decodeErrLine(err.Error()); ok {
			return nil, fmt.Errorf("%s:%s: %s", name, line, rest)
		}
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if base != nil {
		if !md.IsDefined("listen", "tcp") {
			c.Listen.TCP = base.Listen.TCP
		}
		if !md.IsDefined("listen", "udp") {
			c.Listen.UDP = base.Listen.UDP
		}
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0].String()
		return nil, fmt.Errorf("%s:%d: unknown key %q", name, lineOf(src, k), k)
	}
	for _, k := range md.Keys() {
		// The decoder matches keys to fields ignoring case ("[HTTP]"
		// sets http.*), so origins are kept under the lower-case key.
		c.origin[strings.ToLower(k.String())] = name + ":" + strconv.Itoa(lineOf(src, k.String()))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Set records that key was given on the command line by flag, so that an
// invalid value names the switch.
func (c *Config) Set(key, flag string) {
	if c.origin == nil {
		c.origin = map[string]string{}
	}
	c.origin[key] = "command line " + flag
}

// where names the origin of a key for an error message.
func (c *Config) where(key string) string {
	if o, ok := c.origin[key]; ok {
		return o
	}
	return "default.toml"
}

// lineOf finds the line that sets a dotted key ("http.idle_timeout"), by
// following [table] headers: the TOML decoder does not report key positions.
func lineOf(src, dotted string) int {
	table, key := "", dotted
	if i := strings.LastIndexByte(dotted, '.'); i >= 0 {
		table, key = dotted[:i], dotted[i+1:]
	}
	current := ""
	for n, line := range strings.Split(src, "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
			current = strings.Trim(strings.TrimSpace(strings.Trim(l, "[]")), `"`)
			continue
		}
		if !strings.EqualFold(current, table) {
			continue
		}
		if eq := strings.IndexByte(l, '='); eq > 0 && strings.EqualFold(strings.Trim(strings.TrimSpace(l[:eq]), `"`), key) {
			return n + 1
		}
	}
	return 0
}

// Size is a byte count written as an integer or as "16M", "512K", "1G".
type Size int64

// UnmarshalTOML implements toml.Unmarshaler.
func (s *Size) UnmarshalTOML(v any) error {
	switch x := v.(type) {
	case int64:
		*s = Size(x)
		return nil
	case string:
		n, err := ParseSize(x)
		*s = Size(n)
		return err
	}
	return fmt.Errorf("want a byte count like 16M, got %v", v)
}

// ParseSize reads "1048576", "1024K", "16M" or "1G" (powers of 1024).
func ParseSize(x string) (int64, error) {
	t := strings.TrimSpace(x)
	mult := int64(1)
	if t != "" {
		switch strings.ToUpper(t[len(t)-1:]) {
		case "K":
			mult = 1 << 10
		case "M":
			mult = 1 << 20
		case "G":
			mult = 1 << 30
		}
		if mult != 1 {
			t = strings.TrimSpace(t[:len(t)-1])
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("want a byte count like 16M, got %q", x)
	}
	return n * mult, nil
}

// decodeErrLine picks the line out of the decoder's type errors, which are
// not ParseErrors: `toml: line 2 (last key "a.b"): incompatible types: ...`.
func decodeErrLine(msg string) (line, rest string, ok bool) {
	after, found := strings.CutPrefix(msg, "toml: line ")
	if !found {
		return "", "", false
	}
	line, rest, found = strings.Cut(after, " ")
	if _, err := strconv.Atoi(line); err != nil || !found {
		return "", "", false
	}
	if key, tail, ok := strings.Cut(strings.TrimPrefix(rest, "(last key "), "): "); ok {
		rest = strings.Trim(key, `"`) + ": " + tail
	}
	return line, rest, true
}
