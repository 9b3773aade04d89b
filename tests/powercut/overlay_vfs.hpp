// A test-only SQLite VFS for the daemon's power-cut test
// (tests/integration/powercut_daemon.test.mjs): a shim over SQLite's default
// (unix) VFS that keeps every write to a database, its WAL or a rollback
// journal in this process's memory until that file's xSync, and only then
// applies it to the real file and fsyncs it. Reads see the pending writes
// (as a process sees its own writes through the page cache).
//
// So a SIGKILL of the process loses exactly what a power cut would lose:
// nothing that was not fsync'd is in the real file afterwards. (An xSync
// killed half way has applied part of its writes, as a disk that got some
// sectors out before the power went.) After the kill the caller deletes the
// database's -shm, which is memory and gone after a reboot; SQLite rebuilds
// the wal-index from the WAL.
//
// Shared memory (-shm) and locks go to the real VFS. Temporary files are not
// tracked. Not modelled: directory entries (creating or deleting a file is
// durable at once) and torn writes within one xWrite.
#pragma once

namespace powercut {

// Registers the shim as SQLite's default VFS, over the default it finds.
// Call before the first database is opened; throws std::runtime_error when
// SQLite refuses.
void install_overlay_vfs();

} // namespace powercut
