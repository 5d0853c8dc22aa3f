import CCrypto

/// What signatures are checked with: an HMAC secret, or an RSA or P-256 public key. The key decides which
/// algorithms a token may name: HS256/384/512 for a secret (each only when the secret is at least as long
/// as its digest, RFC 7518 §3.2), RS256 for an RSA key, ES256 for a P-256 key. A token naming any other
/// algorithm is refused whatever its signature, which is what defeats the HS/RS confusion (an HS256 token
/// "signed" with the RSA public key's PEM as the secret).
public struct JWTKey: Sendable {
    enum Material: Sendable {
        case secret([UInt8])
        case publicKey(PublicKey)
    }

    let material: Material
    public let allowedAlgorithms: Set<JWTAlgorithm>

    /// An HMAC secret of at least 32 bytes.
    public static func hmac(secret: [UInt8]) throws(JWTError) -> JWTKey {
        guard secret.count >= 32 else {
            throw JWTError(.invalidKey, "an HMAC secret must be at least 32 bytes long, this one has \(secret.count)")
        }
        let allowed = JWTAlgorithm.allCases.filter { ($0.hmacDigestBytes ?? Int.max) <= secret.count }
        return JWTKey(material: .secret(secret), allowedAlgorithms: Set(allowed))
    }

    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo): RSA of at least 2048 bits, or EC on P-256.
    public static func publicKey(pem: String) throws(JWTError) -> JWTKey {
        let key = try PublicKey(pem: pem)
        return JWTKey(material: .publicKey(key), allowedAlgorithms: [key.algorithm])
    }
}

/// Owns one libcrypto `EVP_PKEY`, freed in `deinit`.
///
/// `@unchecked Sendable`: the key is never changed after it is decoded, and OpenSSL 3 allows one key to be
/// used for verification by several threads at once, each with its own `EVP_MD_CTX`.
final class PublicKey: @unchecked Sendable {
    let raw: OpaquePointer
    let algorithm: JWTAlgorithm

    init(pem: String) throws(JWTError) {
        let bytes = Array(pem.utf8)
        guard !bytes.isEmpty, bytes.count < 64 * 1024 else {
            throw JWTError(.invalidKey, "the PEM text is empty or too long")
        }
        let decoded: OpaquePointer? = bytes.withUnsafeBytes { raw in
            guard let bio = BIO_new_mem_buf(raw.baseAddress, Int32(raw.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        }
        guard let decoded else {
            ERR_clear_error()
            throw JWTError(.invalidKey, "the text is not a PEM \"PUBLIC KEY\" that OpenSSL can read")
        }
        switch EVP_PKEY_get_base_id(decoded) {
        case EVP_PKEY_RSA:
            let bits = EVP_PKEY_get_bits(decoded)
            guard bits >= 2048 else {
                EVP_PKEY_free(decoded)
                throw JWTError(.invalidKey, "the RSA key has \(bits) bits; at least 2048 are required")
            }
            algorithm = .rs256
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 64)
            var length = 0
            let named = EVP_PKEY_get_group_name(decoded, &name, name.count, &length) == 1
            let group = named ? String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
            guard group == "prime256v1" || group == "P-256" else {
                EVP_PKEY_free(decoded)
                throw JWTError(.invalidKey, "the EC key is on curve \(group); ES256 needs P-256")
            }
            algorithm = .es256
        default:
            EVP_PKEY_free(decoded)
            throw JWTError(.invalidKey, "the key is neither RSA nor EC")
        }
        raw = decoded
    }

    deinit { EVP_PKEY_free(raw) }

    /// Whether `signature` is a valid SHA-256 signature of `message` under this key (PKCS#1 v1.5 for RSA,
    /// DER-encoded ECDSA for EC).
    func verifySHA256(signature: [UInt8], message: [UInt8]) -> Bool {
        guard let context = EVP_MD_CTX_new() else { return false }
        defer {
            EVP_MD_CTX_free(context)
            // A failed verification leaves entries on this thread's error queue; they are not ours to keep.
            ERR_clear_error()
        }
        guard EVP_DigestVerifyInit(context, nil, EVP_sha256(), nil, raw) == 1 else { return false }
        return signature.withUnsafeBufferPointer { signature in
            message.withUnsafeBufferPointer { message in
                EVP_DigestVerify(context, signature.baseAddress, signature.count, message.baseAddress, message.count)
                    == 1
            }
        }
    }
}
