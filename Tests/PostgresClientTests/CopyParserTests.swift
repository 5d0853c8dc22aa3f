import Testing

@testable import PostgresClient

/// `PostgresCopyParser` on bytes: the binary COPY format as the server sends it, and what it says
/// about bytes that are not that format.
@Suite struct CopyParserTests {
    /// The file header: signature, flags, and a header extension of `extensionBytes`.
    static func header(flags: UInt32 = 0, extensionBytes: [UInt8] = []) -> [UInt8] {
        PostgresCopyParser.signature + int32(flags) + int32(UInt32(extensionBytes.count)) + extensionBytes
    }

    /// A row: the field count, then each field's length and bytes (nil: NULL, length -1).
    static func row(_ fields: [[UInt8]?]) -> [UInt8] {
        var bytes = int16(UInt16(fields.count))
        for field in fields {
            if let field { bytes += int32(UInt32(field.count)) + field } else { bytes += int32(UInt32(bitPattern: -1)) }
        }
        return bytes
    }

    static let trailer: [UInt8] = [0xFF, 0xFF]

    static func int16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func int32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// What each message gave: the content and, for a row, every cell's bytes (nil: NULL).
    static func parse(_ messages: [[UInt8]], columns: Int) -> Result<[String], PostgresCopyParser.Malformed> {
        var parser = PostgresCopyParser(columnCount: columns)
        var seen: [String] = []
        for message in messages {
            let outcome = message.withUnsafeBytes { bytes -> Result<String, PostgresCopyParser.Malformed> in
                do throws(PostgresCopyParser.Malformed) {
                    switch try parser.parse(bytes) {
                    case .nothing: return .success("nothing")
                    case .end: return .success("end")
                    case .row:
                        let cells = (0..<columns).map { column -> String in
                            let cell = parser.cell(column)
                            if cell.length < 0 { return "NULL" }
                            return String(decoding: bytes[cell.start..<cell.start + cell.length], as: UTF8.self)
                        }
                        return .success("row " + cells.joined(separator: "|"))
                    }
                } catch {
                    return .failure(error)
                }
            }
            switch outcome {
            case .success(let text): seen.append(text)
            case .failure(let error): return .failure(error)
            }
        }
        #expect(parser.ended == (seen.last == "end"))
        return .success(seen)
    }

    static func malformed(_ reason: String) -> Result<[String], PostgresCopyParser.Malformed> {
        .failure(PostgresCopyParser.Malformed(reason: reason))
    }

    @Test func rowsAsTheServerSendsThem() {
        let messages = [
            Self.header() + Self.row([Array("a".utf8), nil, []]),
            Self.row([Array("bcd".utf8), Array("é".utf8), nil]),
            Self.trailer,
        ]
        #expect(Self.parse(messages, columns: 3) == .success(["row a|NULL|", "row bcd|é|NULL", "end"]))
    }

    @Test func noRowsAndAHeaderOnItsOwn() {
        #expect(Self.parse([Self.header() + Self.trailer], columns: 2) == .success(["end"]))
        #expect(Self.parse([Self.header(), Self.trailer], columns: 2) == .success(["nothing", "end"]))
    }

    @Test func aHeaderExtensionIsSkipped() {
        let messages = [Self.header(extensionBytes: [1, 2, 3, 4, 5]) + Self.row([[0x41]]), Self.trailer]
        #expect(Self.parse(messages, columns: 1) == .success(["row A", "end"]))
        // Bits 0-15 of the flags are not critical: a reader ignores those it does not know.
        #expect(Self.parse([Self.header(flags: 0x0000_0001) + Self.trailer], columns: 1) == .success(["end"]))
    }

    @Test func aMissingOrDamagedHeaderIsRefused() {
        #expect(Self.parse([Self.row([[0x41]])], columns: 1) == Self.malformed("truncated header"))
        #expect(
            Self.parse([Array("PGCOPY\n\u{FF}\r\n".utf8) + [0] + Array(repeating: 0, count: 10)], columns: 1)
                == Self.malformed("no COPY header"))
        var wrongSignature = Self.header() + Self.trailer
        wrongSignature[7] = 0xFE
        #expect(Self.parse([wrongSignature], columns: 1) == Self.malformed("no COPY header"))
        #expect(Self.parse([Array(Self.header().prefix(18))], columns: 1) == Self.malformed("truncated header"))
        // OIDs in every row (bit 16) or any other critical flag: the rows could not be read right.
        #expect(
            Self.parse([Self.header(flags: 0x0001_0000) + Self.trailer], columns: 1)
                == Self.malformed("unsupported header flags"))
        // An extension longer than the message, or of a negative length.
        let long = PostgresCopyParser.signature + Self.int32(0) + Self.int32(100) + [1, 2]
        #expect(Self.parse([long], columns: 1) == Self.malformed("truncated header"))
        let negative = PostgresCopyParser.signature + Self.int32(0) + Self.int32(UInt32(bitPattern: -4)) + Self.trailer
        #expect(Self.parse([negative], columns: 1) == Self.malformed("truncated header"))
    }

    @Test func theFieldCountMustBeTheColumns() {
        let messages = [Self.header() + Self.row([[1], [2]])]
        #expect(Self.parse(messages, columns: 3) == Self.malformed("a row of 2 columns where 3 were expected"))
    }

    @Test func truncatedRowsAreRefused() {
        let full = Self.header() + Self.row([Array("abcd".utf8), nil])
        let headerLength = Self.header().count
        // Cut inside the field count, inside a length, inside a value, before the second field.
        for cut in [headerLength + 1, headerLength + 4, headerLength + 2 + 4 + 2, headerLength + 2 + 4 + 4] {
            #expect(
                Self.parse([Array(full.prefix(cut))], columns: 2) == Self.malformed("truncated row"), "cut at \(cut)")
        }
        #expect(Self.parse([Self.header(), [0x00]], columns: 2) == Self.malformed("truncated row"))
    }

    @Test func lengthsThatCannotBeAreRefused() {
        let negative = Self.header() + Self.int16(1) + Self.int32(UInt32(bitPattern: -2))
        #expect(Self.parse([negative], columns: 1) == Self.malformed("a field length of -2"))
        // A length past the end of the message, even one that overflows a naive offset sum.
        let huge = Self.header() + Self.int16(1) + Self.int32(0x7FFF_FFFF) + [1, 2, 3]
        #expect(Self.parse([huge], columns: 1) == Self.malformed("truncated row"))
        let extra = Self.header() + Self.row([[1]]) + [9, 9]
        #expect(Self.parse([extra], columns: 1) == Self.malformed("2 bytes after the last column of a row"))
    }

    @Test func nothingMayFollowTheTrailer() {
        #expect(
            Self.parse([Self.header() + Self.trailer + [0]], columns: 1) == Self.malformed("data after the trailer"))
        #expect(
            Self.parse([Self.header() + Self.trailer, Self.row([[1]])], columns: 1)
                == Self.malformed("data after the trailer"))
    }

    @Test func noColumnsAtAll() {
        let messages = [Self.header() + Self.row([]), Self.row([]), Self.trailer]
        #expect(Self.parse(messages, columns: 0) == .success(["row ", "row ", "end"]))
    }
}
