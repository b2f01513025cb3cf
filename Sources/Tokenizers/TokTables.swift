/// An open-addressing hash map from scalar sequences to Int32 values, with the keys stored in
/// one arena so that a lookup by a buffer slice allocates nothing.
struct TokSeqTable {
    private(set) var arena: [UInt32] = []
    private(set) var keyStart: [Int32] = []
    private(set) var keyLength: [Int32] = []
    private(set) var values: [Int32] = []
    private var hashes: [UInt32] = []
    private var slots: [Int32]
    private var mask: Int

    init(capacity: Int = 16) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        slots = [Int32](repeating: -1, count: cap)
        mask = cap - 1
    }

    var count: Int { values.count }

    @inline(__always) static func hash(_ p: UnsafePointer<UInt32>?, _ n: Int) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
        var k = 0
        while k < n {
            h = (h ^ UInt64(p.unsafelyUnwrapped[k])) &* 0x100_0000_01B3
            h ^= h >> 29
            k += 1
        }
        h ^= h >> 32
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        return h
    }

    /// The entry index of a key, or -1.
    @inline(__always) func find(_ p: UnsafePointer<UInt32>?, _ n: Int) -> Int {
        let h = Self.hash(p, n)
        let h32 = UInt32(truncatingIfNeeded: h)
        return slots.withUnsafeBufferPointer { sl in
            arena.withUnsafeBufferPointer { ar in
                var i = Int(truncatingIfNeeded: h) & mask
                while true {
                    let e = Int(sl[i])
                    if e < 0 { return -1 }
                    if hashes[e] == h32 && Int(keyLength[e]) == n {
                        let st = Int(keyStart[e])
                        var k = 0
                        while k < n && ar[st + k] == p.unsafelyUnwrapped[k] { k += 1 }
                        if k == n { return e }
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    @inline(__always) func value(_ p: UnsafePointer<UInt32>?, _ n: Int) -> Int32? {
        let e = find(p, n)
        return e < 0 ? nil : values[e]
    }

    func value(_ key: [UInt32]) -> Int32? {
        key.withUnsafeBufferPointer { b in value(b.baseAddress, b.count) }
    }

    /// Inserts or overwrites (the last value for a key wins, like a map built from a list).
    mutating func set(_ key: UnsafeBufferPointer<UInt32>, _ value: Int32) {
        let base = key.baseAddress
        let n = key.count
        let e = find(base, n)
        if e >= 0 { values[e] = value; return }
        if (values.count + 1) * 2 > slots.count { grow() }
        let h = Self.hash(base, n)
        keyStart.append(Int32(arena.count))
        keyLength.append(Int32(n))
        arena.append(contentsOf: key)
        values.append(value)
        hashes.append(UInt32(truncatingIfNeeded: h))
        place(values.count - 1, h)
    }

    mutating func set(_ key: [UInt32], _ value: Int32) {
        key.withUnsafeBufferPointer { set($0, value) }
    }

    private mutating func place(_ entry: Int, _ h: UInt64) {
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(entry)
    }

    private mutating func grow() {
        let cap = slots.count * 2
        slots = [Int32](repeating: -1, count: cap)
        mask = cap - 1
        for e in 0..<values.count {
            let st = Int(keyStart[e])
            let n = Int(keyLength[e])
            let h = arena.withUnsafeBufferPointer { ar -> UInt64 in
                Self.hash(n == 0 ? nil : ar.baseAddress.map { $0 + st }, n)
            }
            place(e, h)
        }
    }

    /// The key of an entry.
    func key(_ e: Int) -> ArraySlice<UInt32> {
        let st = Int(keyStart[e])
        return arena[st..<(st + Int(keyLength[e]))]
    }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        keyStart.removeAll(keepingCapacity: true)
        keyLength.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        hashes.removeAll(keepingCapacity: true)
        for i in 0..<slots.count { slots[i] = -1 }
    }
}

/// An open-addressing hash map from UInt64 keys (a pair of ids) to UInt64 values.
struct TokPairTable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private var mask: Int
    private(set) var count = 0
    private static let empty = UInt64.max

    init(capacity: Int) {
        var cap = 16
        while cap < capacity * 2 { cap <<= 1 }
        keys = [UInt64](repeating: Self.empty, count: cap)
        vals = [UInt64](repeating: 0, count: cap)
        mask = cap - 1
    }

    @inline(__always) static func slot(_ key: UInt64, _ mask: Int) -> Int {
        var h = key &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 32
        return Int(truncatingIfNeeded: h) & mask
    }

    @inline(__always) func get(_ key: UInt64) -> UInt64? {
        keys.withUnsafeBufferPointer { kp in
            var i = Self.slot(key, mask)
            while true {
                let k = kp[i]
                if k == key { return vals[i] }
                if k == Self.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }

    mutating func set(_ key: UInt64, _ value: UInt64) {
        if (count + 1) * 2 > keys.count { grow() }
        var i = Self.slot(key, mask)
        while true {
            if keys[i] == key { vals[i] = value; return }
            if keys[i] == Self.empty {
                keys[i] = key; vals[i] = value; count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let oldK = keys, oldV = vals
        let cap = keys.count * 2
        keys = [UInt64](repeating: Self.empty, count: cap)
        vals = [UInt64](repeating: 0, count: cap)
        mask = cap - 1
        count = 0
        for (k, v) in zip(oldK, oldV) where k != Self.empty { set(k, v) }
    }
}
