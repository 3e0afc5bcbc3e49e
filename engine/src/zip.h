// zip: the container of torch.save files. Entries are stored (not compressed), so the reader maps
// the file and hands out pointers into it; it verifies each entry's CRC-32, which torch's own
// reader does not.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace vamp::zip {

struct Entry {
  std::string name;
  uint64_t header_offset = 0;  // local file header
  uint64_t data_offset = 0;    // first byte of the stored data
  uint64_t size = 0;
  uint32_t crc = 0;
  uint16_t method = 0;
};

// A whole file mapped privately: pages are read from the page cache on first touch, and writes
// copy the page (they stay in this process, never reach the file). Unmapped on destruction.
class Mapping {
 public:
  Mapping(void* base, size_t size) : base_(static_cast<uint8_t*>(base)), size_(size) {}
  ~Mapping();
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  uint8_t* data() const { return base_; }
  size_t size() const { return size_; }

 private:
  uint8_t* base_;
  size_t size_;
};

class Reader {
 public:
  explicit Reader(const std::string& path);  // maps the file, parses the central directory; throws CheckpointError

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& name) const;
  // The entry's bytes in the mapping (within the file: checked when the directory was read).
  uint8_t* data(const Entry& e) const { return map_->data() + e.data_offset; }
  bool intact(const Entry& e) const;       // its CRC-32 matches
  void verify(const Entry& e) const;       // throws CheckpointError naming the entry unless intact
  std::string read(const Entry& e) const;  // a copy of the entry, verified
  // The mapping, for data that must outlive the reader.
  const std::shared_ptr<Mapping>& mapping() const { return map_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  const uint8_t* at(uint64_t offset, uint64_t n) const;  // bounds-checked against the file size
  void locate_data(Entry& e) const;

  std::string path_;
  std::shared_ptr<Mapping> map_;
  std::vector<Entry> entries_;
};

// Writes stored entries, data aligned to 64 bytes like torch's writer.
class Writer {
 public:
  explicit Writer(const std::string& path);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void add(const std::string& name, const void* data, size_t size);
  void finish();  // writes the central directory and closes the file

 private:
  void write(const void* data, size_t n);
  std::string path_;
  FILE* file_ = nullptr;
  uint64_t pos_ = 0;
  std::vector<Entry> entries_;
};

uint32_t crc32(uint32_t crc, const void* data, size_t n);
// The CRC-32 of A followed by B, from crc(A), crc(B) and B's length.
uint32_t combine_crc32(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

}  // namespace vamp::zip
