import SlawatchCore
import Testing

// `EvaluatedVersions`: what an incremental cycle takes for already evaluated. A version taken for
// seen when it is not would delay its alerts, so every part of a version must change its hash.

@Suite struct EvaluatedVersionsTests {
    static let id = "01a2105c-5b31-7485-a7b9-30bd48d1fa1a"

    @Test func everyPartOfAVersionCounts() {
        var versions = EvaluatedVersions()
        versions.insert(id: Self.id, updated: 1_000, status: "EN_PROCESO", priority: "ALTA")
        #expect(versions.contains(id: Self.id, updated: 1_000, status: "EN_PROCESO", priority: "ALTA"))
        #expect(!versions.contains(id: Self.id, updated: 1_001, status: "EN_PROCESO", priority: "ALTA"))
        #expect(!versions.contains(id: Self.id, updated: 1_000, status: "EN_ESPERA", priority: "ALTA"))
        #expect(!versions.contains(id: Self.id, updated: 1_000, status: "EN_PROCESO", priority: "BAJA"))
        #expect(
            !versions.contains(
                id: "01a2105c-5b31-7485-a7b9-30bd48d1fa1b", updated: 1_000, status: "EN_PROCESO", priority: "ALTA"))
        // Where one part ends and the next begins matters too.
        versions.insert(id: "a", updated: 0, status: "bc", priority: "")
        #expect(!versions.contains(id: "ab", updated: 0, status: "c", priority: ""))
        #expect(!versions.contains(id: "a", updated: 0, status: "b", priority: "c"))
    }

    @Test func distinctVersionsDoNotShareAHash() {
        // 200,000 versions of ids of one shape, a second apart: a weak mix would collide here.
        var hashes = Set<UInt64>()
        for n in 0..<100_000 {
            let id = "00000000-0000-0000-0000-\(String(n, radix: 16).leftPadded(to: 12))"
            hashes.insert(
                EvaluatedVersions.hash(id: id, updated: 1_795_000_000_000_000, status: "ABIERTO", priority: "MEDIA"))
            hashes.insert(
                EvaluatedVersions.hash(id: id, updated: 1_795_000_001_000_000, status: "ABIERTO", priority: "MEDIA"))
        }
        #expect(hashes.count == 200_000)
    }

    @Test func forgettingDropsWhatNoLookBackReaches() {
        var versions = EvaluatedVersions()
        versions.insert(id: "old", updated: 100, status: "ABIERTO", priority: "")
        versions.insert(id: "edge", updated: 200, status: "ABIERTO", priority: "")
        versions.insert(id: "new", updated: 300, status: "ABIERTO", priority: "")
        versions.forget(updatedAtOrBefore: Instant(microseconds: 200))
        #expect(versions.count == 1)
        #expect(versions.contains(id: "new", updated: 300, status: "ABIERTO", priority: ""))
    }

    @Test func bytesReadBackToTheSameSet() {
        var versions = EvaluatedVersions()
        for n in 0..<1_000 {
            versions.insert(
                id: "T-\(n)", updated: Int64(n) * 1_000_003 - 5_000_000, status: "ABIERTO",
                priority: n % 2 == 0 ? "ALTA" : "")
        }
        let bytes = versions.bytes
        #expect(bytes.count == 16_000)
        #expect(EvaluatedVersions(bytes: bytes) == versions)
        // A torn trailing entry is ignored rather than misread.
        #expect(EvaluatedVersions(bytes: bytes + [1, 2, 3]) == versions)
        #expect(EvaluatedVersions(bytes: [UInt8]()).count == 0)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
