// Command refcmp compares what a neural-network port loads and computes
// with its reference: checkpoint headers (refcmp weights), tensor dumps
// (refcmp tensors), golden records of known-good output (refcmp golden)
// and single files (refcmp inspect). See docs/reference.md for the formats it
// reads and the JSON it writes.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
