import Foundation

/// A backtracking regex engine over Unicode scalars for the subset of Oniguruma (Ruby syntax)
/// that tokenizer.json files use: leftmost match, alternatives tried in order, greedy / lazy /
/// possessive quantifiers, lookahead, fixed-length lookbehind, atomic groups, `(?i:...)`,
/// classes with `\p{..}` general categories, and Oniguruma's Unicode meanings of `\s` (White_Space),
/// `\d` (Nd), `\w` (L, M, N, Pc). `^`/`$` are line anchors, `.` excludes `\n` (Ruby).
final class TokRegex: @unchecked Sendable {
    let pattern: String
    fileprivate var insts: [RInst] = []
    fileprivate var classes: [RClass] = []
    fileprivate var ranges: [UInt32] = []
    fileprivate var prefilters: [RFirst] = []
    fileprivate var topPrefilter: Int32 = -1
    fileprivate var registerCount = 0

    struct CompileError: Error { let message: String }

    init(_ pattern: String) throws {
        self.pattern = pattern
        var parser = RParser(pattern: TokUTF8.scalars(pattern))
        let node = try parser.parseAll()
        classes = parser.classes
        ranges = parser.ranges
        var compiler = RCompiler(classes: classes)
        try compiler.emit(node)
        compiler.add(RInst(op: ROp.match))
        insts = compiler.insts
        prefilters = compiler.prefilters
        registerCount = compiler.registers
        let f = compiler.first(node)
        if !f.nullable && !f.unknown {
            prefilters.append(f)
            topPrefilter = Int32(prefilters.count - 1)
        }
    }

    /// All non-overlapping matches in `s`, as Rust's `onig` `find_iter` reports them: an empty
    /// match right where the previous match ended is skipped.
    func findAll(_ s: UnsafeBufferPointer<UInt32>, _ body: (Int, Int) -> Void) {
        withVM(s) { vm in
            let n = s.count
            var lastEnd = 0
            var lastMatchEnd = -1
            while lastEnd <= n {
                guard let (a, b) = vm.search(from: lastEnd) else { break }
                if a == b && lastMatchEnd == b {
                    lastEnd += 1
                    continue
                }
                lastEnd = b
                lastMatchEnd = b
                body(a, b)
            }
        }
    }

    /// The match spans in `s`, in order.
    func matches(_ s: UnsafeBufferPointer<UInt32>) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        findAll(s) { out.append(($0, $1)) }
        return out
    }

    private func withVM<R>(_ s: UnsafeBufferPointer<UInt32>, _ body: (inout RVM) -> R) -> R {
        insts.withUnsafeBufferPointer { ip in
            classes.withUnsafeBufferPointer { cp in
                ranges.withUnsafeBufferPointer { rp in
                    prefilters.withUnsafeBufferPointer { pp in
                        var vm = RVM(insts: ip, classes: cp, ranges: rp, prefilters: pp, s: s,
                                     topPrefilter: Int(topPrefilter), registers: registerCount)
                        defer { vm.release() }
                        return body(&vm)
                    }
                }
            }
        }
    }
}

// MARK: - Program

enum ROp {
    static let char: UInt8 = 0
    static let cls: UInt8 = 1
    static let split: UInt8 = 3
    static let jmp: UInt8 = 4
    static let match: UInt8 = 5
    static let rep: UInt8 = 6
    static let repLazy: UInt8 = 7
    static let repPossessive: UInt8 = 8
    static let look: UInt8 = 9
    static let atomic: UInt8 = 10
    static let assert: UInt8 = 11
    static let mark: UInt8 = 12
    static let check: UInt8 = 13
    static let guardSplit: UInt8 = 14
    static let guardOnly: UInt8 = 15
}

struct RInst {
    var op: UInt8
    var a: Int32 = 0
    var b: Int32 = 0
    var c: Int32 = 0
}

enum RAssert: Int32 {
    case lineStart = 0, lineEnd, textStart, textEnd, textEndNewline, wordBoundary, notWordBoundary, searchStart
}

struct RClass {
    static let space: UInt8 = 1, notSpace: UInt8 = 2, alpha: UInt8 = 4, notAlpha: UInt8 = 8
    static let word: UInt8 = 16, notWord: UInt8 = 32

    /// Oniguruma's Unicode word characters: Alphabetic, M, Nd, Pc.
    @inline(__always) static func isWordProps(_ p: UInt8) -> Bool {
        if p & TokUnicodeProps.alphabeticBit != 0 { return true }
        let cat = p & 31
        return cat == TokCat.Mn || cat == TokCat.Mc || cat == TokCat.Me || cat == TokCat.Nd || cat == TokCat.Pc
    }

    /// ¹ ² ³ ¼ ½ ¾: word characters for a standalone `\w` / `\b` (Oniguruma's ISO-8859-1 ctype
    /// table for code points below 256) but not inside a class (which uses the Unicode tables).
    static let latin1WordExtras: [(UInt32, UInt32)] = [(0xB2, 0xB3), (0xB9, 0xB9), (0xBC, 0xBE)]

    var negated = false
    var flags: UInt8 = 0
    var cats: UInt32 = 0
    var rangeStart: Int32 = 0
    var rangeCount: Int32 = 0   // number of (lo, hi) pairs in the arena
    var lo: UInt64 = 0          // membership of scalars 0..<64 (negation applied)
    var hi: UInt64 = 0          // membership of scalars 64..<128
    var asciiOnly = false       // never matches a scalar >= 128
}

/// What can start a match of a sub-pattern.
struct RFirst {
    var lo: UInt64 = 0
    var hi: UInt64 = 0
    var nonASCII = false
    var nullable = false
    var unknown = false

    mutating func formUnion(_ o: RFirst) {
        lo |= o.lo; hi |= o.hi
        nonASCII = nonASCII || o.nonASCII
        unknown = unknown || o.unknown
    }
}

indirect enum RNode {
    case empty
    case char(UInt32)
    case cls(Int)
    case seq([RNode])
    case alt([RNode])
    case rep(RNode, Int, Int, RQuant)   // max < 0: unbounded
    case atomic(RNode)
    case look(RNode, ahead: Bool, negative: Bool, length: Int)
    case assert(RAssert)
}

enum RQuant { case greedy, lazy, possessive }

// MARK: - Matching

struct RBT {
    var pc: Int32
    var pos: Int32
    var aux: Int32
    var kind: Int32   // 0 resume, 1 greedy repeat give-back, 2 lazy repeat take-one-more, 3 register restore
}

