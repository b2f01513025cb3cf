import Foundation

/// Reusable per-call state for the models: BPE scratch buffers and the word cache. A value that
/// one `encode` owns while it runs (passed `inout`: no locking or exclusivity checks per word).
struct TokModelState {
    var scratch = TokBPEScratch()

    // Word cache: piece scalars -> a span of `cacheIDs`.
    var cache = TokSeqTable(capacity: 4096)
    var cacheIDs: [Int32] = []
    var cacheSpans: [Int64] = []   // start << 32 | count

    static let maxCachedWordLength = 256
    static let maxCacheEntries = 500_000

    func cached(_ p: UnsafePointer<UInt32>, _ n: Int, into out: inout [Int32]) -> Bool {
        guard n <= Self.maxCachedWordLength else { return false }
        let e = cache.find(p, n)
        if e < 0 { return false }
        let span = cacheSpans[Int(cache.values[e])]
        let start = Int(span >> 32), count = Int(span & 0xFFFF_FFFF)
        out.append(contentsOf: cacheIDs[start..<(start + count)])
        return true
    }

    mutating func store(_ word: UnsafeBufferPointer<UInt32>, _ ids: ArraySlice<Int32>) {
        guard word.count <= Self.maxCachedWordLength else { return }
        if cache.count >= Self.maxCacheEntries {
            cache.removeAll()
            cacheIDs.removeAll(keepingCapacity: true)
            cacheSpans.removeAll(keepingCapacity: true)
        }
        cacheSpans.append(Int64(cacheIDs.count) << 32 | Int64(ids.count))
        cacheIDs.append(contentsOf: ids)
        cache.set(word, Int32(cacheSpans.count - 1))
    }
}

/// A tokenization model: turns one pre-token into ids.
protocol TokModel: AnyObject {
    /// Appends the ids of one pre-token.
    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ state: inout TokModelState, _ out: inout [Int32])
    func id(of token: [UInt32]) -> Int?
    /// The vocab string of an id.
    func token(_ id: Int) -> String?
    /// Number of entries (`Model::get_vocab_size`).
    var vocabCount: Int { get }
    var maxID: Int { get }
}

/// A vocab: token scalars <-> id.
struct TokVocab {
    var table: TokSeqTable
    var strings: [String?]   // by id
    var count: Int { table.count }
    var maxID: Int { strings.count - 1 }

    init(_ pairs: [(String, Int)]) {
        table = TokSeqTable(capacity: pairs.count)
        var maxID = -1
        for (_, id) in pairs { maxID = max(maxID, id) }
        strings = [String?](repeating: nil, count: maxID + 1)
        for (s, id) in pairs {
            table.set(TokUTF8.scalars(s), Int32(id))
            strings[id] = s
        }
    }

    func id(_ s: [UInt32]) -> Int32? { table.value(s) }
}

// MARK: - BPE

final class TokBPE: TokModel {
    let vocab: TokVocab
    let merges: TokPairTable          // (a << 32 | b) -> (rank << 32 | new id)
    let unkID: Int32?
    let prefix: [UInt32]?
    let suffix: [UInt32]?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let byteIDs: [Int32]              // id of "<0xNN>" or -1
    let charIDs: [Int32]              // id of each single scalar < 0x3000 (no prefix/suffix), or -1
    /// Every pair of adjacent scalars inside some vocab token (nil with a prefix or suffix). A word
    /// may be cut between two single-character tokens whose pair is not here: no merge can cross.
    /// Built on the first long word (only tokenizers without a pre-tokenizer have those).
    private var bigramTable: TokPairTable?
    private var bigramsBuilt = false
    private let bigramLock = NSLock()
    static let segmentAbove = 48

    private func bigrams() -> TokPairTable? {
        bigramLock.lock()
        defer { bigramLock.unlock() }
        if bigramsBuilt { return bigramTable }
        bigramsBuilt = true
        guard prefix == nil && suffix == nil else { return nil }
        var pairs = TokPairTable(capacity: vocab.count * 2)
        let t = vocab.table
        for e in 0..<t.count {
            var prev: UInt32? = nil
            for c in t.key(e) {
                if let p = prev { pairs.set(UInt64(p) << 32 | UInt64(c), 1) }
                prev = c
            }
        }
        bigramTable = pairs
        return pairs
    }

    struct LoadError: Error { let message: String }

