// Package tensorfile opens tensor dumps and checkpoints in every format
// refcmp compares: safetensors (file, sharded index, directory), numpy
// .npy and .npz, PyTorch .pt/.pth/.bin (zip and legacy pickle formats),
// raw little-endian .bin files with a dtype and shape, and directories of
// any of these. Formats are detected by content, not only by extension.
//
// Every tensor is delivered as a tensor.Tensor whose Data reads
// little-endian, C-order bytes. Contiguous data is read in place (a
// section of the file, also for stored .npz and .pt zip members);
// big-endian data is byte-swapped on the fly; Fortran-order or strided
// tensors, and deflated archive members, are gathered or inflated in
// memory on their first read, each up to Options.MaxMaterialize bytes
// (checked when the file is opened).
//
// Sizes in headers are checked against the file before anything is
// allocated, errors name the file (and the tensor or member), and no
// input makes Open or List panic; the fuzz targets in fuzz_test.go keep
// it so.
//
// Nothing here executes pickled code: PyTorch pickles are read with
// github.com/nlpodyssey/gopickle, whose class lookups are answered with
// inert descriptors, and numpy object arrays are refused.
package tensorfile
