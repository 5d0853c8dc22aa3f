/// The parameters of one statement laid out as `PQexecParams` takes them: every value in one byte
/// buffer, with each parameter's type OID, length and format (0 text, 1 binary).
///
/// Typed parameters are written in PostgreSQL's binary send format (big-endian integers, IEEE
/// doubles, `timestamptz` as microseconds since 2000-01-01, `uuid` as 16 bytes, arrays as
/// `array_send` writes them); untyped text is written NUL-terminated with OID 0.
struct ParameterBuffer {
    private(set) var types: [UInt32] = []
    private(set) var lengths: [Int32] = []
    private(set) var formats: [Int32] = []
    /// Each value's start in `bytes`; -1 for NULL.
    private var offsets: [Int] = []
    private var bytes: [UInt8] = []

    init(_ parameters: [PostgresParameter]) throws(PostgresError) {
        types.reserveCapacity(parameters.count)
        lengths.reserveCapacity(parameters.count)
        formats.reserveCapacity(parameters.count)
        offsets.reserveCapacity(parameters.count)
        for (index, parameter) in parameters.enumerated() {
            try append(parameter, number: index + 1)
        }
    }

    var count: Int { types.count }

    /// Calls `body` with pointers to each value (nil for NULL), valid during the call only.
    func withValues<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress.map { UnsafeRawPointer($0) }
            let pointers: [UnsafePointer<CChar>?] = offsets.map { offset in
                guard offset >= 0, let base else { return nil }
                return (base + offset).assumingMemoryBound(to: CChar.self)
            }
            return pointers.withUnsafeBufferPointer { body(count == 0 ? nil : $0.baseAddress) }
        }
    }

    // Type OIDs of the parameters' types and of their arrays' elements.
    private static let textOID: UInt32 = 25, int8OID: UInt32 = 20, float8OID: UInt32 = 701, boolOID: UInt32 = 16
    private static let uuidOID: UInt32 = 2950, timestamptzOID: UInt32 = 1184, byteaOID: UInt32 = 17
    private static let textArrayOID: UInt32 = 1009, int8ArrayOID: UInt32 = 1016, float8ArrayOID: UInt32 = 1022
    private static let boolArrayOID: UInt32 = 1000, uuidArrayOID: UInt32 = 2951, timestamptzArrayOID: UInt32 = 1185
    /// Microseconds from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
    private static let epochOffsetMicros: Int64 = 946_684_800_000_000

    private mutating func append(_ parameter: PostgresParameter, number: Int) throws(PostgresError) {
        switch parameter {
        case .null:
            appendNull(type: 0, format: 0)
        case .text(let value):
            let start = bytes.count
            bytes.append(contentsOf: value.utf8)
            bytes.append(0)
            finish(type: 0, format: 0, start: start)
        case .string(let value):
            guard let value else { return appendNull(type: Self.textOID) }
            let start = bytes.count
            bytes.append(contentsOf: value.utf8)
            finish(type: Self.textOID, start: start)
        case .int8(let value):
            guard let value else { return appendNull(type: Self.int8OID) }
            let start = bytes.count
            append64(UInt64(bitPattern: value))
            finish(type: Self.int8OID, start: start)
        case .float8(let value):
            guard let value else { return appendNull(type: Self.float8OID) }
            let start = bytes.count
            append64(value.bitPattern)
            finish(type: Self.float8OID, start: start)
        case .bool(let value):
            guard let value else { return appendNull(type: Self.boolOID) }
            let start = bytes.count
            bytes.append(value ? 1 : 0)
            finish(type: Self.boolOID, start: start)
        case .uuid(let value):
            guard let value else { return appendNull(type: Self.uuidOID) }
            let start = bytes.count
            try appendUUID(value, number: number)
            finish(type: Self.uuidOID, start: start)
        case .timestamptz(let value):
            guard let value else { return appendNull(type: Self.timestamptzOID) }
            let start = bytes.count
            append64(UInt64(bitPattern: Self.postgresMicros(value)))
            finish(type: Self.timestamptzOID, start: start)
        case .bytea(let value):
            guard let value else { return appendNull(type: Self.byteaOID) }
            let start = bytes.count
            bytes.append(contentsOf: value)
            finish(type: Self.byteaOID, start: start)
        case .textArray(let values):
            appendArray(values, type: Self.textArrayOID, element: Self.textOID) { $0.bytes.append(contentsOf: $1.utf8) }
        case .int8Array(let values):
            appendArray(values, type: Self.int8ArrayOID, element: Self.int8OID, width: 8) {
                $0.append64(UInt64(bitPattern: $1))
            }
        case .float8Array(let values):
            appendArray(values, type: Self.float8ArrayOID, element: Self.float8OID, width: 8) {
                $0.append64($1.bitPattern)
            }
        case .boolArray(let values):
            appendArray(values, type: Self.boolArrayOID, element: Self.boolOID, width: 1) {
                $0.bytes.append($1 ? 1 : 0)
            }
        case .timestamptzArray(let values):
            appendArray(values, type: Self.timestamptzArrayOID, element: Self.timestamptzOID, width: 8) {
                $0.append64(UInt64(bitPattern: Self.postgresMicros($1)))
            }
        case .uuidArray(let values):
            // Checked first: the closure that writes elements cannot throw.
            for value in values {
                if let value, Self.uuidBytes(value) == nil { throw Self.notUUID(value, number: number) }
            }
            appendArray(values, type: Self.uuidArrayOID, element: Self.uuidOID, width: 16) { buffer, value in
                buffer.bytes.append(contentsOf: Self.uuidBytes(value)!)
            }
        }
    }

    private mutating func appendNull(type: UInt32, format: Int32 = 1) {
        types.append(type)
        lengths.append(0)
        formats.append(format)
        offsets.append(-1)
    }

    private mutating func finish(type: UInt32, format: Int32 = 1, start: Int) {
        types.append(type)
        lengths.append(Int32(bytes.count - start))
        formats.append(format)
        offsets.append(start)
    }

    /// One dimension, lower bound 1 (an empty array has no dimension), then each element as its
    /// length and bytes, or length -1 for NULL. `width`, when every element has it, lets the
    /// buffer grow once.
    private mutating func appendArray<Element>(
        _ values: [Element?], type: UInt32, element: UInt32, width: Int? = nil,
        _ write: (inout ParameterBuffer, Element) -> Void
    ) {
        let start = bytes.count
        if let width { bytes.reserveCapacity(bytes.count + 20 + values.count * (4 + width)) }
        append32(values.isEmpty ? 0 : 1)
        append32(values.contains { $0 == nil } ? 1 : 0)
        append32(element)
        if !values.isEmpty {
            append32(UInt32(values.count))
            append32(1)
        }
        for value in values {
            guard let value else {
                append32(UInt32(bitPattern: -1))
                continue
            }
            let lengthAt = bytes.count
            append32(0)
            write(&self, value)
            let length = UInt32(bytes.count - lengthAt - 4)
            bytes[lengthAt] = UInt8(length >> 24)
            bytes[lengthAt + 1] = UInt8(length >> 16 & 0xFF)
            bytes[lengthAt + 2] = UInt8(length >> 8 & 0xFF)
            bytes[lengthAt + 3] = UInt8(length & 0xFF)
        }
        finish(type: type, start: start)
    }

    private mutating func append32(_ value: UInt32) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func append64(_ value: UInt64) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func appendUUID(_ text: String, number: Int) throws(PostgresError) {
        guard let uuid = Self.uuidBytes(text) else { throw Self.notUUID(text, number: number) }
        bytes.append(contentsOf: uuid)
    }

    /// The 16 bytes of a uuid written as 32 hex digits, with or without dashes or braces.
    private static func uuidBytes(_ text: String) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(16)
        var high: UInt8?
        for c in text.utf8 {
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            case UInt8(ascii: "-"), UInt8(ascii: "{"), UInt8(ascii: "}"): continue
            default: return nil
            }
            if let h = high {
                guard result.count < 16 else { return nil }
                result.append(h << 4 | digit)
                high = nil
            } else {
                high = digit
            }
        }
        return result.count == 16 && high == nil ? result : nil
    }

    private static func notUUID(_ text: String, number: Int) -> PostgresError {
        PostgresError(.queryFailed, "parameter $\(number) is not a uuid: '\(text.prefix(64))'")
    }

    /// Microseconds since 2000-01-01; the infinities stay infinities.
    private static func postgresMicros(_ unixMicros: Int64) -> Int64 {
        if unixMicros == .max || unixMicros == .min { return unixMicros }
        let (shifted, overflow) = unixMicros.subtractingReportingOverflow(epochOffsetMicros)
        return overflow ? .min : shifted
    }
}
