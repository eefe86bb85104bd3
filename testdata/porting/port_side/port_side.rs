// port_side shows how a port written in Rust writes its side for refcmp:
// the loaded-weights manifest, a raw .bin with its sidecar JSON, and a
// .npy file. Standard library only. Usage: port_side OUTDIR
use std::fs;
use std::io;
use std::path::Path;

fn shape_list(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

/// One line per weight the port loaded: `name [d0, d1] dtype`.
fn write_manifest(path: &Path, weights: &[(&str, Vec<usize>)], dtype: &str) -> io::Result<()> {
    let mut s = String::new();
    for (name, shape) in weights {
        s += &format!("{} {} {}\n", name, shape_list(shape), dtype);
    }
    fs::write(path, s)
}

/// Little-endian float32 in C order, plus the sidecar `<path>.json`.
fn write_raw(path: &Path, shape: &[usize], data: &[f32]) -> io::Result<()> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    fs::write(path, bytes)?;
    let side = format!("{{\"dtype\": \"F32\", \"shape\": {}}}\n", shape_list(shape));
    fs::write(format!("{}.json", path.display()), side)
}

/// A version 1.0 .npy file: little-endian float32, C order.
fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> io::Result<()> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {}, }}", tuple);
    // magic (6) + version (2) + length (2) + header + "\n" is a multiple of 64.
    let pad = (64 - (10 + header.len() + 1) % 64) % 64;
    header += &" ".repeat(pad);
    header += "\n";
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fs::write(path, out)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: port_side OUTDIR");
        std::process::exit(2);
    }
    let dir = Path::new(&args[1]);
    let shape = [2usize, 3];
    let data: Vec<f32> = (0..6).map(|i| i as f32 / 4.0).collect();
    write_manifest(
        &dir.join("loaded.txt"),
        &[("model.embed_tokens.weight", vec![64, 32]), ("model.lm_head.weight", vec![64, 32])],
        "float32",
    )?;
    write_raw(&dir.join("x.bin"), &shape, &data)?;
    write_npy(&dir.join("x.npy"), &shape, &data)
}
