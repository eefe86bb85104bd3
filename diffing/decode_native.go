package diffing

import (
	"encoding/binary"
	"unsafe"
)

// littleEndian is whether this machine stores numbers as the files do,
// so that aligned bytes can be read in place as numbers.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// native views b as elements of T in place, when the machine is
// little-endian and b is aligned for T (a file's data need not be: a
// safetensors header may have any length); ok is false otherwise, and
// the caller decodes byte by byte.
func native[T float32 | float64 | uint16](b []byte) (v []T, ok bool) {
	var z T
	size := int(unsafe.Sizeof(z))
	if !littleEndian || len(b) < size || uintptr(unsafe.Pointer(&b[0]))%uintptr(size) != 0 {
		return nil, false
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/size), true
}
