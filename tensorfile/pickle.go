package tensorfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

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

// Pickle budgets. A checkpoint's pickle holds names, shapes and storage
// keys: a few dozen opcodes per tensor, containers nested a few levels,
// small integers. The limits are far above that and keep both gopickle
// and the flattening of its result linear and bounded in memory.
const (
	maxPickleOps   = 1 << 24 // opcodes in one pickle
	maxPickleStack = 1 << 20 // values on the stack at once
	maxPickleMarks = 1 << 10 // open MARKs (nesting of containers being built)
	maxPickleMemo  = 1 << 20 // memo entries
	// maxPickleLong bounds the bytes of one LONG1/LONG4 integer, and
	// maxLongWork the sum of their squares: gopickle decodes a long with
	// one big.Int shift per byte (quadratic).
	maxPickleLong = 1 << 10
	maxLongWork   = 1 << 26
	// maxHashWork bounds the string bytes gopickle hashes as dict keys or
	// set members, and maxBuildWork the dict entries BUILD copies (a
	// memoized dict can be BUILT into an object again and again).
	maxHashWork  = 1 << 30
	maxBuildWork = 1 << 24
)

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
// allocated, and runs the opcodes over a model of the stack and memo
// (pickleSim) that enforces the budgets above, so the bytes it returns
// can be given to gopickle safely.
func scanPickle(r *bufio.Reader, limit int64) ([]byte, error) {
	var out bytes.Buffer
	sim := newPickleSim()
	max := min(limit, int64(maxPickle))
	need := func(n int64) error {
		if n < 0 || n > max-int64(out.Len()) {
			if int64(out.Len())+n > int64(maxPickle) && limit > int64(maxPickle) {
				return fmt.Errorf("pickle is over the %d-byte limit", maxPickle)
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
	line := func(max int) ([]byte, error) {
		start := out.Len()
		for i := 0; ; i++ {
			if i > max {
				return nil, fmt.Errorf("pickle argument line over %d bytes", max)
			}
			c, err := byte1()
			if err != nil {
				return nil, err
			}
			if c == '\n' {
				return out.Bytes()[start : out.Len()-1], nil
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
		var arg []byte // the argument, when the model needs it
		var n int64    // the length of a counted argument
		switch info.kind {
		case argFixed:
			arg, err = take(int64(info.n))
		case argLine:
			max := maxPickleLine
			if op == 'I' || op == 'L' || op == 'F' || op == 'g' || op == 'p' {
				max = maxNumberLine // text numbers: no costly huge decimal conversions
			}
			arg, err = line(max)
			n = int64(len(arg))
		case argLine2:
			if _, err = line(maxPickleLine); err == nil {
				_, err = line(maxPickleLine)
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
		if err := sim.step(op, arg, n); err != nil {
			return nil, fmt.Errorf("pickle opcode 0x%02x at offset %d: %w", op, opAt, err)
		}
		if op == '.' {
			return out.Bytes(), nil
		}
	}
}

// simObj is what pickleSim knows of one value: nil for a value whose
// size does not matter, else the entries of a dict or tuple, the length
// of a string, and a tuple's first two elements (BUILD's (dict, slots)
// state).
type simObj struct {
	entries int64
	strLen  int64
	a, b    *simObj
}

// pickleSim runs a pickle's opcodes over a model of gopickle's stack,
// marks and memo, so that the budgets hold before gopickle runs: stack
// and memo sizes, nesting, opcode count, and the work that gopickle does
// out of proportion to the bytes (long integers, hashing long strings,
// BUILD copying a memoized dict). It also refuses what Python refuses
// and gopickle lets through (stack underflow, a memo entry read before
// it is stored).
type pickleSim struct {
	stack []*simObj
	marks []int
	memo  map[uint32]*simObj
	ops   int
	// work done by gopickle beyond one step per opcode
	longWork, hashWork, buildWork int64
}

func newPickleSim() *pickleSim { return &pickleSim{memo: map[uint32]*simObj{}} }

// segment is the number of values above the innermost mark.
func (s *pickleSim) segment() int {
	if len(s.marks) == 0 {
		return len(s.stack)
	}
	return len(s.stack) - s.marks[len(s.marks)-1]
}

func (s *pickleSim) pop(n int) ([]*simObj, error) {
	if s.segment() < n {
		return nil, errors.New("stack underflow")
	}
	v := s.stack[len(s.stack)-n:]
	s.stack = s.stack[:len(s.stack)-n]
	return v, nil
}

func (s *pickleSim) popMark() ([]*simObj, error) {
	if len(s.marks) == 0 {
		return nil, errors.New("no MARK to pop to")
	}
	at := s.marks[len(s.marks)-1]
	s.marks = s.marks[:len(s.marks)-1]
	v := s.stack[at:]
	s.stack = s.stack[:at]
	return v, nil
}

func (s *pickleSim) push(o *simObj) error {
	if len(s.stack) >= maxPickleStack {
		return fmt.Errorf("over %d values on the pickle stack", maxPickleStack)
	}
	s.stack = append(s.stack, o)
	return nil
}

// hashKeys counts the string bytes gopickle may hash for keys.
func (s *pickleSim) hashKeys(keys []*simObj, step int) error {
	for i := 0; i < len(keys); i += step {
		if keys[i] != nil {
			s.hashWork += keys[i].strLen
		}
	}
	if s.hashWork > maxHashWork {
		return fmt.Errorf("dict keys and set members of over %d bytes in all", int64(maxHashWork))
	}
	return nil
}

func memoIndex(op byte, arg []byte) (uint32, error) {
	switch op {
	case 'h', 'q':
		return uint32(arg[0]), nil
	case 'j', 'r':
		return binary.LittleEndian.Uint32(arg), nil
	}
	i, err := strconv.ParseUint(string(arg), 10, 32)
	if err != nil {
		return 0, errors.New("memo index is not a number")
	}
	return uint32(i), nil
}

// step applies one opcode; arg is a fixed or line argument, n the length
// of a counted or line one.
func (s *pickleSim) step(op byte, arg []byte, n int64) error {
	if s.ops++; s.ops > maxPickleOps {
		return fmt.Errorf("pickle has over %d opcodes", maxPickleOps)
	}
	switch op {
	case 0x80, 0x95: // PROTO, FRAME
		return nil
	case '(':
		if len(s.marks) >= maxPickleMarks {
			return fmt.Errorf("over %d nested MARKs", maxPickleMarks)
		}
		s.marks = append(s.marks, len(s.stack))
		return nil
	case '.', '0': // STOP, POP
		if op == '0' && s.segment() == 0 && len(s.marks) > 0 {
			_, err := s.popMark() // as Python does
			return err
		}
		_, err := s.pop(1)
		return err
	case '1': // POP_MARK
		_, err := s.popMark()
		return err
	case '2': // DUP
		if s.segment() < 1 {
			return errors.New("stack underflow")
		}
		return s.push(s.stack[len(s.stack)-1])
	case 'g', 'h', 'j': // GET
		i, err := memoIndex(op, arg)
		if err != nil {
			return err
		}
		o, ok := s.memo[i]
		if !ok {
			return fmt.Errorf("memo entry %d is read before it is stored", i)
		}
		return s.push(o)
	case 'p', 'q', 'r', 0x94: // PUT, MEMOIZE
		if s.segment() < 1 {
			return errors.New("stack underflow")
		}
		i := uint32(len(s.memo))
		if op != 0x94 {
			var err error
			if i, err = memoIndex(op, arg); err != nil {
				return err
			}
		}
		if _, ok := s.memo[i]; !ok && len(s.memo) >= maxPickleMemo {
			return fmt.Errorf("over %d memo entries", maxPickleMemo)
		}
		s.memo[i] = s.stack[len(s.stack)-1]
		return nil
	case 0x8a, 0x8b: // LONG1, LONG4
		if n > maxPickleLong {
			return fmt.Errorf("integer of %d bytes is over the %d-byte limit", n, maxPickleLong)
		}
		if s.longWork += n * n; s.longWork > maxLongWork {
			return fmt.Errorf("long integers of over %d squared bytes in all", int64(maxLongWork))
		}
		return s.push(nil)
	case 'L': // text LONG: big.Int.SetString
		if s.longWork += n * n; s.longWork > maxLongWork {
			return fmt.Errorf("long integers of over %d squared bytes in all", int64(maxLongWork))
		}
		return s.push(nil)
	case 'S', 'T', 'U', 'B', 'C', 0x8e, 0x96, 'V', 0x8c, 'X', 0x8d:
		if n <= 64 {
			return s.push(nil) // hashing it is as cheap as the opcode
		}
		return s.push(&simObj{strLen: n})
	case ']', ')', 0x8f, 'N', 0x88, 0x89, 'I', 'J', 'K', 'M', 'F', 'G', 0x82, 0x83, 0x84, 'c', 'P', 0x97:
		return s.push(nil)
	case '}': // EMPTY_DICT
		return s.push(&simObj{})
	case 'a': // APPEND
		if _, err := s.pop(1); err != nil {
			return err
		}
		if s.segment() < 1 {
			return errors.New("stack underflow")
		}
		return nil
	case 's': // SETITEM
		kv, err := s.pop(2)
		if err != nil {
			return err
		}
		if s.segment() < 1 {
			return errors.New("stack underflow")
		}
		if d := s.stack[len(s.stack)-1]; d != nil {
			d.entries++
		}
		return s.hashKeys(kv, 2)
	case 'e', 'u', 0x90: // APPENDS, SETITEMS, ADDITEMS
		items, err := s.popMark()
		if err != nil {
			return err
		}
		if s.segment() < 1 {
			return errors.New("stack underflow")
		}
		switch op {
		case 'u':
			if d := s.stack[len(s.stack)-1]; d != nil {
				d.entries += int64(len(items) / 2)
			}
			return s.hashKeys(items, 2)
		case 0x90:
			return s.hashKeys(items, 1)
		}
		return nil
	case 'd', 'l', 't', 0x91, 'i', 'o': // DICT, LIST, TUPLE, FROZENSET, INST, OBJ
		items, err := s.popMark()
		if err != nil {
			return err
		}
		var o *simObj
		switch op {
		case 'd':
			o = &simObj{entries: int64(len(items) / 2)}
			err = s.hashKeys(items, 2)
		case 't':
			o = tupleObj(items)
		case 0x91:
			err = s.hashKeys(items, 1)
		case 'o':
			if len(items) == 0 {
				err = errors.New("OBJ without a class")
			}
		}
		if err != nil {
			return err
		}
		return s.push(o)
	case 0x85, 0x86, 0x87: // TUPLE1-3
		items, err := s.pop(int(op - 0x84))
		if err != nil {
			return err
		}
		return s.push(tupleObj(items))
	case 'b': // BUILD: copies a dict state into objects that are not PyStateSettable
		st, err := s.pop(1)
		if err != nil {
			return err
		}
		if s.segment() < 1 {
			return errors.New("stack underflow")
		}
		if o := st[0]; o != nil {
			s.buildWork += o.entries
			if o.a != nil {
				s.buildWork += o.a.entries
			}
			if o.b != nil {
				s.buildWork += o.b.entries
			}
		}
		if s.buildWork > maxBuildWork {
			return fmt.Errorf("BUILD copies over %d dict entries in all", maxBuildWork)
		}
		return nil
	case 'R', 0x81, 0x93: // REDUCE, NEWOBJ, STACK_GLOBAL
		if _, err := s.pop(2); err != nil {
			return err
		}
		return s.push(nil)
	case 0x92: // NEWOBJ_EX
		if _, err := s.pop(3); err != nil {
			return err
		}
		return s.push(nil)
	case 'Q', 0x98: // BINPERSID, READONLY_BUFFER
		if _, err := s.pop(1); err != nil {
			return err
		}
		return s.push(nil)
	}
	return fmt.Errorf("opcode 0x%02x has no stack model", op)
}

func tupleObj(items []*simObj) *simObj {
	o := &simObj{entries: int64(len(items))}
	if len(items) > 0 {
		o.a = items[0]
	}
	if len(items) > 1 {
		o.b = items[1]
	}
	return o
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