struct RVM {
    let insts: UnsafeBufferPointer<RInst>
    let classes: UnsafeBufferPointer<RClass>
    let ranges: UnsafeBufferPointer<UInt32>
    let prefilters: UnsafeBufferPointer<RFirst>
    let s: UnsafeBufferPointer<UInt32>
    let n: Int
    let topPrefilter: Int
    let props = TokUnicodeProps.shared
    var stack: UnsafeMutablePointer<RBT>
    var capacity: Int
    var sp = 0
    var regs: [Int]
    var searchStart = 0
    /// Backtracks left for the match tried at `searchStart`. Like Oniguruma's retry limit (which
    /// the reference tokenizers' regex engine has), a pattern that backtracks without end on some
    /// text (nested unbounded repeats, as a damaged tokenizer.json may hold) gives up there and
    /// is taken as not matching at that position: never a hang. The budget grows with the text
    /// left; real pre-tokenizer patterns use a few backtracks per character.
    var retriesLeft = 0

    init(insts: UnsafeBufferPointer<RInst>, classes: UnsafeBufferPointer<RClass>, ranges: UnsafeBufferPointer<UInt32>,
         prefilters: UnsafeBufferPointer<RFirst>, s: UnsafeBufferPointer<UInt32>, topPrefilter: Int, registers: Int) {
        self.insts = insts
        self.classes = classes
        self.ranges = ranges
        self.prefilters = prefilters
        self.s = s
        self.n = s.count
        self.topPrefilter = topPrefilter
        capacity = 64
        stack = UnsafeMutablePointer<RBT>.allocate(capacity: capacity)
        regs = [Int](repeating: -1, count: max(registers, 1))
    }

    func release() { stack.deallocate() }

    @inline(__always) mutating func push(_ e: RBT) {
        if sp == capacity {
            let bigger = UnsafeMutablePointer<RBT>.allocate(capacity: capacity * 2)
            bigger.moveInitialize(from: stack, count: sp)
            stack.deallocate()
            stack = bigger
            capacity *= 2
        }
        stack[sp] = e
        sp += 1
    }

    @inline(__always) func inClass(_ k: Int, _ c: UInt32) -> Bool {
        let cl = classes[k]
        if c < 64 { return (cl.lo >> UInt64(c)) & 1 != 0 }
        if c < 128 { return (cl.hi >> UInt64(c - 64)) & 1 != 0 }
        if cl.asciiOnly { return false }
        return slowInClass(cl, c)
    }

    func slowInClass(_ cl: RClass, _ c: UInt32) -> Bool {
        RClassEval.contains(cl, c, ranges, props)
    }

    @inline(__always) func mayStart(_ k: Int, _ pos: Int) -> Bool {
        if pos >= n { return false }
        let c = s[pos]
        let f = prefilters[k]
        if c < 64 { return (f.lo >> UInt64(c)) & 1 != 0 }
        if c < 128 { return (f.hi >> UInt64(c - 64)) & 1 != 0 }
        return f.nonASCII
    }

    func isWord(_ c: UInt32) -> Bool {
        if c < 128 {
            return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
        }
        if c == 0xB2 || c == 0xB3 || c == 0xB9 || (c >= 0xBC && c <= 0xBE) { return true }
        return RClass.isWordProps(props.props(c))
    }

    func checkAssert(_ kind: Int32, _ pos: Int) -> Bool {
        switch RAssert(rawValue: kind) ?? .textStart {
        case .lineStart: return pos == 0 || (s[pos - 1] == 0x0A && pos != n)
        case .lineEnd: return pos == n || s[pos] == 0x0A
        case .textStart: return pos == 0
        case .textEnd: return pos == n
        case .textEndNewline: return pos == n || (pos == n - 1 && s[pos] == 0x0A)
        case .wordBoundary, .notWordBoundary:
            let a = pos > 0 && isWord(s[pos - 1])
            let b = pos < n && isWord(s[pos])
            return (a != b) == (kind == RAssert.wordBoundary.rawValue)
        case .searchStart: return pos == searchStart
        }
    }

    mutating func search(from start: Int) -> (Int, Int)? {
        searchStart = start
        var i = start
        while i <= n {
            if topPrefilter >= 0 && !mayStart(topPrefilter, i) {
                if i >= n { break }
                i += 1
                continue
            }
            retriesLeft = 10_000 + 64 * (n - i)
            let e = run(0, i)
            if e >= 0 { return (i, e) }
            i += 1
        }
        return nil
    }

