// Package ggufwrite writes small GGUF v3 files (little-endian, alignment
// 32) for refcmp's tests and benchmarks, the way gguf-py's GGUFWriter lays
// them out: header, metadata, tensor infos, then each tensor's data at an
// aligned offset. It writes what it is given; it does not quantize.
package ggufwrite

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
)

// Tensor is one tensor to write: Dims in GGUF order (innermost first),
// Type a ggml type number, Data its bytes as ggml stores them.
type Tensor struct {
	Name string
	Dims []uint64
	Type uint32
	Data []byte
}

// KV is one metadata pair; Value is a string, uint32, int32, float32 or
// []string.
type KV struct {
	Key   string
	Value any
}

const align = 32

// Encode returns the GGUF file holding kvs and ts.
func Encode(kvs []KV, ts []Tensor) ([]byte, error) {
	le := binary.LittleEndian
	var b bytes.Buffer
	u32 := func(v uint32) { b.Write(le.AppendUint32(nil, v)) }
	u64 := func(v uint64) { b.Write(le.AppendUint64(nil, v)) }
	str := func(s string) { u64(uint64(len(s))); b.WriteString(s) }
	b.WriteString("GGUF")
	u32(3)
	u64(uint64(len(ts)))
	u64(uint64(len(kvs)))
	for _, kv := range kvs {
		str(kv.Key)
		switch v := kv.Value.(type) {
		case string:
			u32(8)
			str(v)
		case uint32:
			u32(4)
			u32(v)
		case int32:
			u32(5)
			u32(uint32(v))
		case float32:
			u32(6)
			u32(math.Float32bits(v))
		case []string:
			u32(9)
			u32(8)
			u64(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		default:
			return nil, fmt.Errorf("ggufwrite: key %q: unsupported value %T", kv.Key, kv.Value)
		}
	}
	var off uint64
	for _, t := range ts {
		str(t.Name)
		u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			u64(d)
		}
		u32(t.Type)
		u64(off)
		off += pad(uint64(len(t.Data)))
	}
	b.Write(make([]byte, pad(uint64(b.Len()))-uint64(b.Len())))
	for _, t := range ts {
		b.Write(t.Data)
		b.Write(make([]byte, pad(uint64(len(t.Data)))-uint64(len(t.Data))))
	}
	return b.Bytes(), nil
}

func pad(n uint64) uint64 { return (n + align - 1) / align * align }
