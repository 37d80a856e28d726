package config

import (
	"fmt"
	"reflect"
	"strings"
)

// restartKeys are the keys a running daemon cannot change: they size the
// store or the connection slots allocated at start, bind sockets or open
// pipes before the privilege drop, or are the privilege drop. Every other key is applied on SIGHUP.
var restartKeys = map[string]bool{
	"memory_budget":        true,
	"max_torrents":         true,
	"listen.tcp":           true,
	"listen.udp":           true,
	"udp.workers":          true,
	"access.fifo_add":      true,
	"access.fifo_delete":   true,
	"http.max_connections": true,
	"system.chroot":        true,
	"system.user":          true,
	"livesync.listen":      true,
}

// NeedsRestart reports whether key (dotted, as in the file) can only take
// effect when the daemon starts.
func NeedsRestart(key string) bool { return restartKeys[key] }

// RestartKeys lists the keys NeedsRestart reports, in file order.
func RestartKeys() []string {
	var keys []string
	walk(reflect.ValueOf(Config{}), reflect.ValueOf(Config{}), "", func(key string, _, _ reflect.Value) {
		if restartKeys[key] {
			keys = append(keys, key)
		}
	})
	return keys
}

// Changes lists the keys whose values differ between c and next, in file
// order, split into those a running daemon applies (live) and those that
// need a restart.
func (c *Config) Changes(next *Config) (live, restart []string) {
	walk(reflect.ValueOf(*c), reflect.ValueOf(*next), "", func(key string, a, b reflect.Value) {
		// Go syntax (%#v) tells ["a b"] from ["a", "b"]; reflect.DeepEqual would,
		// at 10 KB of binary on a router.
		if fmt.Sprintf("%#v", a.Interface()) == fmt.Sprintf("%#v", b.Interface()) {
			return
		}
		if restartKeys[key] {
			restart = append(restart, key)
		} else {
			live = append(live, key)
		}
	})
	return live, restart
}

// walk calls fn for each key of the TOML structure (fields with a toml
// tag), with its values in a and b.
func walk(a, b reflect.Value, prefix string, fn func(key string, a, b reflect.Value)) {
	t := a.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key := prefix + name
		if t.Field(i).Type.Kind() == reflect.Struct {
			walk(a.Field(i), b.Field(i), key+".", fn)
			continue
		}
		fn(key, a.Field(i), b.Field(i))
	}
}

// InForce is the configuration a running daemon has after it applied next
// on SIGHUP: next's values, but c's for the keys that need a restart.
func (c *Config) InForce(next *Config) *Config {
	out := *next
	out.origin = next.origin
	walk(reflect.ValueOf(c).Elem(), reflect.ValueOf(&out).Elem(), "", func(key string, old, v reflect.Value) {
		if restartKeys[key] {
			v.Set(old)
		}
	})
	return &out
}