    /// Runs the program from `startPC` at `startPos`; the end position of the first match found
    /// in priority order, or -1.
    mutating func run(_ startPC: Int, _ startPos: Int) -> Int {
        let base = sp
        var pc = startPC
        var pos = startPos
        while true {
            let ins = insts[pc]
            var ok = true
            switch ins.op {
            case ROp.char:
                if pos < n && s[pos] == UInt32(bitPattern: ins.a) { pos += 1; pc += 1 } else { ok = false }
            case ROp.cls:
                if pos < n && inClass(Int(ins.a), s[pos]) { pos += 1; pc += 1 } else { ok = false }
            case ROp.split:
                push(RBT(pc: ins.b, pos: Int32(pos), aux: 0, kind: 0))
                pc = Int(ins.a)
            case ROp.jmp:
                pc = Int(ins.a)
            case ROp.match:
                sp = base
                return pos
            case ROp.rep, ROp.repPossessive:
                let k = Int(ins.a)
                let mn = Int(ins.b)
                let room = n - pos
                let limit = pos + (ins.c < 0 ? room : min(Int(ins.c), room))
                var e = pos
                while e < limit && inClass(k, s[e]) { e += 1 }
                if e - pos < mn {
                    ok = false
                } else {
                    if ins.op == ROp.rep && e > pos + mn {
                        push(RBT(pc: Int32(pc + 1), pos: Int32(e), aux: Int32(pos + mn), kind: 1))
                    }
                    pos = e
                    pc += 1
                }
            case ROp.repLazy:
                let k = Int(ins.a)
                let mn = Int(ins.b)
                var e = pos
                while e < pos + mn && e < n && inClass(k, s[e]) { e += 1 }
                if e - pos < mn {
                    ok = false
                } else {
                    let remaining: Int32 = ins.c < 0 ? -1 : ins.c - ins.b
                    if remaining != 0 { push(RBT(pc: Int32(pc + 1), pos: Int32(e), aux: remaining, kind: 2)) }
                    pos = e
                    pc += 1
                }
            case ROp.look:
                var matched: Bool
                if ins.c < 0 {
                    matched = run(pc + 1, pos) >= 0
                } else if pos - Int(ins.c) < 0 {
                    matched = false
                } else {
                    matched = run(pc + 1, pos - Int(ins.c)) == pos
                }
                if ins.b & 1 != 0 { matched = !matched }
                if matched { pc = Int(ins.a) } else { ok = false }
            case ROp.atomic:
                let r = run(pc + 1, pos)
                if r >= 0 { pos = r; pc = Int(ins.a) } else { ok = false }
            case ROp.assert:
                if checkAssert(ins.a, pos) { pc += 1 } else { ok = false }
            case ROp.mark:
                let r = Int(ins.a)
                push(RBT(pc: 0, pos: Int32(regs[r]), aux: ins.a, kind: 3))
                regs[r] = pos
                pc += 1
            case ROp.check:
                // An iteration that matched nothing leaves the loop (Oniguruma's empty check).
                if pos == regs[Int(ins.a)] { pc = Int(ins.b) } else { pc += 1 }
            case ROp.guardSplit:
                if mayStart(Int(ins.c), pos) {
                    push(RBT(pc: ins.b, pos: Int32(pos), aux: 0, kind: 0))
                    pc = Int(ins.a)
                } else {
                    pc = Int(ins.b)
                }
            case ROp.guardOnly:
                if mayStart(Int(ins.c), pos) { pc += 1 } else { ok = false }
            default:
                ok = false
            }
            if ok { continue }
            // Backtrack.
            retriesLeft -= 1
            if retriesLeft < 0 {
                sp = base
                return -1
            }
            var resumed = false
            while sp > base {
                sp -= 1
                let e = stack[sp]
                switch e.kind {
                case 0:
                    pc = Int(e.pc); pos = Int(e.pos); resumed = true
                case 1:
                    let p = Int(e.pos) - 1
                    if p > Int(e.aux) { stack[sp].pos = Int32(p); sp += 1 }
                    pc = Int(e.pc); pos = p; resumed = true
                case 2:
                    let p = Int(e.pos)
                    let k = Int(insts[Int(e.pc) - 1].a)
                    if p < n && inClass(k, s[p]) {
                        let rem: Int32 = e.aux < 0 ? -1 : e.aux - 1
                        if rem != 0 { stack[sp] = RBT(pc: e.pc, pos: Int32(p + 1), aux: rem, kind: 2); sp += 1 }
                        pc = Int(e.pc); pos = p + 1; resumed = true
                    }
                default:
                    regs[Int(e.aux)] = Int(e.pos)
                }
                if resumed { break }
            }
            if !resumed {
                sp = base
                return -1
            }
        }
    }
}

enum RClassEval {
    static func contains(_ cl: RClass, _ c: UInt32, _ ranges: UnsafeBufferPointer<UInt32>, _ props: TokUnicodeProps) -> Bool {
        var m = false
        if cl.cats != 0 || cl.flags != 0 {
            let p = props.props(c)
            if (cl.cats >> UInt32(p & 31)) & 1 != 0 {
                m = true
            } else if cl.flags != 0 {
                let ws = p & TokUnicodeProps.whiteSpaceBit != 0
                let al = p & TokUnicodeProps.alphabeticBit != 0
                if (cl.flags & RClass.space != 0 && ws) || (cl.flags & RClass.notSpace != 0 && !ws)
                    || (cl.flags & RClass.alpha != 0 && al) || (cl.flags & RClass.notAlpha != 0 && !al) {
                    m = true
                } else if cl.flags & (RClass.word | RClass.notWord) != 0 {
                    let w = RClass.isWordProps(p)
                    if (cl.flags & RClass.word != 0 && w) || (cl.flags & RClass.notWord != 0 && !w) { m = true }
                }
            }
        }
        if !m && cl.rangeCount > 0 {
            var k = Int(cl.rangeStart)
            let end = k + 2 * Int(cl.rangeCount)
            while k < end {
                if c >= ranges[k] && c <= ranges[k + 1] { m = true; break }
                k += 2
            }
        }
        return m != cl.negated
    }
}

// MARK: - Parsing

/// A set of scalars under construction: the union of its items.
struct RSet {
    var cats: UInt32 = 0
    var flags: UInt8 = 0
    var ranges: [(UInt32, UInt32)] = []

    mutating func formUnion(_ o: RSet) {
        cats |= o.cats
        flags |= o.flags
        ranges.append(contentsOf: o.ranges)
    }

    /// The complement, when expressible as a union (one kind of item); nil otherwise.
    func complement() -> RSet? {
        let kinds = (cats != 0 ? 1 : 0) + (ranges.isEmpty ? 0 : 1) + flags.nonzeroBitCount
        if kinds > 1 { return nil }
        var r = RSet()
        if cats != 0 { r.cats = TokCat.all & ~cats }
        if flags & RClass.space != 0 { r.flags |= RClass.notSpace }
        if flags & RClass.notSpace != 0 { r.flags |= RClass.space }
        if flags & RClass.alpha != 0 { r.flags |= RClass.notAlpha }
        if flags & RClass.notAlpha != 0 { r.flags |= RClass.alpha }
        if flags & RClass.word != 0 { r.flags |= RClass.notWord }
        if flags & RClass.notWord != 0 { r.flags |= RClass.word }
        if !ranges.isEmpty {
            let sorted = ranges.sorted { $0.0 < $1.0 }
            var next: UInt32 = 0
            for (a, b) in sorted {
                if a > next { r.ranges.append((next, a - 1)) }
                if b + 1 > next { next = b + 1 }
            }
            if next <= 0x10FFFF { r.ranges.append((next, 0x10FFFF)) }
        }
        return r
    }
}

struct RFlags {
    var ignoreCase = false
    var dotAll = false
    var extended = false
}

struct RParser {
    let p: [UInt32]
    var i = 0
    var classes: [RClass] = []
    var ranges: [UInt32] = []

    init(pattern: [UInt32]) { p = pattern }

    typealias Err = TokRegex.CompileError

    func error(_ m: String) -> Err { Err(message: m) }

    mutating func parseAll() throws -> RNode {
        let node = try parseAlt(RFlags(), depth: 0)
        if i < p.count {
            throw error("unmatched ')' at position \(i)")
        }
        return node
    }

