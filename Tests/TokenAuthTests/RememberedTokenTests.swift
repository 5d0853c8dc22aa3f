import SlawatchCore
import Synchronization
import Testing

@testable import TokenAuth

/// A verifier that remembers accepted tokens answers exactly as one that does not: the time is checked
/// on every use, and only the exact bytes of an accepted token are remembered.
@Suite("JWTVerifier remembering tokens")
struct RememberedTokenTests {
    static let secret = Array("a demo secret that is long enough for HS512 signatures, 64 bytes!".utf8)

    /// A clock the test moves.
    final class TestClock: Sendable {
        let seconds = Atomic<Int64>(1_780_000_000)
        var now: Instant { Instant(seconds: seconds.load(ordering: .relaxed)) }
        func set(_ value: Int64) { seconds.store(value, ordering: .relaxed) }
    }

    static func verifier(_ clock: TestClock, remembering: Int = 16) throws -> JWTVerifier {
        JWTVerifier(
            configuration: .init(key: try .hmac(secret: secret), leeway: .seconds(30), now: { clock.now }),
            rememberedTokens: remembering)
    }

    static func reason(_ verifier: JWTVerifier, _ token: String) -> JWTError.Reason? {
        do {
            _ = try verifier.verify(token)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func aRememberedTokenExpiresAsAnyOther() throws {
        let clock = TestClock()
        let verifier = try Self.verifier(clock)
        let token = Forge.hmac(.hs256, Self.secret, payload: #"{"sub":"ana","exp":1780000600}"#)
        #expect(try verifier.verify(token).subject == "ana")
        #expect(verifier.rememberedCount == 1)
        #expect(try verifier.verify(token).subject == "ana")
        clock.set(1_780_000_629)  // within the leeway
        #expect(Self.reason(verifier, token) == nil)
        clock.set(1_780_000_630)
        #expect(Self.reason(verifier, token) == .expired)
        #expect(verifier.rememberedCount == 0)
    }

    @Test func aTokenNotYetValidIsNotRememberedAndItsNbfIsCheckedAgain() throws {
        let clock = TestClock()
        let verifier = try Self.verifier(clock)
        let token = Forge.hmac(.hs256, Self.secret, payload: #"{"exp":1780000600,"nbf":1780000100}"#)
        #expect(Self.reason(verifier, token) == .notYetValid)
        #expect(verifier.rememberedCount == 0)
        clock.set(1_780_000_070)  // 30 s of leeway before nbf
        #expect(Self.reason(verifier, token) == nil)
        #expect(verifier.rememberedCount == 1)
        // The wall clock went back: the remembered token is refused as a fresh verification would.
        clock.set(1_780_000_000)
        #expect(Self.reason(verifier, token) == .notYetValid)
    }

    @Test func onlyTheExactBytesOfAnAcceptedTokenAreRemembered() throws {
        let clock = TestClock()
        let verifier = try Self.verifier(clock)
        let token = Forge.hmac(.hs256, Self.secret, payload: #"{"sub":"ana","exp":1780000600}"#)
        _ = try verifier.verify(token)
        let parts = token.split(separator: ".").map(String.init)
        let otherPayload = Forge.encode(#"{"sub":"eva","exp":1780000600}"#)
        #expect(Self.reason(verifier, parts[0] + "." + otherPayload + "." + parts[2]) == .badSignature)
        #expect(Self.reason(verifier, token + " ") == .malformed)
        let wrongKey = Forge.hmac(.hs256, Array("another secret, long enough for HS256 signatures".utf8),
            payload: #"{"sub":"ana","exp":1780000600}"#)
        #expect(Self.reason(verifier, wrongKey) == .badSignature)
        #expect(verifier.rememberedCount == 1)
    }

    @Test func theNumberRememberedIsBounded() throws {
        let clock = TestClock()
        let verifier = try Self.verifier(clock, remembering: 4)
        for i in 0..<10 {
            let token = Forge.hmac(.hs256, Self.secret, payload: #"{"sub":"u\#(i)","exp":1780000600}"#)
            #expect(try verifier.verify(token).subject == "u\(i)")
            #expect(verifier.rememberedCount <= 4)
        }
        let none = try Self.verifier(clock, remembering: 0)
        _ = try none.verify(Forge.hmac(.hs256, Self.secret, payload: #"{"exp":1780000600}"#))
        #expect(none.rememberedCount == 0)
    }
}
