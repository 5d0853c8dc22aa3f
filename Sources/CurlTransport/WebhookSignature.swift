import CCrypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Signs webhook payloads the Standard Webhooks way (https://www.standardwebhooks.com), so that receivers
/// using any of its libraries can verify them.
///
/// The signature is `v1,` followed by the base64 of HMAC-SHA256 over `"<id>.<timestamp>.<body>"`, computed
/// by OpenSSL's libcrypto. The key is the secret's base64 payload when it has the `whsec_` prefix, and the
/// secret's UTF-8 bytes otherwise. It does not verify signatures or manage secret rotation.
public struct WebhookSignature: Sendable {
    /// The secret was unusable, or libcrypto refused to sign; the message never repeats the secret.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private let key: [UInt8]

    public init(secret: String) throws(Failure) {
        if secret.hasPrefix("whsec_") {
            guard let decoded = Data(base64Encoded: String(secret.dropFirst("whsec_".count))) else {
                throw Failure(description: "the webhook secret after whsec_ is not valid base64")
            }
            key = Array(decoded)
        } else {
            key = Array(secret.utf8)
        }
        guard !key.isEmpty else { throw Failure(description: "the webhook secret is empty") }
    }

    /// `v1,<base64 signature>`: the value of the `webhook-signature` header.
    /// Throws only if libcrypto refuses, e.g. a FIPS provider rejecting a key shorter than 112 bits.
    public func signature(messageID: String, timestamp: Int, body: [UInt8]) throws(Failure) -> String {
        let content = Array("\(messageID).\(timestamp).".utf8) + body
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let produced = key.withUnsafeBytes { key in
            content.withUnsafeBytes { content in
                HMAC(
                    EVP_sha256(), key.baseAddress, Int32(key.count), content.bindMemory(to: UInt8.self).baseAddress,
                    content.count, &digest, &length)
            }
        }
        guard produced != nil, length == 32 else {
            throw Failure(description: "OpenSSL HMAC-SHA256 failed (is the key too short for the active provider?)")
        }
        return "v1," + Data(digest.prefix(Int(length))).base64EncodedString()
    }

    /// The three Standard Webhooks headers: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    public func headers(messageID: String, timestamp: Int, body: [UInt8]) throws(Failure) -> [(
        name: String, value: String
    )] {
        [
            ("webhook-id", messageID),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", try signature(messageID: messageID, timestamp: timestamp, body: body)),
        ]
    }
}