    @inline(__always) func peek(_ k: Int = 0) -> UInt32? { i + k < p.count ? p[i + k] : nil }

    mutating func parseAlt(_ flags: RFlags, depth: Int) throws -> RNode {
        if depth > 64 { throw error("pattern nested too deeply") }
        var alts: [RNode] = []
        var f = flags
        while true {
            let (node, ended) = try parseConcat(&f, depth: depth)
            alts.append(node)
            if ended { break }   // an isolated option consumed the rest of the group
            if let c = peek(), c == 0x7C /* | */ { i += 1; continue }
            break
        }
        return alts.count == 1 ? alts[0] : .alt(alts)
    }

    /// Returns the sequence and whether it consumed the rest of the enclosing group.
    mutating func parseConcat(_ flags: inout RFlags, depth: Int) throws -> (RNode, Bool) {
        var items: [RNode] = []
        while let c = peek() {
            if c == 0x7C || c == 0x29 { break }  // | )
            if flags.extended {
                if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0C || c == 0x0B { i += 1; continue }
                if c == 0x23 {  // # comment to end of line
                    while let d = peek(), d != 0x0A { i += 1 }
                    continue
                }
            }
            // Isolated option: (?imx-imx) applies to the rest of the group, alternatives included.
            if c == 0x28, peek(1) == 0x3F, let newFlags = try parseIsolatedOption(flags) {
                let rest = try parseAlt(newFlags, depth: depth + 1)
                items.append(rest)
                return (items.count == 1 ? items[0] : .seq(items), true)
            }
            var atom = try parseAtom(flags, depth: depth)
            atom = try parseQuantifiers(atom, flags)
            items.append(atom)
        }
        if items.isEmpty { return (.empty, false) }
        return (items.count == 1 ? items[0] : .seq(items), false)
    }

    /// If at `(?flags)` (no colon), consumes it and returns the new flags.
    mutating func parseIsolatedOption(_ flags: RFlags) throws -> RFlags? {
        var k = i + 2
        var f = flags
        var on = true
        while k < p.count {
            let c = p[k]
            switch c {
            case 0x69: f.ignoreCase = on       // i
            case 0x6D: f.dotAll = on           // m (Ruby: dot matches newline)
            case 0x78: f.extended = on         // x
            case 0x2D: on = false              // -
            case 0x29:                          // )
                if k == i + 2 { return nil }
                i = k + 1
                return f
            default:
                return nil
            }
            k += 1
        }
        return nil
    }

    mutating func parseQuantifiers(_ atomIn: RNode, _ flags: RFlags) throws -> RNode {
        var atom = atomIn
        while let c = peek() {
            var mn = 0, mx = -1
            var interval = false
            if c == 0x2A { mn = 0; mx = -1; i += 1 }        // *
            else if c == 0x2B { mn = 1; mx = -1; i += 1 }   // +
            else if c == 0x3F { mn = 0; mx = 1; i += 1 }    // ?
            else if c == 0x7B, let (a, b, len) = scanInterval() {  // {
                mn = a; mx = b; i += len; interval = true
            } else { break }
            if case .assert = atom { throw error("quantifier after an anchor") }
            var q = RQuant.greedy
            if let d = peek() {
                if d == 0x3F { q = .lazy; i += 1 }
                else if d == 0x2B && !interval { q = .possessive; i += 1 }
            }
            if mx >= 0 && mx < mn { throw error("bad repeat range {\(mn),\(mx)}") }
            if mn > 1000 || mx > 1000 { throw error("repeat count too large") }
            if RCompiler.nullable(atom) && RParser.containsAssert(atom) {
                // Oniguruma refuses most of these ("target of repeat operator is invalid") and
                // matches the rest in ways of its own.
                throw error("unsupported: a repeated group that can match just an anchor")
            }
            if case .char(let ch) = atom {
                // A repeated literal runs as a one-scalar class (the fast repeat instruction).
                var set = RSet()
                set.ranges = [(ch, ch)]
                atom = .cls(addClass(set, negated: false))
            }
            atom = RParser.quantify(atom, mn, mx, q)
        }
        return atom
    }

    /// Applies a quantifier the way Oniguruma does: a quantifier directly on a quantifier (through
    /// non-capturing groups) is rewritten by its `ReduceTypeTable`, which changes the order in
    /// which matches are tried (`(?:a??)+` becomes `a*?`).
    static func quantify(_ target: RNode, _ mn: Int, _ mx: Int, _ q: RQuant) -> RNode {
        guard case .rep(let body, let cmin, let cmax, let cq) = target, cq != .possessive else {
            return .rep(target, mn, mx, q)
        }
        let possessive = q == .possessive
        let pq: RQuant = possessive ? .greedy : q
        func typeNum(_ a: Int, _ b: Int, _ q: RQuant) -> Int {
            let base = q == .greedy ? 0 : 3
            if a == 0 && b == 1 { return base }
            if a == 0 && b < 0 { return base + 1 }
            if a == 1 && b < 0 { return base + 2 }
            return -1
        }
        let nestq = typeNum(mn, mx, pq)
        let targetq = typeNum(cmin, cmax, cq)
        var result: RNode
        if targetq >= 0 && nestq < 0 {
            // (?:a*){n,m} and (?:a+){n,m} become {n,n}.
            var pmx = mx
            if (targetq == 1 || targetq == 2) && mx > 1 && pq == .greedy { pmx = mn == 0 ? 1 : mn }
            result = .rep(target, mn, pmx, pq)
        } else if nestq < 0 || targetq < 0 {
            if mn == mx && mx >= 0 && cmin == cmax && cmax >= 0 && mn * cmin <= 100_000 {
                result = .rep(body, mn * cmin, mn * cmin, pq)
            } else {
                result = .rep(target, mn, mx, pq)
            }
        } else {
            // Rows: the inner quantifier; columns: the outer one; order ? * + ?? *? +?.
            enum R { case asis, del, a, aq, qq, pqq }
            let table: [[R]] = [
                [.del, .a, .a, .qq, .aq, .asis],
                [.del, .del, .del, .pqq, .pqq, .del],
                [.a, .a, .del, .asis, .pqq, .del],
                [.del, .aq, .aq, .del, .aq, .aq],
                [.del, .del, .del, .del, .del, .del],
                [.asis, .a, .asis, .aq, .aq, .del],
            ]
            switch table[targetq][nestq] {
            case .asis: result = .rep(target, mn, mx, pq)
            case .del: result = target
            case .a: result = .rep(body, 0, -1, .greedy)
            case .aq: result = .rep(body, 0, -1, .lazy)
            case .qq: result = .rep(body, 0, 1, .lazy)
            case .pqq: result = .rep(.rep(body, 1, -1, .greedy), 0, 1, .lazy)
            }
        }
        return possessive ? .atomic(result) : result
    }

