// zip: the container of torch.save files. Entries are stored (not compressed); we verify
// each entry's CRC-32 on read, which torch's own reader does not.
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

class Reader {
 public:
  explicit Reader(const std::string& path);  // parses the central directory; throws CheckpointError
  ~Reader();
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  const std::vector<Entry>& entries() const { return entries_; }
  const Entry* find(const std::string& name) const;
  std::string read(const Entry& e) const;          // whole entry, CRC-checked
  void read_into(const Entry& e, void* dst) const;  // e.size bytes, CRC-checked

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void read_at(uint64_t offset, void* dst, size_t n) const;
  void locate_data(Entry& e) const;

  std::string path_;
  FILE* file_ = nullptr;
  uint64_t file_size_ = 0;
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

}  // namespace vamp::zip
