#include "zip.h"

#include "vamp/errors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vamp::zip {
namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kEnd64Sig = 0x06064b50;
constexpr uint32_t kEnd64LocatorSig = 0x07064b50;
constexpr size_t kAlign = 64;

uint16_t u16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t u32(const uint8_t* p) { return uint32_t(u16(p)) | uint32_t(u16(p + 2)) << 16; }
uint64_t u64(const uint8_t* p) { return uint64_t(u32(p)) | uint64_t(u32(p + 4)) << 32; }

void put16(std::string& s, uint16_t v) {
  s.push_back(char(v & 0xff));
  s.push_back(char(v >> 8));
}
void put32(std::string& s, uint32_t v) {
  put16(s, uint16_t(v & 0xffff));
  put16(s, uint16_t(v >> 16));
}

}  // namespace

uint32_t crc32(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {  // zlib takes uInt lengths
    uInt chunk = n > (1u << 30) ? (1u << 30) : uInt(n);
    crc = uint32_t(::crc32(crc, p, chunk));
    p += chunk;
    n -= chunk;
  }
  return crc;
}

// (not named crc32_combine: zlib.h may #define that name to crc32_combine64)
uint32_t combine_crc32(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  return uint32_t(::crc32_combine(crc_a, crc_b, z_off_t(len_b)));
}

Mapping::~Mapping() { munmap(base_, size_); }

Reader::Reader(const std::string& path) : path_(path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    fail("cannot open: not a regular file");
  }
  const auto size = uint64_t(st.st_size);
  // Writable but private, so tensors over it behave like any other (an in-place op copies the page).
  void* base = size >= 22 ? mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  const int map_errno = errno;
  close(fd);  // the mapping keeps the file
  if (size < 22) fail("not a zip archive (truncated or empty file)");
  if (base == MAP_FAILED) fail(std::string("cannot map: ") + std::strerror(map_errno));
  map_ = std::make_shared<Mapping>(base, size);

  // End of central directory: the last 22+ bytes, possibly followed by a comment.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  const uint8_t* tail = at(size - tail_len, tail_len);
  const uint8_t* e = nullptr;
  for (uint64_t i = tail_len - 22 + 1; i-- > 0;)
    if (u32(tail + i) == kEndSig) {
      e = tail + i;
      break;
    }
  if (!e) fail("not a zip archive or truncated (no end-of-central-directory record)");
  uint64_t count = u16(e + 10), cd_size = u32(e + 12), cd_offset = u32(e + 16);
  const uint64_t eocd_pos = uint64_t(e - map_->data());
  if (eocd_pos >= 20 && u32(at(eocd_pos - 20, 20)) == kEnd64LocatorSig) {
    const uint8_t* e64 = at(u64(at(eocd_pos - 20, 20) + 8), 56);
    if (u32(e64) != kEnd64Sig) fail("corrupt zip64 end-of-central-directory record");
    count = u64(e64 + 32);
    cd_size = u64(e64 + 40);
    cd_offset = u64(e64 + 48);
  }
  if (cd_offset > size || cd_size > size - cd_offset) fail("truncated zip (central directory past end of file)");

  const uint8_t* cd = at(cd_offset, cd_size);
  uint64_t p = 0;
  for (uint64_t n = 0; n < count; ++n) {
    if (p + 46 > cd_size || u32(cd + p) != kCentralSig) fail("corrupt zip central directory");
    const uint8_t* c = cd + p;
    Entry en;
    en.method = u16(c + 10);
    en.crc = u32(c + 16);
    uint64_t csize = u32(c + 20);
    en.size = u32(c + 24);
    size_t name_len = u16(c + 28), extra_len = u16(c + 30), comment_len = u16(c + 32);
    en.header_offset = u32(c + 42);
    if (p + 46 + name_len + extra_len + comment_len > cd_size) fail("corrupt zip central directory");
    en.name.assign(reinterpret_cast<const char*>(c + 46), name_len);
    // Zip64 extended information replaces the fields that are saturated at 0xffffffff.
    const uint8_t* x = c + 46 + name_len;
    for (size_t q = 0; q + 4 <= extra_len;) {
      uint16_t id = u16(x + q), len = u16(x + q + 2);
      if (q + 4 + len > extra_len) fail("corrupt zip central directory (extra field of entry '" + en.name + "')");
      if (id == 0x0001) {
        const uint8_t* f = x + q + 4;
        const uint8_t* end = f + len;
        if (en.size == 0xffffffffu && f + 8 <= end) en.size = u64(f), f += 8;
        if (csize == 0xffffffffu && f + 8 <= end) csize = u64(f), f += 8;
        if (en.header_offset == 0xffffffffu && f + 8 <= end) en.header_offset = u64(f);
      }
      q += 4 + len;
    }
    if (en.method != 0 || csize != en.size)
      fail("entry '" + en.name + "' is compressed; torch.save writes stored entries only");
    entries_.push_back(std::move(en));
    p += 46 + name_len + extra_len + comment_len;
  }
  for (auto& en : entries_) locate_data(en);
}