    /// `{n}`, `{n,}`, `{n,m}`, `{,m}`: (min, max, length) or nil when not an interval (a literal brace).
    func scanInterval() -> (Int, Int, Int)? {
        var k = i + 1
        func number() -> Int? {
            var v = 0, digits = 0
            while k < p.count, p[k] >= 0x30, p[k] <= 0x39 { v = v * 10 + Int(p[k] - 0x30); k += 1; digits += 1; if v > 100000 { return nil } }
            return digits > 0 ? v : nil
        }
        let a = number()
        if k < p.count && p[k] == 0x7D {
            guard let a else { return nil }
            return (a, a, k + 1 - i)
        }
        guard k < p.count, p[k] == 0x2C else { return nil }
        k += 1
        let b = number()
        guard k < p.count, p[k] == 0x7D else { return nil }
        if a == nil && b == nil { return nil }
        return (a ?? 0, b ?? -1, k + 1 - i)
    }

    mutating func addClass(_ set: RSet, negated: Bool) -> Int {
        var cl = RClass()
        cl.negated = negated
        cl.cats = set.cats
        cl.flags = set.flags
        let sorted = set.ranges.sorted { $0.0 < $1.0 }
        var merged: [(UInt32, UInt32)] = []
        for r in sorted {
            if let last = merged.last, r.0 <= last.1 &+ 1 {
                merged[merged.count - 1].1 = max(last.1, r.1)
            } else {
                merged.append(r)
            }
        }
        cl.rangeStart = Int32(ranges.count)
        cl.rangeCount = Int32(merged.count)
        for (a, b) in merged { ranges.append(a); ranges.append(b) }
        ranges.withUnsafeBufferPointer { rp in
            for c in UInt32(0)..<128 where RClassEval.contains(cl, c, rp, TokUnicodeProps.shared) {
                if c < 64 { cl.lo |= 1 << UInt64(c) } else { cl.hi |= 1 << UInt64(c - 64) }
            }
        }
        cl.asciiOnly = !negated && set.cats == 0 && set.flags == 0 && merged.allSatisfy { $0.1 < 128 }
        classes.append(cl)
        return classes.count - 1
    }

    func caseClosed(_ set: RSet) -> RSet {
        var r = set
        for (a, b) in set.ranges where b >= a && b - a < 5000 {
            var c = a
            while c <= b {
                for v in TokChar.caseVariants(c) where v != c { r.ranges.append((v, v)) }
                c += 1
            }
        }
        // Letter-case categories fold into each other.
        let cased = TokCat.mask(TokCat.Lu, TokCat.Ll, TokCat.Lt)
        if set.cats & cased != 0 { r.cats |= cased }
        return r
    }

    mutating func literal(_ c: UInt32, _ flags: RFlags) -> RNode {
        if flags.ignoreCase {
            let vs = TokChar.caseVariants(c)
            if vs.count > 1 {
                var set = RSet()
                for v in vs { set.ranges.append((v, v)) }
                return .cls(addClass(set, negated: false))
            }
        }
        return .char(c)
    }

    mutating func parseAtom(_ flags: RFlags, depth: Int) throws -> RNode {
        guard let c = peek() else { throw error("unexpected end of pattern") }
        switch c {
        case 0x28:  // (
            return try parseGroup(flags, depth: depth)
        case 0x5B:  // [
            i += 1
            let (set, negated) = try parseClass(flags, depth: 0)
            if flags.ignoreCase { try checkCaseInsensitive(set) }
            return .cls(addClass(flags.ignoreCase ? caseClosed(set) : set, negated: negated))
        case 0x2E:  // .
            i += 1
            var set = RSet()
            if !flags.dotAll { set.ranges = [(0x0A, 0x0A)] }
            return .cls(addClass(set, negated: true))
        case 0x5E:  // ^
            i += 1
            return .assert(.lineStart)
        case 0x24:  // $
            i += 1
            return .assert(.lineEnd)
        case 0x5C:  // backslash
            i += 1
            guard let e = peek() else { throw error("trailing backslash") }
            switch e {
            case 0x41: i += 1; return .assert(.textStart)          // \A
            case 0x7A: i += 1; return .assert(.textEnd)            // \z
            case 0x5A: i += 1; return .assert(.textEndNewline)     // \Z
            case 0x62: i += 1; return .assert(.wordBoundary)       // \b
            case 0x42: i += 1; return .assert(.notWordBoundary)    // \B
            case 0x47: i += 1; return .assert(.searchStart)        // \G
            default: break
            }
            switch try parseEscape(inClass: false) {
            case .scalar(let v): return literal(v, flags)
            case .set(let set, let neg):
                if flags.ignoreCase { try checkCaseInsensitive(set) }
                return .cls(addClass(set, negated: neg))
            }
        case 0x2A, 0x2B, 0x3F:
            throw error("nothing to repeat at position \(i)")
        default:
            i += 1
            return literal(c, flags)
        }
    }

