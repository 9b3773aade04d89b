#include "powercut_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace powercut {
namespace {

// One write or truncate not yet synced: enough to undo it exactly, and to
// do it again.
struct Op {
  sqlite3_int64 offset = 0;          // where it wrote; for a truncate, the new size
  std::vector<unsigned char> before; // the bytes it replaced (those that existed)
  sqlite3_int64 size_before = 0;     // the file's size before it
  std::vector<unsigned char> after;  // what it wrote (empty for a truncate)
  bool truncate = false;
};

// The part of one file the disk does not have yet.
struct FileLog {
  std::vector<Op> unsynced; // in the order they were made
  bool main_db = false;     // its -shm is lost at a reboot
  int handles = 0;          // open through this VFS now
};

} // namespace

struct PowercutVfs::State {
  sqlite3_vfs vfs{}; // what SQLite calls; pAppData points back here
  sqlite3_vfs* real = nullptr;
  std::string name;
  mutable std::mutex mutex;
  mutable std::condition_variable cut_done;
  bool cut = false;
  long ios_until_cut = -1; // armed by cut_after; -1: not armed
  int open_files = 0;
  std::map<std::string, FileLog> files; // by the name SQLite opened them with
};

namespace {

using State = PowercutVfs::State;

// Our sqlite3_file; the default VFS's own file follows it in the same
// allocation (szOsFile covers both).
struct File {
  sqlite3_file base; // first: SQLite sees only this
  State* state;
  FileLog* log; // nullptr: a file we do not track (temporary files)
  sqlite3_file* real;
};

constexpr std::size_t k_real_offset = (sizeof(File) + alignof(std::max_align_t) - 1) /
                                      alignof(std::max_align_t) * alignof(std::max_align_t);

State* state_of(sqlite3_vfs* vfs) {
  return static_cast<State*>(vfs->pAppData);
}

// For each write, truncate and sync of a tracked file, with the mutex held:
// true when the power is off (or goes off now, as cut_after armed it).
bool power_is_off(State& state) {
  if (!state.cut && state.ios_until_cut >= 0 && state.ios_until_cut-- == 0) {
    state.cut = true;
    state.cut_done.notify_all();
  }
  return state.cut;
}

File* file_of(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}

// --- I/O methods ---

int x_close(sqlite3_file* f) {
  auto* file = file_of(f);
  const int rc = file->real->pMethods->xClose(file->real);
  std::lock_guard lock(file->state->mutex);
  --file->state->open_files;
  if (file->log != nullptr) {
    --file->log->handles;
  }
  return rc;
}

int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  auto* real = file_of(f)->real;
  return real->pMethods->xRead(real, buf, amount, offset);
}

// The bytes of [offset, offset + amount) the file has now, and its size.
int read_before(sqlite3_file* real, sqlite3_int64 offset, sqlite3_int64 amount, Op& op) {
  int rc = real->pMethods->xFileSize(real, &op.size_before);
  if (rc != SQLITE_OK) {
    return rc;
  }
  const auto end = std::min(offset + amount, op.size_before);
  if (end <= offset) {
    return SQLITE_OK;
  }
  op.before.resize(static_cast<std::size_t>(end - offset));
  return real->pMethods->xRead(real, op.before.data(), static_cast<int>(op.before.size()), offset);
}

int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  auto* file = file_of(f);
  auto* real = file->real;
  if (file->log == nullptr) {
    return real->pMethods->xWrite(real, buf, amount, offset);
  }
  std::lock_guard lock(file->state->mutex);
  if (power_is_off(*file->state)) {
    return SQLITE_IOERR_WRITE;
  }
  Op op;
  op.offset = offset;
  if (const int rc = read_before(real, offset, amount, op); rc != SQLITE_OK) {
    return rc;
  }
  const int rc = real->pMethods->xWrite(real, buf, amount, offset);
  if (rc == SQLITE_OK) {
    const auto* bytes = static_cast<const unsigned char*>(buf);
    op.after.assign(bytes, bytes + amount);
    file->log->unsynced.push_back(std::move(op));
  }
  return rc;
}

