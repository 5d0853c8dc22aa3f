import CCrypto
import SlawatchCore
import Testing

@testable import TokenAuth

/// Builds tokens by hand, so that every part can be wrong on purpose.
enum Forge {
    static func encode(_ text: String) -> String { Base64URL.encode(Array(text.utf8)) }

    static func token(header: String, payload: String, sign: (String) -> [UInt8]) -> String {
        let input = encode(header) + "." + encode(payload)
        return input + "." + Base64URL.encode(sign(input))
    }

    static func hmac(_ algorithm: JWTAlgorithm, _ secret: [UInt8], header: String? = nil, payload: String) -> String {
        token(header: header ?? #"{"alg":"\#(algorithm.rawValue)","typ":"JWT"}"#, payload: payload) {
            HMACDigest.compute(algorithm, key: secret, message: Array($0.utf8))!
        }
    }
}

@Suite("JWTVerifier")
struct JWTVerifierTests {
    static let now = Instant(seconds: 1_780_000_000)
    static let secret = Array("a demo secret that is long enough for HS512 signatures, 64 bytes!".utf8)
    static let valid =
        #"{"sub":"ana","exp":1780000600,"iss":"https://sso.example/realms/mesa","aud":["slawatch","x"],"#
        + #""realm_access":{"roles":["MESA","AREA"]}}"#

    static func verifier(_ key: JWTKey, issuer: String? = nil, audience: String? = nil) -> JWTVerifier {
        JWTVerifier(configuration: .init(key: key, issuer: issuer, audience: audience, now: { now }))
    }