    mutating func parseGroup(_ flags: RFlags, depth: Int) throws -> RNode {
        i += 1  // (
        var f = flags
        var kind = 0  // 0 group, 1 atomic, 2 lookahead, 3 negative lookahead, 4 lookbehind, 5 negative lookbehind
        var enclosed = true  // a capture or option group: an Oniguruma node of its own
        if peek() == 0x3F {  // ?
            i += 1
            guard let d = peek() else { throw error("unterminated group") }
            switch d {
            case 0x3A: i += 1; enclosed = false                 // (?:
            case 0x3E: i += 1; kind = 1                         // (?>
            case 0x3D: i += 1; kind = 2                         // (?=
            case 0x21: i += 1; kind = 3                         // (?!
            case 0x3C:                                          // (?<
                if peek(1) == 0x3D { i += 2; kind = 4 }
                else if peek(1) == 0x21 { i += 2; kind = 5 }
                else {
                    // Named group (?<name>...): a plain group here.
                    i += 1
                    while let x = peek(), x != 0x3E { i += 1 }
                    guard peek() == 0x3E else { throw error("unterminated group name") }
                    i += 1
                }
            case 0x50 where peek(1) == 0x3C:                    // (?P<name>
                i += 2
                while let x = peek(), x != 0x3E { i += 1 }
                guard peek() == 0x3E else { throw error("unterminated group name") }
                i += 1
            case 0x27:                                          // (?'name'
                i += 1
                while let x = peek(), x != 0x27 { i += 1 }
                guard peek() == 0x27 else { throw error("unterminated group name") }
                i += 1
            case 0x23:                                          // (?# comment )
                while let x = peek(), x != 0x29 { i += 1 }
                guard peek() == 0x29 else { throw error("unterminated comment") }
                i += 1
                return .empty
            default:
                // Scoped options (?imx-imx:...)
                var on = true
                var sawColon = false
                while let x = peek() {
                    i += 1
                    if x == 0x69 { f.ignoreCase = on }
                    else if x == 0x6D { f.dotAll = on }
                    else if x == 0x78 { f.extended = on }
                    else if x == 0x2D { on = false }
                    else if x == 0x3A { sawColon = true; break }
                    else { throw error("unsupported group syntax (?\(String(Unicode.Scalar(x).map { Character($0) } ?? "?"))") }
                }
                if !sawColon { throw error("unsupported group syntax") }
            }
        }
        let body = try parseAlt(f, depth: depth + 1)
        guard peek() == 0x29 else { throw error("missing ')'") }
        i += 1
        switch kind {
        case 1: return .atomic(body)
        case 2: return .look(body, ahead: true, negative: false, length: -1)
        case 3: return .look(body, ahead: true, negative: true, length: -1)
        case 4, 5:
            let negative = kind == 5
            let branches: [RNode]
            if case .alt(let xs) = body { branches = xs } else { branches = [body] }
            var lens: [Int] = []
            for b in branches {
                guard let l = RParser.fixedLength(b) else { throw error("unsupported variable-length lookbehind") }
                lens.append(l)
            }
            if Set(lens).count == 1 {
                return .look(body, ahead: false, negative: negative, length: lens[0])
            }
            let looks = zip(branches, lens).map { RNode.look($0, ahead: false, negative: negative, length: $1) }
            return negative ? .seq(looks) : .alt(looks)
        default:
            return enclosed ? .seq([body]) : body
        }
    }

    static func containsAssert(_ n: RNode) -> Bool {
        switch n {
        case .assert: return true
        case .empty, .char, .cls, .look: return false
        case .seq(let xs), .alt(let xs): return xs.contains { containsAssert($0) }
        case .rep(let x, _, _, _), .atomic(let x): return containsAssert(x)
        }
    }

    /// Under `(?i)` Oniguruma case-folds bracket classes but not standalone escapes, and its
    /// matching of the case-sensitive categories Lu / Ll / Lt there is erratic: refused.
    func checkCaseInsensitive(_ set: RSet) throws {
        let cased = TokCat.mask(TokCat.Lu, TokCat.Ll, TokCat.Lt)
        let c = set.cats & cased
        if c != 0 && c != cased {
            throw error("unsupported: a Lu / Ll / Lt property under (?i)")
        }
    }

    static func fixedLength(_ n: RNode) -> Int? {
        switch n {
        case .empty, .assert, .look: return 0
        case .char, .cls: return 1
        case .seq(let xs):
            var t = 0
            for x in xs { guard let l = fixedLength(x) else { return nil }; t += l }
            return t
        case .alt(let xs):
            var l0: Int?
            for x in xs {
                guard let l = fixedLength(x) else { return nil }
                if let l0, l0 != l { return nil }
                l0 = l
            }
            return l0 ?? 0
        case .rep(let x, let mn, let mx, _):
            guard mn == mx, let l = fixedLength(x) else { return nil }
            return l * mn
        case .atomic(let x): return fixedLength(x)
        }
    }

    enum Escape {
        case scalar(UInt32)
        case set(RSet, Bool)  // set, negated
    }

