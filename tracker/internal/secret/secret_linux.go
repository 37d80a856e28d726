// Package secret fills keys from the kernel's random source. It replaces
// crypto/rand, which since Go 1.24 links a FIPS DRBG: about 130 KB of
// binary on mipsle that a router's flash does not need for hash keys.
package secret

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Read fills b with random bytes from getrandom(2).
func Read(b []byte) error {
	for len(b) > 0 {
		n, err := unix.Getrandom(b, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("getrandom: %v", err)
		}
		b = b[n:]
	}
	return nil
}
