import Foundation
import SlawatchCore
import SlawatchStore
import Synchronization
import TokenAuth

/// What the API answers with that comes from the rules: the rules themselves and the token verifier
/// made from their `api.jwt`. Immutable; a reload (SIGHUP) replaces it whole.
final class APIConfiguration: Sendable {
    let rules: RuleSet
    let jwt: JWTSettings
    /// nil when the rules have no `api.jwt`: no token can be verified, every request needing one is 401.
    let verifier: JWTVerifier?
    /// What the database holds when `migrate` compiled these rules: the dashboard is read from the SQL
    /// function only then.
    let compiledFingerprint: Int64
    /// Evaluators of these rules kept between requests, with the calendars' timelines they built.
    let evaluators: EvaluatorPool
    /// The views' layouts by the further columns read, kept between requests: reading the catalog is a
    /// statement per request otherwise. Emptied when a request fails on the database (a view redefined
    /// while serving) and, with the whole configuration, on a reload.
    private let layouts = Mutex<[Set<String>: SourceRepository.Layout]>([:])

    /// Reads the public key file when the rules name one. A secret whose `${VAR}` is not set, or a key
    /// that cannot be used, is an error for a person.
    init(rules: RuleSet, now: @escaping @Sendable () -> Instant) throws(CommandError) {
        self.rules = rules
        evaluators = EvaluatorPool(rules: rules)
        compiledFingerprint = DashboardCursor.fingerprint(rules)
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
                now: now),
            // Clients present the same token request after request: decoding its JSON and computing its
            // signature once is enough (its exp and nbf are still checked every time). Only signed
            // tokens are remembered, so a client cannot fill this with made-up ones.
            rememberedTokens: 4096)
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

    /// A reader of the tickets view over `connection`, with a layout kept from an earlier request when
    /// there is one.
    func reader(_ connection: StoreConnection, alsoColumns: Set<String> = []) throws(StoreError) -> TicketReader {
        if let layout = layouts.withLock({ $0[alsoColumns] }) {
            return TicketReader(connection: connection, layout: layout)
        }
        let layout = try TicketReader.layout(connection: connection, rules: rules, alsoColumns: alsoColumns)
        layouts.withLock { kept in
            // Bounded: the sets of columns requests name are few, but a client chooses them.
            if kept.count >= 256 { kept.removeAll() }
            kept[alsoColumns] = layout
        }
        return TicketReader(connection: connection, layout: layout)
    }

    func forgetLayouts() { layouts.withLock { $0.removeAll() } }

    /// The perspective with this id, or this name; `All` is built in.
    func perspective(id: Int) -> Perspective? {
        id == Perspective.all.id ? .all : rules.perspectives.first { $0.id == id }
    }

    func perspective(named name: String) -> Perspective? {
        name == Perspective.all.name ? .all : rules.perspectives.first { $0.name == name }
    }
}
