#include "overlay_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace powercut {
namespace {

using Bytes = std::vector<unsigned char>;
constexpr sqlite3_int64 k_no_floor = std::numeric_limits<sqlite3_int64>::max();

// What this process wrote to one file since its last xSync.
struct Overlay {
  std::map<sqlite3_int64, Bytes> extents; // by offset, never overlapping
  sqlite3_int64 size = 0;                 // the file's size as SQLite sees it
  sqlite3_int64 floor = k_no_floor;       // real bytes at and past this were truncated away
  bool dirty = false;
  int handles = 0;
};

struct State {
  sqlite3_vfs vfs{};
  sqlite3_vfs* real = nullptr;
  std::mutex mutex;
  std::map<std::string, Overlay> files; // by the name SQLite opened them with
};

State g_state;

struct File {
  sqlite3_file base; // first: SQLite sees only this
  Overlay* overlay;  // nullptr: not tracked (temporary files)
  sqlite3_file* real;
};

constexpr std::size_t k_real_offset = (sizeof(File) + alignof(std::max_align_t) - 1) /
                                      alignof(std::max_align_t) * alignof(std::max_align_t);

File* file_of(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}

sqlite3_int64 end_of(const std::map<sqlite3_int64, Bytes>::value_type& extent) {
  return extent.first + static_cast<sqlite3_int64>(extent.second.size());
}

// Puts [offset, offset + n) over whatever the overlay held there.
void put(Overlay& overlay, sqlite3_int64 offset, const unsigned char* data, sqlite3_int64 n) {
  auto& extents = overlay.extents;
  const sqlite3_int64 end = offset + n;
  auto it = extents.lower_bound(offset);
  if (it != extents.begin()) {
    auto previous = std::prev(it);
    const auto previous_end = end_of(*previous);
    if (previous_end >= end) {
      // Inside one extent: overwritten in place.
      std::memcpy(previous->second.data() + (offset - previous->first), data,
                  static_cast<std::size_t>(n));
      return;
    }
    if (previous_end > offset) {
      previous->second.resize(static_cast<std::size_t>(offset - previous->first));
    }
  }
  while (it != extents.end() && it->first < end) {
    if (end_of(*it) <= end) {
      it = extents.erase(it);
      continue;
    }
    Bytes tail(it->second.begin() + (end - it->first), it->second.end());
    extents.erase(it);
    extents.emplace(end, std::move(tail));
    break;
  }
  extents.emplace(offset, Bytes(data, data + n));
}

void truncate_overlay(Overlay& overlay, sqlite3_int64 size) {
  auto& extents = overlay.extents;
  auto it = extents.lower_bound(size);
  extents.erase(it, extents.end());
  if (!extents.empty()) {
    auto last = std::prev(extents.end());
    if (end_of(*last) > size) {
      last->second.resize(static_cast<std::size_t>(size - last->first));
    }
  }
  overlay.floor = std::min(overlay.floor, size);
  overlay.size = size;
  overlay.dirty = true;
}

// --- I/O methods ---

int x_close(sqlite3_file* f) {
  auto* file = file_of(f);
  const int rc = file->real->pMethods->xClose(file->real);
  if (file->overlay != nullptr) {
    std::lock_guard lock(g_state.mutex);
    --file->overlay->handles;
  }
  return rc;
}

int x_read(sqlite3_file* f, void* buffer, int amount, sqlite3_int64 offset) {
  auto* file = file_of(f);
  auto* real = file->real;
  if (file->overlay == nullptr) {
    return real->pMethods->xRead(real, buffer, amount, offset);
  }
  std::lock_guard lock(g_state.mutex);
  const Overlay& overlay = *file->overlay;
  auto* out = static_cast<unsigned char*>(buffer);
  std::memset(out, 0, static_cast<std::size_t>(amount));
  const sqlite3_int64 available =
      std::clamp<sqlite3_int64>(overlay.size - offset, 0, static_cast<sqlite3_int64>(amount));
  const sqlite3_int64 from_real =
      std::clamp<sqlite3_int64>(std::min(overlay.floor, offset + available) - offset, 0, available);
  if (from_real > 0) {
    const int rc = real->pMethods->xRead(real, out, static_cast<int>(from_real), offset);
    // A real file shorter than SQLite's view: the rest is zeros (already).
    if (rc != SQLITE_OK && rc != SQLITE_IOERR_SHORT_READ) {
      return rc;
    }
  }
  const sqlite3_int64 end = offset + available;
  auto it = overlay.extents.upper_bound(offset);
  if (it != overlay.extents.begin()) {
    --it;
  }
  for (; it != overlay.extents.end() && it->first < end; ++it) {
    const auto from = std::max(it->first, offset);
    const auto to = std::min(end_of(*it), end);
    if (from < to) {
      std::memcpy(out + (from - offset), it->second.data() + (from - it->first),
                  static_cast<std::size_t>(to - from));
    }
  }
  return available < amount ? SQLITE_IOERR_SHORT_READ : SQLITE_OK;
}

int x_write(sqlite3_file* f, const void* buffer, int amount, sqlite3_int64 offset) {
  auto* file = file_of(f);
  if (file->overlay == nullptr) {
    return file->real->pMethods->xWrite(file->real, buffer, amount, offset);
  }
  std::lock_guard lock(g_state.mutex);
  Overlay& overlay = *file->overlay;
  put(overlay, offset, static_cast<const unsigned char*>(buffer), amount);
  overlay.size = std::max(overlay.size, offset + amount);
  overlay.dirty = true;
  return SQLITE_OK;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* file = file_of(f);
  if (file->overlay == nullptr) {
    return file->real->pMethods->xTruncate(file->real, size);
  }
  std::lock_guard lock(g_state.mutex);
  truncate_overlay(*file->overlay, size);
  return SQLITE_OK;
}

// Applies the overlay to the real file through `real`; on success the
// overlay is empty.
int apply(Overlay& overlay, sqlite3_file* real) {
  sqlite3_int64 real_size = 0;
  if (const int rc = real->pMethods->xFileSize(real, &real_size); rc != SQLITE_OK) {
    return rc;
  }
  if (overlay.floor < real_size) {
    if (const int rc = real->pMethods->xTruncate(real, overlay.floor); rc != SQLITE_OK) {
      return rc;
    }
    real_size = overlay.floor;
  }
  for (const auto& extent : overlay.extents) {
    if (extent.second.empty()) {
      continue;
    }
    const int rc = real->pMethods->xWrite(real, extent.second.data(),
                                          static_cast<int>(extent.second.size()), extent.first);
    if (rc != SQLITE_OK) {
      return rc;
    }
    real_size = std::max(real_size, end_of(extent));
  }
  if (real_size != overlay.size) {
    if (const int rc = real->pMethods->xTruncate(real, overlay.size); rc != SQLITE_OK) {
      return rc;
    }
  }
  overlay.extents.clear();
  overlay.floor = k_no_floor;
  overlay.dirty = false;
  return SQLITE_OK;
}

int x_sync(sqlite3_file* f, int flags) {
  auto* file = file_of(f);
  if (file->overlay != nullptr) {
    std::lock_guard lock(g_state.mutex);
    if (file->overlay->dirty) {
      if (const int rc = apply(*file->overlay, file->real); rc != SQLITE_OK) {
        return rc;
      }
    }
  }
  // In the page cache now; this makes it durable. (Readers need not wait.)
  return file->real->pMethods->xSync(file->real, flags);
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto* file = file_of(f);
  if (file->overlay == nullptr) {
    return file->real->pMethods->xFileSize(file->real, size);
  }
  std::lock_guard lock(g_state.mutex);
  *size = file->overlay->size;
  return SQLITE_OK;
}

int x_lock(sqlite3_file* f, int level) {
  auto* real = file_of(f)->real;
  return real->pMethods->xLock(real, level);
}

int x_unlock(sqlite3_file* f, int level) {
  auto* real = file_of(f)->real;
  return real->pMethods->xUnlock(real, level);
}

int x_check_reserved_lock(sqlite3_file* f, int* out) {
  auto* real = file_of(f)->real;
  return real->pMethods->xCheckReservedLock(real, out);
}

int x_file_control(sqlite3_file* f, int op, void* arg) {
  auto* file = file_of(f);
  // The unix VFS would grow the real file itself on these hints; they are
  // only hints, and the overlay must stay the one writer.
  if (file->overlay != nullptr && (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE)) {
    return SQLITE_OK;
  }
  return file->real->pMethods->xFileControl(file->real, op, arg);
}

int x_sector_size(sqlite3_file* f) {
  auto* real = file_of(f)->real;
  return real->pMethods->xSectorSize(real);
}

int x_device_characteristics(sqlite3_file* f) {
  auto* real = file_of(f)->real;
  return real->pMethods->xDeviceCharacteristics(real);
}

int x_shm_map(sqlite3_file* f, int page, int page_size, int extend, void volatile** out) {
  auto* real = file_of(f)->real;
  return real->pMethods->xShmMap(real, page, page_size, extend, out);
}

int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  auto* real = file_of(f)->real;
  return real->pMethods->xShmLock(real, offset, n, flags);
}