    init(vocab: TokVocab, merges: [(String, String)], unkToken: String?, prefix: String?, suffix: String?,
         fuseUnk: Bool, byteFallback: Bool, ignoreMerges: Bool) throws {
        self.vocab = vocab
        var table = TokPairTable(capacity: merges.count)
        let prefixScalars = prefix.map { TokUTF8.scalars($0) }
        let prefixLen = prefixScalars?.count ?? 0
        for (rank, (a, b)) in merges.enumerated() {
            let sa = TokUTF8.scalars(a), sb = TokUTF8.scalars(b)
            guard let ia = vocab.id(sa) else { throw LoadError(message: "merge \(rank + 1) uses \"\(a)\", which is not in the vocab") }
            guard let ib = vocab.id(sb) else { throw LoadError(message: "merge \(rank + 1) uses \"\(b)\", which is not in the vocab") }
            // The merged token drops the continuing-subword prefix of the right part.
            let merged = sa + (prefixLen <= sb.count ? Array(sb[prefixLen...]) : [])
            guard let inew = vocab.id(merged) else {
                throw LoadError(message: "merge \(rank + 1) makes \"\(TokUTF8.string(merged))\", which is not in the vocab")
            }
            table.set(UInt64(UInt32(bitPattern: ia)) << 32 | UInt64(UInt32(bitPattern: ib)),
                      UInt64(rank) << 32 | UInt64(UInt32(bitPattern: inew)))
        }
        self.merges = table
        unkID = unkToken.flatMap { vocab.id(TokUTF8.scalars($0)) }
        self.prefix = prefixScalars
        self.suffix = suffix.map { TokUTF8.scalars($0) }
        self.fuseUnk = fuseUnk
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        var bids = [Int32](repeating: -1, count: 256)
        for b in 0..<256 {
            let name = String(format: "<0x%02X>", b)
            bids[b] = vocab.id(TokUTF8.scalars(name)) ?? -1
        }
        byteIDs = bids
        var cids = [Int32](repeating: -1, count: 0x3000)
        for c in 0..<0x3000 { cids[c] = vocab.table.value([UInt32(c)]) ?? -1 }
        charIDs = cids
    }

    @inline(__always) private func charID(_ c: UInt32) -> Int32 {
        c < 0x3000 ? charIDs[Int(c)] : (vocab.table.value([c]) ?? -1)
    }

