//go:build !amd64

package diffing

import "github.com/refcmp/refcmp/safetensors"

// asmKernel: no assembly kernels on this architecture.
func asmKernel(rdt, odt safetensors.DType) asmFunc { return nil }
