import CCrypto

/// HMAC-SHA-256/384/512 through libcrypto's one-shot `HMAC`.
enum HMACDigest {
    /// Nil when libcrypto refuses (e.g. a FIPS provider rejecting the key) or for a non-HMAC algorithm.
    static func compute(_ algorithm: JWTAlgorithm, key: [UInt8], message: [UInt8]) -> [UInt8]? {
        let digest: OpaquePointer?
        switch algorithm {
        case .hs256: digest = EVP_sha256()
        case .hs384: digest = EVP_sha384()
        case .hs512: digest = EVP_sha512()
        case .rs256, .es256: return nil
        }
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let produced = key.withUnsafeBytes { key in
            message.withUnsafeBytes { message in
                HMAC(
                    digest, key.baseAddress, Int32(key.count), message.bindMemory(to: UInt8.self).baseAddress,
                    message.count, &output, &length)
            }
        }
        guard produced != nil, length > 0 else {
            ERR_clear_error()
            return nil
        }
        return Array(output.prefix(Int(length)))
    }
}