    var vocabCount: Int { vocab.count }
    var maxID: Int { vocab.maxID }
    func id(of token: [UInt32]) -> Int? { vocab.id(token).map(Int.init) }
    func token(_ id: Int) -> String? { id >= 0 && id < vocab.strings.count ? vocab.strings[id] : nil }

    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ state: inout TokModelState, _ out: inout [Int32]) {
        let n = word.count
        guard n > 0, let base = word.baseAddress else { return }
        if ignoreMerges, let id = vocab.table.value(base, n) {
            out.append(id)
            return
        }
        if n > Self.segmentAbove, let bigrams = bigrams() {
            // Long words (no pre-tokenizer): merge the independent segments one by one.
            var start = 0
            var prevID = charID(word[0])
            for i in 1..<n {
                let id = charID(word[i])
                if id >= 0 && prevID >= 0 && bigrams.get(UInt64(word[i - 1]) << 32 | UInt64(word[i])) == nil {
                    tokenizeSegment(UnsafeBufferPointer(rebasing: word[start..<i]), &state, &out)
                    start = i
                }
                prevID = id
            }
            tokenizeSegment(UnsafeBufferPointer(rebasing: word[start..<n]), &state, &out)
            return
        }
        tokenizeSegment(word, &state, &out)
    }

    /// BPE of a word (or of an independent segment of one), through the cache.
    private func tokenizeSegment(_ word: UnsafeBufferPointer<UInt32>, _ state: inout TokModelState, _ out: inout [Int32]) {
        let n = word.count
        guard n > 0, let base = word.baseAddress else { return }
        if state.cached(base, n, into: &out) { return }
        let before = out.count
        buildSymbols(word, &state.scratch)
        mergeAll(&state.scratch)
        let count = state.scratch.ids.count
        state.scratch.ids.withUnsafeBufferPointer { ids in
            state.scratch.lens.withUnsafeBufferPointer { lens in
                for k in 0..<count where lens[k] != 0 { out.append(ids[k]) }
            }
        }
        state.store(word, out[before...])
    }

    /// `BPE::merge_word` before merging: one symbol per character (or its byte-fallback tokens,
    /// or unk, possibly fused).
    private func buildSymbols(_ w: UnsafeBufferPointer<UInt32>, _ sc: inout TokBPEScratch) {
        sc.ids.removeAll(keepingCapacity: true)
        sc.lens.removeAll(keepingCapacity: true)
        let n = w.count
        var unkPending = false
        var unkPendingID: Int32 = 0
        var unkPendingLen: Int32 = 0
        let simple = prefix == nil && suffix == nil
        charIDs.withUnsafeBufferPointer { charIDs in
            for i in 0..<n {
                let c = w[i]
                let byteLen = Int32(TokUTF8.length(c))
                let usePrefix = !simple && i > 0 && prefix != nil
                let useSuffix = !simple && i == n - 1 && suffix != nil
                var id: Int32 = -1
                if !usePrefix && !useSuffix {
                    id = c < 0x3000 ? charIDs[Int(c)] : (vocab.table.value([c]) ?? -1)
                } else {
                    sc.key.removeAll(keepingCapacity: true)
                    if usePrefix, let prefix { sc.key.append(contentsOf: prefix) }
                    sc.key.append(c)
                    if useSuffix, let suffix { sc.key.append(contentsOf: suffix) }
                    id = vocab.table.value(sc.key) ?? -1
                }
                if id >= 0 {
                    if unkPending { sc.ids.append(unkPendingID); sc.lens.append(unkPendingLen); unkPending = false }
                    sc.ids.append(id)
                    sc.lens.append(byteLen)
                    continue
                }
                if byteFallback {
                    // The bytes of the whole symbol string, prefix and suffix included.
                    sc.bytes.removeAll(keepingCapacity: true)
                    if usePrefix, let prefix { for p in prefix { TokUTF8.appendUTF8(p, to: &sc.bytes) } }
                    TokUTF8.appendUTF8(c, to: &sc.bytes)
                    if useSuffix, let suffix { for x in suffix { TokUTF8.appendUTF8(x, to: &sc.bytes) } }
                    if sc.bytes.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                        for b in sc.bytes { sc.ids.append(byteIDs[Int(b)]); sc.lens.append(1) }
                        continue
                    }
                }
                if let unkID {
                    if unkPending {
                        if fuseUnk {
                            unkPendingLen += byteLen
                        } else {
                            sc.ids.append(unkPendingID); sc.lens.append(unkPendingLen)
                            unkPendingID = unkID; unkPendingLen = byteLen
                        }
                    } else {
                        unkPending = true
                        unkPendingID = unkID
                        unkPendingLen = byteLen
                    }
                }
            }
        }
        if unkPending { sc.ids.append(unkPendingID); sc.lens.append(unkPendingLen) }
    }

    /// `Word::merge_all`: a min-heap of (rank, position) over adjacent pairs, lowest rank first,
    /// leftmost on ties; stale entries are skipped.
    private func mergeAll(_ sc: inout TokBPEScratch) {
        let n = sc.ids.count
        if n < 2 { return }
        sc.prev.removeAll(keepingCapacity: true)
        sc.next.removeAll(keepingCapacity: true)
        for k in 0..<n {
            sc.prev.append(Int32(k - 1))
            sc.next.append(k + 1 < n ? Int32(k + 1) : -1)
        }
        var heap = TokMinHeap(storage: sc.heap)
        sc.heap = []
        let merges = self.merges
        @inline(__always) func key(_ a: Int32, _ b: Int32) -> UInt64 {
            UInt64(UInt32(bitPattern: a)) << 32 | UInt64(UInt32(bitPattern: b))
        }
        sc.ids.withUnsafeMutableBufferPointer { ids in
        sc.lens.withUnsafeMutableBufferPointer { lens in
        sc.prev.withUnsafeMutableBufferPointer { prev in
        sc.next.withUnsafeMutableBufferPointer { next in
            for k in 0..<(n - 1) {
                if let m = merges.get(key(ids[k], ids[k + 1])) {
                    heap.push((m >> 32) << 32 | UInt64(k))
                }
            }
            while let top = heap.pop() {
                let rank = top >> 32
                let pos = Int(top & 0xFFFF_FFFF)
                if lens[pos] == 0 { continue }
                let nx = Int(next[pos])
                if nx < 0 { continue }
                guard let m = merges.get(key(ids[pos], ids[nx])), m >> 32 == rank else { continue }
                let newID = Int32(bitPattern: UInt32(m & 0xFFFF_FFFF))
                // Merge the right symbol into this one.
                ids[pos] = newID
                lens[pos] += lens[nx]
                next[pos] = next[nx]
                lens[nx] = 0
                let nn = Int(next[pos])
                if nn >= 0 { prev[nn] = Int32(pos) }
                let pv = Int(prev[pos])
                if pv >= 0, let m2 = merges.get(key(ids[pv], newID)) {
                    heap.push((m2 >> 32) << 32 | UInt64(pv))
                }
                if nn >= 0, let m3 = merges.get(key(newID, ids[nn])) {
                    heap.push((m3 >> 32) << 32 | UInt64(pos))
                }
            }
        }}}}
        sc.heap = heap.storage
    }
}

