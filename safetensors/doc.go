// Package safetensors reads safetensors checkpoints: one file's header, a
// sharded checkpoint's model.safetensors.index.json, or a directory of
// either. Only headers are read; tensor data is opened on request.
package safetensors
