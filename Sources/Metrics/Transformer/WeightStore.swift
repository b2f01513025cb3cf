import Foundation

/// One block's weights as float32, ready for BLAS.
final class BlockWeights {
    private var buffers: [String: Buffer] = [:]
    /// Receives the block's widened buffers when it is no longer used, for the next block to fill.
    fileprivate var recycle: (([Buffer]) -> Void)?

    deinit { recycle?(buffers.values.filter(\.ownsMemory)) }

    subscript(name: String) -> UnsafeMutablePointer<Float> { buffers[name]!.pointer }

    func optional(_ name: String?) -> UnsafeMutablePointer<Float>? { name.flatMap { buffers[$0]?.pointer } }

    fileprivate func set(_ name: String, _ buffer: Buffer) { buffers[name] = buffer }
}

/// Float32 parameters held in memory, by checkpoint name: a model being trained.
public final class ParameterSet {
    public private(set) var names: [String] = []
    public private(set) var shapes: [String: [Int]] = [:]
    public private(set) var values: [String: Buffer] = [:]

    public init() {}

    public func add(_ name: String, shape: [Int], _ buffer: Buffer) {
        precondition(buffer.count == shape.reduce(1, *), "\(name): \(buffer.count) values for shape \(shape)")
        if values[name] == nil { names.append(name) }
        shapes[name] = shape
        values[name] = buffer
    }

    public var parameterCount: Int { values.values.reduce(0) { $0 + $1.count } }
}

/// Hands out weights as float32. From a checkpoint, F32 tensors are used in place from the mapped
/// file, while F16 and BF16 are widened block by block when used and dropped after unless
/// `keepsBlocks` is set, so a half-precision model never sits in memory twice. From a
/// `ParameterSet`, the buffers themselves are used (and a trainer may change them between passes).
final class WeightStore {
    enum Source {
        case checkpoint(Checkpoint)
        case memory(ParameterSet)
    }

    let source: Source
    let architecture: Architecture
    /// Keep widened blocks for the next pass (fast repeated passes, more memory).
    var keepsBlocks: Bool
    private var kept: [Int: BlockWeights] = [:]
    private var models: [String: Buffer] = [:]
    /// Widened buffers of a finished block, by size: the next block reuses them instead of
    /// allocating (and faulting in) fresh memory on every pass.
    private var spare: [Int: [Buffer]] = [:]
    /// The engine runs passes on two threads at once (analysis and live ablation): the caches
    /// above are shared between them.
    private let lock = NSRecursiveLock()

    init(source: Source, architecture: Architecture, keepsBlocks: Bool) throws {
        self.source = source
        self.architecture = architecture
        self.keepsBlocks = keepsBlocks
        for (name, shape) in architecture.expectedShapes {
            switch source {
            case .checkpoint(let checkpoint) where checkpoint.gguf != nil:
                try checkpoint.gguf!.checkTensor(name, shape: shape, modelType: architecture.config.modelType)
            case .checkpoint(let checkpoint):
                guard let tensor = checkpoint.tensor(name), let file = checkpoint.file(holding: name) else {
                    throw InputError(checkpoint.folder, "no tensor '\(name)', which a \(architecture.config.modelType) model needs")
                }
                guard tensor.shape == shape else {
                    throw InputError(file.path, "tensor '\(name)' has shape \(tensor.shape); config.json implies \(shape)")
                }
                guard tensor.dtype.isReadable else {
                    throw InputError(file.path, "tensor '\(name)' is \(tensor.dtype.rawValue); neurotop reads F32, F16 and BF16 tensors")
                }
            case .memory(let parameters):
                guard parameters.shapes[name] == shape else {
                    throw InputError("", "parameter '\(name)' has shape \(parameters.shapes[name] ?? []); the architecture needs \(shape)")
                }
            }
        }
    }

    /// The stored tensor of a checkpoint: its file, its entry, and its row width.
    private func stored(_ checkpoint: Checkpoint, _ name: String) -> (file: SafetensorsFile, tensor: StoredTensor, width: Int) {
        let file = checkpoint.file(holding: name)!
        let tensor = file.tensors[name]!
        return (file, tensor, tensor.elementCount / max(tensor.shape[0], 1))
    }