/// Scratch buffers of one BPE word.
struct TokBPEScratch {
    var ids: [Int32] = []
    var lens: [Int32] = []
    var prev: [Int32] = []
    var next: [Int32] = []
    var heap: [UInt64] = []
    var key: [UInt32] = []
    var bytes: [UInt8] = []
}

/// A binary min-heap of UInt64.
struct TokMinHeap {
    var storage: [UInt64]

    init(storage: [UInt64]) {
        self.storage = storage
        self.storage.removeAll(keepingCapacity: true)
    }

    mutating func push(_ v: UInt64) {
        storage.append(v)
        storage.withUnsafeMutableBufferPointer { h in
            var i = h.count - 1
            while i > 0 {
                let parent = (i - 1) >> 1
                let pv = h[parent]
                if pv <= v { break }
                h[i] = pv
                i = parent
            }
            h[i] = v
        }
    }

    mutating func pop() -> UInt64? {
        guard let last = storage.popLast() else { return nil }
        if storage.isEmpty { return last }
        return storage.withUnsafeMutableBufferPointer { h -> UInt64 in
            let top = h[0]
            let n = h.count
            var i = 0
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                let r = l + 1
                var c = l
                var cv = h[l]
                if r < n {
                    let rv = h[r]
                    if rv < cv { c = r; cv = rv }
                }
                if cv >= last { break }
                h[i] = cv
                i = c
            }
            h[i] = last
            return top
        }
    }
}

// MARK: - WordLevel

final class TokWordLevel: TokModel {
    let vocab: TokVocab
    let unkID: Int32?

    init(vocab: TokVocab, unkToken: String?) {
        self.vocab = vocab
        unkID = unkToken.flatMap { vocab.id(TokUTF8.scalars($0)) }
    }

    var vocabCount: Int { vocab.count }
    var maxID: Int { vocab.maxID }
    func id(of token: [UInt32]) -> Int? { vocab.id(token).map(Int.init) }
    func token(_ id: Int) -> String? { id >= 0 && id < vocab.strings.count ? vocab.strings[id] : nil }

    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ state: inout TokModelState, _ out: inout [Int32]) {
        if let id = vocab.table.value(word.baseAddress, word.count) {
            out.append(id)
        } else if let unkID {
            out.append(unkID)
        }
    }
}

// MARK: - WordPiece

final class TokWordPiece: TokModel {
    let vocab: TokVocab
    let unkID: Int32?
    let prefix: [UInt32]
    let maxChars: Int

    init(vocab: TokVocab, unkToken: String, prefix: String, maxChars: Int) {
        self.vocab = vocab
        unkID = vocab.id(TokUTF8.scalars(unkToken))
        self.prefix = TokUTF8.scalars(prefix)
        self.maxChars = maxChars
    }

    var vocabCount: Int { vocab.count }
    var maxID: Int { vocab.maxID }
    func id(of token: [UInt32]) -> Int? { vocab.id(token).map(Int.init) }
    func token(_ id: Int) -> String? { id >= 0 && id < vocab.strings.count ? vocab.strings[id] : nil }

    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ state: inout TokModelState, _ out: inout [Int32]) {
        let n = word.count
        if n > maxChars {
            if let unkID { out.append(unkID) }
            return
        }
        var pieces: [Int32] = []
        var start = 0
        while start < n {
            var end = n
            var found: Int32 = -1
            while start < end {
                state.scratch.key.removeAll(keepingCapacity: true)
                if start > 0 { state.scratch.key.append(contentsOf: prefix) }
                state.scratch.key.append(contentsOf: word[start..<end])
                if let id = vocab.table.value(state.scratch.key) { found = id; break }
                end -= 1
            }
            if found < 0 {
                if let unkID { out.append(unkID) }
                return
            }
            pieces.append(found)
            start = end
        }
        out.append(contentsOf: pieces)
    }
}
