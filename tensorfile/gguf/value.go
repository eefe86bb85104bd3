package gguf

import (
	"encoding/binary"
	"math"
	"strconv"
)

// ValueType is a metadata value type (enum gguf_type in gguf.h).
type ValueType uint32

// The metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"}

// String is the name gguf.cpp's gguf_type_name uses ("u32", "str", "arr").
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return "gguf_type(" + strconv.FormatUint(uint64(t), 10) + ")"
}

// size is the encoded size of a fixed-size type, 0 for string and array.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// KV is one metadata key-value pair. Keys are kept byte-exact.
type KV struct {
	Key   string
	Value Value
}

// Value is one metadata value as plain data. Scalars: integers and bools
// are in Uint (unsigned types, bool as 0/1) or Sint (signed types), floats
// in Float, strings (byte-exact) in Str. Arrays: Elem is the element type
// and Len the length; strings are in Strs, nested arrays in Arr, and
// fixed-size elements in Raw (little-endian, Len*size bytes) read through
// Index.
type Value struct {
	Type  ValueType
	Uint  uint64
	Sint  int64
	Float float64
	Str   string

	Elem ValueType
	Len  int64
	Raw  []byte
	Strs []string
	Arr  []Value
}

// AsInt returns an integer value of any integer type as int64 (false for
// other types and for a u64 above MaxInt64).
func (v Value) AsInt() (int64, bool) {
	switch v.Type {
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64:
		if v.Uint > math.MaxInt64 {
			return 0, false
		}
		return int64(v.Uint), true
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		return v.Sint, true
	}
	return 0, false
}

// Index returns element i of an array as a scalar Value.
func (v Value) Index(i int64) (Value, bool) {
	if v.Type != TypeArray || i < 0 || i >= v.Len {
		return Value{}, false
	}
	switch {
	case v.Elem == TypeString:
		return Value{Type: TypeString, Str: v.Strs[i]}, true
	case v.Elem == TypeArray:
		return v.Arr[i], true
	}
	n := int64(v.Elem.size())
	return scalar(v.Elem, v.Raw[i*n:(i+1)*n], binary.LittleEndian), true
}

func scalar(t ValueType, p []byte, o binary.ByteOrder) Value {
	v := Value{Type: t}
	switch t {
	case TypeUint8, TypeBool:
		v.Uint = uint64(p[0])
	case TypeInt8:
		v.Sint = int64(int8(p[0]))
	case TypeUint16:
		v.Uint = uint64(o.Uint16(p))
	case TypeInt16:
		v.Sint = int64(int16(o.Uint16(p)))
	case TypeUint32:
		v.Uint = uint64(o.Uint32(p))
	case TypeInt32:
		v.Sint = int64(int32(o.Uint32(p)))
	case TypeFloat32:
		v.Float = float64(math.Float32frombits(o.Uint32(p)))
	case TypeUint64:
		v.Uint = o.Uint64(p)
	case TypeInt64:
		v.Sint = int64(o.Uint64(p))
	case TypeFloat64:
		v.Float = math.Float64frombits(o.Uint64(p))
	}
	return v
}

func (rd *reader) value(t ValueType, depth int) (Value, error) {
	if n := t.size(); n > 0 {
		p, err := rd.bytes(int64(n))
		if err != nil {
			return Value{}, err
		}
		return scalar(t, p, rd.order), nil
	}
	switch t {
	case TypeString:
		s, err := rd.str()
		return Value{Type: TypeString, Str: s}, err
	case TypeArray:
		return rd.array(depth)
	}
	rd.pos -= 4
	return Value{}, rd.errf("unknown value type %d", uint32(t))
}

func (rd *reader) array(depth int) (Value, error) {
	if depth >= rd.b.MaxDepth {
		return Value{}, rd.errf("arrays nested deeper than the budget of %d", rd.b.MaxDepth)
	}
	et, err := rd.u32()
	if err != nil {
		return Value{}, err
	}
	elem := ValueType(et)
	min := int64(elem.size())
	switch elem {
	case TypeString:
		min = 8
	case TypeArray:
		min = 12
	}
	if min == 0 {
		rd.pos -= 4
		return Value{}, rd.errf("unknown array element type %d", et)
	}
	n, err := rd.count("array length", rd.b.MaxArray, min)
	if err != nil {
		return Value{}, err
	}
	if rd.values += n; rd.values > rd.b.MaxValues {
		return Value{}, rd.errf("array elements exceed the budget of %d", rd.b.MaxValues)
	}
	v := Value{Type: TypeArray, Elem: elem, Len: n}
	switch elem {
	case TypeString:
		v.Strs = make([]string, n)
		for i := range v.Strs {
			if v.Strs[i], err = rd.str(); err != nil {
				return Value{}, err
			}
		}
	case TypeArray:
		v.Arr = make([]Value, n)
		for i := range v.Arr {
			if v.Arr[i], err = rd.value(TypeArray, depth+1); err != nil {
				return Value{}, err
			}
		}
	default:
		p, err := rd.bytes(n * min)
		if err != nil {
			return Value{}, err
		}
		v.Raw = make([]byte, len(p))
		if rd.order == binary.LittleEndian || min == 1 {
			copy(v.Raw, p)
		} else {
			for i := int64(0); i < n*min; i += min {
				for j := int64(0); j < min; j++ {
					v.Raw[i+j] = p[i+min-1-j]
				}
			}
		}
	}
	return v, nil
}
