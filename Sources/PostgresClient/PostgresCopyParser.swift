/// PostgreSQL's binary COPY format (`COPY ... TO STDOUT (FORMAT binary)`), parsed one CopyData
/// message at a time: a function of the bytes alone, with no connection.
///
/// The server sends the file header together with the first row (or with the trailer when there
/// are no rows), then one message per row, then the trailer, a field count of -1. Every count and
/// length is checked against the message before it is used: bytes that do not fit the format are
/// an error that says what was wrong, never a read outside the message. After a row, `cell` gives
/// each column's offset and length in that message (length -1: NULL) until the next `parse`.
struct PostgresCopyParser: ~Copyable {
    /// What one message held.
    enum Content: Equatable {
        /// A row; its cells are ready.
        case row
        /// The file header alone.
        case nothing
        /// The trailer: no rows follow.
        case end
    }

    /// Bytes that are not the binary COPY format; `reason` says what was wrong.
    struct Malformed: Error, Equatable {
        let reason: String
    }

    /// "PGCOPY\n\377\r\n\0", the first 11 bytes of the header.
    static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
    /// Signature, flags (int32) and the header extension's length (int32).
    static let headerLength = 19

    let columnCount: Int
    /// Each column's offset and length in the current row (length -1: NULL). A buffer of its own,
    /// not an array: it is written for every cell of millions of rows.
    private let cells: UnsafeMutableBufferPointer<(start: Int, length: Int)>
    private var headerRead = false
    /// Whether the trailer was read: the data is complete, and nothing may follow.
    private(set) var ended = false

    init(columnCount: Int) {
        self.columnCount = columnCount
        cells = .allocate(capacity: max(columnCount, 1))
        cells.initialize(repeating: (0, -1))
    }

    deinit { cells.deallocate() }

    /// Reads one CopyData message.
    mutating func parse(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> Content {
        guard !ended else { throw Malformed(reason: "data after the trailer") }
        let length = bytes.count
        var offset = 0
        if !headerRead {
            guard length >= Self.headerLength else { throw Malformed(reason: "truncated header") }
            for (i, byte) in Self.signature.enumerated() where bytes[i] != byte {
                throw Malformed(reason: "no COPY header")
            }
            // Bits 16-31 of the flags are critical: a reader that does not know one must stop.
            // Bit 16 (OIDs in every row) is one of them; no server since PostgreSQL 12 sets it.
            if Self.int32(bytes, 11) & 0xFFFF_0000 != 0 { throw Malformed(reason: "unsupported header flags") }
            let extensionLength = Int(Int32(bitPattern: Self.int32(bytes, 15)))
            guard extensionLength >= 0, extensionLength <= length - Self.headerLength else {
                throw Malformed(reason: "truncated header")
            }
            offset = Self.headerLength + extensionLength
            headerRead = true
            if offset == length { return .nothing }
        }
        guard length - offset >= 2 else { throw Malformed(reason: "truncated row") }
        let count = Int(Int16(bitPattern: UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])))
        offset += 2
        if count == -1 {
            guard offset == length else { throw Malformed(reason: "data after the trailer") }
            ended = true
            return .end
        }
        guard count == columnCount else {
            throw Malformed(reason: "a row of \(count) columns where \(columnCount) were expected")
        }
        for i in 0..<count {
            guard length - offset >= 4 else { throw Malformed(reason: "truncated row") }
            let size = Int(Int32(bitPattern: Self.int32(bytes, offset)))
            offset += 4
            guard size >= -1 else { throw Malformed(reason: "a field length of \(size)") }
            cells[i] = (offset, size)
            if size > 0 {
                guard length - offset >= size else { throw Malformed(reason: "truncated row") }
                offset += size
            }
        }
        // The server sends one row per message: anything left over means the columns were misread.
        guard offset == length else {
            throw Malformed(reason: "\(length - offset) bytes after the last column of a row")
        }
        return .row
    }

    /// The current row's cell of `column`: its offset in the message and its length (-1: NULL).
    func cell(_ column: Int) -> (start: Int, length: Int) { cells[column] }

    /// Every cell of the current row, in column order; the memory lives as long as the parser.
    var cellsBase: UnsafePointer<(start: Int, length: Int)> { UnsafePointer(cells.baseAddress!) }

    private static func int32(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }
}
