import Foundation

/// Reusable per-call state for the models: BPE scratch buffers and the word cache.
final class TokModelContext {
    // BPE symbols of the word being merged.
    var symID: [Int32] = []
    var symLen: [Int32] = []
    var symPrev: [Int32] = []
    var symNext: [Int32] = []
    var heap: [UInt64] = []
    var key: [UInt32] = []
    var bytes: [UInt8] = []

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

    func store(_ word: UnsafeBufferPointer<UInt32>, _ ids: ArraySlice<Int32>) {
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
    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ ctx: TokModelContext, _ out: inout [Int32])
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
    let mergeCount: Int

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
        mergeCount = merges.count
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

    var vocabCount: Int { vocab.count }
    var maxID: Int { vocab.maxID }
    func id(of token: [UInt32]) -> Int? { vocab.id(token).map(Int.init) }
    func token(_ id: Int) -> String? { id >= 0 && id < vocab.strings.count ? vocab.strings[id] : nil }

    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ ctx: TokModelContext, _ out: inout [Int32]) {
        let n = word.count
        guard n > 0, let base = word.baseAddress else { return }
        if ignoreMerges, let id = vocab.table.value(base, n) {
            out.append(id)
            return
        }
        if ctx.cached(base, n, into: &out) { return }
        let before = out.count
        buildSymbols(word, ctx)
        mergeAll(ctx)
        for k in 0..<ctx.symID.count where ctx.symLen[k] != 0 { out.append(ctx.symID[k]) }
        ctx.store(word, out[before...])
    }

    @inline(__always) private func addSymbol(_ ctx: TokModelContext, _ id: Int32, _ len: Int32) {
        ctx.symID.append(id)
        ctx.symLen.append(len)
    }

    /// `BPE::merge_word` before merging: one symbol per character (or its byte-fallback tokens,
    /// or unk, possibly fused).
    private func buildSymbols(_ w: UnsafeBufferPointer<UInt32>, _ ctx: TokModelContext) {
        ctx.symID.removeAll(keepingCapacity: true)
        ctx.symLen.removeAll(keepingCapacity: true)
        let n = w.count
        var unkPending = false
        var unkPendingID: Int32 = 0
        var unkPendingLen: Int32 = 0
        for i in 0..<n {
            let c = w[i]
            let isFirst = i == 0, isLast = i == n - 1
            let byteLen = Int32(TokUTF8.length(c))
            let usePrefix = !isFirst && prefix != nil
            let useSuffix = isLast && suffix != nil
            var id: Int32 = -1
            if !usePrefix && !useSuffix {
                id = c < 0x3000 ? charIDs[Int(c)] : (vocab.table.value([c]) ?? -1)
            } else {
                ctx.key.removeAll(keepingCapacity: true)
                if usePrefix, let prefix { ctx.key.append(contentsOf: prefix) }
                ctx.key.append(c)
                if useSuffix, let suffix { ctx.key.append(contentsOf: suffix) }
                id = vocab.table.value(ctx.key) ?? -1
            }
            if id >= 0 {
                if unkPending { addSymbol(ctx, unkPendingID, unkPendingLen); unkPending = false }
                addSymbol(ctx, id, byteLen)
                continue
            }
            if byteFallback {
                // The bytes of the whole symbol string, prefix and suffix included.
                ctx.bytes.removeAll(keepingCapacity: true)
                if usePrefix, let prefix { for p in prefix { TokUTF8.appendUTF8(p, to: &ctx.bytes) } }
                TokUTF8.appendUTF8(c, to: &ctx.bytes)
                if useSuffix, let suffix { for s in suffix { TokUTF8.appendUTF8(s, to: &ctx.bytes) } }
                if ctx.bytes.allSatisfy({ byteIDs[Int($0)] >= 0 }) {
                    for b in ctx.bytes { addSymbol(ctx, byteIDs[Int(b)], 1) }
                    continue
                }
            }
            if let unkID {
                if unkPending {
                    if fuseUnk {
                        unkPendingLen += byteLen
                    } else {
                        addSymbol(ctx, unkPendingID, unkPendingLen)
                        unkPendingID = unkID; unkPendingLen = byteLen
                    }
                } else {
                    unkPending = true
                    unkPendingID = unkID
                    unkPendingLen = byteLen
                }
            }
        }
        if unkPending { addSymbol(ctx, unkPendingID, unkPendingLen) }
    }

    /// `Word::merge_all`: a min-heap of (rank, position) over adjacent pairs, lowest rank first,
    /// leftmost on ties; stale entries are skipped.
    private func mergeAll(_ ctx: TokModelContext) {
        let n = ctx.symID.count
        if n < 2 { return }
        ctx.symPrev.removeAll(keepingCapacity: true)
        ctx.symNext.removeAll(keepingCapacity: true)
        for k in 0..<n {
            ctx.symPrev.append(Int32(k - 1))
            ctx.symNext.append(k + 1 < n ? Int32(k + 1) : -1)
        }
        ctx.heap.removeAll(keepingCapacity: true)
        let merges = self.merges
        ctx.symID.withUnsafeMutableBufferPointer { ids in
        ctx.symLen.withUnsafeMutableBufferPointer { lens in
        ctx.symPrev.withUnsafeMutableBufferPointer { prev in
        ctx.symNext.withUnsafeMutableBufferPointer { next in
            var heap = TokMinHeap(storage: ctx.heap)
            for k in 0..<(n - 1) {
                if let m = merges.get(UInt64(UInt32(bitPattern: ids[k])) << 32 | UInt64(UInt32(bitPattern: ids[k + 1]))) {
                    heap.push((m >> 32) << 32 | UInt64(k))
                }
            }
            while let top = heap.pop() {
                let rank = top >> 32
                let pos = Int(top & 0xFFFF_FFFF)
                if lens[pos] == 0 { continue }
                let nx = Int(next[pos])
                if nx < 0 { continue }
                guard let m = merges.get(UInt64(UInt32(bitPattern: ids[pos])) << 32 | UInt64(UInt32(bitPattern: ids[nx]))),
                      m >> 32 == rank else { continue }
                let newID = Int32(bitPattern: UInt32(m & 0xFFFF_FFFF))
                // Merge the right symbol into this one.
                ids[pos] = newID
                lens[pos] += lens[nx]
                next[pos] = next[nx]
                lens[nx] = 0
                let nn = Int(next[pos])
                if nn >= 0 { prev[nn] = Int32(pos) }
                let pv = Int(prev[pos])
                if pv >= 0, let m2 = merges.get(UInt64(UInt32(bitPattern: ids[pv])) << 32 | UInt64(UInt32(bitPattern: newID))) {
                    heap.push((m2 >> 32) << 32 | UInt64(pv))
                }
                if nn >= 0, let m3 = merges.get(UInt64(UInt32(bitPattern: newID)) << 32 | UInt64(UInt32(bitPattern: ids[nn]))) {
                    heap.push((m3 >> 32) << 32 | UInt64(pos))
                }
            }
            ctx.heap = heap.storage
        }}}}
    }
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
        var i = storage.count - 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if storage[parent] <= v { break }
            storage[i] = storage[parent]
            i = parent
        }
        storage[i] = v
    }

    mutating func pop() -> UInt64? {
        guard let last = storage.popLast() else { return nil }
        if storage.isEmpty { return last }
        let top = storage[0]
        let n = storage.count
        var i = 0
        while true {
            let l = 2 * i + 1
            if l >= n { break }
            let r = l + 1
            let c = (r < n && storage[r] < storage[l]) ? r : l
            if storage[c] >= last { break }
            storage[i] = storage[c]
            i = c
        }
        storage[i] = last
        return top
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

    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ ctx: TokModelContext, _ out: inout [Int32]) {
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

    func tokenize(_ word: UnsafeBufferPointer<UInt32>, _ ctx: TokModelContext, _ out: inout [Int32]) {
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
                ctx.key.removeAll(keepingCapacity: true)
                if start > 0 { ctx.key.append(contentsOf: prefix) }
                ctx.key.append(contentsOf: word[start..<end])
                if let id = vocab.table.value(ctx.key) { found = id; break }
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