    func hexDigit(_ c: UInt32) -> UInt32? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// After a backslash.
    mutating func parseEscape(inClass: Bool) throws -> Escape {
        guard let e = peek() else { throw error("trailing backslash") }
        i += 1
        func catSet(_ mask: UInt32) -> RSet { var s = RSet(); s.cats = mask; return s }
        // \w: a class uses the Unicode word property; a standalone \w also has the Latin-1 extras.
        var wordSet = RSet()
        wordSet.flags = RClass.word
        if !inClass { wordSet.ranges = RClass.latin1WordExtras }
        switch e {
        case 0x74: return .scalar(0x09)   // t
        case 0x6E: return .scalar(0x0A)   // n
        case 0x72: return .scalar(0x0D)   // r
        case 0x66: return .scalar(0x0C)   // f
        case 0x76: return .scalar(0x0B)   // v
        case 0x61: return .scalar(0x07)   // a
        case 0x65: return .scalar(0x1B)   // e
        case 0x73: var s = RSet(); s.flags = RClass.space; return .set(s, false)      // s
        case 0x53: var s = RSet(); s.flags = RClass.notSpace; return .set(s, false)   // S
        case 0x64: return .set(catSet(1 << UInt32(TokCat.Nd)), false)                // d
        case 0x44: return .set(catSet(TokCat.all & ~(1 << UInt32(TokCat.Nd))), false) // D
        case 0x77: return .set(wordSet, false)                                        // w
        case 0x57:                                                                    // W
            if inClass, let c = wordSet.complement() { return .set(c, false) }
            return .set(wordSet, true)
        case 0x68, 0x48:                                                              // h H: hex digit
            var s = RSet(); s.ranges = [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)]
            return .set(e == 0x68 ? s : s.complement() ?? s, e == 0x68 ? false : s.complement() == nil)
        case 0x70, 0x50:                                                              // p P
            var negate = e == 0x50
            var name: [UInt32] = []
            if peek() == 0x7B {
                i += 1
                if peek() == 0x5E { negate.toggle(); i += 1 }
                while let x = peek(), x != 0x7D { name.append(x); i += 1 }
                guard peek() == 0x7D else { throw error("unterminated \\p{") }
                i += 1
            } else if let x = peek() {
                name = [x]; i += 1
            }
            let set = try propertySet(TokUTF8.string(name), inClass: inClass)
            if negate {
                if !inClass { return .set(set, true) }
                guard let c = set.complement() else { throw error("unsupported negated property \\P{\(TokUTF8.string(name))} in a class") }
                return .set(c, false)
            }
            return .set(set, false)
        case 0x78:                                                                    // x
            if peek() == 0x7B {
                i += 1
                var v: UInt32 = 0, digits = 0
                while let x = peek(), let h = hexDigit(x) { v = v << 4 | h; i += 1; digits += 1; if digits > 8 { break } }
                guard peek() == 0x7D, digits > 0, v <= 0x10FFFF else { throw error("bad \\x{...} escape") }
                i += 1
                return .scalar(v)
            }
            var v: UInt32 = 0, digits = 0
            while digits < 2, let x = peek(), let h = hexDigit(x) { v = v << 4 | h; i += 1; digits += 1 }
            if digits == 0 { throw error("bad \\x escape") }
            return .scalar(v)
        case 0x75:                                                                    // u
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let x = peek(), let h = hexDigit(x) else { throw error("bad \\u escape") }
                v = v << 4 | h; i += 1
            }
            return .scalar(v)
        case 0x30:                                                                    // \0 octal
            var v: UInt32 = 0, digits = 0
            while digits < 2, let x = peek(), x >= 0x30, x <= 0x37 { v = v * 8 + (x - 0x30); i += 1; digits += 1 }
            return .scalar(v)
        case 0x31...0x39:
            if inClass { throw error("unsupported octal escape in a class") }
            throw error("unsupported backreference")
        case 0x6B, 0x67:
            throw error("unsupported escape \\\(TokUTF8.string([e]))")
        default:
            if let s = Unicode.Scalar(e), s.properties.isAlphabetic || (e >= 0x30 && e <= 0x39) {
                throw error("unsupported escape \\\(Character(s))")
            }
            return .scalar(e)
        }
    }

    func propertySet(_ raw: String, inClass: Bool) throws -> RSet {
        let key = raw.lowercased().filter { $0 != "_" && $0 != " " && $0 != "-" }
        var s = RSet()
        let C = TokCat.self
        func m(_ cs: UInt8...) -> UInt32 { cs.reduce(0) { $0 | (1 << UInt32($1)) } }
        switch key {
        case "l", "letter": s.cats = C.letter
        case "lu", "uppercaseletter": s.cats = m(C.Lu)
        case "ll", "lowercaseletter": s.cats = m(C.Ll)
        case "lt", "titlecaseletter": s.cats = m(C.Lt)
        case "lm", "modifierletter": s.cats = m(C.Lm)
        case "lo", "otherletter": s.cats = m(C.Lo)
        case "lc", "l&", "casedletter": s.cats = m(C.Lu, C.Ll, C.Lt)
        case "m", "mark", "combiningmark": s.cats = C.mark
        case "mn", "nonspacingmark": s.cats = m(C.Mn)
        case "mc", "spacingmark": s.cats = m(C.Mc)
        case "me", "enclosingmark": s.cats = m(C.Me)
        case "n", "number": s.cats = C.number
        case "nd", "decimalnumber", "digit": s.cats = m(C.Nd)
        case "nl", "letternumber": s.cats = m(C.Nl)
        case "no", "othernumber": s.cats = m(C.No)
        case "p", "punctuation": s.cats = C.punctuation
        case "punct":
            s.cats = C.punctuation
            s.ranges = [(0x24, 0x24), (0x2B, 0x2B), (0x3C, 0x3E), (0x5E, 0x5E), (0x60, 0x60), (0x7C, 0x7C), (0x7E, 0x7E)]
        case "pc", "connectorpunctuation": s.cats = m(C.Pc)
        case "pd", "dashpunctuation": s.cats = m(C.Pd)
        case "ps", "openpunctuation": s.cats = m(C.Ps)
        case "pe", "closepunctuation": s.cats = m(C.Pe)
        case "pi", "initialpunctuation": s.cats = m(C.Pi)
        case "pf", "finalpunctuation": s.cats = m(C.Pf)
        case "po", "otherpunctuation": s.cats = m(C.Po)
        case "s", "symbol": s.cats = C.symbol
        case "sm", "mathsymbol": s.cats = m(C.Sm)
        case "sc", "currencysymbol": s.cats = m(C.Sc)
        case "sk", "modifiersymbol": s.cats = m(C.Sk)
        case "so", "othersymbol": s.cats = m(C.So)
        case "z", "separator": s.cats = C.separator
        case "zs", "spaceseparator": s.cats = m(C.Zs)
        case "zl", "lineseparator": s.cats = m(C.Zl)
        case "zp", "paragraphseparator": s.cats = m(C.Zp)
        case "c", "other": s.cats = C.other
        case "cc", "control", "cntrl": s.cats = m(C.Cc)
        case "cf", "format": s.cats = m(C.Cf)
        case "cs", "surrogate": s.cats = m(C.Cs)
        case "co", "privateuse": s.cats = m(C.Co)
        case "cn", "unassigned": s.cats = m(C.Cn)
        case "any": s.cats = C.all
        case "ascii": s.ranges = [(0, 0x7F)]
        case "alpha", "alphabetic": s.flags = RClass.alpha
        case "space", "whitespace": s.flags = RClass.space
        case "word":
            s.flags = RClass.word
            if !inClass { s.ranges = RClass.latin1WordExtras }
        case "alnum": s.flags = RClass.alpha; s.cats = m(C.Nd)
        case "upper": s.cats = m(C.Lu)
        case "lower": s.cats = m(C.Ll)
        default:
            throw error("unsupported Unicode property \\p{\(raw)}")
        }
        return s
    }

    /// After `[`: the set and whether it is negated; consumes the closing `]`.
    mutating func parseClass(_ flags: RFlags, depth: Int) throws -> (RSet, Bool) {
        var set = RSet()
        var negated = false
        if peek() == 0x5E { negated = true; i += 1 }
        var first = true
        while true {
            guard let c = peek() else { throw error("unterminated character class") }
            if c == 0x5D && !first { i += 1; break }   // ]
            first = false
            if c == 0x5B {
                if peek(1) == 0x3A { throw error("unsupported POSIX bracket expression") }
                throw error("unsupported nested character class")
            }
            if c == 0x26 && peek(1) == 0x26 { throw error("unsupported class intersection &&") }
            // One element: a scalar (maybe a range start) or a set.
            var lo: UInt32
            if c == 0x5C {
                i += 1
                switch try parseEscape(inClass: true) {
                case .set(let s, _): set.formUnion(s); continue
                case .scalar(let v): lo = v
                }
            } else {
                lo = c
                i += 1
            }
            // Range?
            if peek() == 0x2D, let d = peek(1), d != 0x5D {
                i += 1
                var hi: UInt32
                if d == 0x5C {
                    i += 1
                    switch try parseEscape(inClass: true) {
                    case .set: throw error("bad range in character class")
                    case .scalar(let v): hi = v
                    }
                } else {
                    hi = d
                    i += 1
                }
                if hi < lo { throw error("bad range in character class") }
                set.ranges.append((lo, hi))
            } else {
                set.ranges.append((lo, lo))
            }
        }
        return (set, negated)
    }
}

