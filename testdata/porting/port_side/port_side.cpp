// port_side shows how a port written in C++ writes its side for refcmp:
// the loaded-weights manifest, a raw .bin with its sidecar JSON, and a
// .npy file. C++17, standard library only. Usage: port_side OUTDIR
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

static std::string shape_list(const std::vector<size_t>& shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

// Little-endian bytes of a float, whatever the host byte order.
static void put_f32(std::string& out, float v) {
    uint32_t u;
    std::memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) out += static_cast<char>((u >> (8 * i)) & 0xff);
}

static bool write_file(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(f);
}

// One line per weight the port loaded: `name [d0, d1] dtype`.
static bool write_manifest(const std::string& path,
                           const std::vector<std::pair<std::string, std::vector<size_t>>>& weights,
                           const std::string& dtype) {
    std::string s;
    for (const auto& w : weights) s += w.first + " " + shape_list(w.second) + " " + dtype + "\n";
    return write_file(path, s);
}

// Little-endian float32 in C order, plus the sidecar `<path>.json`.
static bool write_raw(const std::string& path, const std::vector<size_t>& shape, const std::vector<float>& data) {
    std::string bytes;
    for (float v : data) put_f32(bytes, v);
    return write_file(path, bytes) &&
           write_file(path + ".json", "{\"dtype\": \"F32\", \"shape\": " + shape_list(shape) + "}\n");
}

// A version 1.0 .npy file: little-endian float32, C order.
static bool write_npy(const std::string& path, const std::vector<size_t>& shape, const std::vector<float>& data) {
    std::string tuple = "(";
    for (size_t i = 0; i < shape.size(); i++) tuple += (i ? ", " : "") + std::to_string(shape[i]);
    tuple += shape.size() == 1 ? ",)" : ")";
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }";
    // magic (6) + version (2) + length (2) + header + "\n" is a multiple of 64.
    header += std::string((64 - (10 + header.size() + 1) % 64) % 64, ' ') + "\n";
    std::string out("\x93NUMPY\x01\x00", 8);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>(header.size() >> 8);
    out += header;
    for (float v : data) put_f32(out, v);
    return write_file(path, out);
}

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: port_side OUTDIR\n";
        return 2;
    }
    std::string dir = argv[1];
    std::vector<size_t> shape = {2, 3};
    std::vector<float> data;
    for (int i = 0; i < 6; i++) data.push_back(i / 4.0f);
    bool ok = write_manifest(dir + "/loaded.txt",
                             {{"model.embed_tokens.weight", {64, 32}}, {"model.lm_head.weight", {64, 32}}},
                             "float32") &&
              write_raw(dir + "/x.bin", shape, data) && write_npy(dir + "/x.npy", shape, data);
    if (!ok) {
        std::cerr << "port_side: write failed\n";
        return 1;
    }
    return 0;
}