void x_shm_barrier(sqlite3_file* f) {
  auto* real = file_of(f)->real;
  real->pMethods->xShmBarrier(real);
}

int x_shm_unmap(sqlite3_file* f, int delete_flag) {
  auto* real = file_of(f)->real;
  return real->pMethods->xShmUnmap(real, delete_flag);
}

// Version 2: no xFetch, so SQLite never reads through a memory map of the
// real file (which would bypass the overlay).
const sqlite3_io_methods k_io_methods = {
    2,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    nullptr,
    nullptr,
};

// --- VFS methods ---

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* real_vfs = static_cast<State*>(vfs->pAppData)->real;
  auto* file = file_of(f);
  file->base.pMethods = nullptr;
  file->overlay = nullptr;
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + k_real_offset);
  const int rc = real_vfs->xOpen(real_vfs, name, file->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (file->real->pMethods != nullptr) {
      file->real->pMethods->xClose(file->real);
    }
    return rc;
  }
  const bool tracked =
      name != nullptr &&
      (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
  if (tracked) {
    std::lock_guard lock(g_state.mutex);
    auto& overlay = g_state.files[name];
    if (!overlay.dirty) {
      // Nothing pending: the real file is the truth.
      sqlite3_int64 size = 0;
      if (const int size_rc = file->real->pMethods->xFileSize(file->real, &size);
          size_rc != SQLITE_OK) {
        file->real->pMethods->xClose(file->real);
        return size_rc;
      }
      overlay.size = size;
      overlay.floor = k_no_floor;
      overlay.extents.clear();
    }
    ++overlay.handles;
    file->overlay = &overlay;
  }
  file->base.pMethods = &k_io_methods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  auto* real_vfs = static_cast<State*>(vfs->pAppData)->real;
  {
    // Deleted: nothing of it is pending any more (directory entries are
    // durable at once in this model).
    std::lock_guard lock(g_state.mutex);
    if (auto it = g_state.files.find(name); it != g_state.files.end()) {
      it->second.extents.clear();
      it->second.floor = k_no_floor;
      it->second.size = 0;
      it->second.dirty = false;
    }
  }
  return real_vfs->xDelete(real_vfs, name, sync_dir);
}

