import Foundation
import SlawatchCore
import TokenAuth

/// What the API answers with that comes from the rules: the rules themselves and the token verifier
/// made from their `api.jwt`. Immutable; a reload (SIGHUP) replaces it whole.
final class APIConfiguration: Sendable {
    let rules: RuleSet
    let jwt: JWTSettings
    /// nil when the rules have no `api.jwt`: no token can be verified, every request needing one is 401.
    let verifier: JWTVerifier?

    /// Reads the public key file when the rules name one. A secret whose `${VAR}` is not set, or a key
    /// that cannot be used, is an error for a person.
    init(rules: RuleSet, now: @escaping @Sendable () -> Instant) throws(CommandError) {
        self.rules = rules
        let jwt = rules.api?.jwt ?? JWTSettings()
        self.jwt = jwt
        guard rules.api?.jwt != nil else {
            verifier = nil
            return
        }
        let key = try Self.key(jwt)
        verifier = JWTVerifier(
            configuration: .init(
                key: key, issuer: jwt.issuer, audience: jwt.audience, leeway: .microseconds(jwt.leewayMicros),
                now: now))
    }

    /// The key of `api.jwt`: the HMAC secret, or the PEM public key read from its file.
    static func key(_ jwt: JWTSettings) throws(CommandError) -> JWTKey {
        do {
            switch jwt.secret {
            case .value(let secret)?:
                return try JWTKey.hmac(secret: Array(secret.utf8))
            case .missingVariable(let name)?:
                throw CommandError.usage(
                    "api.jwt.secret names the environment variable \(name), which is not set; export it (secrets live only in the environment)"
                )
            case nil:
                guard let path = jwt.publicKeyPath else {
                    throw CommandError.usage("api.jwt has neither a secret nor a public_key")
                }
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CommandError.usage("api.jwt.public_key: cannot read the PEM file '\(path)'")
                }
                do {
                    return try JWTKey.publicKey(pem: String(decoding: data, as: UTF8.self))
                } catch {
                    throw CommandError.usage("api.jwt.public_key '\(path)': \(error.message)")
                }
            }
        } catch let error as CommandError {
            throw error
        } catch let error as JWTError {
            throw CommandError.usage("api.jwt.secret: \(error.message)")
        } catch {
            throw CommandError.usage("api.jwt: \(error)")
        }
    }

    /// The perspective with this id, or this name; `All` is built in.
    func perspective(id: Int) -> Perspective? {
        id == Perspective.all.id ? .all : rules.perspectives.first { $0.id == id }
    }

    func perspective(named name: String) -> Perspective? {
        name == Perspective.all.name ? .all : rules.perspectives.first { $0.name == name }
    }
}
