// The fuzz input as a file: the readers under test take paths, as vamp-cli and the elements do.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

struct FuzzFile {
  int fd = -1;
  std::string path;
  FuzzFile(const uint8_t* data, size_t size) {
    fd = memfd_create("fuzz", 0);
    if (fd < 0) return;
    for (size_t done = 0; done < size;) {
      const ssize_t n = write(fd, data + done, size - done);
      if (n <= 0) break;
      done += size_t(n);
    }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  ~FuzzFile() {
    if (fd >= 0) close(fd);
  }
};