int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xAccess(real, name, flags, out);
}

int x_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xFullPathname(real, name, size, out);
}

void* x_dl_open(sqlite3_vfs* vfs, const char* name) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xDlOpen(real, name);
}

void x_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  real->xDlError(real, size, out);
}

void (*x_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xDlSym(real, handle, symbol);
}

void x_dl_close(sqlite3_vfs* vfs, void* handle) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  real->xDlClose(real, handle);
}

int x_randomness(sqlite3_vfs* vfs, int size, char* out) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xRandomness(real, size, out);
}

int x_sleep(sqlite3_vfs* vfs, int microseconds) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xSleep(real, microseconds);
}

int x_current_time(sqlite3_vfs* vfs, double* out) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xCurrentTime(real, out);
}

int x_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xGetLastError(real, size, out);
}

int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  auto* real = static_cast<State*>(vfs->pAppData)->real;
  return real->xCurrentTimeInt64(real, out);
}

} // namespace

void install_overlay_vfs() {
  auto& s = g_state;
  if (s.real != nullptr) {
    return;
  }
  s.real = sqlite3_vfs_find(nullptr);
  if (s.real == nullptr) {
    throw std::runtime_error("no default SQLite VFS");
  }
  s.vfs.iVersion = std::min(s.real->iVersion, 2);
  s.vfs.szOsFile = static_cast<int>(k_real_offset) + s.real->szOsFile;
  s.vfs.mxPathname = s.real->mxPathname;
  s.vfs.zName = "laporsms-powercut-overlay";
  s.vfs.pAppData = &s;
  s.vfs.xOpen = x_open;
  s.vfs.xDelete = x_delete;
  s.vfs.xAccess = x_access;
  s.vfs.xFullPathname = x_full_pathname;
  s.vfs.xDlOpen = x_dl_open;
  s.vfs.xDlError = x_dl_error;
  s.vfs.xDlSym = x_dl_sym;
  s.vfs.xDlClose = x_dl_close;
  s.vfs.xRandomness = x_randomness;
  s.vfs.xSleep = x_sleep;
  s.vfs.xCurrentTime = x_current_time;
  s.vfs.xGetLastError = x_get_last_error;
  s.vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (const int rc = sqlite3_vfs_register(&s.vfs, 1); rc != SQLITE_OK) {
    s.real = nullptr;
    throw std::runtime_error("sqlite3_vfs_register: " + std::string(sqlite3_errstr(rc)));
  }
}

} // namespace powercut
