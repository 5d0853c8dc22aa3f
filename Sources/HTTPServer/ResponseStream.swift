import CMicroHTTPD

/// A streamed body between its producer and libmicrohttpd: the piece being sent and how much of it is out.
/// Memory holds one piece at a time. Used only on the connection's pool thread.
final class ResponseStream {
    /// libmicrohttpd's buffer per call; a larger piece is handed over in several calls.
    static let blockSize = 32 * 1024
    /// Empty pieces in a row before the producer is taken to be broken (each call would otherwise spin).
    static let maxEmptyPiecesInARow = 10_000

    private var next: (() throws -> [UInt8]?)?
    private var piece: [UInt8] = []
    private var offset = 0

    init(next: @escaping () throws -> [UInt8]?) {
        self.next = next
    }

    /// Bytes copied into `buffer`, or MHD's end-of-stream or error marker.
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var empties = 0
        while offset == piece.count {
            guard let producer = next else { return endOfStream }
            let produced: [UInt8]?
            do {
                produced = try producer()
            } catch {
                self.next = nil
                return endWithError
            }
            guard let produced else {
                // Released now rather than when MHD frees the response: whatever it holds is done.
                self.next = nil
                return endOfStream
            }
            piece = produced
            offset = 0
            if produced.isEmpty {
                empties += 1
                if empties >= Self.maxEmptyPiecesInARow {
                    self.next = nil
                    return endWithError
                }
            }
        }
        let count = min(buffer.count, piece.count - offset)
        piece.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[offset..<(offset + count)]))
        }
        offset += count
        return count
    }
}

// MHD_CONTENT_READER_END_OF_STREAM and MHD_CONTENT_READER_END_WITH_ERROR are cast macros Swift does not import.
private let endOfStream = -1
private let endWithError = -2

@available(*, unavailable, message: "a response stream stays on the thread that serves its connection")
extension ResponseStream: Sendable {}

let mhdStreamRead: MHD_ContentReaderCallback = { cls, _, buffer, max in
    guard let cls, let buffer else { return endWithError }
    return Unmanaged<ResponseStream>.fromOpaque(cls).takeUnretainedValue()
        .read(into: UnsafeMutableRawBufferPointer(start: buffer, count: max))
}

let mhdStreamFree: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    Unmanaged<ResponseStream>.fromOpaque(cls).release()
}