void Reader::fail(const std::string& what) const { throw CheckpointError(path_ + ": " + what); }

const uint8_t* Reader::at(uint64_t offset, uint64_t n) const {
  // Checked before any byte is touched: a mapped page past the end of the file would be SIGBUS.
  if (offset > map_->size() || n > map_->size() - offset) fail("truncated file (read past end)");
  return map_->data() + offset;
}

void Reader::locate_data(Entry& e) const {
  const uint8_t* h = at(e.header_offset, 30);
  if (u32(h) != kLocalSig) fail("corrupt local header for entry '" + e.name + "'");
  e.data_offset = e.header_offset + 30 + u16(h + 26) + u16(h + 28);
  if (e.data_offset > map_->size() || e.size > map_->size() - e.data_offset)
    fail("truncated file: entry '" + e.name + "' extends past the end");
}

const Entry* Reader::find(const std::string& name) const {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

bool Reader::intact(const Entry& e) const { return crc32(0, data(e), e.size) == e.crc; }

void Reader::verify(const Entry& e) const {
  if (!intact(e)) fail("CRC-32 mismatch in entry '" + e.name + "' (corrupt file)");
}

std::string Reader::read(const Entry& e) const {
  verify(e);
  return std::string(reinterpret_cast<const char*>(data(e)), e.size);
}

Writer::Writer(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "wb");
  if (!file_) throw CheckpointError(path + ": cannot create: " + std::strerror(errno));
}

Writer::~Writer() {
  if (file_) std::fclose(file_);
}

void Writer::write(const void* data, size_t n) {
  if (n && std::fwrite(data, 1, n, file_) != n) throw CheckpointError(path_ + ": write error");
  pos_ += n;
}

void Writer::add(const std::string& name, const void* data, size_t size) {
  if (pos_ + size > 0xffff0000ull) throw CheckpointError(path_ + ": archives over 4 GiB are not supported");
  Entry e;
  e.name = name;
  e.header_offset = pos_;
  e.size = size;
  e.crc = crc32(0, data, size);
  // Pad with an extra field so the data starts on a 64-byte boundary (as torch does).
  size_t base = 30 + name.size() + 4;
  size_t pad = (kAlign - (pos_ + base) % kAlign) % kAlign;
  std::string h;
  put32(h, kLocalSig);
  put16(h, 20);  // version needed
  put16(h, 0);   // flags
  put16(h, 0);   // stored
  put16(h, 0);   // time
  put16(h, 0x21);  // date: 1980-01-01
  put32(h, e.crc);
  put32(h, uint32_t(size));
  put32(h, uint32_t(size));
  put16(h, uint16_t(name.size()));
  put16(h, uint16_t(4 + pad));
  h += name;
  put16(h, 0x4246);  // 'FB', torch's padding id
  put16(h, uint16_t(pad));
  h.append(pad, 'Z');
  write(h.data(), h.size());
  e.data_offset = pos_;
  write(data, size);
  entries_.push_back(std::move(e));
}

void Writer::finish() {
  uint64_t cd_offset = pos_;
  for (const auto& e : entries_) {
    std::string c;
    put32(c, kCentralSig);
    put16(c, 20);
    put16(c, 20);
    put16(c, 0);
    put16(c, 0);
    put16(c, 0);
    put16(c, 0x21);
    put32(c, e.crc);
    put32(c, uint32_t(e.size));
    put32(c, uint32_t(e.size));
    put16(c, uint16_t(e.name.size()));
    put16(c, 0);  // extra
    put16(c, 0);  // comment
    put16(c, 0);  // disk
    put16(c, 0);  // internal attributes
    put32(c, 0);  // external attributes
    put32(c, uint32_t(e.header_offset));
    c += e.name;
    write(c.data(), c.size());
  }
  std::string end;
  put32(end, kEndSig);
  put16(end, 0);
  put16(end, 0);
  put16(end, uint16_t(entries_.size()));
  put16(end, uint16_t(entries_.size()));
  put32(end, uint32_t(pos_ - cd_offset));
  put32(end, uint32_t(cd_offset));
  put16(end, 0);
  write(end.data(), end.size());
  if (std::fclose(file_) != 0) {
    file_ = nullptr;
    throw CheckpointError(path_ + ": write error on close");
  }
  file_ = nullptr;
}

}  // namespace vamp::zip
