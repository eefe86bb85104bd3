package tensorfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/nlpodyssey/gopickle/pickle"
)

// maxPickle bounds the bytes of one pickle (a checkpoint's data.pkl holds
// the structure and tensor descriptors, not the data; a few MB at most for
// real models).
const maxPickle = 256 << 20

// maxPickleLine bounds a text-protocol argument line, and maxNumberLine
// one holding a number.
const (
	maxPickleLine = 1 << 20
	maxNumberLine = 1 << 10
)

// Pickle argument kinds, following pickletools.
const (
	argNone   = iota
	argFixed  // fixed-size argument, size in opInfo.n
	argLine   // one newline-terminated line
	argLine2  // two lines (GLOBAL, INST)
	argCount1 // 1-byte length, then that many bytes
	argCount4 // 4-byte little-endian length (unsigned), then bytes
	argCountS // 4-byte little-endian signed length (BINSTRING, LONG4)
	argCount8 // 8-byte little-endian length, then bytes
	argFrame  // 8-byte frame length; the frame holds further opcodes
)

type opInfo struct {
	kind uint8
	n    uint8
}

// pickleOp describes the argument of each opcode gopickle knows; unknown
// opcodes are refused.
func pickleOp(op byte) (opInfo, bool) {
	switch op {
	case '(', '.', '0', '1', '2', 'N', 0x88, 0x89, 'R', 'b', 'a', 'e', 'd', '}', 's', 'u',
		'l', ']', 't', ')', 0x85, 0x86, 0x87, 'o', 0x81, 0x92, 0x93, 0x94, 'Q', 0x8f, 0x90, 0x91, 0x97, 0x98:
		return opInfo{argNone, 0}, true
	case 'K', 'h', 'q', 0x80, 0x82:
		return opInfo{argFixed, 1}, true
	case 'M', 0x83:
		return opInfo{argFixed, 2}, true
	case 'J', 'j', 'r', 0x84:
		return opInfo{argFixed, 4}, true
	case 'G':
		return opInfo{argFixed, 8}, true
	case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p':
		return opInfo{argLine, 0}, true
	case 'c', 'i':
		return opInfo{argLine2, 0}, true
	case 'U', 'C', 0x8c, 0x8a:
		return opInfo{argCount1, 0}, true
	case 'B', 'X':
		return opInfo{argCount4, 0}, true
	case 'T', 0x8b:
		return opInfo{argCountS, 0}, true
	case 0x8d, 0x8e, 0x96:
		return opInfo{argCount8, 0}, true
	case 0x95:
		return opInfo{argFrame, 0}, true
	}
	return opInfo{}, false
}

// scanPickle reads one pickle from r, up to and including its STOP
// opcode, and returns its bytes. It checks every length against the
// bytes that remain (limit) and against maxPickle before anything is
// allocated, so the bytes it returns can be given to gopickle safely.
func scanPickle(r *bufio.Reader, limit int64) ([]byte, error) {
	var out bytes.Buffer
	max := min(limit, int64(maxPickle))
	need := func(n int64) error {
		if n < 0 || n > max-int64(out.Len()) {
			if int64(out.Len())+n > int64(maxPickle) && limit > int64(maxPickle) {
				return fmt.Errorf("pickle is over %d bytes", maxPickle)
			}
			return fmt.Errorf("pickle truncated: an argument of %d bytes at offset %d runs past the end", n, out.Len())
		}
		return nil
	}
	take := func(n int64) ([]byte, error) {
		if err := need(n); err != nil {
			return nil, err
		}
		start := out.Len()
		if _, err := io.CopyN(&out, r, n); err != nil {
			return nil, fmt.Errorf("pickle truncated at offset %d", out.Len())
		}
		return out.Bytes()[start:], nil
	}
	byte1 := func() (byte, error) {
		if err := need(1); err != nil {
			return 0, err
		}
		c, err := r.ReadByte()
		if err != nil {
			return 0, fmt.Errorf("pickle truncated at offset %d", out.Len())
		}
		out.WriteByte(c)
		return c, nil
	}
	line := func(max int) error {
		for i := 0; ; i++ {
			if i > max {
				return fmt.Errorf("pickle argument line over %d bytes", max)
			}
			c, err := byte1()
			if err != nil {
				return err
			}
			if c == '\n' {
				return nil
			}
		}
	}
	for {
		opAt := out.Len()
		op, err := byte1()
		if err != nil {
			if opAt == 0 {
				return nil, errors.New("empty pickle")
			}
			return nil, fmt.Errorf("pickle ends without STOP: %v", err)
		}
		info, ok := pickleOp(op)
		if !ok {
			return nil, fmt.Errorf("not a pickle, or an unsupported one: opcode 0x%02x at offset %d", op, opAt)
		}
		switch info.kind {
		case argFixed:
			_, err = take(int64(info.n))
		case argLine:
			max := maxPickleLine
			if op == 'I' || op == 'L' || op == 'F' || op == 'g' || op == 'p' {
				max = maxNumberLine // text numbers: no costly huge decimal conversions
			}
			err = line(max)
		case argLine2:
			if err = line(maxPickleLine); err == nil {
				err = line(maxPickleLine)
			}
		case argCount1, argCount4, argCountS, argCount8:
			size := int64(4)
			switch info.kind {
			case argCount1:
				size = 1
			case argCount8:
				size = 8
			}
			var lb []byte
			if lb, err = take(size); err != nil {
				break
			}
			var n int64
			switch info.kind {
			case argCount1:
				n = int64(lb[0])
			case argCount4:
				n = int64(binary.LittleEndian.Uint32(lb))
			case argCountS:
				n = int64(int32(binary.LittleEndian.Uint32(lb)))
			case argCount8:
				u := binary.LittleEndian.Uint64(lb)
				if u > 1<<62 {
					return nil, fmt.Errorf("pickle argument of %d bytes at offset %d is not plausible", u, opAt)
				}
				n = int64(u)
			}
			if n < 0 {
				return nil, fmt.Errorf("negative pickle argument length at offset %d", opAt)
			}
			_, err = take(n)
		case argFrame:
			var lb []byte
			if lb, err = take(8); err == nil {
				u := binary.LittleEndian.Uint64(lb)
				if u > 1<<62 {
					return nil, fmt.Errorf("pickle frame of %d bytes at offset %d is not plausible", u, opAt)
				}
				err = need(int64(u))
			}
		}
		if err != nil {
			return nil, err
		}
		if op == '.' {
			return out.Bytes(), nil
		}
	}
}

// unpickle runs gopickle over a pickle that scanPickle checked, with the
// given class lookup and persistent-id hooks. No pickled code runs: every
// class is resolved by find to an inert Go value.
func unpickle(b []byte, find func(module, name string) (any, error), persistent func(any) (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("malformed pickle (%v)", r)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(b))
	u.FindClass = find
	u.PersistentLoad = persistent
	v, err = u.Load()
	if err != nil {
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		return nil, fmt.Errorf("malformed pickle: %s", msg)
	}
	return v, nil
}