    /// A tensor as float32: in place when possible, otherwise widened into new memory.
    func load(_ name: String) -> Buffer {
        switch source {
        case .memory(let parameters):
            return parameters.values[name]!
        case .checkpoint(let checkpoint):
            if let gguf = checkpoint.gguf {
                let tensor = gguf.tensors[name]!
                let buffer = lock.withLock { spare[tensor.rowCount * tensor.rowWidth]?.popLast() } ?? Buffer(count: tensor.rowCount * tensor.rowWidth)
                tensor.readRows(gguf.file, 0..<tensor.rowCount, into: buffer.pointer)
                return buffer
            }
            let (file, tensor, _) = stored(checkpoint, name)
            let raw = file.rawBytes(tensor)
            if tensor.dtype == .f32, let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
                return Buffer(borrowing: UnsafeMutableRawPointer(mutating: base).assumingMemoryBound(to: Float.self),
                              count: tensor.elementCount, owner: file)
            }
            let buffer = lock.withLock { spare[tensor.elementCount]?.popLast() } ?? Buffer(count: tensor.elementCount)
            try? file.read(tensor, into: buffer.pointer)
            return buffer
        }
    }

    /// Model-level tensors (norms, position embeddings) are small and loaded once.
    func model(_ name: String) -> Buffer {
        lock.lock()
        defer { lock.unlock() }
        if let buffer = models[name] { return buffer }
        let buffer = load(name)
        models[name] = buffer
        return buffer
    }

    func block(_ index: Int) -> BlockWeights {
        lock.lock()
        defer { lock.unlock() }
        if let weights = kept[index] { return weights }
        let weights = BlockWeights()
        for name in architecture.blocks[index].tensorNames { weights.set(name, load(name)) }
        if keepsBlocks {
            kept[index] = weights
        } else if case .checkpoint = source {
            weights.recycle = { [weak self] buffers in
                guard let self else { return }
                self.lock.withLock { for buffer in buffers { self.spare[buffer.count, default: []].append(buffer) } }
            }
        }
        return weights
    }

    /// Calls `body` with consecutive row ranges of a `[rows, width]` matrix as float32, widening at
    /// most `rowsPerChunk` rows at a time (the unembedding of a large vocabulary never widens whole).
    func forEachRowChunk(_ name: String, rowsPerChunk: Int, _ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        guard case .checkpoint(let checkpoint) = source else {
            let whole = load(name)
            body(0..<(whole.count / architecture.config.hiddenSize), whole.pointer)
            return
        }
        if let gguf = checkpoint.gguf, !keepsBlocks {
            let tensor = gguf.tensors[name]!
            let chunk = Buffer(count: min(rowsPerChunk, tensor.rowCount) * tensor.rowWidth)
            for start in stride(from: 0, to: tensor.rowCount, by: rowsPerChunk) {
                let rows = start..<min(start + rowsPerChunk, tensor.rowCount)
                tensor.readRows(gguf.file, rows, into: chunk.pointer)
                body(rows, chunk.pointer)
            }
            return
        }
        if checkpoint.gguf != nil {
            let whole = model(name)
            body(0..<(whole.count / architecture.config.hiddenSize), whole.pointer)
            return
        }
        let (file, tensor, width) = stored(checkpoint, name)
        let rows = tensor.shape[0]
        if tensor.dtype == .f32 || keepsBlocks {
            body(0..<rows, model(name).pointer)
            return
        }
        let raw = file.rawBytes(tensor)
        let chunk = Buffer(count: min(rowsPerChunk, rows) * width)
        var start = 0
        while start < rows {
            let count = min(rowsPerChunk, rows - start)
            Widen.toFloat32(tensor.dtype, from: raw.baseAddress! + start * width * tensor.dtype.byteSize, count: count * width, into: chunk.pointer)
            body(start..<(start + count), chunk.pointer)
            start += count
        }
    }

    /// One row of a `[rows, width]` matrix (an embedding lookup) into `destination`.
    func row(_ name: String, _ index: Int, into destination: UnsafeMutablePointer<Float>) {
        switch source {
        case .memory(let parameters):
            let width = architecture.config.hiddenSize
            destination.update(from: parameters.values[name]!.pointer + index * width, count: width)
        case .checkpoint(let checkpoint):
            if let gguf = checkpoint.gguf {
                gguf.tensors[name]!.readRows(gguf.file, index..<(index + 1), into: destination)
                return
            }
            let (file, tensor, width) = stored(checkpoint, name)
            let raw = file.rawBytes(tensor)
            Widen.toFloat32(tensor.dtype, from: raw.baseAddress! + index * width * tensor.dtype.byteSize, count: width, into: destination)
        }
    }
}
