package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
)

// enc writes GGUF the way gguf-py's GGUFWriter does, in either byte order;
// tests use it to make files real writers make (v2, big-endian, n_dims 0)
// that are too rare to find in the wild.
type enc struct {
	bytes.Buffer
	o binary.AppendByteOrder
}

func (e *enc) u32(v uint32) { e.Write(e.o.AppendUint32(nil, v)) }
func (e *enc) u64(v uint64) { e.Write(e.o.AppendUint64(nil, v)) }
func (e *enc) str(s string) { e.u64(uint64(len(s))); e.WriteString(s) }

type tkv struct {
	key string
	t   ValueType
	v   any // uint64, int64, float64, bool, string, []string, []uint32, []float32
}

type ttensor struct {
	name string
	dims []uint64
	typ  Type
}

// build writes a GGUF file: header, tensor infos with offsets laid out as
// gguf-py does (each aligned), and zero data unless cut is set, in which
// case the data section is left out.
func build(o binary.AppendByteOrder, version uint32, kvs []tkv, ts []ttensor, align int64, cut bool) []byte {
	e := &enc{o: o}
	e.WriteString("GGUF")
	e.u32(version)
	e.u64(uint64(len(ts)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.key)
		e.u32(uint32(kv.t))
		e.value(kv.t, kv.v)
	}
	var off int64
	var total int64
	for _, t := range ts {
		e.str(t.name)
		e.u32(uint32(len(t.dims)))
		n := int64(1)
		for _, d := range t.dims {
			e.u64(d)
			n *= int64(d)
		}
		e.u32(uint32(t.typ))
		e.u64(uint64(off))
		size := n
		if t.typ.Known() {
			size = n / int64(t.typ.BlockSize()) * int64(t.typ.BlockBytes())
		}
		total = off + size
		off = alignUp(off+size, align)
	}
	if cut {
		return e.Bytes()
	}
	for int64(e.Len())%align != 0 {
		e.WriteByte(0)
	}
	e.Write(make([]byte, total))
	return e.Bytes()
}

func (e *enc) value(t ValueType, v any) {
	switch t {
	case TypeUint8, TypeInt8:
		e.WriteByte(byte(v.(uint64)))
	case TypeBool:
		if v.(bool) {
			e.WriteByte(1)
		} else {
			e.WriteByte(0)
		}
	case TypeUint16, TypeInt16:
		e.Write(e.o.AppendUint16(nil, uint16(v.(uint64))))
	case TypeUint32, TypeInt32:
		e.u32(uint32(v.(uint64)))
	case TypeUint64, TypeInt64:
		e.u64(v.(uint64))
	case TypeFloat32:
		e.u32(math.Float32bits(float32(v.(float64))))
	case TypeFloat64:
		e.u64(math.Float64bits(v.(float64)))
	case TypeString:
		e.str(v.(string))
	case TypeArray:
		switch a := v.(type) {
		case []string:
			e.u32(uint32(TypeString))
			e.u64(uint64(len(a)))
			for _, s := range a {
				e.str(s)
			}
		case []uint32:
			e.u32(uint32(TypeUint32))
			e.u64(uint64(len(a)))
			for _, x := range a {
				e.u32(x)
			}
		case []float32:
			e.u32(uint32(TypeFloat32))
			e.u64(uint64(len(a)))
			for _, x := range a {
				e.u32(math.Float32bits(x))
			}
		}
	}
}
