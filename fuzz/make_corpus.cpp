// Writes the seed corpora of the fuzz targets with the library's own writers (and, for the
// formats it only reads, the few bytes of a valid file), plus the regression files of the bugs
// of issue 12. Usage: fuzz_make_corpus <fuzz/corpus>. The output is small and committed.
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <tapegrad/data/image_io.hpp>

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

namespace {

void write(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

Bytes read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void put_be32(Bytes& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(std::uint8_t(v >> s));
}

Bytes gzip(const Bytes& data) {
  Bytes out(compressBound(uLong(data.size())) + 32);
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // 15 + 16: gzip wrapper
  z.next_in = const_cast<Bytef*>(data.data());
  z.avail_in = uInt(data.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

tg::Tensor pattern(std::size_t c, std::size_t h, std::size_t w) {
  tg::Tensor t = tg::empty_tensor({c, h, w});
  for (std::size_t i = 0; i < t.size(); ++i) t.data()[i] = float((i * 37) % 256) / 255.0f;
  return t;
}

void image_corpus(const fs::path& dir) {
  fs::create_directories(dir);
  for (std::size_t c : {1, 3, 4}) {
    const std::string s = std::to_string(c);
    tg::data::write_image(dir / ("seed-c" + s + ".png"), pattern(c, 6, 5));
    tg::data::write_image(dir / ("seed-c" + s + ".bmp"), pattern(c, 6, 5));
    if (c != 4) tg::data::write_image(dir / ("seed-c" + s + ".jpg"), pattern(c, 9, 17));
  }
  // Finding 1: a DHT declaring 16 x 17 = 272 codes (stb_image 2.27 wrote out of bounds), and
  // the same after fill bytes, which got it past a pre-check that parsed unlike stb.
  Bytes dht = {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00};
  dht.insert(dht.end(), 64, 1);
  const Bytes sof = {0xFF, 0xC0, 0x00, 0x0B, 8, 0, 8, 0, 8, 1, 1, 0x11, 0};
  dht.insert(dht.end(), sof.begin(), sof.end());
  const Bytes dht_head = {0xFF, 0xC4, 0x00, 2 + 17 + 51, 0x00};
  dht.insert(dht.end(), dht_head.begin(), dht_head.end());
  dht.insert(dht.end(), 16, 17);
  for (std::uint8_t v = 0; v < 51; ++v) dht.push_back(v);
  write(dir / "regress-dht-272-codes.jpg", dht);
  Bytes filled(16, 0xFF);
  filled.insert(filled.end(), dht.begin() + 1, dht.end());
  write(dir / "regress-dht-fill-bytes.jpg", filled);
  // Finding 4: headers claiming 8192x8192 over a few bytes, and files cut short.
  Bytes bmp = read(dir / "seed-c3.bmp");
  for (int k = 0; k < 4; ++k) bmp[18 + k] = bmp[22 + k] = std::uint8_t((8192u >> (8 * k)) & 255);
  write(dir / "regress-bomb-8192.bmp", bmp);
  Bytes jpg = read(dir / "seed-c3.jpg");
  for (std::size_t i = 2; i + 9 < jpg.size(); ++i)
    if (jpg[i] == 0xFF && jpg[i + 1] == 0xC0) {
      jpg[i + 5] = jpg[i + 7] = 0x20, jpg[i + 6] = jpg[i + 8] = 0;
      break;
    }
  write(dir / "regress-bomb-8192.jpg", jpg);
  for (const char* ext : {".bmp", ".jpg", ".png"}) {
    Bytes cut = read(dir / (std::string("seed-c3") + ext));
    cut.resize(cut.size() * 2 / 3);
    write(dir / (std::string("regress-truncated") + ext), cut);
  }
}

void idx_corpus(const fs::path& dir) {
  Bytes images, labels;
  put_be32(images, 0x803), put_be32(images, 3), put_be32(images, 4), put_be32(images, 5);
  for (int i = 0; i < 3 * 4 * 5; ++i) images.push_back(std::uint8_t(i * 11));
  put_be32(labels, 0x801), put_be32(labels, 3);
  for (std::uint8_t l : {7, 0, 9}) labels.push_back(l);
  // Layout of fuzz_idx: 4-byte little-endian length of the image file, image file, label file.
  auto pack = [](const Bytes& a, const Bytes& b) {
    Bytes out = {std::uint8_t(a.size()), std::uint8_t(a.size() >> 8), 0, 0};
    out.insert(out.end(), a.begin(), a.end());
    out.insert(out.end(), b.begin(), b.end());
    return out;
  };
  write(dir / "seed-plain", pack(images, labels));
  write(dir / "seed-gzip", pack(gzip(images), gzip(labels)));
}

void cifar_corpus(const fs::path& dir) {
  Bytes batch;
  for (std::uint8_t label : {3, 9}) {
    batch.push_back(label);
    for (int k = 0; k < 3 * 32 * 32; ++k) batch.push_back(std::uint8_t(k * 7 + label));
  }
  write(dir / "seed-2-records.bin", batch);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus <fuzz/corpus folder>\n";
    return 2;
  }
  const fs::path root = argv[1];
  image_corpus(root / "image");
  idx_corpus(root / "idx");
  cifar_corpus(root / "cifar");
  return 0;
}
