/// One message that carries several due notifications at once, because a channel's rate limit does
/// not allow them one by one (README, 'Rate limits and folding').
///
/// A fold too large for one of its platform's messages is split into parts; each part is a message
/// of its own with its own id, and together the parts name every ticket.
public struct FoldedMessage: Sendable, Hashable {
    /// The body, in the channel's own JSON format.
    public let body: String
    /// The deliveries this message carries, newest crossing first.
    public let deliveryIDs: [Int64]
    /// The message's `webhook-id`: derived from the deliveries it carries, so that sending the same
    /// fold again carries the same id and a receiver can drop the repeat.
    public let id: String
    /// 1-based position among the parts of one fold, and how many parts there are.
    public let part: Int
    public let parts: Int

    public init(body: String, deliveryIDs: [Int64], part: Int, parts: Int) {
        self.init(body: body, deliveryIDs: deliveryIDs, part: part, parts: parts, id: Self.id(carrying: deliveryIDs))
    }

    /// A message under a given id: a fold sent again under the id of its first attempt.
    public init(body: String, deliveryIDs: [Int64], part: Int, parts: Int, id: String) {
        self.body = body
        self.deliveryIDs = deliveryIDs
        self.part = part
        self.parts = parts
        self.id = id
    }

    static let prefix = "msg_slawatch_fold_"

    /// Whether `messageID` is a folded message's.
    public static func isFold(_ messageID: String) -> Bool { messageID.hasPrefix(prefix) }

    /// `msg_slawatch_fold_` and 128 bits of two FNV-1a hashes of the sorted delivery ids: the same
    /// deliveries give the same id, whatever their order.
    public static func id(carrying deliveryIDs: [Int64]) -> String {
        var a: UInt64 = 0xcbf2_9ce4_8422_2325
        var b: UInt64 = 0x8422_2325_cbf2_9ce4
        for id in deliveryIDs.sorted() {
            var value = UInt64(bitPattern: id)
            for _ in 0..<8 {
                let byte = value & 0xff
                a = (a ^ byte) &* 0x0000_0100_0000_01b3
                b = (b ^ (byte ^ 0x5a)) &* 0x0000_0100_0000_01b3
                value >>= 8
            }
        }
        func hex(_ v: UInt64) -> String {
            let digits = String(v, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return prefix + hex(a) + hex(b)
    }
}
