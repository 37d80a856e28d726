//go:build !linux

package secret

import "crypto/rand"

// Read fills b with random bytes. Off Linux (developers' machines, not
// routers) crypto/rand's size does not matter.
func Read(b []byte) error {
	_, err := rand.Read(b)
	return err
}