int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  auto* file = file_of(f);
  auto* real = file->real;
  if (file->log == nullptr) {
    return real->pMethods->xTruncate(real, size);
  }
  std::lock_guard lock(file->state->mutex);
  if (power_is_off(*file->state)) {
    return SQLITE_IOERR_TRUNCATE;
  }
  Op op;
  op.offset = size;
  op.truncate = true;
  sqlite3_int64 now = 0;
  if (const int rc = real->pMethods->xFileSize(real, &now); rc != SQLITE_OK) {
    return rc;
  }
  if (const int rc = read_before(real, size, std::max<sqlite3_int64>(now - size, 0), op);
      rc != SQLITE_OK) {
    return rc;
  }
  const int rc = real->pMethods->xTruncate(real, size);
  if (rc == SQLITE_OK) {
    file->log->unsynced.push_back(std::move(op));
  }
  return rc;
}

int x_sync(sqlite3_file* f, int flags) {
  auto* file = file_of(f);
  if (file->log == nullptr) {
    return file->real->pMethods->xSync(file->real, flags);
  }
  std::lock_guard lock(file->state->mutex);
  if (power_is_off(*file->state)) {
    return SQLITE_IOERR_FSYNC;
  }
  // On the disk now. (No real fsync: durability is what this log says.)
  file->log->unsynced.clear();
  return SQLITE_OK;
}

int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  auto* real = file_of(f)->real;
  return real->pMethods->xFileSize(real, size);
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
  auto* real = file_of(f)->real;
  return real->pMethods->xFileControl(real, op, arg);
}

int x_sector_size(sqlite3_file* f) {
  auto* real = file_of(f)->real;
  return real->pMethods->xSectorSize(real);
}

int x_device_characteristics(sqlite3_file* f) {
  auto* real = file_of(f)->real;
  return real->pMethods->xDeviceCharacteristics(real);
}

// The wal-index is shared memory, not I/O: passed through, and lost at the
// reboot with the -shm file.
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

// Version 2: no xFetch, so SQLite never reads the database through a memory
// map that would bypass xRead.
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
  auto* state = state_of(vfs);
  auto* file = file_of(f);
  file->base.pMethods = nullptr;
  file->state = state;
  file->log = nullptr;
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + k_real_offset);
  std::lock_guard lock(state->mutex);
  if (state->cut) {
    return SQLITE_CANTOPEN;
  }
  const int rc = state->real->xOpen(state->real, name, file->real, flags, out_flags);
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
    auto& log = state->files[name];
    log.main_db = log.main_db || (flags & SQLITE_OPEN_MAIN_DB) != 0;
    ++log.handles;
    file->log = &log;
  }
  ++state->open_files;
  file->base.pMethods = &k_io_methods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  auto* state = state_of(vfs);
  std::lock_guard lock(state->mutex);
  if (state->cut) {
    return SQLITE_IOERR_DELETE;
  }
  // A deleted file has nothing left to lose (directory entries are durable
  // at once in this model).
  if (auto it = state->files.find(name); it != state->files.end()) {
    if (it->second.handles == 0) {
      state->files.erase(it);
    } else {
      it->second.unsynced.clear();
    }
  }
  return state->real->xDelete(state->real, name, sync_dir);
}

int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  auto* real = state_of(vfs)->real;
  return real->xAccess(real, name, flags, out);
}

int x_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  auto* real = state_of(vfs)->real;
  return real->xFullPathname(real, name, size, out);
}

void* x_dl_open(sqlite3_vfs* vfs, const char* name) {
  auto* real = state_of(vfs)->real;
  return real->xDlOpen(real, name);
}

void x_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  auto* real = state_of(vfs)->real;
  real->xDlError(real, size, out);
}

void (*x_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  auto* real = state_of(vfs)->real;
  return real->xDlSym(real, handle, symbol);
}

void x_dl_close(sqlite3_vfs* vfs, void* handle) {
  auto* real = state_of(vfs)->real;
  real->xDlClose(real, handle);
}

int x_randomness(sqlite3_vfs* vfs, int size, char* out) {
  auto* real = state_of(vfs)->real;
  return real->xRandomness(real, size, out);
}

int x_sleep(sqlite3_vfs* vfs, int microseconds) {
  auto* real = state_of(vfs)->real;
  return real->xSleep(real, microseconds);
}

int x_current_time(sqlite3_vfs* vfs, double* out) {
  auto* real = state_of(vfs)->real;
  return real->xCurrentTime(real, out);
}

int x_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  auto* real = state_of(vfs)->real;
  return real->xGetLastError(real, size, out);
}

