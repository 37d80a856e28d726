package config

import (
	"strings"
	"testing"
)

// FuzzParse: any configuration file is either accepted, and then valid, or
// refused with a message that starts with the operator's file: never a
// panic, never a message that blames the built-in defaults for what the
// file set.
func FuzzParse(f *testing.F) {
	f.Add(defaultTOML)
	f.Add("memory_budget = \"4M\"\nmax_torrents = 1000000\n")
	f.Add("[access]\nmode = \"whitelist\"\n")
	f.Add("[announce]\nmax_numwant = 10\n")
	f.Add("[announce]\ninterval = 5000\n")
	f.Add("[http]\nmax_connections = 4\nmax_connections_per_address = 9\n")
	f.Add("[listen]\ntcp = [\"[::1]:0\", 7]\n")
	f.Add("a = [1, \"x\"]\n[[b]]\n")
	f.Fuzz(func(t *testing.T, src string) {
		c, err := Parse(src, "ot.toml", nil)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "ot.toml") {
				t.Fatalf("%q: error does not name the file: %v", src, err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("%q: accepted but invalid: %v", src, err)
		}
	})
}
