package bencode

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 64

// Decode parses exactly one bencoded value that must fill data. It returns
// int64 for integers, string for byte strings, []any for lists and
// map[string]any for dictionaries. It is strict, to catch encoder bugs:
// dictionary keys must be sorted and unique, integers canonical (no "-0",
// no leading zeros) and nothing may follow the value.
func Decode(data []byte) (any, error) {
	d := decoder{data: data}
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	if d.pos != len(data) {
		return nil, fmt.Errorf("bencode: %d trailing bytes at offset %d", len(data)-d.pos, d.pos)
	}
	return v, nil
}

// DecodeDict decodes data that must be a dictionary.
func DecodeDict(data []byte) (map[string]any, error) {
	v, err := Decode(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("bencode: top-level value is %T, not a dictionary", v)
	}
	return m, nil
}

var errEOF = errors.New("bencode: unexpected end of data")

type decoder struct {
	data []byte
	pos  int
}

func (d *decoder) errf(format string, args ...any) error {
	return fmt.Errorf("bencode: offset %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, d.errf("nesting deeper than %d", maxDepth)
	}
	if d.pos >= len(d.data) {
		return nil, errEOF
	}
	switch c := d.data[d.pos]; {
	case c == 'i':
		return d.integer()
	case c >= '0' && c <= '9':
		return d.str()
	case c == 'l':
		d.pos++
		list := []any{}
		for {
			if d.pos >= len(d.data) {
				return nil, errEOF
			}
			if d.data[d.pos] == 'e' {
				d.pos++
				return list, nil
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
	case c == 'd':
		d.pos++
		m := map[string]any{}
		var last string
		first := true
		for {
			if d.pos >= len(d.data) {
				return nil, errEOF
			}
			if d.data[d.pos] == 'e' {
				d.pos++
				return m, nil
			}
			if c := d.data[d.pos]; c < '0' || c > '9' {
				return nil, d.errf("dictionary key is not a string")
			}
			k, err := d.str()
			if err != nil {
				return nil, err
			}
			if !first && k <= last {
				return nil, d.errf("dictionary key %q not sorted after %q", k, last)
			}
			first, last = false, k
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
	default:
		return nil, d.errf("unexpected byte %q", c)
	}
}

func (d *decoder) integer() (any, error) {
	d.pos++ // 'i'
	end := bytes.IndexByte(d.data[d.pos:], 'e')
	if end < 0 {
		return nil, errEOF
	}
	s := d.data[d.pos : d.pos+end]
	// BEP 3: digits with an optional '-', no leading zero, no "-0"; a '+'
	// (which strconv would take) is not bencode either.
	if len(s) == 0 || s[0] == '+' || (s[0] == '-' && (len(s) == 1 || s[1] == '0')) || (s[0] == '0' && len(s) > 1) {
		return nil, d.errf("non-canonical integer %q", s)
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return nil, d.errf("bad integer %q", s)
	}
	d.pos += end + 1
	return n, nil
}

func (d *decoder) str() (string, error) {
	colon := bytes.IndexByte(d.data[d.pos:], ':')
	if colon < 0 {
		return "", errEOF
	}
	ls := d.data[d.pos : d.pos+colon]
	if len(ls) > 1 && ls[0] == '0' {
		return "", d.errf("string length with leading zero %q", ls)
	}
	n, err := strconv.ParseUint(string(ls), 10, 31)
	if err != nil {
		return "", d.errf("bad string length %q", ls)
	}
	start := d.pos + colon + 1
	if uint64(len(d.data)-start) < n {
		return "", errEOF
	}
	d.pos = start + int(n)
	return string(d.data[start:d.pos]), nil
}
