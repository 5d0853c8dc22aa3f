import CCrypto

/// RSA and P-256 key pairs made with libcrypto at run time, and JWS signing with them, for the tests only.
final class TestKeyPair: @unchecked Sendable {
    let raw: OpaquePointer

    static func rsa(bits: Int32 = 2048) -> TestKeyPair {
        generate("RSA") { EVP_PKEY_CTX_set_rsa_keygen_bits($0, bits) }
    }
    static func p256() -> TestKeyPair { generate("EC") { EVP_PKEY_CTX_set_group_name($0, "P-256") } }
    static func p384() -> TestKeyPair { generate("EC") { EVP_PKEY_CTX_set_group_name($0, "P-384") } }

    private static func generate(_ type: String, _ configure: (OpaquePointer) -> Int32) -> TestKeyPair {
        let context = EVP_PKEY_CTX_new_from_name(nil, type, nil)!
        defer { EVP_PKEY_CTX_free(context) }
        precondition(EVP_PKEY_keygen_init(context) == 1)
        precondition(configure(context) == 1)
        var key: OpaquePointer?
        precondition(EVP_PKEY_generate(context, &key) == 1)
        return TestKeyPair(raw: key!)
    }

    private init(raw: OpaquePointer) { self.raw = raw }
    deinit { EVP_PKEY_free(raw) }

    /// The public half as a PEM "PUBLIC KEY".
    var publicPEM: String {
        let bio = BIO_new(BIO_s_mem())!
        defer { BIO_free(bio) }
        precondition(PEM_write_bio_PUBKEY(bio, raw) == 1)
        var data: UnsafeMutablePointer<CChar>?
        let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &data)
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    /// SHA-256 signature: PKCS#1 v1.5 for RSA, DER ECDSA for EC.
    func signSHA256(_ message: [UInt8]) -> [UInt8] {
        let context = EVP_MD_CTX_new()!
        defer { EVP_MD_CTX_free(context) }
        precondition(EVP_DigestSignInit(context, nil, EVP_sha256(), nil, raw) == 1)
        var length = 0
        precondition(EVP_DigestSign(context, nil, &length, message, message.count) == 1)
        var signature = [UInt8](repeating: 0, count: length)
        precondition(EVP_DigestSign(context, &signature, &length, message, message.count) == 1)
        return Array(signature.prefix(length))
    }

    /// A DER ECDSA signature as JWS's 64-byte R||S.
    static func rawRS(fromDER der: [UInt8]) -> [UInt8] {
        der.withUnsafeBufferPointer { buffer in
            var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
            let signature = d2i_ECDSA_SIG(nil, &cursor, der.count)!
            defer { ECDSA_SIG_free(signature) }
            var r: OpaquePointer?
            var s: OpaquePointer?
            ECDSA_SIG_get0(signature, &r, &s)
            var out = [UInt8](repeating: 0, count: 64)
            out.withUnsafeMutableBufferPointer {
                _ = BN_bn2binpad(r, $0.baseAddress, 32)
                _ = BN_bn2binpad(s, $0.baseAddress! + 32, 32)
            }
            return out
        }
    }
}
