import CCrypto
import Synchronization

/// Tokens a ``JWTVerifier`` accepted, remembered by the SHA-256 of their exact bytes with their claims
/// and the instants between which they are valid, so that the same token presented again is not decoded
/// and its signature not computed again.
///
/// Everything a verification checks depends on the token's bytes and the verifier's configuration alone,
/// except `exp` and `nbf`, which depend on the time: those are checked again on every use (a remembered
/// token that expired meanwhile is verified again, and refused as before). Keys are digests, so that
/// finding a remembered token compares digests, never a token's bytes. At most `capacity` tokens are
/// remembered: when full, the expired ones are forgotten, and all of them when none has expired.
final class VerifiedTokens: Sendable {
    struct Entry: Sendable {
        let claims: JWTClaims
        let window: JWTVerifier.ValidityWindow
    }

    /// The SHA-256 of a token, as four words.
    struct Digest: Hashable, Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        static func == (a: Digest, b: Digest) -> Bool { a.words == b.words }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }

        /// Nil when libcrypto refuses.
        init?(_ bytes: some Collection<UInt8>) {
            var output: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            var length: UInt32 = 0
            let digested = withUnsafeMutableBytes(of: &output) { out in
                let made: Int32? = bytes.withContiguousStorageIfAvailable { input in
                    EVP_Digest(
                        input.baseAddress, input.count, out.bindMemory(to: UInt8.self).baseAddress, &length,
                        EVP_sha256(), nil)
                }
                if let made { return made }
                let copy = Array(bytes)
                return copy.withUnsafeBytes { input in
                    EVP_Digest(
                        input.baseAddress, input.count, out.bindMemory(to: UInt8.self).baseAddress, &length,
                        EVP_sha256(), nil)
                }
            }
            guard digested == 1, length == 32 else {
                ERR_clear_error()
                return nil
            }
            words = output
        }
    }

    let capacity: Int
    private let entries = Mutex<[Digest: Entry]>([:])

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    func entry(_ digest: Digest) -> Entry? {
        entries.withLock { $0[digest] }
    }

    func remember(_ digest: Digest, _ entry: Entry, now: Int64) {
        guard capacity > 0 else { return }
        entries.withLock { kept in
            if kept[digest] == nil, kept.count >= capacity {
                kept = kept.filter { $0.value.window.expiresAt > now }
                if kept.count >= capacity { kept.removeAll(keepingCapacity: true) }
            }
            kept[digest] = entry
        }
    }

    func forget(_ digest: Digest) {
        _ = entries.withLock { $0.removeValue(forKey: digest) }
    }

    var count: Int { entries.withLock { $0.count } }
}