// MARK: - Compiling

struct RCompiler {
    var insts: [RInst] = []
    var prefilters: [RFirst] = []
    var registers = 0
    let classes: [RClass]

    init(classes: [RClass]) { self.classes = classes }

    mutating func add(_ x: RInst) { insts.append(x) }
    var here: Int32 { Int32(insts.count) }

    func first(_ node: RNode) -> RFirst {
        var f = RFirst()
        switch node {
        case .empty:
            f.nullable = true
        case .char(let c):
            if c < 64 { f.lo = 1 << UInt64(c) } else if c < 128 { f.hi = 1 << UInt64(c - 64) } else { f.nonASCII = true }
        case .cls(let k):
            let cl = classes[k]
            f.lo = cl.lo; f.hi = cl.hi; f.nonASCII = !cl.asciiOnly
        case .seq(let xs):
            for x in xs {
                let g = first(x)
                f.formUnion(g)
                if !g.nullable { return f }
            }
            f.nullable = true
        case .alt(let xs):
            for x in xs {
                let g = first(x)
                f.formUnion(g)
                if g.nullable { f.nullable = true }
            }
        case .rep(let x, let mn, _, _):
            f = first(x)
            if mn == 0 { f.nullable = true }
        case .atomic(let x):
            f = first(x)
        case .look, .assert:
            f.unknown = true
            f.nullable = true
        }
        return f
    }

    static func nullable(_ node: RNode) -> Bool {
        switch node {
        case .empty, .look, .assert: return true
        case .char, .cls: return false
        case .seq(let xs): return xs.allSatisfy { nullable($0) }
        case .alt(let xs): return xs.contains { nullable($0) }
        case .rep(let x, let mn, _, _): return mn == 0 || nullable(x)
        case .atomic(let x): return nullable(x)
        }
    }

    mutating func check() throws {
        if insts.count > 200_000 { throw TokRegex.CompileError(message: "pattern too large") }
    }

    mutating func emit(_ node: RNode) throws {
        try check()
        switch node {
        case .empty:
            break
        case .char(let c):
            add(RInst(op: ROp.char, a: Int32(bitPattern: c)))
        case .cls(let k):
            add(RInst(op: ROp.cls, a: Int32(k)))
        case .seq(let xs):
            for x in xs { try emit(x) }
        case .alt(let xs):
            var jumpsToEnd: [Int] = []
            for (idx, x) in xs.enumerated() {
                let f = first(x)
                let guarded = !f.nullable && !f.unknown
                var pfIndex: Int32 = -1
                if guarded {
                    prefilters.append(f)
                    pfIndex = Int32(prefilters.count - 1)
                }
                if idx < xs.count - 1 {
                    let splitAt = insts.count
                    if guarded {
                        add(RInst(op: ROp.guardSplit, a: here + 1, b: 0, c: pfIndex))
                    } else {
                        add(RInst(op: ROp.split, a: here + 1, b: 0))
                    }
                    try emit(x)
                    jumpsToEnd.append(insts.count)
                    add(RInst(op: ROp.jmp))
                    insts[splitAt].b = here
                } else {
                    if guarded { add(RInst(op: ROp.guardOnly, c: pfIndex)) }
                    try emit(x)
                }
            }
            for j in jumpsToEnd { insts[j].a = here }
        case .rep(let x, let mn, let mx, let q):
            var single: Int32 = -1
            if case .cls(let k) = x { single = Int32(k) }
            if single >= 0 {
                let op = q == .greedy ? ROp.rep : q == .lazy ? ROp.repLazy : ROp.repPossessive
                add(RInst(op: op, a: single, b: Int32(mn), c: Int32(mx)))
                return
            }
            if q == .possessive {
                let at = insts.count
                add(RInst(op: ROp.atomic))
                try emit(.rep(x, mn, mx, .greedy))
                add(RInst(op: ROp.match))
                insts[at].a = here
                return
            }
            for _ in 0..<mn { try emit(x) }
            if mx < 0 {
                let useCheck = RCompiler.nullable(x)
                let reg = Int32(registers)
                if useCheck { registers += 1 }
                let loop = here
                let splitAt = insts.count
                add(RInst(op: ROp.split))
                let body = here
                if useCheck { add(RInst(op: ROp.mark, a: reg)) }
                try emit(x)
                let checkAt = insts.count
                if useCheck { add(RInst(op: ROp.check, a: reg)) }
                add(RInst(op: ROp.jmp, a: loop))
                if useCheck { insts[checkAt].b = here }
                if q == .greedy {
                    insts[splitAt].a = body; insts[splitAt].b = here
                } else {
                    insts[splitAt].a = here; insts[splitAt].b = body
                }
            } else if mx > mn {
                var splits: [Int] = []
                for _ in 0..<(mx - mn) {
                    splits.append(insts.count)
                    add(RInst(op: ROp.split))
                    let body = here
                    try emit(x)
                    let s = splits[splits.count - 1]
                    if q == .greedy { insts[s].a = body } else { insts[s].b = body }
                }
                for s in splits {
                    if q == .greedy { insts[s].b = here } else { insts[s].a = here }
                }
            }
        case .atomic(let x):
            let at = insts.count
            add(RInst(op: ROp.atomic))
            try emit(x)
            add(RInst(op: ROp.match))
            insts[at].a = here
        case .look(let x, let ahead, let negative, let length):
            let at = insts.count
            add(RInst(op: ROp.look, a: 0, b: negative ? 1 : 0, c: ahead ? -1 : Int32(length)))
            try emit(x)
            add(RInst(op: ROp.match))
            insts[at].a = here
        case .assert(let k):
            add(RInst(op: ROp.assert, a: k.rawValue))
        }
    }
}
