import Foundation
import SlawatchCore
import SlawatchStore

/// The rows `slawatch dashboard` shows, held outside memory so that a help desk of a million tickets
/// does not hold a million evaluated tickets: each row's rendering (its JSON object, or its table
/// cells) is written to an unlinked temporary file as it is evaluated, and only what orders the rows
/// stays in memory — `actualizado_en`, the code's bytes, and the `--sort` column's value.
///
/// `order` gives the rows in exactly the order of the in-memory sort it replaces (README, 'The
/// dashboard'): `actualizado_en` descending, ties by code as bytes, rows equal in both in the order
/// the source streamed them; then, with `--sort`, a stable sort by that column.
final class DashboardSpool {
    /// What each record holds.
    enum Kind {
        /// `"  "` and the row's JSON object.
        case json
        /// The table's cells, each ended by a NUL byte (PostgreSQL text never holds one).
        case table
    }

    let kind: Kind
    let sortColumn: String?
    private let file: Int32
    private let path: String
    // Written records waiting to go to the file, in one write a megabyte at a time.
    private var pending: [UInt8] = []
    private var written = 0
    /// Where each record starts in the file; one more entry than records, the end of the last.
    private var starts: [Int] = [0]
    private var updated: [Int64] = []
    /// Every row's code, back to back; row i's is `codes[codeStarts[i]..<codeStarts[i + 1]]`.
    private var codes: [UInt8] = []
    private var codeStarts: [Int] = [0]
    /// The `--sort` column's value of each row (nil: the row has no such column).
    private var sortValues: [FieldValue?] = []

    /// An empty spool in a new file of the temporary directory (`TMPDIR`), unlinked at once so that
    /// it goes with the process whatever happens.
    init(kind: Kind, sortColumn: String?) throws(CommandError) {
        self.kind = kind
        self.sortColumn = sortColumn
        var template = Array((NSTemporaryDirectory() + "/slawatch-dashboard-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        guard fd >= 0 else {
            throw .runtime(
                "cannot create a temporary file for the dashboard's rows in \(NSTemporaryDirectory()): "
                    + String(cString: strerror(errno)) + "; set TMPDIR to a writable directory")
        }
        file = fd
        unlink(path)
        pending.reserveCapacity(1 << 20)
    }

    deinit { close(file) }

    /// Rows added so far.
    var count: Int { updated.count }

    /// Adds a shown row.
    func add(_ e: EvaluatedTicket) throws(CommandError) {
        switch kind {
        case .json:
            pending.append(contentsOf: "  ".utf8)
            DashboardCommand.appendJSON(DashboardEntry(e), to: &pending)
        case .table:
            for cell in DashboardCommand.cells(e) {
                pending.append(contentsOf: cell.utf8)
                pending.append(0)
            }
        }
        starts.append(written + pending.count)
        updated.append(e.ticket.updatedAt.microseconds)
        codes.append(contentsOf: e.ticket.code.utf8)
        codeStarts.append(codes.count)
        if let sortColumn { sortValues.append(e.value(of: sortColumn)) }
        if pending.count >= 1 << 20 { try flush() }
    }

    /// Writes what is pending to the file.
    func flush() throws(CommandError) {
        var done = 0
        while done < pending.count {
            let n = pending.withUnsafeBytes { write(file, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("writing") }
            done += n
        }
        written += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    /// The rows' indexes in the dashboard's order, then (with `sortColumn`) stably by that column.
    /// Throws the `--sort` usage error when the first row in the dashboard's order has no such
    /// column.
    func order(descending: Bool, sortName: String) throws(CommandError) -> [Int] {
        var order = Array(0..<count)
        // The in-memory implementation sorted the rows in their stream order with this comparison;
        // the same comparisons on the same sequence give the same permutation, ties included.
        order.sort { a, b in
            if updated[a] != updated[b] { return updated[a] > updated[b] }
            return codeLess(a, b)
        }
        guard sortColumn != nil else { return order }
        if let first = order.first, sortValues[first] == nil {
            throw .usage(
                "--sort: no column '\(sortName)'; use a dashboard field such as horas_restantes or a source column")
        }
        func less(_ a: Int, _ b: Int) -> Bool {
            let c = DashboardCommand.compare(sortValues[a] ?? .null, sortValues[b] ?? .null)
            return descending ? c > 0 : c < 0
        }
        return order.enumerated().sorted { x, y in
            if less(x.element, y.element) { return true }
            if less(y.element, x.element) { return false }
            return x.offset < y.offset
        }.map(\.element)
    }

    /// The bytes of row `index`'s record, as `add` wrote them.
    func record(_ index: Int) throws(CommandError) -> [UInt8] {
        if !pending.isEmpty { try flush() }
        let start = starts[index]
        let length = starts[index + 1] - start
        var bytes = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = bytes.withUnsafeMutableBytes {
                pread(file, $0.baseAddress! + done, length - done, off_t(start + done))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure("reading") }
            done += n
        }
        return bytes
    }

    /// Row `index`'s table cells.
    func cells(_ index: Int) throws(CommandError) -> [String] {
        try record(index).split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    /// Row `index`'s JSON line (without its separator).
    func jsonLine(_ index: Int) throws(CommandError) -> String {
        String(decoding: try record(index), as: UTF8.self)
    }

    private func codeLess(_ a: Int, _ b: Int) -> Bool {
        codes.withUnsafeBufferPointer { all in
            let x = UnsafeBufferPointer(rebasing: all[codeStarts[a]..<codeStarts[a + 1]])
            let y = UnsafeBufferPointer(rebasing: all[codeStarts[b]..<codeStarts[b + 1]])
            return x.lexicographicallyPrecedes(y)
        }
    }

    private func failure(_ doing: String) -> CommandError {
        .runtime("\(doing) the dashboard's temporary file \(path): \(String(cString: strerror(errno)))")
    }
}
