// Package bencode encodes and decodes BitTorrent's bencoding (BEP 3).
//
// The encoder is append-style: every function appends to a caller's buffer and
// returns it, so a reused buffer makes encoding allocation-free. It does not
// sort dictionary keys; callers write keys in sorted order, as BEP 3 requires.
// The decoder builds Go values and is meant for tests and tools, not the hot
// path.
package bencode

import "strconv"

// AppendString appends s as a byte string: "<len>:<s>".
func AppendString(dst []byte, s string) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...)
}

// AppendBytes appends b as a byte string: "<len>:<b>".
func AppendBytes(dst, b []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(b)), 10)
	dst = append(dst, ':')
	return append(dst, b...)
}

// AppendInt appends n as an integer: "i<n>e".
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, 'i')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, 'e')
}

// AppendUint appends n as an integer: "i<n>e".
func AppendUint(dst []byte, n uint64) []byte {
	dst = append(dst, 'i')
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, 'e')
}

// AppendDict starts a dictionary; close it with AppendEnd.
func AppendDict(dst []byte) []byte { return append(dst, 'd') }

// AppendList starts a list; close it with AppendEnd.
func AppendList(dst []byte) []byte { return append(dst, 'l') }

// AppendEnd closes a dictionary or list.
func AppendEnd(dst []byte) []byte { return append(dst, 'e') }

// AppendKeyInt appends a dictionary entry whose value is an integer.
func AppendKeyInt(dst []byte, key string, n int64) []byte {
	return AppendInt(AppendString(dst, key), n)
}

// AppendKeyUint appends a dictionary entry whose value is an unsigned integer.
func AppendKeyUint(dst []byte, key string, n uint64) []byte {
	return AppendUint(AppendString(dst, key), n)
}

// AppendKeyString appends a dictionary entry whose value is a string.
func AppendKeyString(dst []byte, key, val string) []byte {
	return AppendString(AppendString(dst, key), val)
}

// AppendKeyBytes appends a dictionary entry whose value is a byte string.
func AppendKeyBytes(dst []byte, key string, val []byte) []byte {
	return AppendBytes(AppendString(dst, key), val)
}

// AppendFailure appends a complete failure reply, "d14:failure reason...e",
// the tracker's way to refuse a request (BEP 3).
func AppendFailure(dst []byte, reason string) []byte {
	dst = append(dst, 'd')
	dst = AppendKeyString(dst, "failure reason", reason)
	return append(dst, 'e')
}
