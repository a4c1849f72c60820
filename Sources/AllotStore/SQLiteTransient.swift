import CSQLite

/// Tells SQLite to copy bound text and blobs before `sqlite3_bind_*` returns.
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A NUL byte to bind the empty string from.
nonisolated(unsafe) let emptyText: UnsafePointer<CChar> = {
    let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    pointer.initialize(to: 0)
    return UnsafePointer(pointer)
}()
