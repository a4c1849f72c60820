import AppleAppsAndBooks

/// One page of a list, cut the way Apple pages: `pageIndex` from 0, `nextPageIndex` only when
/// another page follows, `size` the count of the whole (filtered) list.
struct Page<Item> {
    var items: [Item]
    var currentPageIndex: Int
    var nextPageIndex: Int?
    var totalPages: Int
    var size: Int

    init(of all: [Item], pageIndex: Int, pageSize: Int) throws {
        precondition(pageSize > 0, "page size must be positive")
        // An empty list still has its page 0, so a first read never fails.
        let totalPages = max(1, (all.count + pageSize - 1) / pageSize)
        guard pageIndex >= 0, pageIndex < totalPages else {
            throw ServiceErrorCatalog.error(AppleErrorNumber.invalidArgument,
                                            detail: "pageIndex \(pageIndex) is outside 0..<\(totalPages)")
        }
        let start = pageIndex * pageSize
        let end = min(all.count, start + pageSize)
        self.items = Array(all[start..<end])
        self.currentPageIndex = pageIndex
        self.nextPageIndex = pageIndex + 1 < totalPages ? pageIndex + 1 : nil
        self.totalPages = totalPages
        self.size = all.count
    }
}
