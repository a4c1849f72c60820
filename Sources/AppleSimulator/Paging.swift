import AppleAppsAndBooks

/// Where one page falls, cut the way Apple pages: `pageIndex` from 0, `nextPageIndex` only when
/// another page follows, `size` the count of the whole (filtered) list. Computed from the size
/// alone, so a list in SQLite is counted and then read one page, never loaded whole.
struct PageWindow {
    var currentPageIndex: Int
    var nextPageIndex: Int?
    var totalPages: Int
    var offset: Int

    init(size: Int, pageIndex: Int, pageSize: Int) throws {
        precondition(pageSize > 0, "page size must be positive")
        precondition(size >= 0, "a list has no negative size")
        // An empty list still has its page 0, so a first read never fails.
        let totalPages = max(1, (size + pageSize - 1) / pageSize)
        guard pageIndex >= 0, pageIndex < totalPages else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.invalidArgument,
                                            detail: "pageIndex \(pageIndex) is outside 0..<\(totalPages)")
        }
        self.currentPageIndex = pageIndex
        self.nextPageIndex = pageIndex + 1 < totalPages ? pageIndex + 1 : nil
        self.totalPages = totalPages
        self.offset = pageIndex * pageSize
    }
}

/// One page of a list already in memory (a location's assets: tens, not millions).
struct Page<Item> {
    var items: [Item]
    var currentPageIndex: Int
    var nextPageIndex: Int?
    var totalPages: Int
    var size: Int

    init(of all: [Item], pageIndex: Int, pageSize: Int) throws {
        let window = try PageWindow(size: all.count, pageIndex: pageIndex, pageSize: pageSize)
        self.items = Array(all[window.offset..<min(all.count, window.offset + pageSize)])
        self.currentPageIndex = window.currentPageIndex
        self.nextPageIndex = window.nextPageIndex
        self.totalPages = window.totalPages
        self.size = all.count
    }
}
