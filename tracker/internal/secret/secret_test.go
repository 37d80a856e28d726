package secret

import (
	"bytes"
	"testing"
)

func TestReadFillsDistinctKeys(t *testing.T) {
	var a, b [64]byte
	if err := Read(a[:]); err != nil {
		t.Fatal(err)
	}
	if err := Read(b[:]); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[:], b[:]) || bytes.Equal(a[:], make([]byte, 64)) {
		t.Fatal("two reads gave the same or zero bytes")
	}
}
