/// A float32 buffer with a stable address, for activations and widened weights.
/// Either owns its memory or borrows it from something it keeps alive (a mapped file).
public final class Buffer {
    public let pointer: UnsafeMutablePointer<Float>
    public let count: Int
    private let owner: AnyObject?

    /// A zero-filled buffer of `count` floats.
    public init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
        owner = nil
    }

    /// A buffer of `count` floats with undefined values, for outputs written in full before they
    /// are read: the forward's activations and logits, where zero-filling cost a tenth of a pass.
    public init(uninitializedCount count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        owner = nil
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: values.count) }
    }

    /// Memory owned by `owner` (read-only in practice: weights in a mapped file).
    public init(borrowing pointer: UnsafeMutablePointer<Float>, count: Int, owner: AnyObject) {
        self.pointer = pointer
        self.count = count
        self.owner = owner
    }

    deinit { if owner == nil { pointer.deallocate() } }

    /// True when this buffer owns its memory (it may then be reused for other values).
    public var ownsMemory: Bool { owner == nil }

    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    public func zero() { pointer.update(repeating: 0, count: count) }
}