    static func reason(_ verifier: JWTVerifier, _ token: String) -> JWTError.Reason? {
        do {
            _ = try verifier.verify(token)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test(arguments: [JWTAlgorithm.hs256, .hs384, .hs512])
    func hmacRoundTrips(algorithm: JWTAlgorithm) throws {
        let signer = try JWTSigner(algorithm: algorithm, secret: Self.secret)
        let token = try signer.sign([
            "sub": .string("ana"), "exp": .number(1_780_000_600),
            "realm_access": .object(["roles": .array([.string("MESA"), .string("AREA")])]),
        ])
        let claims = try Self.verifier(try .hmac(secret: Self.secret)).verify(token)
        #expect(claims.algorithm == algorithm)
        #expect(claims.subject == "ana")
        #expect(claims.strings(at: "realm_access.roles") == ["MESA", "AREA"])
        #expect(claims.value(at: "realm_access.missing") == nil)
        #expect(claims.header == .object(["alg": .string(algorithm.rawValue), "typ": .string("JWT")]))
    }

    @Test func rs256RoundTripsAndRefusesTampering() throws {
        let pair = TestKeyPair.rsa()
        let token = Forge.token(header: #"{"alg":"RS256","typ":"JWT","kid":"k1"}"#, payload: Self.valid) {
            pair.signSHA256(Array($0.utf8))
        }
        let verifier = Self.verifier(
            try .publicKey(pem: pair.publicPEM), issuer: "https://sso.example/realms/mesa", audience: "slawatch")
        let claims = try verifier.verify(token)
        #expect(claims.algorithm == .rs256)
        #expect(claims.strings(at: "realm_access.roles") == ["MESA", "AREA"])

        let parts = token.split(separator: ".").map(String.init)
        let otherPayload = Forge.encode(Self.valid.replacingOccurrences(of: "ana", with: "eva"))
        #expect(Self.reason(verifier, parts[0] + "." + otherPayload + "." + parts[2]) == .badSignature)
        var signature = Base64URL.decode(parts[2][...].utf8)!
        signature[10] ^= 1
        #expect(Self.reason(verifier, parts[0] + "." + parts[1] + "." + Base64URL.encode(signature)) == .badSignature)
        // Another key's signature.
        let stranger = TestKeyPair.rsa()
        let forged = Forge.token(header: #"{"alg":"RS256"}"#, payload: Self.valid) {
            stranger.signSHA256(Array($0.utf8))
        }
        #expect(Self.reason(verifier, forged) == .badSignature)
    }

    @Test func es256RoundTripsAndRefusesWrongLengths() throws {
        let pair = TestKeyPair.p256()
        let token = Forge.token(header: #"{"alg":"ES256"}"#, payload: Self.valid) {
            TestKeyPair.rawRS(fromDER: pair.signSHA256(Array($0.utf8)))
        }
        let verifier = Self.verifier(try .publicKey(pem: pair.publicPEM))
        #expect(try verifier.verify(token).algorithm == .es256)

        let parts = token.split(separator: ".").map(String.init)
        let raw = Base64URL.decode(parts[2][...].utf8)!
        for wrong in [Array(raw.prefix(63)), raw + [0], [UInt8](repeating: 0, count: 64), pair.signSHA256([1])] {
            #expect(Self.reason(verifier, parts[0] + "." + parts[1] + "." + Base64URL.encode(wrong)) == .badSignature)
        }
        var flipped = raw
        flipped[40] ^= 0x80
        #expect(Self.reason(verifier, parts[0] + "." + parts[1] + "." + Base64URL.encode(flipped)) == .badSignature)
    }

    @Test func keysAreCheckedWhenConfigured() throws {
        #expect(throws: JWTError.self) { try JWTKey.hmac(secret: Array("short".utf8)) }
        #expect(throws: JWTError.self) {
            try JWTKey.publicKey(pem: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
        }
        #expect(throws: JWTError.self) { try JWTKey.publicKey(pem: TestKeyPair.p384().publicPEM) }
        #expect(throws: JWTError.self) { try JWTKey.publicKey(pem: TestKeyPair.rsa(bits: 1024).publicPEM) }
        #expect(throws: JWTError.self) { try JWTSigner(algorithm: .hs512, secret: Array(Self.secret.prefix(40))) }
        // A 40-byte secret allows HS256 only.
        let short = try JWTKey.hmac(secret: Array(Self.secret.prefix(40)))
        #expect(short.allowedAlgorithms == [.hs256])
        let token = Forge.hmac(.hs384, Array(Self.secret.prefix(40)), payload: Self.valid)
        #expect(Self.reason(Self.verifier(short), token) == .algorithmNotAllowed)
    }

    @Test func theHSRSConfusionFails() throws {
        let pair = TestKeyPair.rsa()
        let pem = pair.publicPEM
        let verifier = Self.verifier(try .publicKey(pem: pem))
        for algorithm in [JWTAlgorithm.hs256, .hs384, .hs512] {
            let token = Forge.hmac(algorithm, Array(pem.utf8), payload: Self.valid)
            #expect(Self.reason(verifier, token) == .algorithmNotAllowed)
        }
        let es = Forge.token(header: #"{"alg":"ES256"}"#, payload: Self.valid) { _ in [UInt8](repeating: 1, count: 64) }
        #expect(Self.reason(verifier, es) == .algorithmNotAllowed)
        let ecVerifier = Self.verifier(try .publicKey(pem: TestKeyPair.p256().publicPEM))
        let rs = Forge.token(header: #"{"alg":"RS256"}"#, payload: Self.valid) { pair.signSHA256(Array($0.utf8)) }
        #expect(Self.reason(ecVerifier, rs) == .algorithmNotAllowed)
    }

    @Test func algNoneIsAlwaysRefused() throws {
        let verifier = Self.verifier(try .hmac(secret: Self.secret))
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = Forge.encode(#"{"alg":"\#(alg)","typ":"JWT"}"#)
            let unsigned = header + "." + Forge.encode(Self.valid) + "."
            #expect(Self.reason(verifier, unsigned) == .unsupportedAlgorithm)
            let signed = Forge.hmac(.hs256, Self.secret, header: #"{"alg":"\#(alg)"}"#, payload: Self.valid)
            #expect(Self.reason(verifier, signed) == .unsupportedAlgorithm)
        }
        #expect(
            Self.reason(verifier, Forge.hmac(.hs256, Self.secret, header: #"{"typ":"JWT"}"#, payload: Self.valid))
                == .malformed)
        #expect(
            Self.reason(verifier, Forge.hmac(.hs256, Self.secret, header: #"{"alg":"PS256"}"#, payload: Self.valid))
                == .unsupportedAlgorithm)
        #expect(
            Self.reason(
                verifier,
                Forge.hmac(.hs256, Self.secret, header: #"{"alg":"HS256","crit":["b64"]}"#, payload: Self.valid))
                == .malformed)
        #expect(
            Self.reason(
                verifier,
                Forge.hmac(.hs256, Self.secret, header: #"{"alg":"HS256","typ":"JOSE+JSON"}"#, payload: Self.valid))
                == .malformed)
    }

    @Test func theShapeOfTheTokenIsStrict() throws {
        let verifier = Self.verifier(try .hmac(secret: Self.secret))
        let token = Forge.hmac(.hs256, Self.secret, payload: Self.valid)
        #expect(Self.reason(verifier, token) == nil)
        let parts = token.split(separator: ".").map(String.init)
        let cases = [
            String(token.dropLast(5)),  // truncated signature
            String(token.prefix(token.count / 2)),  // truncated in the payload
            parts[0] + "." + parts[1],  // two parts
            token + "." + parts[2],  // four parts
            token + ".",
            "",
            "..",
            parts[0] + "." + parts[1] + "=." + parts[2],  // padding
            parts[0] + "." + parts[1].replacingOccurrences(of: "e", with: "+") + "." + parts[2],
            parts[0] + "." + parts[1] + "." + parts[2] + "\0",
            parts[0] + " ." + parts[1] + "." + parts[2],
            " " + token,
            token + "\n",
            parts[0] + "." + parts[1] + "." + parts[2].replacingOccurrences(of: "-", with: "/"),
            Forge.encode("not json") + "." + parts[1] + "." + parts[2],
            Forge.encode("[1]") + "." + parts[1] + "." + parts[2],
        ]
        for bad in cases {
            let reason = Self.reason(verifier, bad)
            #expect(
                reason == .malformed || reason == .badSignature,
                "\(bad.debugDescription): \(String(describing: reason))")
        }
        // A payload that is not an object, correctly signed.
        #expect(Self.reason(verifier, Forge.hmac(.hs256, Self.secret, payload: "[1,2]")) == .malformed)
        #expect(Self.reason(verifier, Forge.hmac(.hs256, Self.secret, payload: "\"exp\"")) == .malformed)
    }

    @Test func theClaimsAreChecked() throws {
        let key = try JWTKey.hmac(secret: Self.secret)
        let plain = Self.verifier(key)
        let strict = Self.verifier(key, issuer: "https://sso.example/realms/mesa", audience: "slawatch")
        func token(_ payload: String) -> String { Forge.hmac(.hs256, Self.secret, payload: payload) }
        let now = 1_780_000_000

        #expect(Self.reason(strict, token(Self.valid)) == nil)
        #expect(Self.reason(plain, token(#"{"exp":\#(now - 31)}"#)) == .expired)
        #expect(Self.reason(plain, token(#"{"exp":\#(now - 29)}"#)) == nil)  // expired within the leeway
        #expect(Self.reason(plain, token(#"{"exp":\#(now - 30)}"#)) == .expired)
        #expect(Self.reason(plain, token(#"{"exp":\#(now + 60),"nbf":\#(now + 31)}"#)) == .notYetValid)
        #expect(Self.reason(plain, token(#"{"exp":\#(now + 60),"nbf":\#(now + 30)}"#)) == nil)
        #expect(Self.reason(plain, token(#"{"exp":\#(now + 60),"nbf":"soon"}"#)) == .invalidClaim)
        #expect(Self.reason(plain, token(#"{"sub":"ana"}"#)) == .missingExpiry)
        #expect(Self.reason(plain, token(#"{"exp":"\#(now + 60)"}"#)) == .invalidClaim)
        #expect(Self.reason(plain, token(#"{"exp":true}"#)) == .invalidClaim)
        #expect(Self.reason(plain, token(#"{"exp":null}"#)) == .invalidClaim)
        #expect(Self.reason(plain, token(#"{"exp":1e300}"#)) == nil)
        #expect(Self.reason(plain, token(#"{"exp":\#(now + 60).5}"#)) == nil)

        let good = #""exp":\#(now + 60),"iss":"https://sso.example/realms/mesa""#
        #expect(
            Self.reason(strict, token(#"{"exp":\#(now + 60),"iss":"https://evil.example","aud":"slawatch"}"#))
                == .wrongIssuer)
        #expect(Self.reason(strict, token(#"{"exp":\#(now + 60),"aud":"slawatch"}"#)) == .wrongIssuer)
        #expect(Self.reason(strict, token(#"{\#(good),"aud":"slawatch"}"#)) == nil)
        #expect(Self.reason(strict, token(#"{\#(good),"aud":"other"}"#)) == .wrongAudience)
        #expect(Self.reason(strict, token(#"{\#(good),"aud":["other","more"]}"#)) == .wrongAudience)
        #expect(Self.reason(strict, token(#"{\#(good),"aud":["other","slawatch"]}"#)) == nil)
        #expect(Self.reason(strict, token(#"{\#(good)}"#)) == .wrongAudience)
        #expect(Self.reason(strict, token(#"{\#(good),"aud":[["slawatch"]]}"#)) == .wrongAudience)
    }

    @Test func hugeAndDeeplyNestedPartsAreRefusedQuickly() throws {
        let verifier = Self.verifier(try .hmac(secret: Self.secret))
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let nestedHeader = #"{"alg":"HS256","x":\#(deep)}"#
        let big = JWTVerifier(
            configuration: .init(key: try .hmac(secret: Self.secret), maxTokenBytes: 1 << 20, now: { Self.now }))
        #expect(
            Self.reason(big, Forge.hmac(.hs256, Self.secret, header: nestedHeader, payload: Self.valid)) == .malformed)
        let nestedPayload = #"{"exp":1780000600,"x":\#(deep)}"#
        #expect(Self.reason(big, Forge.hmac(.hs256, Self.secret, payload: nestedPayload)) == .malformed)
        // Seventeen levels is one too many; sixteen pass.
        let seventeen =
            #"{"exp":1780000600,"x":\#(String(repeating: "[", count: 16) + String(repeating: "]", count: 16))}"#
        #expect(Self.reason(verifier, Forge.hmac(.hs256, Self.secret, payload: seventeen)) == .malformed)
        let sixteen =
            #"{"exp":1780000600,"x":\#(String(repeating: "[", count: 15) + String(repeating: "]", count: 15))}"#
        #expect(Self.reason(verifier, Forge.hmac(.hs256, Self.secret, payload: sixteen)) == nil)
        // Brackets inside strings do not count.
        let quoted = #"{"exp":1780000600,"x":"\#(String(repeating: "[", count: 100))\"["}"#
        #expect(Self.reason(verifier, Forge.hmac(.hs256, Self.secret, payload: quoted)) == nil)
        let huge = #"{"alg":"HS256","pad":"\#(String(repeating: "a", count: 20_000))"}"#
        #expect(Self.reason(verifier, Forge.hmac(.hs256, Self.secret, header: huge, payload: Self.valid)) == .malformed)
    }

    @Test func tenThousandRandomAndMutatedTokensAreAllRejected() throws {
        let verifier = Self.verifier(try .hmac(secret: Self.secret))
        let rsaPair = TestKeyPair.rsa()
        let rsaVerifier = Self.verifier(try .publicKey(pem: rsaPair.publicPEM))
        let valid = Forge.hmac(.hs256, Self.secret, payload: Self.valid)
        let validRS = Forge.token(header: #"{"alg":"RS256"}"#, payload: Self.valid) {
            rsaPair.signSHA256(Array($0.utf8))
        }
        #expect(Self.reason(verifier, valid) == nil)
        #expect(Self.reason(rsaVerifier, validRS) == nil)
        var random = SplitMix64(seed: 0x5eed_1a3a)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \0{}\"".utf8)
        var accepted: [String] = []
        for round in 0..<10_000 {
            var bytes: [UInt8]
            let base = round % 2 == 0 ? valid : validRS
            switch random.next() % 4 {
            case 0:
                // Entirely random text over an alphabet close to base64url.
                bytes = (0..<Int(random.next() % 400)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))]
                }
            case 1:
                // A valid token with bytes replaced.
                bytes = Array(base.utf8)
                for _ in 0..<(1 + Int(random.next() % 4)) {
                    bytes[Int(random.next() % UInt64(bytes.count))] =
                        alphabet[Int(random.next() % UInt64(alphabet.count))]
                }
            case 2:
                // A valid token cut, or with a random piece inserted.
                bytes = Array(base.utf8)
                let at = Int(random.next() % UInt64(bytes.count))
                if random.next() % 2 == 0 {
                    bytes = Array(bytes.prefix(at))
                } else {
                    bytes.insert(
                        contentsOf: (0..<(1 + Int(random.next() % 8))).map { _ in
                            UInt8(truncatingIfNeeded: random.next())
                        }, at: at)
                }
            default:
                // Parts of the two valid tokens swapped.
                let a = valid.split(separator: ".", omittingEmptySubsequences: false)
                let b = validRS.split(separator: ".", omittingEmptySubsequences: false)
                let pick = { (i: Int) -> Substring in random.next() % 2 == 0 ? a[i] : b[i] }
                bytes = Array([pick(0), pick(1), pick(2)].joined(separator: ".").utf8)
            }
            let text = String(decoding: bytes, as: UTF8.self)
            if text == valid || text == validRS { continue }
            for candidate in [verifier, rsaVerifier] where Self.reason(candidate, text) == nil {
                accepted.append(text)
            }
        }
        #expect(accepted.isEmpty, "accepted: \(accepted.prefix(3))")
    }
}

/// A small seeded generator, so that the fuzz test is the same on every run.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
