// A test-only SQLite VFS that can cut the power, in the manner of SQLite's
// own crash tests (src/test6.c, test_vfs.c).
//
// It wraps SQLite's default VFS. The real files stand for the OS page cache:
// every write reaches them at once, so this process (and any other
// connection) reads its own unsynced writes, as it would through the cache.
// What the *disk* holds is tracked apart: for the database, its WAL and a
// rollback journal, each write or truncate since that file's last xSync is
// kept in an undo log (the bytes it replaced and the bytes it wrote); an
// xSync makes the file's log durable and clears it.
//
// A power cut is two calls:
//   cut()    — the power goes off (now, or at a chosen I/O: cut_after). From then on every write,
//   truncate, sync,
//              open and delete through this VFS fails with an I/O error, so
//              nothing the dying connections still try reaches the "disk".
//              Then the caller closes every connection opened through it.
//   reboot() — what is on the disk when the machine comes back: each file
//              is rolled back to what its last xSync made durable, and then
//              a random subset of the unsynced writes is written again, in
//              their order (a disk that got some sectors out before the
//              power went). The -shm of each database is deleted: it is
//              memory, and a reboot loses it (SQLite rebuilds the wal-index
//              from the WAL). The VFS can then be used again.
//
// Not modelled: directory entries (creating or deleting a file is durable at
// once) and torn writes within one xWrite. The real fsync is not called: the
// model decides what is durable, and the test stays fast.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace powercut {

// What one reboot did to the unsynced writes of the files.
struct RebootReport {
  std::size_t files = 0;   // files that had unsynced writes
  std::size_t kept = 0;    // unsynced writes that reached the disk all the same
  std::size_t dropped = 0; // unsynced writes the cut took
};

class PowercutVfs {
public:
  // Registers a VFS under a name of its own (not as the default).
  PowercutVfs();
  PowercutVfs(const PowercutVfs&) = delete;
  PowercutVfs& operator=(const PowercutVfs&) = delete;
  // Unregisters it; every file opened through it must be closed.
  ~PowercutVfs();

  // The name to open a database with (sqlite3_open_v2's last argument,
  // StoreOptions::vfs).
  const std::string& name() const;

  // The power goes off: see above. Thread-safe, and atomic with respect to
  // each write and sync: one that ran before is on the page cache (or, for
  // a sync, on the disk); one after fails.
  void cut();

  // The same, from inside the I/O: the power goes off at the
  // (`after` + 1)-th write, truncate or sync of a tracked file from now,
  // which then fails. Lands a cut inside a commit or a checkpoint, where a
  // cut at a random instant seldom falls (SQLite's crash tests likewise
  // crash at a chosen write or sync).
  void cut_after(unsigned after);
  // Waits up to `timeout` for the power to go off; true when it did.
  bool wait_for_cut(std::chrono::milliseconds timeout) const;

  // The machine comes back: see above. Each unsynced write survives with
  // probability `keep_fraction` (0: all lost; 1: all kept), drawn from
  // `seed`. Throws std::logic_error while a file opened through this VFS is
  // still open, std::system_error when a file cannot be restored.
  RebootReport reboot(double keep_fraction, std::uint64_t seed);

  // Writes and truncates not yet made durable by an xSync, over all files.
  std::size_t unsynced_writes() const;

  struct State;

private:
  std::unique_ptr<State> m_state;
};

} // namespace powercut