int x_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  auto* real = state_of(vfs)->real;
  return real->xCurrentTimeInt64(real, out);
}

// --- Restoring the disk ---

void fail(const std::string& what, const std::string& path) {
  throw std::system_error(errno, std::generic_category(), what + " " + path);
}

void write_at(int fd, const std::vector<unsigned char>& bytes, sqlite3_int64 offset,
              const std::string& path) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::pwrite(fd, bytes.data() + done, bytes.size() - done,
                            static_cast<off_t>(offset + static_cast<sqlite3_int64>(done)));
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      fail("pwrite", path);
    }
    done += static_cast<std::size_t>(n);
  }
}

void truncate_to(int fd, sqlite3_int64 size, const std::string& path) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    fail("ftruncate", path);
  }
}

// Rolls `path` back to its last sync, then does again the ops `keep` picks.
void restore(const std::string& path, const std::vector<Op>& ops, std::vector<bool>& keep) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fail("open", path);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // Undone newest first, each exactly: what it replaced, at the size it found.
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) {
    write_at(fd, it->before, it->offset, path);
    truncate_to(fd, it->size_before, path);
  }
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!keep[i]) {
      continue;
    }
    if (ops[i].truncate) {
      truncate_to(fd, ops[i].offset, path);
    } else {
      write_at(fd, ops[i].after, ops[i].offset, path);
    }
  }
}

std::atomic<int> g_instances{0};

} // namespace

PowercutVfs::PowercutVfs() : m_state(std::make_unique<State>()) {
  auto& s = *m_state;
  s.real = sqlite3_vfs_find(nullptr);
  if (s.real == nullptr) {
    throw std::runtime_error("no default SQLite VFS");
  }
  s.name = "laporsms-powercut-" + std::to_string(++g_instances);
  s.vfs.iVersion = std::min(s.real->iVersion, 2);
  s.vfs.szOsFile = static_cast<int>(k_real_offset) + s.real->szOsFile;
  s.vfs.mxPathname = s.real->mxPathname;
  s.vfs.zName = s.name.c_str();
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
  if (const int rc = sqlite3_vfs_register(&s.vfs, 0); rc != SQLITE_OK) {
    throw std::runtime_error("sqlite3_vfs_register: " + std::string(sqlite3_errstr(rc)));
  }
}

PowercutVfs::~PowercutVfs() {
  sqlite3_vfs_unregister(&m_state->vfs);
}

const std::string& PowercutVfs::name() const {
  return m_state->name;
}

void PowercutVfs::cut() {
  std::lock_guard lock(m_state->mutex);
  m_state->cut = true;
  m_state->ios_until_cut = -1;
  m_state->cut_done.notify_all();
}

void PowercutVfs::cut_after(unsigned after) {
  std::lock_guard lock(m_state->mutex);
  m_state->ios_until_cut = static_cast<long>(after);
}

bool PowercutVfs::wait_for_cut(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(m_state->mutex);
  return m_state->cut_done.wait_for(lock, timeout, [this] { return m_state->cut; });
}

RebootReport PowercutVfs::reboot(double keep_fraction, std::uint64_t seed) {
  auto& s = *m_state;
  std::lock_guard lock(s.mutex);
  if (s.open_files != 0) {
    throw std::logic_error("reboot with " + std::to_string(s.open_files) +
                           " file(s) still open through " + s.name);
  }
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution survives(std::clamp(keep_fraction, 0.0, 1.0));
  RebootReport report;
  for (auto& [path, log] : s.files) {
    if (!log.unsynced.empty()) {
      std::vector<bool> keep(log.unsynced.size());
      for (std::size_t i = 0; i < keep.size(); ++i) {
        keep[i] = survives(rng);
        ++(keep[i] ? report.kept : report.dropped);
      }
      restore(path, log.unsynced, keep);
      ++report.files;
      log.unsynced.clear();
    }
    if (log.main_db) {
      std::error_code ignored; // often already gone
      std::filesystem::remove(path + "-shm", ignored);
    }
  }
  s.cut = false;
  s.ios_until_cut = -1;
  return report;
}

std::size_t PowercutVfs::unsynced_writes() const {
  std::lock_guard lock(m_state->mutex);
  std::size_t n = 0;
  for (const auto& [path, log] : m_state->files) {
    n += log.unsynced.size();
  }
  return n;
}

} // namespace powercut
